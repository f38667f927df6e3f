"""site.yaml: defaults, loading and validation with file/line error messages."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from ..corpus.curate import CurationSettingsError, check_curation_settings, nearest_key
from . import curation_file
from .model import ENTITY_TYPES


class ConfigError(Exception):
    """A user error in site.yaml or on the command line; printed as one line."""


# Every option with its default. The type of the default is the type expected; ANY_MAPPING
# and lists accept free-form content. docs/settings.md is generated from it (settings_doc.py).
ANY_MAPPING: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {
    "title": "Revue de presse",
    "description": "",
    "base_url": "/",
    "language": "fr",
    "paths": {"seeds": "seeds", "output": "output", "templates": "", "static": "", "cache": ""},
    "jobs": 0,
    "page_size": 20,
    "clean": {
        "repeated_line_min_docs": 5,
        "repeated_sentence_share": 0.01,
        "min_words": 10,
        "max_file_mb": 20.0,
    },
    "dedup": {
        "enabled": True,
        "shingle_words": 5,
        "num_perm": 128,
        "lsh_threshold": 0.3,
        "jaccard": 0.5,
        "containment": 0.8,
        "min_length_ratio": 0.4,
        "min_shingles": 10,
    },
    # outlet names (strings) or {name, aliases} an editor knows; the layout stage trusts them
    "outlets": [],
    # editor's corrections to entities.py: joined names, forced types, hidden names, shown forms
    "entities": {"aliases": ANY_MAPPING, "types": ANY_MAPPING, "ignore": [], "canonical": []},
    # curate.py checks the rules and overrides in detail (check_curation_settings)
    "curation": {"include": [], "exclude": [], "overrides": ANY_MAPPING, "sent_editions": ANY_MAPPING},
    # the editor's corrections (curation_file.py), laid over this file's; written by serve --edit
    "curation_file": "curation.yaml",
    "editions": "weekly",
    # stories.py: articles about one event grouped into one story; `stories: off` turns it off
    "stories": {"enabled": True, "window_days": 7, "threshold": 0.38, "cross_language": True},
    "ranking": {"coverage": True},
    # what an article page and its feed entry show: the whole body, or only its lead (an
    # excerpt of up to excerpt_words words) with a link to the original
    "publish": {"body": "full", "excerpt_words": 80},
    # where the heavy per-document work runs: local processes, or a Dask cluster (a scheduler's
    # address, or "local" for a LocalCluster of `jobs` processes); --dask overrides it
    "executor": {"kind": "local", "scheduler": ""},
}
# Options that may be null in site.yaml.
NULLABLE = {"description"}


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def _check(node: yaml.Node, schema: dict[str, Any], where: str, path: str) -> None:
    """Walk the YAML node tree against the schema, raising on unknown keys or wrong types."""
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{where}:{node.start_mark.line + 1}: '{path or 'site.yaml'}' "
                          "must be a mapping of keys to values")
    for key_node, value_node in node.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        full = f"{path}.{key}" if path else key
        if key not in schema:
            raise ConfigError(f"{where}:{line}: unknown key '{full}'{nearest_key(key, list(schema))}")
        expected = schema[key]
        if expected is ANY_MAPPING:
            if not isinstance(value_node, yaml.MappingNode) and value_node.tag != "tag:yaml.org,2002:null":
                raise ConfigError(f"{where}:{line}: '{full}' must be a mapping")
            continue
        if isinstance(expected, dict):
            if full == "stories" and isinstance(value_node, yaml.ScalarNode) \
                    and yaml.safe_load(yaml.serialize(value_node)) is False:
                continue  # `stories: off`
            _check(value_node, expected, where, full)
            continue
        value = yaml.safe_load(yaml.serialize(value_node))
        if value is None and key in NULLABLE:
            continue
        if value is False and full == "editions":
            continue  # YAML 1.1 reads a bare `off` as false
        ok = isinstance(value, type(expected))
        if isinstance(expected, bool) != isinstance(value, bool):
            ok = False  # YAML true is not an integer here
        if isinstance(expected, float) and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ConfigError(f"{where}:{value_node.start_mark.line + 1}: '{full}' must be "
                              f"{_type_name(expected)}, not {value!r}")


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if isinstance(out.get(key), dict) and out[key] is not ANY_MAPPING and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        elif isinstance(defaults.get(key), float) and isinstance(value, int):
            out[key] = float(value)
        else:
            out[key] = value if value is not None or key in NULLABLE else out[key]
    return out


def check_base_url(value: str, where: str) -> str:
    """base_url is where the site's root is served: a path from the host's root ("/", "/revue/")
    or a web address that may carry a path ("https://example.org/revue/")."""
    if not re.match(r"^(https?://[^/\s?#]+)?(/[^\s?#]*)?$", value) or not value or value.startswith("//"):
        raise ConfigError(f"{where}: 'base_url' must be a web address such as https://example.org/revue/ "
                          f"or a path from the host's root such as /revue/, not {value!r}")
    return value if value.endswith("/") else value + "/"


def check_scheduler(value: str, where: str) -> str:
    """A Dask scheduler: "local" (a LocalCluster here) or an address such as tcp://host:8786."""
    if value == "local" or re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$", value) or re.match(r"^[\w.-]+:\d+$", value):
        return value
    raise ConfigError(f"{where}: the Dask scheduler must be 'local' or an address such as "
                      f"tcp://host:8786, not {value!r}")


