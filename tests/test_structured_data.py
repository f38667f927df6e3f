"""What link previews and search engines read: Open Graph, Twitter cards, schema.org JSON-LD."""
from __future__ import annotations

import html.parser
import json
from pathlib import Path

from conftest import content_pages


class _Head(html.parser.HTMLParser):
    """The <meta> tags, the canonical link, the <h1> and the JSON-LD elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.canonical = ""
        self.json_ld: list[object] = []
        self.h1 = ""
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta.setdefault(values.get("property") or values["name"], []).append(values.get("content", ""))
        elif tag == "link" and values.get("rel") == "canonical":
            self.canonical = values["href"]
        elif (tag == "script" and values.get("type") == "application/ld+json") or tag == "h1":
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in == "script":
            self.json_ld.append(json.loads("".join(self._text)))  # must parse
        elif tag == self._in == "h1":
            self.h1 = "".join(self._text).strip()
        if tag == self._in:
            self._in = None


def head_of(page: Path) -> _Head:
    parser = _Head()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_article_pages_carry_news_article_json_ld_and_previews(corpus_site: Path) -> None:
    site = corpus_site / "site"
    pages = content_pages(corpus_site)
    assert len(pages) > 40
    for fm, _ in pages:
        head = head_of(site / "articles" / fm["slug"] / "index.html")
        url = f"https://example.org/revue/articles/{fm['slug']}/"
        assert head.canonical == url
        [data] = head.json_ld
        assert data["@context"] == "https://schema.org" and data["@type"] == "NewsArticle"
        assert data["headline"] == fm["title"] == head.h1
        assert data["url"] == data["mainEntityOfPage"] == url
        assert data.get("datePublished") == fm["date"] or (fm["date"] is None and "datePublished" not in data)
        assert data["publisher"]["@type"] == "NewsMediaOrganization"
        assert data["publisher"]["name"] == (fm["outlet"] or "Revue test")
        assert data["isPartOf"] == {"@type": "WebSite", "name": "Revue test", "url": "https://example.org/revue/"}
        about = [(a["@type"], a["name"]) for a in data.get("about", [])]
        kinds = {"people": "Person", "organizations": "Organization", "places": "Place"}
        named = [(kinds[t], n) for t in kinds for n in fm["entities"][t]]
        assert len(about) == len(named) and {n.casefold() for _, n in about} == {n.casefold() for _, n in named}
        assert all(a["url"].startswith("https://example.org/revue/") for a in data.get("about", []))
        # link previews
        assert head.meta["og:type"] == ["article"] and head.meta["og:url"] == [url]
        assert head.meta["og:title"] == head.meta["twitter:title"] == [fm["title"]]
        assert head.meta["twitter:card"] == ["summary"]
        assert head.meta["og:description"][0] and head.meta["og:description"] == head.meta["description"]
        assert head.meta["og:site_name"] == ["Revue test"] and head.meta["og:locale"] == ["fr_FR"]
        if fm["date"]:
            assert head.meta["article:published_time"] == [fm["date"]]


def test_entity_pages_are_collection_pages_of_their_articles(corpus_site: Path) -> None:
    site = corpus_site / "site"
    kinds = {"people": "Person", "organizations": "Organization", "places": "Place",
             "outlets": "NewsMediaOrganization"}
    checked = 0
    for taxonomy, kind in kinds.items():
        for page in sorted((site / taxonomy).glob("*/index.html")):
            head = head_of(page)
            [data] = head.json_ld
            assert data["@context"] == "https://schema.org" and data["@type"] == "CollectionPage"
            assert data["name"] == head.h1 and data["about"] == {"@type": kind, "name": head.h1}
            assert data["url"] == head.canonical == f"https://example.org/revue/{taxonomy}/{page.parent.name}/"
            items = data["mainEntity"]["itemListElement"]
            assert data["mainEntity"]["numberOfItems"] == len(items) > 0
            listed = page.read_text(encoding="utf-8").count('<article class="card">')
            assert len(items) == listed
            for n, item in enumerate(items, 1):
                assert item["position"] == n and item["url"].startswith("https://example.org/revue/articles/")
                slug = item["url"].rstrip("/").rsplit("/", 1)[1]
                assert (site / "articles" / slug / "index.html").is_file()
            checked += 1
    assert checked > 50
    # other pages still say what they are to a link preview
    head = head_of(site / "index.html")
    assert head.meta["og:type"] == ["website"] and head.meta["og:title"] == ["Revue test"]
