"""Editions (daily, weekly or monthly digests), the editor's marks on pages, and ranking.

Render-side only: everything here reads the views render.py builds from output/content.
Weeks are ISO 8601 weeks (Monday to Sunday, numbered as in `date.isocalendar()`); an article
without a date is in no edition.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date

from ..core.model import ENTITY_TYPES
from ..core.store import digest
from .story_pages import story_entries
from .writer import view_key

TOP_ENTITIES = 5
FEED_EDITIONS = 20
GROUP_CANDIDATES = 2  # leading entities of each type an article may be grouped under
MIN_GROUP = 2  # a group needs this many articles; the rest go under "other articles"


def editorial_fields(fm: dict[str, Any]) -> dict[str, Any]:
    """What curation put in the frontmatter, as the templates use it (summary replaces the lead)."""
    fields: dict[str, Any] = {"pinned": bool(fm.get("pinned")), "note": fm.get("note"), "summary": fm.get("summary"),
                              "story_title": fm.get("story_title"), "pin_order": fm.get("pin_order"),
                              "outlet_count": 1 + len(fm.get("also_published_by") or [])}
    if fm.get("summary"):
        fields["lead"] = fm["summary"]
    return fields


def rank_views(views: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """Newest day first; within a day, with `ranking.coverage`, stories carried by more outlets
    first; then by slug. Undated articles last."""
    views.sort(key=lambda v: v["slug"])
    if settings.get("coverage"):
        views.sort(key=lambda v: v["outlet_count"], reverse=True)
    views.sort(key=lambda v: v["date"] or "", reverse=True)


def pinned_first(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pinned articles, in the editor's order (`pin: 2`; `pin: true` after those), then the
    ranked rest: the home page's order, and an edition's."""
    pinned = sorted((v for v in views if v["pinned"]), key=lambda v: v.get("pin_order") or float("inf"))
    return pinned + [v for v in views if not v["pinned"]]



def period_of(iso: str, kind: str) -> tuple[str, dt.date, dt.date]:
    """(key, first day, last day) of the edition holding this date."""
    day = dt.date.fromisoformat(iso)
    if kind == "daily":
        return iso, day, day
    if kind == "monthly":
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return f"{day.year}-{day.month:02d}", first, last
    year, week, weekday = day.isocalendar()
    first = day - dt.timedelta(days=weekday - 1)
    return f"{year}-w{week:02d}", first, first + dt.timedelta(days=6)


@dataclass
class Edition:
    key: str
    first: dt.date
    last: dt.date
    title: str = ""
    span: str = ""
    articles: list[dict[str, Any]] = field(default_factory=list)  # ranked, pinned first
    pinned: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    top: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return f"editions/{self.key}/"

    @property
    def url(self) -> str:
        return f"{self.folder}index.html"

    def declaration(self) -> str:
        """What any page may show of the edition: its period, its name and its articles in order
        (its top entities and groups are made from those, by fill_edition, only when it is shown)."""
        return digest(self.key, self.title, self.span, *(view_key(v) for v in self.articles))


def period_bounds(key: str) -> tuple[dt.date, dt.date]:
    """First and last day of the edition named KEY ("2024-w10", "2024-03" or "2024-03-05")."""
    if "-w" in key:
        year, week = key.split("-w")
        first = dt.date.fromisocalendar(int(year), int(week), 1)
        return first, first + dt.timedelta(days=6)
    if key.count("-") == 1:
        return period_of(f"{key}-01", "monthly")[1:]
    return period_of(key, "daily")[1:]


def collect_editions(views: list[dict[str, Any]], kind: str, sent: dict[str, list[str]] | None = None
                     ) -> list[Edition]:
    """Editions newest first, pinned articles first in each; each dated article in exactly one.

    SENT (curation.sent_editions: edition key -> the slugs it was sent with) freezes an edition:
    it holds those articles still on the site and no other; an article that would fall in it
    goes to the next edition not sent."""
    if kind == "off":
        return []
    sent = sent or {}
    sent_in = {slug: key for key, slugs in sorted(sent.items()) for slug in slugs}
    by_key: dict[str, Edition] = {}
    for view in views:  # views are ranked: the edition keeps that order
        if not view["date"]:
            continue
        if view["slug"] in sent_in:
            key = sent_in[view["slug"]]
            first, last = period_bounds(key)
        else:
            key, first, last = period_of(view["date"], kind)
            while key in sent:  # sent without it: the article waits for the next edition
                key, first, last = period_of((last + dt.timedelta(days=1)).isoformat(), kind)
        by_key.setdefault(key, Edition(key, first, last)).articles.append(view)
    editions = sorted(by_key.values(), key=lambda e: e.first, reverse=True)
    for edition in editions:
        edition.articles = pinned_first(edition.articles)
        edition.pinned = [v for v in edition.articles if v["pinned"]]
    return editions


