"""The editor's corrections file (curation.yaml beside site.yaml, the `curation_file` setting):
what `build-site serve --edit` writes and every build reads.

It holds the part of site.yaml's own settings an editor changes one article or one name at a
time: `curation.overrides` (hide, pin, title, ...), `curation.sent_editions` and `entities`
(aliases, types, ignore, canonical). load_config merges it over site.yaml, so a plain build
gives the site the editor saw. Each correction is one line, `key: value  # when: what`, so the file reads as a log that
can be versioned; deleting a line undoes its correction.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..corpus.curate import CurationSettingsError, check_curation_settings
from .model import ENTITY_TYPES

HEADER = """\
# The editor's corrections: written by `build-site serve --edit`, read by every build
# (site.yaml's `curation_file`). Each line says when and what; delete a line to undo it.
"""
# The settings the file may hold, in the order it writes them; the leaves of a list are its items.
SECTIONS = (("curation", "overrides"), ("curation", "sent_editions"), ("entities", "aliases"),
            ("entities", "types"), ("entities", "ignore"), ("entities", "canonical"))
LISTS = {("entities", "ignore"), ("entities", "canonical")}


class CurationFileError(Exception):
    """The corrections file cannot be read; the message names file:line."""


@dataclass(frozen=True)
class Entry:
    """One correction: where it sits in the settings, its value and the note beside it."""

    path: tuple[str, ...]  # ("curation", "overrides", slug, field), ("entities", "types", name), ...
    value: Any  # True for an item of a list
    note: str = ""

    @property
    def section(self) -> tuple[str, str]:
        return self.path[0], self.path[1]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _scalar(value: Any) -> str:
    """VALUE as a YAML scalar on one line, quoted where YAML needs it."""
    if isinstance(value, str) and any(c < " " for c in value):
        return json.dumps(value, ensure_ascii=False)  # a double-quoted YAML scalar, escapes and all
    return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=1 << 30).strip()[1:-1]


def render(entries: list[Entry]) -> str:
    """The file's text: the entries by section, each override under its article."""
    lines = [HEADER.rstrip("\n")]
    for top in dict.fromkeys(section[0] for section in SECTIONS):
        subs = [(section, [e for e in entries if e.section == section]) for section in SECTIONS if section[0] == top]
        subs = [(section, held) for section, held in subs if held]
        if not subs:
            continue
        lines.append(f"{top}:")
        for section, held in subs:
            lines.append(f"  {section[1]}:")
            slug = None
            for entry in held:
                note = f"  # {_one_line(entry.note)}" if entry.note else ""
                if section in LISTS:
                    lines.append(f"  - {_scalar(entry.path[2])}{note}")
                elif section == ("curation", "overrides"):
                    if entry.path[2] != slug:
                        slug = entry.path[2]
                        lines.append(f"    {_scalar(slug)}:")
                    lines.append(f"      {entry.path[3]}: {_scalar(entry.value)}{note}")
                else:
                    lines.append(f"    {_scalar(entry.path[2])}: {_scalar(entry.value)}{note}")
    return "\n".join(lines) + "\n"


def _note(lines: list[str], node: yaml.Node) -> str:
    """The comment on the line where NODE ends, if any."""
    rest = lines[node.end_mark.line][node.end_mark.column:] if node.end_mark.line < len(lines) else ""
    found = re.match(r"\s+#\s?(.*)$", rest)
    return found.group(1).strip() if found else ""


