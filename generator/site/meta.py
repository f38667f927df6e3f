"""What link previews and search engines read: schema.org JSON-LD for article and entity pages.

The Open Graph and Twitter card tags are in the templates (base.html, article.html); the
JSON-LD is built here as plain data and printed safely inside a <script> element.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from ..core.model import ENTITY_TYPES

# schema.org type of an entity of each taxonomy
SCHEMA_TYPES = {"people": "Person", "organizations": "Organization", "places": "Place",
                "outlets": "NewsMediaOrganization"}


def json_ld(data: dict[str, Any]) -> Markup:
    """A <script type="application/ld+json"> element; scraped text can never close it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    # "</script>" or "<!--" in a title would end the element early: escape the characters
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/ld+json">{text}</script>')


def _website(site: dict[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    return {"@type": "WebSite", "name": site["title"], "url": absolute("index.html")}


def news_article(view: dict[str, Any], site: dict[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """schema.org NewsArticle of an article page: headline, date, the outlet that published it,
    the entities it is about, and the original it quotes."""
    publisher = {"@type": "NewsMediaOrganization", "name": view["outlet"] or site["title"]}
    if view["outlet"] and view["terms"]["outlets"]:
        publisher["url"] = absolute(view["terms"]["outlets"][0].folder + "index.html")
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": view["title"],
        "url": absolute(view["url"]),
        "mainEntityOfPage": absolute(view["url"]),
    }
    if view["date"]:
        data["datePublished"] = view["date"]
        data["dateModified"] = view.get("updated") or view["date"]
    if view["lang"]:
        data["inLanguage"] = view["lang"]
    data["description"] = view["lead"]
    data["publisher"] = publisher
    data["author"] = publisher
    about = [{"@type": SCHEMA_TYPES[taxonomy], "name": term.name, "url": absolute(term.folder + "index.html")}
             for taxonomy in ENTITY_TYPES for term in view["terms"][taxonomy]]
    if about:
        data["about"] = about
    if view["original"]["url"]:
        data["isBasedOn"] = view["original"]["url"]
    data["isPartOf"] = _website(site, absolute)
    return data


def collection_page(term: Any, articles: list[dict[str, Any]], path: str, site: dict[str, Any],
                    absolute: Callable[[str], str]) -> dict[str, Any]:
    """schema.org CollectionPage of an entity (or outlet) page: the entity and the articles listed."""
    return {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": term.name,
        "url": absolute(path),
        "inLanguage": site["language"],
        "about": {"@type": SCHEMA_TYPES[term.taxonomy], "name": term.name},
        "mainEntity": {"@type": "ItemList", "numberOfItems": len(articles), "itemListElement": [
            {"@type": "ListItem", "position": i, "url": absolute(a["url"]), "name": a["title"]}
            for i, a in enumerate(articles, 1)]},
        "isPartOf": _website(site, absolute),
    }


def story_collection(story: dict[str, Any], path: str, site: dict[str, Any],
                     absolute: Callable[[str], str]) -> dict[str, Any]:
    """schema.org CollectionPage of a story page: every outlet's article on one event, in order."""
    return {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": story["title"],
        "url": absolute(path),
        "inLanguage": site["language"],
        "mainEntity": {"@type": "ItemList", "numberOfItems": len(story["articles"]), "itemListElement": [
            {"@type": "ListItem", "position": i, "url": absolute(a["url"]), "name": a["title"]}
            for i, a in enumerate(story["articles"], 1)]},
        "isPartOf": _website(site, absolute),
    }
