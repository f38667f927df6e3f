"""Stories on the site: story pages, story-first listings and the story feed.

Render-side only: it reads the `story` key that stories.py wrote into each page's
frontmatter (the slug of the story's lead article). A story of one article has no page of its
own; a story of several gets `stories/<slug>/index.html` with a timeline of every article,
and listings that show stories (home, editions) show its lead article with the others folded
under it.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ..core.model import ENTITY_TYPES

FEED_STORIES = 20


def outlets_of(view: dict[str, Any]) -> list[str]:
    """Every outlet that carried the article: its own and those of its merged copies."""
    return [o for o in [view["outlet"], *view["also_published_by"]] if o]


def link_stories(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stories of two or more articles, newest first (broader coverage first within a day);
    each view gets `coverage` (the story's other articles), `story_url` and `story_outlets`."""
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for view in views:
        members[view["story"]].append(view)
    stories = []
    for slug, group in members.items():
        group = sorted(group, key=lambda v: (v["date"] or "9999", v["slug"]))
        outlets = sorted({o for v in group for o in outlets_of(v)}, key=str.casefold)
        url = f"stories/{slug}/index.html" if len(group) > 1 else None
        for view in group:
            view["coverage"] = [v for v in group if v is not view]
            view["story_url"] = url
            view["story_outlets"] = len(outlets)
        if len(group) < 2:
            continue
        lead = next((v for v in group if v["slug"] == slug), group[0])
        dates = [v["date"] for v in group if v["date"]]
        stories.append({"slug": slug, "url": url, "lead": lead, "title": lead.get("story_title") or lead["title"],
                        "articles": group,
                        "outlets": outlets, "first": min(dates) if dates else None,
                        "last": max(dates) if dates else None, "terms": union_of_terms(group)})
    stories.sort(key=lambda s: s["slug"])
    stories.sort(key=lambda s: len(s["outlets"]), reverse=True)
    stories.sort(key=lambda s: s["last"] or "", reverse=True)
    return stories


def union_of_terms(group: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every entity of the story's articles, the ones most of them name first."""
    out = {}
    for taxonomy in ENTITY_TYPES:
        counts: Counter[str] = Counter()
        terms = {}
        for view in group:
            for term in view["terms"][taxonomy]:
                counts[term.slug] += 1
                terms[term.slug] = term
        out[taxonomy] = [terms[s] for s in sorted(counts, key=lambda s: (-counts[s], terms[s].name.casefold()))]
    return out


def story_entries(views: list[dict[str, Any]], coverage_first: bool = True) -> list[dict[str, Any]]:
    """A listing by story: one entry per story among `views` (ranked), {lead, others}.

    The lead is the story's lead article when the listing holds it, else its earliest article
    there; a pinned article leads its entry. Entries are ranked as articles are, by their
    newest article's date, then, with `ranking.coverage`, by the outlets of the whole story;
    pinned entries first, in the editor's order (`pin: 1`).
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for view in views:
        groups.setdefault(view.get("story") or view["slug"], []).append(view)
    entries = []
    for slug, group in groups.items():
        pinned = [v for v in group if v["pinned"]]
        by_date = sorted(group, key=lambda v: (v["date"] or "9999", v["slug"]))
        lead = pinned[0] if pinned else next((v for v in group if v["slug"] == slug), by_date[0])
        newest = max((v["date"] for v in group if v["date"]), default="")
        entries.append({"lead": lead, "others": [v for v in by_date if v is not lead], "pinned": bool(pinned),
                        "date": newest, "outlets": lead.get("story_outlets", lead.get("outlet_count", 1))})
    entries.sort(key=lambda e: e["lead"]["slug"])
    if coverage_first:
        entries.sort(key=lambda e: e["outlets"], reverse=True)
    entries.sort(key=lambda e: e["date"], reverse=True)
    pinned = sorted((e for e in entries if e["pinned"]), key=lambda e: e["lead"].get("pin_order") or float("inf"))
    return pinned + [e for e in entries if not e["pinned"]]


def write_story_pages(writer: Any, stories: list[dict[str, Any]], config: dict[str, Any]) -> None:
    """stories/<slug>/index.html per story of two or more articles, and stories/feed.xml
    (none with `stories: off`)."""
    for story in stories:
        writer.write("story.html", story["url"], story=story)
    if not config["stories"]["enabled"]:
        return
    writer.write("stories_feed.xml", "stories/feed.xml", title=f"{config['title']} · {writer.translate('stories')}",
                 stories=stories[:FEED_STORIES], absolute=writer.absolute)
