"""Articles as the pages show them: one view per article (fields, body HTML, lead, excerpt)."""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import markdown
from babel.dates import format_date
from markupsafe import escape as markupsafe_escape

from ..core.executor import map_batches
from ..core.store import StageCache
from ..output.content import Page
from .editions import editorial_fields

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


@functools.lru_cache(maxsize=65536)  # Babel takes 0.1 ms a date, and articles share their days
def human_date(iso: str | None, language: str) -> str | None:
    if not iso:
        return None
    return format_date(dt.date.fromisoformat(iso), format="long", locale=language)


def markdown_batch(bodies: Sequence[str]) -> list[str]:
    return [markdown_to_html(body) for body in bodies]


def build_views(pages: list[Page], language: str, publish: dict[str, Any], cache: StageCache,
                jobs: int = 1) -> list[dict[str, Any]]:
    """One dict per article with everything its page and the listings show, newest first.

    Each view comes from the store when its page (named by its digest) was seen before with
    the same language and publishing settings; the others are made, their Markdown converted
    in `jobs` processes. With `publish.body: excerpt` the body is only its lead: nothing else
    of the text reaches the page, the feeds, the cards or the search index.
    """
    keys = [cache.key(page_digest, language, json.dumps(publish, sort_keys=True)) for _, _, page_digest in pages]
    known = cache.get_many(set(keys))
    todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    fresh_pages = [pages[i] for i in todo]
    full = publish["body"] == "full"  # an excerpt needs no HTML
    bodies_html = map_batches(markdown_batch, [body for _, body, _ in fresh_pages], jobs, batch_size=250) \
        if full else [""] * len(fresh_pages)
    fresh = {keys[i]: view for i, view in zip(todo, make_views(fresh_pages, language, bodies_html, publish))}
    cache.put_many(fresh)  # before any later step adds its fields and links to them
    cache.prune()
    known.update(fresh)
    views = [known[key] for key in keys]  # pages differ by their slug: one view each
    # newest first; undated articles last; slug breaks ties so the order never depends on disk
    views.sort(key=lambda v: v["slug"])
    views.sort(key=lambda v: v["date"] or "", reverse=True)
    return views


def make_views(pages: list[Page], language: str, bodies_html: list[str],
               publish: dict[str, Any]) -> list[dict[str, Any]]:
    """The view of each page, in their order (see build_views)."""
    excerpt = publish["body"] == "excerpt"
    views = []
    for (fm, body, page_digest), body_html in zip(pages, bodies_html):
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
            "updated": fm.get("updated"), "updated_human": human_date(fm.get("updated"), language),
            "outlet": fm.get("outlet"), "lang": fm.get("lang"), "source_url": original["url"],
            "original": original, "excerpt": excerpt or bool(fm.get("excerpt")),  # a feed's summary only
            "also_published_by": fm.get("also_published_by") or [], "also": also,
            "sources": sources, "entities": fm.get("entities") or {},
            "url": f"articles/{fm['slug']}/index.html", "body_html": body_html,
            "aliases": [a for a in fm.get("aliases") or [] if a != fm["slug"]],
            "story": fm.get("story") or fm["slug"],  # stories.py: the slug of the story's lead article
            "lead": lead_of_text(text), "reading_minutes": max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE)),
        })
        views[-1].update(editorial_fields(fm))  # editions.py: pinned, note, summary as lead
        # what all the fields above are made of, and their names (writer.py: own_key)
        views[-1].update(_page=page_digest, _fields=tuple(views[-1]))
    return views


def original_source(fm: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the article was first published: the page's own outlet and the address of its copy
    (else of any copy), or no address at all (the outlet is then named, never linked)."""
    own = [s for s in sources if s["url"] and s.get("outlet") == fm.get("outlet")]
    url = safe_url(fm.get("url")) or next((s["url"] for s in own + sources if s["url"]), None)
    outlet = fm.get("outlet") or next((s.get("outlet") for s in sources if s["url"] == url and s.get("outlet")), None)
    return {"outlet": outlet, "url": url}
