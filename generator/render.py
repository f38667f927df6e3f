"""output/site/: the HTML site, rendered from output/content/ alone.

Pages: home (paginated), one page per article, one per person, organization, place and
outlet (paginated, each with an Atom feed), the indexes of those, archives by year and
month, search (Pagefind), 404, sitemap.xml, robots.txt and the site's Atom feed. Every link
between pages is relative and ends in index.html, so the folder also works opened from disk.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
import yaml
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from slugify import slugify

from .content import read_content
from .editions import editorial_fields, home_order, rank_views, write_editions
from .model import BuildError
from .stats import write_statistics

ENTITY_TYPES = ("people", "organizations", "places")
TAXONOMIES = ENTITY_TYPES + ("outlets",)
FEED_ITEMS = 20
RELATED = 5
LEAD_CHARS = 300
WORDS_PER_MINUTE = 200
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[«\"“A-ZÀ-Ý0-9])")


@functools.lru_cache(maxsize=1)
def _markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=[], output_format="html")
    md.ESCAPED_CHARS += ["<", "|", "~", "="]  # as CommonMark: content.py escapes these too
    md.preprocessors.deregister("html_block")
    for pattern in ("html", "entity", "automail", "autolink"):
        md.inlinePatterns.deregister(pattern)
    return md


def markdown_to_html(text: str) -> str:
    """Markdown to HTML with raw HTML, entities and autolinks treated as plain text.

    Scraped text is untrusted: python-markdown passes raw HTML through by default.
    """
    # python-markdown leaves "&lt;" alone as an entity; scraped "&lt;" must show as typed
    return _markdown().reset().convert(text.replace("&", "&amp;"))


def plain_text(body: str) -> str:
    """The Markdown body as the reader sees it, without escapes."""
    return re.sub(r"\\(.)", r"\1", body)


def lead_of(body: str) -> str:
    """The first sentences, up to about LEAD_CHARS characters."""
    first = plain_text(body).strip().split("\n\n", 1)[0]
    lead = ""
    for sentence in _SENTENCE.split(first):
        if lead and len(lead) + len(sentence) > LEAD_CHARS:
            break
        lead = f"{lead} {sentence}".strip()
    if len(lead) > LEAD_CHARS + 100:
        lead = lead[:LEAD_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return lead


def term_slug(name: str) -> str:
    return slugify(name, max_length=80, word_boundary=True) or "x"


def paginate(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def page_path(folder: str, number: int) -> str:
    """'people/x/' page 1 -> 'people/x/index.html'; page 3 -> 'people/x/page/3/index.html'."""
    return f"{folder}index.html" if number == 1 else f"{folder}page/{number}/index.html"


@dataclass
class Term:
    name: str
    slug: str
    taxonomy: str
    articles: list[dict[str, Any]] = field(default_factory=list)
    names: Counter[str] = field(default_factory=Counter)

    @property
    def folder(self) -> str:
        return f"{self.taxonomy}/{self.slug}/"


class SiteWriter:
    """Renders templates into files under the site folder, with per-page relative roots."""

    def __init__(self, templates: Path, site_dir: Path, config: dict[str, Any]) -> None:
        catalog_path = templates / "i18n" / f"{config['language']}.yaml"
        try:
            self.messages = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
        except OSError:
            raise BuildError(f"message catalog not found: {catalog_path}") from None
        self.env = Environment(loader=FileSystemLoader(str(templates)),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)
        self.env.filters["t"] = self.translate
        self.site_dir = site_dir
        self.config = config
        self.base_url = config["base_url"].rstrip("/") + "/"
        self.pages: list[str] = []

    def translate(self, key: str, **values: Any) -> str:
        return str(self.messages[key]).format(**values)

    def absolute(self, rel: str) -> str:
        return self.base_url + rel.removesuffix("index.html")

    def write(self, template: str, rel: str, root: str | None = None, **context: Any) -> None:
        if root is None:
            root = "../" * rel.count("/")
        html = self.env.get_template(template).render(
            site=self.config, root=root, path=rel, canonical=self.absolute(rel), ui=self.messages,
            **context)
        target = self.site_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        if rel.endswith(".html") and rel != "404.html":
            self.pages.append(rel)

    def write_text(self, rel: str, text: str) -> None:
        target = self.site_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def human_date(iso: str | None, language: str) -> str | None:
    if not iso:
        return None
    return format_date(dt.date.fromisoformat(iso), format="long", locale=language)


def build_views(pages: list[tuple[dict[str, Any], str]], language: str) -> list[dict[str, Any]]:
    """One dict per article with everything its page and the listings show, newest first."""
    views = []
    for fm, body in pages:
        text = plain_text(body)
        sources = fm.get("sources") or []
        also = []
        for outlet in fm.get("also_published_by") or []:  # each with the date of its copy
            dates = sorted(s["date"] for s in sources if s.get("outlet") == outlet and s.get("date"))
            also.append({"outlet": outlet, "date": human_date(dates[0], language) if dates else None})
        views.append({
            "slug": fm["slug"], "title": fm["title"], "title_derived": bool(fm.get("title_derived")),
            "date": fm.get("date"), "date_human": human_date(fm.get("date"), language),
            "outlet": fm.get("outlet"), "lang": fm.get("lang"), "source_url": fm.get("url"),
            "also_published_by": fm.get("also_published_by") or [], "also": also,
            "sources": sources, "entities": fm.get("entities") or {},
            "url": f"articles/{fm['slug']}/index.html", "body_html": markdown_to_html(body),
            "lead": lead_of(body), "reading_minutes": max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE)),
        })
        views[-1].update(editorial_fields(fm))  # editions.py: pinned, note, summary as lead
    # newest first; undated articles last; slug breaks ties so the order never depends on disk
    views.sort(key=lambda v: v["slug"])
    views.sort(key=lambda v: v["date"] or "", reverse=True)
    return views


def collect_terms(views: list[dict[str, Any]]) -> dict[str, dict[str, Term]]:
    """Taxonomy -> term slug -> Term. Names that slug alike are one term (one page, never two
    pages overwriting each other); its display name is the most frequent spelling."""
    terms: dict[str, dict[str, Term]] = {t: {} for t in TAXONOMIES}
    for view in views:
        named: dict[str, list[str]] = {t: list(view["entities"].get(t) or []) for t in ENTITY_TYPES}
        named["outlets"] = [o for o in [view["outlet"], *view["also_published_by"]] if o]
        view["terms"] = {t: [] for t in TAXONOMIES}
        for taxonomy, names in named.items():
            for name in names:
                slug = term_slug(name)
                term = terms[taxonomy].setdefault(slug, Term(name, slug, taxonomy))
                term.names[name] += 1
                if not term.articles or term.articles[-1] is not view:
                    term.articles.append(view)
                    view["terms"][taxonomy].append(term)
    for taxonomy in terms.values():
        for term in taxonomy.values():
            term.name = max(term.names.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return terms


def link_related(views: list[dict[str, Any]], max_postings: int = 500) -> None:
    """Related articles: most shared entities; an entity on hundreds of pages relates nothing."""
    postings: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, view in enumerate(views):
        for taxonomy in ENTITY_TYPES:
            for term in view["terms"][taxonomy]:
                postings[(taxonomy, term.slug)].append(i)
    for i, view in enumerate(views):
        shared: Counter[int] = Counter()
        for taxonomy in ENTITY_TYPES:
            for term in view["terms"][taxonomy]:
                members = postings[(taxonomy, term.slug)]
                if len(members) <= max_postings:
                    shared.update(j for j in members if j != i)
        best = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:RELATED]
        view["related"] = [views[j] for j, _ in best]
    for i, view in enumerate(views):
        view["newer"] = views[i - 1] if i > 0 else None
        view["older"] = views[i + 1] if i + 1 < len(views) else None


def letter_of(name: str) -> str:
    first = unicodedata.normalize("NFKD", name[:1]).encode("ascii", "ignore").decode().upper()
    return first if first.isalpha() else "#"


def render_site(content_dir: Path, site_dir: Path, templates: Path, static: Path,
                config: dict[str, Any], search: bool = True) -> int:
    """Write the whole site; returns the number of HTML pages written."""
    language = config["language"]
    size = config["page_size"]
    writer = SiteWriter(templates, site_dir, config)
    views = build_views(read_content(content_dir), language)
    rank_views(views, config["ranking"])  # editions.py: breadth of coverage within a day
    terms = collect_terms(views)
    link_related(views)
    site_dir.mkdir(parents=True, exist_ok=True)
    if static.is_dir():
        shutil.copytree(static, site_dir / "static", dirs_exist_ok=True)

    chunks = paginate(home_order(views), size)  # pinned articles first
    for n, chunk in enumerate(chunks, 1):
        writer.write("index.html", page_path("", n), articles=chunk, pager=pager("", n, len(chunks)),
                     heading=config["title"], count=len(views))
    for view in views:
        writer.write("article.html", view["url"], article=view)
    for taxonomy, by_slug in terms.items():
        ordered = sorted(by_slug.values(), key=lambda t: (letter_of(t.name), t.name.casefold(), t.slug))
        letters = sorted({letter_of(t.name) for t in ordered})
        writer.write("terms.html", f"{taxonomy}/index.html", taxonomy=taxonomy, terms=ordered, letters=letters,
                     letter_of=letter_of)
        for term in ordered:
            term_chunks = paginate(term.articles, size)
            for n, chunk in enumerate(term_chunks, 1):
                writer.write("term.html", page_path(term.folder, n), term=term, taxonomy=taxonomy,
                             articles=chunk, pager=pager(term.folder, n, len(term_chunks)))
            writer.write("feed.xml", f"{term.folder}feed.xml", title=f"{config['title']} · {term.name}",
                         feed_path=f"{term.folder}feed.xml", page=term.folder + "index.html",
                         entries=term.articles[:FEED_ITEMS])
    write_archives(writer, views, size, language)
    write_editions(writer, views, config)  # editions.py
    write_statistics(writer, views)  # stats.py
    writer.write("search.html", "search/index.html")
    # served at any missing path, so its links start from base_url rather than from itself
    writer.write("404.html", "404.html", root=writer.base_url)
    writer.write("feed.xml", "feed.xml", title=config["title"], feed_path="feed.xml", page="index.html",
                 entries=views[:FEED_ITEMS])
    html_pages = list(writer.pages)
    writer.write("sitemap.xml", "sitemap.xml", urls=[writer.absolute(p) for p in html_pages])
    writer.write_text("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {writer.absolute('sitemap.xml')}\n")
    if search:
        index_for_search(site_dir)
    return len(html_pages) + 1  # and the 404 page


def pager(folder: str, number: int, total: int) -> dict[str, Any]:
    return {"number": number, "total": total,
            "newer": page_path(folder, number - 1) if number > 1 else None,
            "older": page_path(folder, number + 1) if number < total else None}


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
    for year in years:
        chunks = paginate(by_year[year["year"]], size)
        for n, chunk in enumerate(chunks, 1):
            folder = f"archive/{year['year']}/"
            writer.write("period.html", page_path(folder, n), heading=year["year"], months=year["months"],
                         articles=chunk, pager=pager(folder, n, len(chunks)))
    for (y, m), members in by_month.items():
        chunks = paginate(members, size)
        folder = f"archive/{y}/{m}/"
        for n, chunk in enumerate(chunks, 1):
            writer.write("period.html", page_path(folder, n), heading=month_name(y, m), months=[],
                         articles=chunk, pager=pager(folder, n, len(chunks)))


def index_for_search(site_dir: Path) -> None:
    """Pagefind's index of the article bodies (pages marked data-pagefind-body)."""
    result = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site_dir), "--silent"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError("search indexing failed (pagefind): "
                         + (result.stderr.strip().splitlines() or ["no output"])[-1])
