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


def base_slug(title: str) -> str:
    return slugify(title or "", max_length=MAX_SLUG, word_boundary=True, save_order=True) or "article"


def _suffixed(base: str, key: str, taken: set[str]) -> str:
    """BASE plus a short hash of the canonical input's name (never of the text, which gets
    edited), widened in the rare case that slug is taken too."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    length = 8
    slug = f"{base[:MAX_SLUG - length - 1].rstrip('-')}-{digest[:length]}"
    while slug in taken:
        length += 2
        slug = f"{base[:MAX_SLUG - length - 1].rstrip('-')}-{digest[:length]}"
    return slug


def _keep_previous(articles: list[Article], previous: dict[str, list[str]]) -> set[str]:
    """Give each article the slug it was published under (found by its input files); returns
    the slugs known before, all of them reserved, whether kept or not.

    A previous slug goes to the article that now holds its canonical input, else to the one
    holding most of its inputs; an article that gathers several old pages keeps the one whose
    canonical input is still its own, else the one holding its canonical input, else the one
    sharing most inputs (then the first slug in order), and the others become its aliases.
    """
    owner: dict[str, int] = {}
    for i, art in enumerate(articles):
        for doc in art.members:
            owner[doc.key] = i
    claims = []
    for slug, keys in previous.items():
        shared: dict[int, int] = defaultdict(int)
        for key in keys:
            if key in owner:
                shared[owner[key]] += 1
        for i, count in shared.items():
            members = articles[i].members
            same_canonical = bool(keys) and members[0].key == keys[0]
            holds_canonical = bool(keys) and owner.get(keys[0]) == i
            claims.append(((not same_canonical, not holds_canonical, -count, slug), i, slug))
    given: set[int] = set()
    used: set[str] = set()
    for _, i, slug in sorted(claims):
        if i not in given and slug not in used:
            articles[i].slug = slug
            given.add(i)
            used.add(slug)
    # a page whose inputs now belong to an article that kept another slug (two published
    # pages merged into one): its URL leads there
    for _, i, slug in sorted(claims):
        if slug not in used:
            articles[i].aliases.append(slug)
            used.add(slug)
    return set(previous)


def assign_slugs(articles: list[Article], previous: dict[str, list[str]] | None = None) -> None:
    """Slugs that never move: an article published before keeps its slug (`previous`: slug ->
    input keys, canonical first, of the published build); the others get the free ones.

    A new article takes its title's plain slug when nobody holds it; under one title, new
    articles are served oldest first (date, then canonical input name), so the same seeds
    always give the same slugs; a taken slug gets a suffix from the canonical input's name.
    A slug once published is never given to another article, even after its page went away;
    the slug of a published page merged into another article becomes one of its `aliases`.
    """
    for art in articles:
        art.slug = ""
        art.aliases = []
    taken = _keep_previous(articles, previous) if previous else set()
    fresh = sorted((a for a in articles if not a.slug), key=lambda a: (a.date or "9999", a.members[0].key))
    for art in fresh:
        base = base_slug(art.title)
        art.slug = base if base not in taken else _suffixed(base, art.members[0].key, taken)
        taken.add(art.slug)


def slug_history(articles: list[Article], previous: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Slug -> input keys (canonical first) of this build, plus the slugs of pages gone since,
    so a URL once published stays reserved for the inputs it showed."""
    history = dict(previous or {})
    history.update({art.slug: [doc.key for doc in art.members] for art in articles})
    return history


def slugs_of_content(folder: Path) -> dict[str, list[str]]:
    """Slug -> input keys of the pages in a content folder (when the build manifest is gone)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.md")):
        try:
            head = path.read_text(encoding="utf-8").split("---\n", 2)[1]
            fm = yaml.load(head, Loader=loader)
            keys = [s["file"] if s.get("record") is None else f"{s['file']}#{s['record']}"
                    for s in fm.get("sources") or []]
            out[str(fm.get("slug") or path.stem)] = keys
            for alias in fm.get("aliases") or []:  # without the canonical input: the page keeps its slug
                out.setdefault(str(alias), keys[1:])
        except (OSError, IndexError, ValueError, AttributeError, KeyError, TypeError, yaml.YAMLError):
            continue  # a page edited by hand: its slug is not kept
    return out


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
    if art.aliases:
        fm["aliases"] = sorted(art.aliases)
    fm["story"] = art.story or art.slug  # stories.py: the lead article's slug; its own when alone
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
