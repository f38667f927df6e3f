"""output/content/<slug>.md: YAML frontmatter and a Markdown body per article."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..core.model import ENTITY_TYPES, Article
from ..core.store import StageCache
from ..core.versions import stage_version
from .publish import remove_stale, write_if_changed

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


_LINE_START_SPECIAL = re.compile(r"^(\s*)(?:([#>+=|~-])|(\d+)([.)]))")


def escape_markdown(line: str) -> str:
    """Scraped text shown as text: neutralise Markdown and HTML syntax."""
    line = _INLINE_SPECIAL.sub(r"\\\1", line)
    return _LINE_START_SPECIAL.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), line)


def frontmatter(art: Article) -> dict[str, Any]:
    """The frontmatter keys of the output contract (docs/output-contract.md)."""
    sources = []
    for doc in art.members:
        src: dict[str, Any] = {"file": doc.file}
        if doc.record is not None:
            src["record"] = doc.record
        src.update({"outlet": doc.outlet, "date": doc.date})
        if doc.url:  # a record's url field, an HTML page's canonical address, a URL line of a scrape
            src["url"] = doc.url
        sources.append(src)
    fm: dict[str, Any] = {
        "title": art.title,
        "slug": art.slug,
        "date": art.date,
        "outlet": art.outlet,
        "lang": art.lang,
        "entities": {k: list(art.entities.get(k, [])) for k in ENTITY_TYPES},
        "sources": sources,
        "also_published_by": list(art.also_published_by),
    }
    if art.title_derived:
        fm["title_derived"] = True
    if art.excerpt:  # only a feed's summary: the page says so and links to the original
        fm["excerpt"] = True
    if art.updated:
        fm["updated"] = art.updated
    if art.url:
        fm["url"] = art.url
    if art.aliases:
        fm["aliases"] = sorted(art.aliases)
    fm["story"] = art.story or art.slug  # stories.py: the lead article's slug; its own when alone
    # curate.py: pinned, pin_order, note, summary, story_title, original_title/outlet/date, entities_edited
    fm.update(art.curation)
    return fm


# One content page as the render stage takes it: (frontmatter, Markdown body, the digest of the
# page's bytes, which names everything the page's view is made of)
Page = tuple[dict[str, Any], str, str]


def markdown_body(art: Article) -> str:
    return "\n\n".join(escape_markdown(line) for line in art.lines)


def dump_frontmatter(fm: dict[str, Any]) -> str:
    return yaml.dump(fm, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=10**6, default_flow_style=False)


def page_text(head: str, body: str) -> str:
    return f"---\n{head}---\n\n{body}\n"


def render_markdown(art: Article) -> str:
    return page_text(dump_frontmatter(frontmatter(art)), markdown_body(art))


def frontmatter_heads(fms: list[dict[str, Any]], store: Path | None) -> list[str]:
    """dump_frontmatter() of each, from the store for a frontmatter dumped before: PyYAML's
    representer, in Python, costs more than half a millisecond a page."""
    cache = StageCache(store, stage_version("content"), "content")
    try:
        keys = [cache.key(json.dumps(fm, ensure_ascii=False)) for fm in fms]  # in key order: YAML keeps it
        known = cache.get_many(set(keys))
        fresh: dict[str, str] = {}
        for key, fm in zip(keys, fms):
            if key not in known and key not in fresh:
                fresh[key] = dump_frontmatter(fm)
        cache.put_many(fresh)
        cache.prune()
        known.update(fresh)
        return [known[key] for key in keys]
    finally:
        cache.close()


def write_content(articles: list[Article], folder: Path, previous: dict[str, str] | None = None,
                  store: Path | None = None) -> tuple[dict[str, str], list[Page]]:
    """Write every page (only those whose bytes changed, per `previous`); returns name ->
    digest, and the pages as read_content() would read them back, for the render stage."""
    previous = previous or {}
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, str] = {}
    pages: list[tuple[str, Page]] = []
    fms = [frontmatter(art) for art in articles]
    for art, fm, head in zip(articles, fms, frontmatter_heads(fms, store)):
        body = markdown_body(art)
        name = f"{art.slug}.md"
        manifest[name] = write_if_changed(folder, name, page_text(head, body).encode("utf-8"), previous)
        pages.append((name, (fm, body.strip(), manifest[name])))
    remove_stale(folder, previous, manifest)
    return manifest, [page for _, page in sorted(pages, key=lambda named: named[0])]  # in file name order


def read_frontmatter(path: Path) -> dict[str, Any]:
    """The frontmatter of one content page (raises OSError, IndexError or yaml.YAMLError on a
    file that is not one)."""
    head = path.read_text(encoding="utf-8").split("---\n", 2)[1]
    return yaml.load(head, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_content(folder: Path) -> list[Page]:
    """The Page of every file of a content folder: a site rebuilt from output/content/ alone
    (render_site_from_content)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader: ten times faster
    pages = []
    for path in sorted(folder.glob("*.md")):
        data = path.read_bytes()
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads it
        _, head, body = text.split("---\n", 2)
        pages.append((yaml.load(head, Loader=loader), body.strip(), hashlib.sha1(data).hexdigest()))
    return pages
