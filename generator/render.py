"""output/site/: the HTML site, rendered from output/content/ alone.

Pages: home (paginated), one page per article, one per person, organization, place and
outlet (paginated, each with an Atom feed), the indexes of those, archives by year and
month, search (Pagefind), 404, sitemap.xml, robots.txt and the site's Atom feed. Every link
between pages is relative and ends in index.html, so the folder also works opened from disk.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import babel
import jinja2
import markdown
import yaml
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape as markupsafe_escape
from slugify import slugify

from .cache import StageCache, digest
from .content import read_content
from .editions import editorial_fields, home_order, rank_views, write_editions
from .executor import distributed, map_batches
from .meta import collection_page, json_ld, news_article, story_collection
from .model import BuildError
from .publish import remove_stale, write_if_changed
from .search import SearchIndexer, plan_shards
from .stats import write_statistics
from .story_pages import link_stories, story_entries, write_story_pages

ENTITY_TYPES = ("people", "organizations", "places")
TAXONOMIES = ENTITY_TYPES + ("outlets",)
FEED_ITEMS = 20
RELATED = 5
LEAD_CHARS = 300
WORDS_PER_MINUTE = 200
MARKDOWN_VERSION = f"markdown-{markdown.__version__}-1"  # bump when markdown_to_html changes
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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
    return lead_of_text(plain_text(body))


def lead_of_text(text: str) -> str:
    """lead_of() for text as the reader sees it."""
    first = text.strip().split("\n\n", 1)[0]
    lead = ""
    for sentence in _SENTENCE.split(first):
        if lead and len(lead) + len(sentence) > LEAD_CHARS:
            break
        lead = f"{lead} {sentence}".strip()
    if len(lead) > LEAD_CHARS + 100:
        lead = lead[:LEAD_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return lead


def excerpt_of(body: str, max_words: int) -> list[str]:
    """The lead a digest may quote: the first paragraph (with the next ones while it stays
    under a third of max_words: a one-line standfirst is no lead), cut at a sentence end so
    that it holds at most max_words words; a single longer sentence is cut at a word."""
    paragraphs = [p.strip() for p in plain_text(body).strip().split("\n\n") if p.strip()]
    kept: list[str] = []
    words = 0
    for paragraph in paragraphs:
        size = len(paragraph.split())
        if words + size <= max_words:
            kept.append(paragraph)
            words += size
            if words >= max_words / 3:
                break
            continue
        sentences = []
        for sentence in _SENTENCE.split(paragraph):
            if words + len(sentence.split()) > max_words:
                break
            sentences.append(sentence)
            words += len(sentence.split())
        if sentences:
            kept.append(" ".join(sentences))
        elif not kept:  # a first sentence longer than the whole excerpt
            kept.append(" ".join(paragraph.split()[:max_words]).rstrip(",;:") + "…")
        break
    return kept


def safe_url(url: Any) -> str | None:
    """A source's address as a link target: web addresses only (never javascript: or data:)."""
    if isinstance(url, str) and re.match(r"^https?://[^\s<>\"']+$", url.strip(), re.I):
        return url.strip()
    return None


@functools.lru_cache(maxsize=200_000)
def term_slug(name: str) -> str:
    """URL folder of an entity or outlet name (kept: the same names recur on every page)."""
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


@dataclass
class PageJob:
    """One file of the site to render: template, path, and the template's own context."""

    template: str
    rel: str
    root: str
    context: dict[str, Any]


