"""output/site/: the HTML site, rendered from output/content/ alone.

Pages: home (paginated), one page per article, one per person, organization, place and
outlet (paginated, each with an Atom feed), the indexes of those, archives by year and
month, search (Pagefind), 404, sitemap.xml, robots.txt and the site's Atom feed. Every link
between pages is relative and ends in index.html, so the folder also works opened from disk.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.dates import format_date

from ..core.store import StageCache, digest, store_path
from ..core.versions import stage_version
from ..output.content import Page, read_content
from ..output.publish import remove_stale
from .editions import pinned_first, rank_views, write_editions
from .search import SearchIndexer, plan_shards
from .stats import write_statistics
from .story_pages import link_stories, story_entries, write_story_pages
from .taxonomies import Term, collect_terms, letter_of, link_related
from .views import build_views
from .writer import SiteWriter, card_key, copy_static, own_key, render_planned, search_key

FEED_ITEMS = 20


def paginate(items: list[Any], size: int) -> list[tuple[int, list[Any]]]:
    """The pages of a newest-first listing, newest first, as (number, items); number 0 is the
    front page. Numbered pages count from the oldest end: page 1 always holds the oldest SIZE
    items, page 2 the next SIZE, and the front page the newest SIZE to 2*SIZE-1. So a page's
    address keeps its articles as the listing grows: a new article changes the front page (and
    adds a page once per SIZE of them), never every page after it, as numbering from the
    newest end would (a day of new articles re-rendered every page of every listing they join)."""
    full = len(items) // size
    if full <= 1:
        return [(0, items)]
    front = len(items) - (full - 1) * size
    pages = [(0, items[:front])]
    for number in range(full - 1, 0, -1):
        start = front + (full - 1 - number) * size
        pages.append((number, items[start:start + size]))
    return pages


def page_path(folder: str, number: int) -> str:
    """'people/x/' front page (0) -> 'people/x/index.html'; page 3 -> 'people/x/page/3/index.html'."""
    return f"{folder}index.html" if number == 0 else f"{folder}page/{number}/index.html"


def pagers(folder: str, pages: list[tuple[int, list[Any]]]) -> list[dict[str, Any]]:
    """The pager of each page: its number (0: the front page) and its newer and older pages."""
    numbers = [number for number, _ in pages]
    return [{"number": number, "paged": len(numbers) > 1,
             "newer": page_path(folder, numbers[i - 1]) if i > 0 else None,
             "older": page_path(folder, numbers[i + 1]) if i + 1 < len(numbers) else None}
            for i, number in enumerate(numbers)]


@dataclass
class RenderResult:
    pages: int  # HTML pages
    manifest: dict[str, str]  # every file of the site: path -> digest of its bytes
    keys: dict[str, str]  # every rendered page: path -> digest of what it was rendered from
    rendered: int = 0  # files rendered by this build from their templates (the others were kept or linked)


def render_site_from_content(content_dir: Path, site_dir: Path, templates: Path, static: Path,
                             config: dict[str, Any], **kwargs: Any) -> RenderResult:
    """The site of a content folder alone (output/content/ is the published contract)."""
    return render_site(read_content(content_dir), site_dir, templates, static, config, **kwargs)


def render_site(pages: list[Page], site_dir: Path, templates: Path, static: Path,
                config: dict[str, Any], search: bool = True, jobs: int = 1,
                previous: dict[str, str] | None = None, previous_keys: dict[str, str] | None = None,
                cache_dir: Path | None = None,
                published_site: tuple[Path, dict[str, str], dict[str, str]] | None = None) -> RenderResult:
    """Write the whole site of the content PAGES into SITE_DIR, rendering and writing only the
    pages that changed.

    `previous` describes what SITE_DIR already holds (path -> digest; empty: nothing) and
    `previous_keys` what each of those pages was rendered from; `published_site`, the same
    of the published site (its folder, files, keys), whose pages and search shards are linked
    in where they were made from what this build would render them from. PAGES are emptied
    once the views are made from them: the text is not held twice while the site renders.
    """
    language = config["language"]
    size = config["page_size"]
    previous = previous or {}
    writer = SiteWriter(templates, site_dir, config, previous, previous_keys, published_site)
    store = store_path(cache_dir) if cache_dir else None
    stored_views = StageCache(store, stage_version("views"), "views")
    try:
        views = build_views(pages, language, config["publish"], stored_views, jobs)
    finally:
        stored_views.close()
    pages.clear()
    rank_views(views, config["ranking"])  # editions.py: breadth of coverage within a day
    terms = collect_terms(views)
    stored_related = StageCache(store, stage_version("render"), "related")
    try:
        link_related(views, cache=stored_related)
    finally:
        stored_related.close()
    stories = link_stories(views)  # story_pages.py: each article's other coverage
    site_dir.mkdir(parents=True, exist_ok=True)

    for view in views:
        writer.write("article.html", view["url"], article=view)
        for alias in view["aliases"]:  # a published page merged into this one: its URL leads here
            writer.write("redirect.html", f"articles/{alias}/index.html", listed=False, target=view,
                         target_url=writer.absolute(view["url"]))
    manifest, keys = render_planned(writer, jobs)
    # Pagefind reads only the article pages: it indexes while the other pages render, so
    # pages of articles that are gone must go first
    held_articles = {rel: d for rel, d in previous.items() if rel.startswith("articles/")}
    remove_stale(site_dir, held_articles, manifest)
    # search.py: one Pagefind bundle per period, indexed again only when its articles changed
    indexer = SearchIndexer(site_dir, plan_shards(views, lambda view: search_key(writer.salt, view)),
                            previous, writer.previous_keys, jobs, published_site) if search else None
    try:
        if indexer is not None and views:
            indexer.start()
        plan_listings(writer, views, terms, config, size, language, stories, indexer.names if indexer else [])
        more, more_keys = render_planned(writer, jobs)
        if indexer is not None:
            indexer.widen()  # the render's workers are done
            if not views:  # Pagefind needs pages to read: the listings, here
                indexer.start()
        manifest.update(more)
        keys.update(more_keys)
        manifest.update(copy_static(static, site_dir, previous))
        if indexer is not None:
            index_files, index_keys = indexer.finish()
            manifest.update(index_files)
            keys.update(index_keys)
            indexer = None
    finally:
        if indexer is not None:
            indexer.kill()
    remove_stale(site_dir, previous, manifest)
    return RenderResult(pages=len(writer.pages) + 1, manifest=manifest, keys=keys,  # and the 404 page
                        rendered=writer.rendered)


def plan_listings(writer: SiteWriter, views: list[dict[str, Any]], terms: dict[str, dict[str, Term]],
                  config: dict[str, Any], size: int, language: str,
                  stories: list[dict[str, Any]] | None = None, search_bundles: list[str] | None = None) -> None:
    """Every page but the articles: home, taxonomies and their feeds, archives, search, feeds."""
    # the home page lists stories: each story's lead article, its other articles folded under it
    pages = paginate(story_entries(pinned_first(views), config["ranking"]["coverage"]), size)  # pinned first
    for (number, chunk), pager in zip(pages, pagers("", pages)):
        counted = {"count": len(views)} if number == 0 else {}  # as on a term's pages
        writer.write("index.html", page_path("", number), entries=chunk, pager=pager,
                     heading=config["title"], **counted)
    for taxonomy, by_slug in terms.items():
        ordered = sorted(by_slug.values(), key=lambda t: (letter_of(t.name), t.name.casefold(), t.slug))
        letters = sorted({letter_of(t.name) for t in ordered})
        writer.write("terms.html", f"{taxonomy}/index.html", taxonomy=taxonomy, terms=ordered, letters=letters,
                     letter_of=letter_of)
        for term in ordered:
            # a term's pages show its name and its articles: they are planned only when one changed
            writer.family(term.folder, term_declaration(term, size),
                          functools.partial(plan_term_pages, writer, term, taxonomy, config, size))
    write_archives(writer, views, size, language)
    write_editions(writer, views, config)  # editions.py
    write_statistics(writer, views)  # stats.py
    write_story_pages(writer, stories if stories is not None else link_stories(views), config)  # story_pages.py
    writer.write("search.html", "search/index.html", bundles=search_bundles or [])
    # served at any missing path, so its links start from base_url rather than from itself
    writer.write("404.html", "404.html", root=writer.base_url)
    writer.write("feed.xml", "feed.xml", title=config["title"], feed_path="feed.xml", page="index.html",
                 entries=views[:FEED_ITEMS])
    writer.write("sitemap.xml", "sitemap.xml", urls=[writer.absolute(p) for p in writer.pages])
    writer.write_text("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {writer.absolute('sitemap.xml')}\n")


def listing_declaration(size: int, *fields: str, cards: list[dict[str, Any]]) -> str:
    """What the pages of a listing show: its own fields, its page size and the card of each
    article it lists, in order."""
    return digest(str(size), *fields, *(card_key(view) for view in cards))


def term_declaration(term: Term, size: int) -> str:
    """What a term's pages and feed show: its name, its articles' cards and the whole of the
    articles its feed holds."""
    return listing_declaration(size, term.taxonomy, term.slug, term.name,
                               *(own_key(view) for view in term.articles[:FEED_ITEMS]), cards=term.articles)


def plan_term_pages(writer: SiteWriter, term: Term, taxonomy: str, config: dict[str, Any], size: int) -> None:
    pages = paginate(term.articles, size)
    for (number, chunk), pager in zip(pages, pagers(term.folder, pages)):
        # the count is on the front page only: the numbered pages keep their bytes as the term grows
        counted = {"count": len(term.articles)} if number == 0 else {}
        writer.write("term.html", page_path(term.folder, number), term=term.ref, taxonomy=taxonomy,
                     articles=chunk, pager=pager, **counted)
    writer.write("feed.xml", f"{term.folder}feed.xml", title=f"{config['title']} · {term.name}",
                 feed_path=f"{term.folder}feed.xml", page=term.folder + "index.html",
                 entries=term.articles[:FEED_ITEMS])


def write_archives(writer: SiteWriter, views: list[dict[str, Any]], size: int, language: str) -> None:
    by_year: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_month: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for view in views:
        if view["date"]:
            year, month = view["date"][:4], view["date"][5:7]
            by_year[year].append(view)
            by_month[(year, month)].append(view)

    def month_name(year: str, month: str) -> str:
        return format_date(dt.date(int(year), int(month), 1), format="LLLL yyyy", locale=language)

    years = [{"year": y, "count": len(by_year[y]), "url": f"archive/{y}/index.html",
              "months": [{"name": month_name(y, m), "count": len(by_month[(y, m)]),
                          "url": f"archive/{y}/{m}/index.html"}
                         for (yy, m) in sorted(by_month, reverse=True) if yy == y]}
             for y in sorted(by_year, reverse=True)]
    writer.write("archive.html", "archive/index.html", years=years)

    def plan_period(folder: str, heading: str, months: list[dict[str, Any]], members: list[dict[str, Any]]) -> None:
        pages = paginate(members, size)
        for (number, chunk), pager in zip(pages, pagers(folder, pages)):
            # a year's months and their counts on its front page only, as a term's count
            writer.write("period.html", page_path(folder, number), heading=heading,
                         months=months if number == 0 else [], articles=chunk, pager=pager)

    # a period's pages show its heading, its months and its articles: planned only when one changed
    for year in years:
        folder, members = f"archive/{year['year']}/", by_year[year["year"]]
        writer.family(folder, listing_declaration(size, year["year"], json.dumps(year["months"]), cards=members),
                      functools.partial(plan_period, folder, year["year"], year["months"], members))
    for (y, m), members in by_month.items():
        folder, heading = f"archive/{y}/{m}/", month_name(y, m)
        writer.family(folder, listing_declaration(size, heading, "[]", cards=members),
                      functools.partial(plan_period, folder, heading, [], members))