def _check_values(cfg: dict[str, Any], where: str) -> None:
    """Range checks that the type alone cannot express."""
    def bad(msg: str) -> ConfigError:
        return ConfigError(f"{where}: {msg}")

    cfg["base_url"] = check_base_url(cfg["base_url"], where)
    if cfg["page_size"] < 1:
        raise bad("'page_size' must be at least 1")
    if cfg["jobs"] < 0:
        raise bad("'jobs' must be 0 (all cores) or more")
    if cfg["language"] not in ("fr", "en"):
        raise bad(f"'language' must be 'fr' or 'en', not {cfg['language']!r}")
    for entry in cfg["outlets"]:
        if not (isinstance(entry, str) or (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                                           and set(entry) <= {"name", "aliases"}
                                           and isinstance(entry.get("aliases", []), list))):
            raise bad(f"each of 'outlets' must be a name or a mapping with 'name' and 'aliases', not {entry!r}")
    for name, kind in cfg["entities"]["types"].items():
        if kind not in ENTITY_TYPES:
            raise bad(f"'entities.types' gives {name!r} the type {kind!r}: use people, organizations or places")
    d = cfg["dedup"]
    for key in ("lsh_threshold", "jaccard", "containment", "min_length_ratio"):
        if not 0 < d[key] <= 1:
            raise bad(f"'dedup.{key}' must be in (0, 1], not {d[key]}")
    if d["shingle_words"] < 1 or d["num_perm"] < 16:
        raise bad("'dedup.shingle_words' must be >= 1 and 'dedup.num_perm' >= 16")
    if not 0 < cfg["clean"]["repeated_sentence_share"] <= 1:
        raise bad("'clean.repeated_sentence_share' must be in (0, 1]")
    if cfg["publish"]["body"] not in ("full", "excerpt"):
        raise bad(f"'publish.body' must be 'full' or 'excerpt', not {cfg['publish']['body']!r}")
    if cfg["publish"]["excerpt_words"] < 10:
        raise bad("'publish.excerpt_words' must be at least 10")
    if cfg["executor"]["kind"] not in ("local", "dask"):
        raise bad(f"'executor.kind' must be 'local' or 'dask', not {cfg['executor']['kind']!r}")
    scheduler = cfg["executor"]["scheduler"]
    if scheduler:
        cfg["executor"]["scheduler"] = check_scheduler(scheduler, where)
    if not 0 < cfg["stories"]["threshold"] <= 1 or cfg["stories"]["window_days"] < 0:
        raise bad("'stories.threshold' must be in (0, 1] and 'stories.window_days' at least 0")
    if cfg["clean"]["repeated_line_min_docs"] < 2:
        raise bad("'clean.repeated_line_min_docs' must be at least 2")


def load_config(path: Path | None) -> dict[str, Any]:
    """Read and validate site.yaml, with the editor's corrections file laid over it; a missing
    path gives the defaults (and the corrections file of the current folder, if any)."""
    cfg = _read_site_yaml(path)
    corrections = curation_path(path, cfg)
    if corrections is not None:
        try:
            curation_file.merge_into(cfg, curation_file.read(corrections))
        except curation_file.CurationFileError as exc:
            raise ConfigError(str(exc)) from None
    return cfg


def curation_path(config_path: Path | None, cfg: dict[str, Any]) -> Path | None:
    """Where the corrections file is: `curation_file` from site.yaml's folder (or the current one)."""
    name = cfg["curation_file"]
    return (config_path.parent if config_path is not None else Path.cwd()) / name if name else None


def _read_site_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return copy.deepcopy(DEFAULTS)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{where}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read config file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        check_curation_settings(node, where)  # before safe_load: it names the line of a bad date
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: invalid YAML: {problem}") from None
    except CurationSettingsError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:  # e.g. an impossible date such as 2020-13-01 elsewhere
        raise ConfigError(f"{where}: invalid value: {exc}") from None
    if node is None:
        return copy.deepcopy(DEFAULTS)
    _check(node, DEFAULTS, where, "")
    cfg = _merge(DEFAULTS, data)
    if cfg["editions"] is False:
        cfg["editions"] = "off"
    if cfg["stories"] is False:
        cfg["stories"] = dict(DEFAULTS["stories"], enabled=False)
    _check_values(cfg, where)
    return cfg