def parse(text: str, where: str) -> list[Entry]:
    """The entries of a corrections file's TEXT (WHERE names it in errors)."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CurationFileError(f"{where}{f':{mark.line + 1}' if mark else ''}: invalid YAML: "
                                f"{getattr(exc, 'problem', None) or exc}") from None
    if root is None:
        return []
    try:
        check_curation_settings(root, where)  # the overrides as site.yaml's are checked
    except CurationSettingsError as exc:
        raise CurationFileError(str(exc)) from None
    lines = text.split("\n")

    def mapping(node: yaml.Node, name: str) -> list[tuple[yaml.Node, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.MappingNode):
            raise CurationFileError(f"{where}:{node.start_mark.line + 1}: '{name}' must be a mapping")
        return node.value

    def value(node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))

    entries: list[Entry] = []
    known = {top: [sub for t, sub in SECTIONS if t == top] for top, _ in SECTIONS}
    for top_node, top_value in mapping(root, "curation file"):
        top = top_node.value
        if top not in known:
            raise CurationFileError(f"{where}:{top_node.start_mark.line + 1}: unknown key '{top}': a corrections "
                                    f"file holds {', '.join('.'.join(s) for s in SECTIONS)}")
        for sub_node, sub_value in mapping(top_value, top):
            section = (top, sub_node.value)
            if sub_node.value not in known[top]:
                raise CurationFileError(f"{where}:{sub_node.start_mark.line + 1}: unknown key '{top}.{sub_node.value}'")
            if section in LISTS:
                items = sub_value.value if isinstance(sub_value, yaml.SequenceNode) else None
                if items is None:
                    raise CurationFileError(f"{where}:{sub_value.start_mark.line + 1}: '{'.'.join(section)}' must be a list")
                entries += [Entry((*section, str(value(item))), True, _note(lines, item)) for item in items]
            elif section == ("curation", "overrides"):
                for slug_node, fields in mapping(sub_value, "curation.overrides"):
                    for field_node, field_value in mapping(fields, f"curation.overrides.{slug_node.value}"):
                        entries.append(Entry((*section, str(slug_node.value), str(field_node.value)),
                                             value(field_value), _note(lines, field_value)))
            elif section == ("curation", "sent_editions"):  # checked with the overrides
                entries += [Entry((*section, str(key_node.value)), value(slugs), _note(lines, slugs))
                            for key_node, slugs in mapping(sub_value, "curation.sent_editions")]
            else:
                for key_node, key_value in mapping(sub_value, ".".join(section)):
                    given = value(key_value)
                    if not isinstance(given, str) or (section[1] == "types" and given not in ENTITY_TYPES):
                        raise CurationFileError(f"{where}:{key_value.start_mark.line + 1}: '{'.'.join(section)}' "
                                                f"gives {key_node.value!r} the value {given!r}: "
                                                + ("use people, organizations or places" if section[1] == "types"
                                                   else "a name is expected"))
                    entries.append(Entry((*section, str(key_node.value)), given, _note(lines, key_value)))
    return entries


def read(path: Path) -> list[Entry]:
    """The entries of the file at PATH; none when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise CurationFileError(f"{path}: cannot read the corrections file: {exc}") from None
    return parse(text, str(path))


def write(path: Path, entries: list[Entry]) -> None:
    """Replace the file at PATH in one step: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(render(entries))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def as_settings(entries: list[Entry]) -> dict[str, Any]:
    """The entries as the site.yaml settings they stand for."""
    settings: dict[str, Any] = {}
    for entry in entries:
        top, sub = entry.section
        if entry.section in LISTS:
            settings.setdefault(top, {}).setdefault(sub, []).append(entry.path[2])
        elif entry.section == ("curation", "overrides"):
            settings.setdefault(top, {}).setdefault(sub, {}).setdefault(entry.path[2], {})[entry.path[3]] = entry.value
        else:
            settings.setdefault(top, {}).setdefault(sub, {})[entry.path[2]] = entry.value
    return settings


def merge_into(config: dict[str, Any], entries: list[Entry]) -> None:
    """Lay the corrections over CONFIG (site.yaml merged with the defaults): an override's
    fields over the same article's, a name's alias or type over site.yaml's, list items added.
    New containers throughout: the defaults' empty mappings may be one shared object."""
    for top, subs in as_settings(entries).items():
        for sub, given in subs.items():
            held = config[top][sub]
            if isinstance(given, list):
                config[top][sub] = held + [item for item in given if item not in held]
            elif (top, sub) == ("curation", "overrides"):
                config[top][sub] = {**held, **{slug: {**(held.get(slug) or {}), **fields}
                                               for slug, fields in given.items()}}
            else:
                config[top][sub] = {**held, **given}