class SiteWriter:
    """Plans the site's pages, then renders them (in worker processes) into the site folder.

    A file whose bytes equal what the folder already holds (per `previous`, path -> digest)
    is not rewritten. Cards and feed entries are rendered once per article and reused on
    every listing and feed that shows them.
    """

    def __init__(self, templates: Path, site_dir: Path, config: dict[str, Any],
                 previous: dict[str, str] | None = None, previous_keys: dict[str, str] | None = None) -> None:
        catalog_path = templates / "i18n" / f"{config['language']}.yaml"
        try:
            self.messages = yaml.load(catalog_path.read_text(encoding="utf-8"), Loader=_LOADER)
        except OSError:
            raise BuildError(f"message catalog not found: {catalog_path}") from None
        self.env = self._environment(FileSystemLoader(str(templates)))
        self.site_dir = site_dir
        self.config = config
        self.base_url = config["base_url"].rstrip("/") + "/"
        self.previous = previous or {}
        self.previous_keys = previous_keys or {}
        self.salt = render_salt(templates, config)
        self.jobs: list[PageJob] = []
        self.pages: list[str] = []
        self._fragments: dict[tuple[str, str, str], Markup] = {}

    def _environment(self, loader: jinja2.BaseLoader) -> Environment:
        env = Environment(loader=loader, autoescape=select_autoescape(default=True, default_for_string=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          keep_trailing_newline=True)
        env.filters["t"] = self.translate
        env.globals.update(card=self.card, entry=self.entry, json_ld=json_ld,
                           news_article=lambda view: news_article(view, self.config, self.absolute),
                           collection_page=lambda term, articles, path: collection_page(
                               term, articles, path, self.config, self.absolute),
                           story_collection=lambda story, path: story_collection(
                               story, path, self.config, self.absolute))
        return env

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for Dask workers, which see no template folder: the templates go as text."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("env", "jobs", "_fragments")}
        loader = self.env.loader
        assert loader is not None
        state["templates"] = {}
        for name in self.env.list_templates():
            with contextlib.suppress(UnicodeDecodeError):
                state["templates"][name] = loader.get_source(self.env, name)[0]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        templates = state.pop("templates")
        self.__dict__.update(state, jobs=[], _fragments={})
        self.env = self._environment(jinja2.DictLoader(templates))

    def translate(self, key: str, **values: Any) -> str:
        return str(self.messages[key]).format(**values)

    def absolute(self, rel: str) -> str:
        return self.base_url + rel.removesuffix("index.html")

    def _fragment(self, template: str, a: dict[str, Any], root: str) -> Markup:
        key = (template, a["slug"], root)
        if key not in self._fragments:
            self._fragments[key] = Markup(self.env.get_template(template).render(
                site=self.config, root=root, ui=self.messages, a=a))
        return self._fragments[key]

    def card(self, a: dict[str, Any], root: str) -> Markup:
        """An article's card on a listing (the same on every listing at the same depth)."""
        return self._fragment("_card.html", a, root)

    def entry(self, a: dict[str, Any]) -> Markup:
        """An article's Atom entry (absolute links: the same in every feed)."""
        return self._fragment("_entry.xml", a, "")

    def write(self, template: str, rel: str, root: str | None = None, listed: bool = True, **context: Any) -> None:
        """Plan one page (`listed`: in the sitemap); render_planned() writes it."""
        if root is None:
            root = "../" * rel.count("/")
        self.jobs.append(PageJob(template, rel, root, context))
        if listed and rel.endswith(".html") and rel != "404.html":
            self.pages.append(rel)

    def render(self, job: PageJob) -> bytes:
        return self.env.get_template(job.template).render(
            site=self.config, root=job.root, path=job.rel, canonical=self.absolute(job.rel), ui=self.messages,
            **job.context).encode("utf-8")

    def write_text(self, rel: str, text: str) -> None:
        self.jobs.append(PageJob("", rel, "", {"text": text}))


def render_batch(writer: SiteWriter, jobs: Sequence[PageJob]) -> list[tuple[str, str, str]]:
    """Render and write a batch of pages (in a worker); returns (path, digest, key) of each.

    A page whose key (a digest of everything its template is given) is the one the folder's
    copy was made from is neither rendered nor written.
    """
    out = []
    for job in jobs:
        if not job.template:
            data = job.context["text"].encode("utf-8")
            out.append((job.rel, write_if_changed(writer.site_dir, job.rel, data, writer.previous), ""))
            continue
        key = page_key(writer, job)
        if writer.previous_keys.get(job.rel) == key and job.rel in writer.previous \
                and (writer.site_dir / job.rel).exists():
            out.append((job.rel, writer.previous[job.rel], key))
            continue
        out.append((job.rel, write_if_changed(writer.site_dir, job.rel, writer.render(job), writer.previous), key))
    return out


def page_key(writer: SiteWriter, job: PageJob) -> str:
    """A digest of everything the page's template is given."""
    return digest(writer.salt, job.template, job.rel, job.root, _canonical(job.context))


def render_batch_to_bytes(writer: SiteWriter, jobs: Sequence[PageJob]) -> list[tuple[str, str, bytes | None]]:
    """(path, key, bytes) of each page of a batch, on a Dask worker, which sees no site folder;
    bytes is None when the key says the folder's copy is current."""
    out: list[tuple[str, str, bytes | None]] = []
    for job in jobs:
        if not job.template:
            out.append((job.rel, "", job.context["text"].encode("utf-8")))
            continue
        key = page_key(writer, job)
        current = writer.previous_keys.get(job.rel) == key and job.rel in writer.previous
        out.append((job.rel, key, None if current else writer.render(job)))
    return out


def render_salt(templates: Path, config: dict[str, Any]) -> str:
    """What every page depends on besides its context: settings, templates, catalogs, code."""
    files = sorted(p for p in templates.rglob("*") if p.is_file())
    code = [p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py"))]
    return digest(json.dumps(config, sort_keys=True, default=str), *code,
                  *(f"{p.relative_to(templates)}" for p in files), *(p.read_bytes() for p in files),
                  markdown.__version__, jinja2.__version__, babel.__version__)


_VIEW_LINKS = ("terms", "related", "newer", "older", "coverage")  # fields that point at other objects


def _own_digest(view: dict[str, Any]) -> str:
    """The article's own fields (and its terms' names and folders), memoised in the view."""
    if "_own" not in view:
        own = {k: v for k, v in view.items() if k not in _VIEW_LINKS and not k.startswith("_")}
        own["terms"] = {t: [(term.name, term.folder) for term in terms] for t, terms in view.get("terms", {}).items()}
        view["_own"] = digest(json.dumps(own, sort_keys=True, default=str))
    return view["_own"]


def search_key(salt: str, view: dict[str, Any]) -> str:
    """What Pagefind reads from an article's page (article.html): the title, the body (or its
    excerpt), the outlet and entity filters; with the salt, the templates and settings."""
    record = [view["title"], view["body_html"], view["excerpt"], view["outlet"],
              [[term.name for term in view["terms"][t]] for t in ENTITY_TYPES]]
    return digest(salt, json.dumps(record, sort_keys=True, default=str))


def view_key(view: dict[str, Any]) -> str:
    """An article as any page may show it: its own fields and those of the articles it links."""
    if "_key" not in view:
        linked = [_own_digest(r) for r in view.get("related", [])]
        linked += ["story"] + [_own_digest(r) for r in view.get("coverage", [])]
        linked += [_own_digest(view[k]) if view.get(k) else "-" for k in ("newer", "older")]
        view["_key"] = digest(_own_digest(view), *linked)
    return view["_key"]


def _canonical(value: Any) -> str:
    """A template context as a string that changes whenever what it shows may change."""
    if isinstance(value, dict):
        if "slug" in value and "url" in value and "body_html" in value:
            return view_key(value)
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, Term):
        return f"Term({value.taxonomy},{value.slug},{value.name},{len(value.articles)})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # an edition, say
        return type(value).__name__ + _canonical(vars(value))
    if callable(value):
        return getattr(value, "__qualname__", "callable")
    return repr(value)


def human_date(iso: str | None, language: str) -> str | None:
    if not iso:
        return None
    return format_date(dt.date.fromisoformat(iso), format="long", locale=language)


def markdown_batch(bodies: Sequence[str]) -> list[str]:
    return [markdown_to_html(body) for body in bodies]


def bodies_to_html(bodies: list[str], cache: StageCache, jobs: int) -> list[str]:
    """HTML of each Markdown body, from the fragment cache or converted (in `jobs` processes)."""
    keys = [cache.key(body) for body in bodies]
    known = cache.get_many(set(keys))
    todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    converted = map_batches(markdown_batch, [bodies[i] for i in todo], jobs, batch_size=250)
    fresh = {keys[i]: html for i, html in zip(todo, converted)}
    cache.put_many(fresh)
    known.update(fresh)
    return [known[k] for k in keys]


def build_views(pages: list[tuple[dict[str, Any], str]], language: str,
                bodies_html: list[str] | None = None,
                publish: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One dict per article with everything its page and the listings show, newest first.

    With `publish.body: excerpt` the body is only its lead: nothing else of the text reaches
    the page, the feeds, the cards or the search index.
    """
    publish = publish or {"body": "full", "excerpt_words": 80}
    excerpt = publish["body"] == "excerpt"
    if bodies_html is None:
        bodies_html = markdown_batch([body for _, body in pages])
    views = []
    for (fm, body), body_html in zip(pages, bodies_html):
        text = plain_text(body)
        sources = [dict(s, url=safe_url(s.get("url"))) for s in fm.get("sources") or []]
        also = []
        for outlet in fm.get("also_published_by") or []:  # each with the date and address of its copy
            copies = [s for s in sources if s.get("outlet") == outlet]
            dates = sorted(s["date"] for s in copies if s.get("date"))
            also.append({"outlet": outlet, "date": human_date(dates[0], language) if dates else None,
                         "url": next((s["url"] for s in copies if s["url"]), None)})
        original = original_source(fm, sources)
        if excerpt:
            paragraphs = excerpt_of(body, publish["excerpt_words"])
            body_html = "".join(f"<p>{markupsafe_escape(p)}</p>\n" for p in paragraphs)
            text = "\n\n".join(paragraphs)
        views.append({
            "slug": fm["slug"], "title": fm["title"], "title_derived": bool(fm.get("title_derived")),
            "date": fm.get("date"), "date_human": human_date(fm.get("date"), language),
            "outlet": fm.get("outlet"), "lang": fm.get("lang"), "source_url": original["url"],
            "original": original, "excerpt": excerpt,
            "also_published_by": fm.get("also_published_by") or [], "also": also,
            "sources": sources, "entities": fm.get("entities") or {},
            "url": f"articles/{fm['slug']}/index.html", "body_html": body_html,
            "aliases": [a for a in fm.get("aliases") or [] if a != fm["slug"]],
            "story": fm.get("story") or fm["slug"],  # stories.py: the slug of the story's lead article
            "lead": lead_of_text(text), "reading_minutes": max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE)),
        })
        views[-1].update(editorial_fields(fm))  # editions.py: pinned, note, summary as lead
    # newest first; undated articles last; slug breaks ties so the order never depends on disk
    views.sort(key=lambda v: v["slug"])
    views.sort(key=lambda v: v["date"] or "", reverse=True)
    return views


def original_source(fm: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the article was first published: the page's own outlet and the address of its copy
    (else of any copy), or no address at all (the outlet is then named, never linked)."""
    own = [s for s in sources if s["url"] and s.get("outlet") == fm.get("outlet")]
    url = safe_url(fm.get("url")) or next((s["url"] for s in own + sources if s["url"]), None)
    outlet = fm.get("outlet") or next((s.get("outlet") for s in sources if s["url"] == url and s.get("outlet")), None)
    return {"outlet": outlet, "url": url}


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


@dataclass
class RenderResult:
    pages: int  # HTML pages
    manifest: dict[str, str]  # every file of the site: path -> digest of its bytes
    keys: dict[str, str]  # every rendered page: path -> digest of what it was rendered from


def render_site(content_dir: Path, site_dir: Path, templates: Path, static: Path,
                config: dict[str, Any], search: bool = True, jobs: int = 1,
                previous: dict[str, str] | None = None, previous_keys: dict[str, str] | None = None,
                cache_dir: Path | None = None,
                published_site: tuple[Path, dict[str, str], dict[str, str]] | None = None) -> RenderResult:
    """Write the whole site into SITE_DIR, rendering and writing only the pages that changed.

    `previous` describes what SITE_DIR already holds (path -> digest; empty: nothing) and
    `previous_keys` what each of those pages was rendered from; `published_site`, the same
    of the published site (its folder, files, keys), whose search shards may be reused.
    """
    language = config["language"]
    size = config["page_size"]
    previous = previous or {}
    writer = SiteWriter(templates, site_dir, config, previous, previous_keys)
    pages = read_content(content_dir)
    fragments = StageCache(cache_dir / "html.sqlite" if cache_dir else None, MARKDOWN_VERSION)
    try:
        bodies = [body for _, body in pages] if config["publish"]["body"] == "full" else []  # an excerpt needs no HTML
        views = build_views(pages, language, bodies_to_html(bodies, fragments, jobs) if bodies else [""] * len(pages),
                            config["publish"])
    finally:
        fragments.close()
    rank_views(views, config["ranking"])  # editions.py: breadth of coverage within a day
    terms = collect_terms(views)
    link_related(views)
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
        if indexer is not None and not views:  # Pagefind needs pages to read: the listings, here
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
    return RenderResult(pages=len(writer.pages) + 1, manifest=manifest, keys=keys)  # and the 404 page


def plan_listings(writer: SiteWriter, views: list[dict[str, Any]], terms: dict[str, dict[str, Term]],
                  config: dict[str, Any], size: int, language: str,
                  stories: list[dict[str, Any]] | None = None, search_bundles: list[str] | None = None) -> None:
    """Every page but the articles: home, taxonomies and their feeds, archives, search, feeds."""
    # the home page lists stories: each story's lead article, its other articles folded under it
    chunks = paginate(story_entries(home_order(views), config["ranking"]["coverage"]), size)  # pinned first
    for n, chunk in enumerate(chunks, 1):
        writer.write("index.html", page_path("", n), entries=chunk, pager=pager("", n, len(chunks)),
                     heading=config["title"], count=len(views))
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
    write_story_pages(writer, stories if stories is not None else link_stories(views), config)  # story_pages.py
    writer.write("search.html", "search/index.html", bundles=search_bundles or [])
    # served at any missing path, so its links start from base_url rather than from itself
    writer.write("404.html", "404.html", root=writer.base_url)
    writer.write("feed.xml", "feed.xml", title=config["title"], feed_path="feed.xml", page="index.html",
                 entries=views[:FEED_ITEMS])
    writer.write("sitemap.xml", "sitemap.xml", urls=[writer.absolute(p) for p in writer.pages])
    writer.write_text("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {writer.absolute('sitemap.xml')}\n")


def _render_indices(state: tuple[SiteWriter, list[PageJob]], indices: Sequence[int]) -> list[tuple[str, str, str]]:
    writer, jobs = state
    return render_batch(writer, [jobs[i] for i in indices])


def _render_indices_to_bytes(state: tuple[SiteWriter, list[PageJob]],
                             indices: Sequence[int]) -> list[tuple[str, str, bytes | None]]:
    writer, jobs = state
    return render_batch_to_bytes(writer, [jobs[i] for i in indices])


def render_planned(writer: SiteWriter, jobs: int) -> tuple[dict[str, str], dict[str, str]]:
    """Render the pages planned so far, in `jobs` processes (they share the plan by fork)."""
    planned, writer.jobs = writer.jobs, []
    if distributed():  # on Dask the workers send the pages back and they are written here
        def write(indices: Sequence[int], rendered: list[tuple[str, str, bytes | None]]) -> list[tuple[str, str, str]]:
            written = []
            for i, (rel, key, data) in zip(indices, rendered):
                if data is None and not (writer.site_dir / rel).exists():
                    data = writer.render(planned[i])
                written.append((rel, writer.previous[rel] if data is None
                                else write_if_changed(writer.site_dir, rel, data, writer.previous), key))
            return written

        done = map_batches(_render_indices_to_bytes, range(len(planned)), jobs, batch_size=100,
                           shared=(writer, planned), then=write)
    else:
        done = map_batches(_render_indices, range(len(planned)), jobs, batch_size=100, shared=(writer, planned))
    return {rel: d for rel, d, _ in done}, {rel: key for rel, _, key in done if key}


def copy_static(static: Path, site_dir: Path, previous: dict[str, str]) -> dict[str, str]:
    manifest = {}
    if static.is_dir():
        for path in sorted(static.rglob("*")):
            if path.is_file():
                rel = "static/" + path.relative_to(static).as_posix()
                manifest[rel] = write_if_changed(site_dir, rel, path.read_bytes(), previous)
    return manifest


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
