"""Curation: site.yaml selection rules and per-article editor overrides.

Runs after entities and before content, so a rule can test the entities, and what an
override changes (title, summary, entities, pin, note) is written into the content
frontmatter, which is all the render stage reads. An article a rule leaves out, or an
override hides, is `skipped` in build-report.json with the rule that did it, for every one of
its member files.
"""
from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..core.model import ENTITY_TYPES, SKIPPED, Article
from .permalinks import SLUG

log = logging.getLogger(__name__)

EDITIONS = ("daily", "weekly", "monthly", "off")
# Conditions of one rule; every condition given must hold (a rule is an AND, a list of rules an OR).
RULE_KEYS = {
    "outlet": "the page's outlet (original publication), one name or a list",
    "lang": "language code, one or a list",
    "date_from": "first day, YYYY-MM-DD (inclusive)",
    "date_to": "last day, YYYY-MM-DD (inclusive)",
    "keyword": "whole word(s), case-insensitive, one or a list",
    "regex": "Python regular expression, searched as written",
    "entity": "person, organization or place named on the page, one or a list",
    "in": "where keyword and regex look: title, body or any (default)",
}
STORY_ALONE = "alone"  # curation.overrides.<slug>.story: taken out of its story (stories.move_members)
OVERRIDE_KEYS = {
    "hide": bool, "pin": bool, "title": str, "outlet": str, "date": str, "story": str, "story_title": str,
    "summary": str, "note": str,
    "add_entities": dict, "remove_entities": list,
}


class CurationSettingsError(Exception):
    """A bad curation/editions setting; the message already holds file:line."""


# --------------------------------------------------------------------------- validation


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _value(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _str_or_list(node: yaml.Node, where: str, name: str) -> list[str]:
    value = _value(node)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise CurationSettingsError(f"{where}:{_line(node)}: '{name}' must be a non-empty string "
                                    f"or a list of strings, not {value!r}")
    return values


def nearest_key(key: str, choices: list[str]) -> str:
    """The hint after an unknown key: the closest valid one, or the list of valid keys."""
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(choices)}"


def _check_rule(node: yaml.Node, where: str, name: str) -> None:
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise CurationSettingsError(f"{where}:{_line(node)}: '{name}' must be a mapping of conditions "
                                    f"({', '.join(RULE_KEYS)})")
    for key_node, value_node in node.value:
        key, full = key_node.value, f"{name}.{key_node.value}"
        if key not in RULE_KEYS:
            raise CurationSettingsError(f"{where}:{_line(key_node)}: unknown key '{full}'"
                                        + nearest_key(key, list(RULE_KEYS)))
        if key in ("date_from", "date_to"):
            value = value_node.value if isinstance(value_node, yaml.ScalarNode) else _value(value_node)
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be a date "
                                            f"YYYY-MM-DD, not {value!r}") from None
        elif key == "in":
            if _value(value_node) not in ("title", "body", "any"):
                raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be title, body "
                                            f"or any, not {_value(value_node)!r}")
        else:
            for pattern in _str_or_list(value_node, where, full):
                if key == "regex":
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' is not a valid "
                                                    f"regular expression: {exc}") from None


def _check_override(node: yaml.Node, where: str, name: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise CurationSettingsError(f"{where}:{_line(node)}: '{name}' must be a mapping "
                                    f"({', '.join(OVERRIDE_KEYS)})")
    for key_node, value_node in node.value:
        key, full = key_node.value, f"{name}.{key_node.value}"
        if key not in OVERRIDE_KEYS:
            raise CurationSettingsError(f"{where}:{_line(key_node)}: unknown key '{full}'"
                                        + nearest_key(key, list(OVERRIDE_KEYS)))
        value = _value(value_node)
        expected = OVERRIDE_KEYS[key]
        if key == "story" and not (value == STORY_ALONE or SLUG.fullmatch(str(value))):
            raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be '{STORY_ALONE}' or "
                                        f"another article's slug, not {value!r}")
        if key == "pin" and isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be true or a "
                                            f"position from 1, not {value!r}")
            continue  # a position among the pinned articles
        if key == "date":  # YAML reads a bare 2020-10-16 as a date
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be a date "
                                            f"YYYY-MM-DD, not {value!r}") from None
            continue
        if not isinstance(value, expected) or (expected is str and not value.strip()):
            kind = {bool: "a boolean", str: "a non-empty string", dict: "a mapping", list: "a list"}[expected]
            raise CurationSettingsError(f"{where}:{_line(value_node)}: '{full}' must be {kind}, not {value!r}")
        if key == "add_entities":
            for type_node, names_node in value_node.value:
                if type_node.value not in ENTITY_TYPES:
                    raise CurationSettingsError(f"{where}:{_line(type_node)}: unknown key "
                                                f"'{full}.{type_node.value}'; valid keys: {', '.join(ENTITY_TYPES)}")
                _str_or_list(names_node, where, f"{full}.{type_node.value}")
        if key == "remove_entities":
            _str_or_list(value_node, where, full)


