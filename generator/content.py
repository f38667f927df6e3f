"""output/content/<slug>.md: YAML frontmatter and a Markdown body per article."""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from slugify import slugify

from .model import Article
from .publish import remove_stale, write_if_changed

MAX_SLUG = 80
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_LINE_START_SPECIAL = re.compile(r"^(\s*)(?:([#>+=|~-])|(\d+)([.)]))")


def body_hash(lines: list[str]) -> str:
    return hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest()


def base_slug(title: str) -> str:
    return slugify(title or "", max_length=MAX_SLUG, word_boundary=True, save_order=True) or "article"


def assign_slugs(articles: list[Article]) -> None:
    """Unique, stable slugs: on a collision the earliest (date, body hash) keeps the plain slug
    and the others get a short body hash, so input order never decides."""
    groups: dict[str, list[Article]] = defaultdict(list)
    for art in articles:
        groups[base_slug(art.title)].append(art)
    taken = set(groups)
    for base, members in sorted(groups.items()):
        members.sort(key=lambda a: (a.date or "9999", body_hash(a.lines)))
        members[0].slug = base
        for art in members[1:]:
            digest = body_hash(art.lines)
            length = 8
            slug = f"{base[:MAX_SLUG - 9].rstrip('-')}-{digest[:length]}"
            while slug in taken:  # practically never: widen the hash until free
                length += 2
                slug = f"{base[:MAX_SLUG - length - 1].rstrip('-')}-{digest[:length]}"
            taken.add(slug)
            art.slug = slug


def escape_markdown(line: str) -> str:
    """Scraped text shown as text: neutralise Markdown and HTML syntax."""
    line = _INLINE_SPECIAL.sub(r"\\\1", line)
    return _LINE_START_SPECIAL.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), line)


def frontmatter(art: Article) -> dict[str, Any]:
    """The frontmatter keys of the output contract (see DESIGN.md and the README)."""
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
        "entities": {k: list(art.entities.get(k, [])) for k in ("people", "organizations", "places")},
        "sources": sources,
        "also_published_by": list(art.also_published_by),
    }
    if art.title_derived:
        fm["title_derived"] = True
    if art.url:
        fm["url"] = art.url
    fm.update(art.curation)  # curate.py: pinned, note, summary, original_title, entities_edited
    return fm


def render_markdown(art: Article) -> str:
    head = yaml.dump(frontmatter(art), Dumper=_DUMPER, allow_unicode=True, sort_keys=False,
                     width=10**6, default_flow_style=False)
    body = "\n\n".join(escape_markdown(line) for line in art.lines)
    return f"---\n{head}---\n\n{body}\n"


def write_content(articles: list[Article], folder: Path, previous: dict[str, str] | None = None) -> dict[str, str]:
    """Write every page (only those whose bytes changed, per `previous`); returns name -> digest."""
    previous = previous or {}
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {f"{art.slug}.md": write_if_changed(folder, f"{art.slug}.md", render_markdown(art).encode("utf-8"),
                                                   previous)
                for art in articles}
    remove_stale(folder, previous, manifest)
    return manifest


def read_content(folder: Path) -> list[tuple[dict[str, Any], str]]:
    """(frontmatter, Markdown body) of every page, as the render stage sees them."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader: ten times faster
    pages = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, head, body = text.split("---\n", 2)
        pages.append((yaml.load(head, Loader=loader), body.strip()))
    return pages
