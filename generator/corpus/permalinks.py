"""Permalinks: each article's slug, kept from the published build so that no URL ever moves."""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import yaml
from slugify import slugify

from ..core.model import Article
from ..output.content import read_frontmatter

MAX_SLUG = 80
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")  # what base_slug makes: the shape of every page's slug




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
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.md")):
        try:
            fm = read_frontmatter(path)
            keys = [s["file"] if s.get("record") is None else f"{s['file']}#{s['record']}"
                    for s in fm.get("sources") or []]
            out[str(fm.get("slug") or path.stem)] = keys
            for alias in fm.get("aliases") or []:  # without the canonical input: the page keeps its slug
                out.setdefault(str(alias), keys[1:])
        except (OSError, IndexError, ValueError, AttributeError, KeyError, TypeError, yaml.YAMLError):
            continue  # a page edited by hand: its slug is not kept
    return out
