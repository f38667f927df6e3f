"""Listings: a page or a message that lists articles (a headline linked to each, a snippet
under it), read as one excerpt per article rather than as one page of all of them.

What a reader sees is what is read: the text line by line as a browser or a mail client
shows it, each line with its link when the whole line is one link (rendered_lines); a
teaser is a linked headline, then its snippet before the next link line (teasers).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import html as lxml_html
from lxml.html import defs

from .clean import boilerplate_rule

# A listing's teaser: a headline of at least this many words that is a whole line and a link,
# then a snippet of SNIPPET_WORDS words, before the next link line.
HEADLINE_MIN_WORDS = 3
SNIPPET_WORDS = (5, 150)  # longer than that under a linked headline: the article itself
LISTING_MIN_TEASERS = 2  # on a page; a message (an alert) lists one article as well
LISTING_MIN_SHARE = 0.5  # of the words shown in teasers: the rest is a header, menus and a footer
OUTLET_LINE_MAX_WORDS = 6  # a short line right under the headline, no sentence: the outlet (news alerts)
# redirect links of alert senders (Google: /url?url=..., /url?q=...): the article's address is a parameter
REDIRECT_PARAMETERS = ("url", "q", "u", "target")
PARAGRAPH_END = ("", None)
_BREAKS = frozenset(defs.block_tags | {"br", "td", "th", "tr", "li"})
_SKIPPED = frozenset({"script", "style", "head", "title", "noscript"})


def unwrapped(url: str) -> str:
    """An alert's redirect link as the article's own address."""
    parts = urlsplit(url)
    for name in REDIRECT_PARAMETERS:
        for value in parse_qs(parts.query).get(name, []):
            if value.startswith(("http://", "https://")):
                return value
    return url


def rendered_lines(markup: str) -> list[tuple[str, str | None]]:
    """An HTML message's text as a mail client shows it (see shown_lines)."""
    try:
        return shown_lines(lxml_html.fromstring(markup))
    except (ValueError, SyntaxError):  # lxml's ParserError subclasses these
        return []


def shown_lines(tree: Any, base: str | None = None) -> list[tuple[str, str | None]]:
    """A parsed page's or message's text as it is shown, line by line: (text, href when the whole
    line is one link); relative links are resolved against BASE (a saved page's address)."""
    lines: list[tuple[str, str | None]] = []
    pieces: list[tuple[str, str | None]] = []

    def end_line() -> None:
        text = " ".join("".join(t for t, _ in pieces).split())
        if text:
            hrefs = {h for t, h in pieces if t.strip()}
            lines.append((text, hrefs.pop() if len(hrefs) == 1 and None not in hrefs else None))
        pieces.clear()

    def walk(element: Any, href: str | None) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in _SKIPPED or not tag:  # a comment or processing instruction has no text to show
            return
        if tag in _BREAKS:
            end_line()
        if tag == "a":
            target = element.get("href", "").strip()
            if base and target and not target.startswith(("#", "javascript:", "mailto:")):
                target = urljoin(base, target)
            if target.startswith(("http://", "https://")):
                href = unwrapped(target)
        if element.text:
            pieces.append((element.text, href))
        for child in element:
            walk(child, href)
            if child.tail:
                pieces.append((child.tail, href))
        if tag in _BREAKS:
            end_line()

    walk(tree, None)
    end_line()
    return lines


def _headline_test(lines: list[tuple[str, str | None]]) -> Callable[[str], bool]:
    """Whether a linked line is a headline: long enough, shown once (a link text shown more than
    once, "Lire la suite", is the page's furniture) and no boilerplate ("Se désabonner")."""
    link_texts = Counter(text for text, href in lines if href is not None)
    return lambda text: (len(text.split()) >= HEADLINE_MIN_WORDS and link_texts[text] == 1
                         and boilerplate_rule(text) is None)


def teasers(lines: list[tuple[str, str | None]], min_teasers: int = LISTING_MIN_TEASERS) -> list[dict[str, Any]]:
    """The articles a listing links to (title, url, outlet, snippet lines), or [] when it is not
    a listing (one article, with perhaps a few links around it)."""
    is_headline = _headline_test(lines)
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for text, href in lines:
        if not text:  # PARAGRAPH_END
            current = None
        elif href is not None:
            current = None
            if is_headline(text):
                current = {"title": text, "url": href, "outlet": None, "lines": []}
                found.append(current)
        elif current is not None:
            current["lines"].append(text)
    found = [t for t in found if t["lines"]]  # a linked line with nothing under it is a link, not a teaser
    for teaser in found:
        rest = teaser["lines"]
        if len(rest) > 1 and len(rest[0].split()) <= OUTLET_LINE_MAX_WORDS and not re.search(r"[.!?:]$", rest[0]):
            teaser["outlet"] = rest.pop(0)
    sizes = [sum(len(x.split()) for x in t["lines"]) for t in found]
    if len(found) < min_teasers or any(not SNIPPET_WORDS[0] <= n <= SNIPPET_WORDS[1] for n in sizes):
        return []
    total = sum(len(text.split()) for text, _ in lines)
    shown = sum(len(t["title"].split()) for t in found) + sum(sizes)
    return found if shown >= LISTING_MIN_SHARE * total else []


HEADLINE_LIST_MIN = 8  # linked headlines of a list of links with no article (a section page without snippets)
PARAGRAPH_WORDS = 30  # an unlinked line this long is article text: the page is not only a list


def headline_list(lines: list[tuple[str, str | None]]) -> int:
    """How many linked headlines a page that is only a list of them shows (most of its words in
    them, no paragraph of text), else 0: a listing whose teasers are not whole."""
    is_headline = _headline_test(lines)
    headlines = [text for text, href in lines if href is not None and is_headline(text)]
    if len(headlines) < HEADLINE_LIST_MIN or any(len(text.split()) >= PARAGRAPH_WORDS for text, href in lines if href is None):
        return 0
    total = sum(len(text.split()) for text, _ in lines)
    return len(headlines) if sum(len(h.split()) for h in headlines) >= LISTING_MIN_SHARE * total else 0