def fill_edition(edition: Edition, coverage_first: bool = True) -> None:
    """Top entities of the period, pinned articles, and the others grouped by leading entity."""
    counts: Counter[tuple[str, str]] = Counter()  # (taxonomy, term slug) -> articles of the period
    salience: Counter[tuple[str, str]] = Counter()  # ties go to names that lead their articles
    terms: dict[tuple[str, str], Any] = {}
    for view in edition.articles:
        for taxonomy in ENTITY_TYPES:
            for rank, term in enumerate(view["terms"][taxonomy]):
                counts[(taxonomy, term.slug)] += 1
                salience[(taxonomy, term.slug)] += 1 / (rank + 1)
                terms[(taxonomy, term.slug)] = term
    edition.top = {t: [(terms[k], counts[k]) for k in sorted(
        (k for k in counts if k[0] == t), key=lambda k: (-counts[k], -salience[k], k))[:TOP_ENTITIES]]
        for t in ENTITY_TYPES}
    # the edition lists stories: one entry per story of the period, grouped by its lead's entities
    entries = story_entries(edition.articles[len(edition.pinned):], coverage_first)
    groups: dict[tuple[str, str] | None, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        view = entry["lead"]
        candidates = [(t, term.slug) for t in ENTITY_TYPES for term in view["terms"][t][:GROUP_CANDIDATES]]
        best = max(candidates, key=lambda k: counts[k], default=None)  # first of the most shared
        groups[best if best is not None and counts[best] >= MIN_GROUP else None].append(entry)
    # a leading entity that leads only one story of the period makes no group
    other = groups.pop(None, [])
    for key in [k for k, members in groups.items() if len(members) < MIN_GROUP]:
        other += groups.pop(key)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), terms[kv[0]].name.casefold(), kv[0]))
    if other:
        rank = {id(e): i for i, e in enumerate(entries)}
        ordered.append((None, sorted(other, key=lambda e: rank[id(e)])))
    edition.groups = [{"term": terms[key] if key else None, "entries": members,
                       "articles": [v for e in members for v in [e["lead"], *e["others"]]]}
                      for key, members in ordered]


def name_editions(editions: list[Edition], kind: str, language: str, translate: Any) -> None:
    for e in editions:
        if kind == "daily":
            e.title = format_date(e.first, format="long", locale=language)
        elif kind == "monthly":
            e.title = format_date(e.first, format="LLLL yyyy", locale=language).capitalize()
        else:
            year, week, _ = e.first.isocalendar()
            e.title = translate("edition_week", week=week, year=year)
        e.span = translate("edition_span", first=format_date(e.first, format="long", locale=language),
                           last=format_date(e.last, format="long", locale=language))


def plan_edition(writer: Any, edition: Edition, newer: Edition | None, older: Edition | None, kind: str,
                 coverage_first: bool) -> None:
    fill_edition(edition, coverage_first)
    writer.write("edition.html", edition.url, edition=edition, newer=newer, older=older, kind=kind)
    # not a page of the site (no sitemap entry): a file to paste into a newsletter tool
    email = writer.env.get_template("email.html").render(
        site=writer.config, edition=edition, ui=writer.messages, base=writer.base_url, absolute=writer.absolute)
    writer.write_text(f"{edition.folder}email.html", email)


def write_editions(writer: Any, views: list[dict[str, Any]], config: dict[str, Any]) -> list[Edition]:
    """editions/index.html, one page and one e-mail file per edition, and editions/feed.xml."""
    kind = config["editions"]
    editions = collect_editions(views, kind, config["curation"]["sent_editions"])
    if kind == "off":
        return editions
    name_editions(editions, kind, config["language"], writer.translate)
    writer.write("editions.html", "editions/index.html", editions=editions, kind=kind)
    # an edition's page and e-mail show the edition and the names of the ones before and after it:
    # planned, and filled, only when one of those changed
    for i, edition in enumerate(editions):
        newer = editions[i - 1] if i > 0 else None
        older = editions[i + 1] if i + 1 < len(editions) else None
        declared = digest(kind, edition.declaration(), *(f"{e.url} {e.title}" if e else "-" for e in (newer, older)))
        writer.family(edition.folder, declared, functools.partial(
            plan_edition, writer, edition, newer, older, kind, config["ranking"]["coverage"]))
    writer.write("editions_feed.xml", "editions/feed.xml", editions=editions[:FEED_EDITIONS],
                 absolute=writer.absolute)
    return editions