def check_curation_settings(root: yaml.Node, where: str) -> None:
    """Line-accurate checks of `curation` and `editions`, which the type schema cannot express."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key_node, value_node in root.value:
        if key_node.value == "editions":
            value = _value(value_node)
            if value is False:  # YAML 1.1 reads a bare `off` as false
                continue
            if value not in EDITIONS:
                raise CurationSettingsError(f"{where}:{_line(value_node)}: 'editions' must be one of "
                                            f"{', '.join(EDITIONS)}, not {value!r}")
        if key_node.value != "curation" or not isinstance(value_node, yaml.MappingNode):
            continue
        for sub_key, sub_node in value_node.value:
            if sub_key.value in ("include", "exclude") and isinstance(sub_node, yaml.SequenceNode):
                for i, rule in enumerate(sub_node.value):
                    _check_rule(rule, where, f"curation.{sub_key.value}[{i}]")
            if sub_key.value == "overrides" and isinstance(sub_node, yaml.MappingNode):
                for slug_node, override in sub_node.value:
                    _check_override(override, where, f"curation.overrides.{slug_node.value}")
            if sub_key.value == "sent_editions" and isinstance(sub_node, yaml.MappingNode):
                for key_node, slugs_node in sub_node.value:
                    slugs = _value(slugs_node)
                    if not re.fullmatch(r"\d{4}-(w\d{2}|\d{2}|\d{2}-\d{2})", str(key_node.value)) \
                            or not isinstance(slugs, list) or not all(isinstance(x, str) for x in slugs):
                        raise CurationSettingsError(
                            f"{where}:{_line(key_node)}: 'curation.sent_editions' maps an edition (2024-w10, "
                            f"2024-03 or 2024-03-05) to the slugs it was sent with, not {key_node.value!r}: {slugs!r}")


# --------------------------------------------------------------------------- rules


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


@dataclass
class Rule:
    """One include/exclude rule, compiled; `name` is how the report names it."""

    name: str
    conditions: dict[str, Any]

    def __post_init__(self) -> None:
        c = self.conditions
        self.outlets = {o.casefold() for o in _as_list(c["outlet"])} if "outlet" in c else None
        self.langs = {lang.casefold() for lang in _as_list(c["lang"])} if "lang" in c else None
        self.entities = {e.casefold() for e in _as_list(c["entity"])} if "entity" in c else None
        self.keywords = ([re.compile(rf"(?<!\w){re.escape(k)}(?!\w)", re.IGNORECASE) for k in _as_list(c["keyword"])]
                         if "keyword" in c else None)
        self.regexes = [re.compile(p) for p in _as_list(c["regex"])] if "regex" in c else None
        self.date_from = str(c["date_from"]) if "date_from" in c else None
        self.date_to = str(c["date_to"]) if "date_to" in c else None
        self.where = c.get("in", "any")

    def describe(self) -> str:
        def show(v: Any) -> str:
            return ", ".join(map(str, v)) if isinstance(v, list) else str(v)
        return f"{self.name} (" + "; ".join(f"{k}: {show(v)}" for k, v in self.conditions.items()) + ")"

    def matches(self, art: Article) -> bool:
        if self.outlets is not None and (art.outlet or "").casefold() not in self.outlets:
            return False
        if self.langs is not None and (art.lang or "").casefold() not in self.langs:
            return False
        if (self.date_from or self.date_to) and not art.date:
            return False  # an undated article is outside every date range
        if self.date_from and art.date < self.date_from:
            return False
        if self.date_to and art.date > self.date_to:
            return False
        if self.entities is not None:
            named = {n.casefold() for t in ENTITY_TYPES for n in art.entities.get(t, [])}
            if not self.entities & named:
                return False
        if self.keywords is not None or self.regexes is not None:
            texts = {"title": art.title, "body": art.body, "any": f"{art.title}\n\n{art.body}"}
            text = texts[self.where]
            if self.keywords is not None and not any(k.search(text) for k in self.keywords):
                return False
            if self.regexes is not None and not any(r.search(text) for r in self.regexes):
                return False
        return True


def compile_rules(settings: dict[str, Any], kind: str) -> list[Rule]:
    return [Rule(f"curation.{kind}[{i}]", dict(c)) for i, c in enumerate(settings.get(kind) or [])]


# --------------------------------------------------------------------------- overrides


def _skip(art: Article, reason: str) -> None:
    """Every member file of a left-out article is `skipped` with the same reason."""
    for doc in art.members:
        doc.status = SKIPPED
        doc.reason = reason
        doc.article_slug = None


def apply_override(art: Article, override: dict[str, Any]) -> dict[str, Any]:
    """Change the article as the editor asked; returns the new frontmatter keys."""
    extra: dict[str, Any] = {}
    if override.get("title"):
        extra["original_title"] = art.title
        art.title = override["title"].strip()
        art.title_derived = False
    if override.get("outlet"):
        extra["original_outlet"] = art.outlet
        art.outlet = override["outlet"].strip()
    if override.get("date"):
        extra["original_date"] = art.date
        art.date = str(override["date"])  # a YAML date prints as YYYY-MM-DD
    removed: list[str] = []
    added: list[str] = []
    drop = {n.casefold() for n in _as_list(override.get("remove_entities") or [])}
    for taxonomy in ENTITY_TYPES:
        names = art.entities.get(taxonomy, [])
        removed += [n for n in names if n.casefold() in drop]
        names = [n for n in names if n.casefold() not in drop]
        for name in _as_list((override.get("add_entities") or {}).get(taxonomy) or []):
            if name.casefold() not in {n.casefold() for n in names}:
                names.insert(0, name)  # the editor's entity leads
                added.append(name)
        art.entities[taxonomy] = names
    if added or removed:
        extra["entities_edited"] = {"added": added, "removed": removed}
    if override.get("pin"):
        extra["pinned"] = True
        if not isinstance(override["pin"], bool):  # a position among the pinned (1: the top)
            extra["pin_order"] = override["pin"]
    if override.get("summary"):
        extra["summary"] = override["summary"].strip()
    if override.get("story_title"):
        extra["story_title"] = override["story_title"].strip()
    if override.get("note"):
        extra["note"] = override["note"].strip()
    return extra


def apply_curation(articles: list[Article], settings: dict[str, Any]) -> tuple[list[Article], dict[str, Any]]:
    """Keep the articles the rules select, apply the overrides; returns (kept, summary for stats)."""
    include, exclude = compile_rules(settings, "include"), compile_rules(settings, "exclude")
    overrides: dict[str, dict[str, Any]] = dict(settings.get("overrides") or {})
    summary = {"not_included": 0, "excluded": 0, "hidden": 0, "pinned": 0, "overridden": 0,
               "unknown_override_slugs": sorted(set(overrides) - {a.slug for a in articles})}
    for slug in summary["unknown_override_slugs"]:
        log.warning("curation.overrides.%s: no article has this slug", slug)
    kept = []
    for art in articles:
        if include and not any(rule.matches(art) for rule in include):
            _skip(art, "not selected by any curation.include rule")
            summary["not_included"] += 1
            continue
        rule = next((r for r in exclude if r.matches(art)), None)
        if rule is not None:
            _skip(art, f"excluded by {rule.describe()}")
            summary["excluded"] += 1
            continue
        override = overrides.get(art.slug) or {}
        if override.get("hide"):
            _skip(art, f"hidden by curation.overrides.{art.slug}.hide")
            summary["hidden"] += 1
            continue
        if override:
            art.curation = apply_override(art, override)
            summary["overridden"] += 1
            summary["pinned"] += bool(art.curation.get("pinned"))
        kept.append(art)
    return kept, summary
