"""The settings reference (docs/settings.md), written from DEFAULTS and the checks of settings.py.

    python -m generator.core.settings_doc            # rewrite docs/settings.md
    python -m generator.core.settings_doc --check    # exit 1 when the committed page differs

Every key of DEFAULTS (nested keys included) needs a line in DESCRIPTIONS and, where
settings.py checks more than the type, one in CHECKS; tests/test_docs.py holds both in step.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..corpus.curate import EDITIONS, OVERRIDE_KEYS, RULE_KEYS
from .settings import ANY_MAPPING, DEFAULTS, NULLABLE

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"

# One line per key: what it means.
DESCRIPTIONS: dict[str, str] = {
    "title": "site name, shown in every page header",
    "description": "one line under the title",
    "base_url": "where the site is published: `https://example.org/revue/` or a path such as `/revue/` "
                "(feeds, sitemap, canonical links, previews, e-mail editions); `--base-url` overrides it",
    "language": "interface strings (catalog `templates/i18n/<language>.yaml`), date format, and the form an "
                "entity is shown by (\"Chine\" on a French site, \"China\" on an English one)",
    "paths": "folders, relative to site.yaml's folder",
    "paths.seeds": "input folder; `--seeds` overrides it",
    "paths.output": "output folder; `--output` overrides it",
    "paths.templates": "Jinja2 templates; empty: `./templates` if present, else the shipped ones",
    "paths.static": "files copied to the site; empty: `./static` if present, else the shipped ones",
    "paths.cache": "folder of the build store, `build.sqlite` (every stage's results, keyed by content hash and "
                   "code, data or model version); empty: `<output>/.cache`; safe to delete",
    "jobs": "worker processes; `0` = one per core; `--jobs` overrides it",
    "page_size": "articles (on the home page: stories) per listing page; a front page holds up to twice as many less one, since later pages are numbered from the oldest and keep their articles",
    "clean": "boilerplate and junk rules",
    "clean.repeated_line_min_docs": "a line recurring in this many documents about different stories is boilerplate",
    "clean.repeated_sentence_share": "a line that reads as a sentence must recur in this share of all documents "
                                     "(and at least `repeated_line_min_docs`)",
    "clean.min_words": "documents with fewer words of text are rejected",
    "clean.max_file_mb": "larger files are rejected unread",
    "dedup": "duplicate detection",
    "dedup.enabled": "`false`: each document is its own page",
    "dedup.shingle_words": "words per shingle",
    "dedup.num_perm": "MinHash permutations",
    "dedup.lsh_threshold": "estimated Jaccard at which LSH proposes a candidate pair",
    "dedup.jaccard": "merge when the exact shingle Jaccard reaches this",
    "dedup.containment": "... or when the smaller body lies this much inside the larger",
    "dedup.min_length_ratio": "containment only counts when the smaller body is this fraction of the larger, "
                              "or both share a real headline",
    "dedup.min_shingles": "containment only counts for bodies of this many shingles",
    "outlets": "outlet names an editor knows, each a name or `{name, aliases: [...]}`; an alias (any case) "
               "is shown as the name, and a listed name is trusted as an outlet on metadata lines",
    "entities": "an editor's corrections to people, organizations and places",
    "entities.aliases": "names to merge: `{\"OIM\": \"Organisation internationale pour les migrations\"}` "
                        "shows the key as the value",
    "entities.types": "a type that wins over all evidence: `{\"Strava\": organizations}`",
    "entities.ignore": "names never shown as tags",
    "entities.canonical": "the form a page shows when an entity has it among its names (`[\"OTAN\"]`); "
                          "otherwise the form the articles in the site's `language` use most (else all articles), "
                          "longer names first",
    "curation": "which articles are kept, and an editor's changes per page (see [Curation](curation.md))",
    "curation.include": "rules; when not empty, an article must match one of them to be kept",
    "curation.exclude": "rules; an article matching one is left out (`skipped`, with the rule)",
    "curation.overrides": "per page slug: changes to that one page",
    "curation.sent_editions": "per edition (`2024-w10`): the slugs it was sent with; it keeps them and no "
                              "other, later articles of its period go to the next edition not sent "
                              "(`build-site serve --edit` writes it: Mark as sent)",
    "curation_file": "the editor's corrections (overrides, entity aliases, types, ignore), laid over this "
                     "file's by every build, relative to site.yaml's folder; written by `build-site serve --edit`, "
                     "one line per correction with when and what; empty: none",
    "editions": "edition pages by period; undated articles are in no edition",
    "stories": "articles about one event grouped into a story; `stories: off` turns it off",
    "stories.enabled": "`false`: every article is a story of its own (same as `stories: off`)",
    "stories.window_days": "articles more than this many days apart are never in one story "
                           "(an undated article may join any)",
    "stories.threshold": "two groups become one story when the mean similarity of all their pairs reaches this "
                         "(higher: fewer, tighter stories)",
    "stories.cross_language": "a French and an English article may be one story",
    "ranking": "order of listings",
    "ranking.coverage": "within a day, stories carried by more outlets first",
    "publish": "what article pages and feeds show (see [Publishing](publishing.md))",
    "publish.body": "`full`: the whole text; `excerpt`: only the lead, with a link to the original",
    "publish.excerpt_words": "excerpt mode: at most this many words, cut at a sentence end",
    "executor": "where the heavy per-document work runs (see [Running on Dask](dask.md))",
    "executor.kind": "`local`: worker processes here; `dask`: tasks on a Dask cluster",
    "executor.scheduler": "with `kind: dask`, the scheduler's address, or `local` (also when empty) "
                          "for a cluster of `jobs` processes here; `--dask` overrides it",
}

# What settings.py (_check_values) and curate.py (check_curation_settings) check beyond the type.
CHECKS: dict[str, str] = {
    "base_url": "a web address `http(s)://host/path` or a path from `/`; a `/` is added at the end",
    "language": "`fr` or `en`",
    "jobs": "at least 0",
    "page_size": "at least 1",
    "clean.repeated_line_min_docs": "at least 2",
    "clean.repeated_sentence_share": "in (0, 1]",
    "dedup.shingle_words": "at least 1",
    "dedup.num_perm": "at least 16",
    "dedup.lsh_threshold": "in (0, 1]",
    "dedup.jaccard": "in (0, 1]",
    "dedup.containment": "in (0, 1]",
    "dedup.min_length_ratio": "in (0, 1]",
    "outlets": "each a string, or a mapping of `name` (a string) and `aliases` (a list)",
    "entities.types": "each type `people`, `organizations` or `places`",
    "curation.include": "each rule a mapping of " + ", ".join(f"`{k}`" for k in RULE_KEYS)
                        + "; dates YYYY-MM-DD, `in` title, body or any, regexes that compile",
    "curation.exclude": "as `curation.include`",
    "curation.overrides": "each a mapping of " + ", ".join(f"`{k}`" for k in OVERRIDE_KEYS),
    "curation.sent_editions": "each key an edition (`2024-w10`, `2024-03` or `2024-03-05`), each value a list of slugs",
    "curation_file": "holds only `curation.overrides`, `curation.sent_editions` and `entities.aliases`, `types`, `ignore`, `canonical`, "
                     "checked as here",
    "editions": "one of " + ", ".join(f"`{e}`" for e in EDITIONS),
    "stories": "a mapping, or `off`",
    "stories.window_days": "at least 0",
    "stories.threshold": "in (0, 1]",
    "publish.body": "`full` or `excerpt`",
    "publish.excerpt_words": "at least 10",
    "executor.kind": "`local` or `dask`",
    "executor.scheduler": "`local`, or an address `tcp://`, `tls://`, `inproc://`, `ucx://`, `ws://`, "
                          "`wss://`, or `host:port`",
}


def keys(schema: dict[str, Any] = DEFAULTS, prefix: str = "") -> list[tuple[str, Any]]:
    """Every key of the schema, nested keys after their parent, with its default."""
    out: list[tuple[str, Any]] = []
    for key, value in schema.items():
        full = f"{prefix}{key}"
        out.append((full, value))
        if isinstance(value, dict) and value is not ANY_MAPPING:
            out.extend(keys(value, f"{full}."))
    return out


def _type(value: Any, key: str) -> str:
    if value is ANY_MAPPING:
        return "mapping"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "section",
            list: "list"}[type(value)]
    return kind + (" or null" if key.rsplit(".", 1)[-1] in NULLABLE else "")


def _default(value: Any) -> str:
    if isinstance(value, dict) and value is not ANY_MAPPING:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return '`""`'
    return f"`{value}`" if not isinstance(value, (dict, list)) else ("`{}`" if isinstance(value, dict) else "`[]`")


def render() -> str:
    missing = [k for k, _ in keys() if k not in DESCRIPTIONS]
    if missing:
        raise KeyError(f"settings keys without a description in settings_doc.DESCRIPTIONS: {missing}")
    lines = [
        "# Settings reference",
        "",
        "<!-- Written by `python -m generator.core.settings_doc` from DEFAULTS in generator/core/settings.py;"
        " do not edit by hand. -->",
        "",
        "Every key of `site.yaml` is optional; a file holding only `title:` and `base_url:` is valid.",
        "Paths are relative to the folder of site.yaml. An unknown key or a wrong type stops the build",
        "with the file, the line and the nearest valid key, e.g.",
        "`site.yaml:2: unknown key 'page_sise'; did you mean 'page_size'?` (exit status 2).",
        "",
        "| key | type | default | meaning | checked |",
        "|---|---|---|---|---|",
    ]
    for key, value in keys():
        check = 'type only' if not isinstance(value, dict) or value is ANY_MAPPING else 'known keys only'
        lines.append(f"| `{key}` | {_type(value, key)} | {_default(value)} | {DESCRIPTIONS[key]} | "
                     f"{CHECKS.get(key, check)} |")
    lines += ["", "A small site.yaml:", "", "```yaml",
              "title: Revue de presse", "base_url: https://example.org/revue/", "language: fr",
              "page_size: 30", "editions: weekly", "publish:", "  body: excerpt", "  excerpt_words: 60",
              "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} is out of date: run python -m generator.core.settings_doc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
