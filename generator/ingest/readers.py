"""Readers: one per input kind, chosen by content as well as by extension.

Each reader turns the decoded text of one file into Documents carrying body lines and
whatever metadata the format itself states (HTML meta tags, record fields, frontmatter).
A text scrape's lines are analysed one by one here (layout.analyse_page); which of them are
title, metadata and body is decided later, with what the whole corpus shows.
"""
from __future__ import annotations

import codecs
import csv
import email.utils
import io
import json
import logging
import re
import sys
import xml.sax
from collections import Counter
from typing import Any

import yaml

from ..core.model import Document, Line
from .clean import PAYWALL_CUT
from .dates import find_dates, parse_date
from .lines import analyse_page, without_spent_furniture
from .listings import headline_list, shown_lines, teasers
from .repair import fix_decoding

log = logging.getLogger(__name__)

NOT_ARTICLE_EXTENSIONS = {
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico", ".tif", ".tiff",
    ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".mp3", ".mp4",
    ".wav", ".ogg", ".avi", ".mov", ".webm", ".woff", ".woff2", ".ttf", ".otf", ".exe",
    ".dll", ".so", ".bin", ".pyc", ".db", ".sqlite", ".doc", ".docx", ".xls", ".xlsx",
    ".ppt", ".pptx", ".odt", ".css", ".js",
}
_PARAGRAPH_SPLIT = re.compile(r"\s*\n\s*\n\s*|[ \t\u00a0]{3,}")
_SPACES = re.compile(r"\s+")


class Rejected(Exception):
    """The file looked like an input but cannot be used; the message is the reason."""


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252.

    The text as it was written: its line ends and any mojibake are repair.py's.
    """
    if not data.strip():
        raise Rejected("empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        check_is_text(text)
        return text, "utf-16"
    if b"\x00" in data[:8192]:
        raise Rejected("binary content (NUL bytes), not text")
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # Scraped French text is often cp1252; latin-1 covers the five bytes cp1252 lacks.
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "latin-1"
    check_is_text(text)
    return text, encoding


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def check_is_text(text: str) -> None:
    """Reject decoded bytes that are not human text (random bytes, binaries)."""
    sample = text[:2048]
    controls = len(_CONTROL.findall(sample))
    visible = len(sample) - sum(map(len, _SPACES.findall(sample)))
    letters = len(_NOT_LETTERS.sub("", sample))
    markup = sample.lstrip()[:1] in ("<", "{", "[")  # HTML/JSON: markup outweighs letters
    if controls > 0.01 * len(sample):
        # UTF-8 read as latin-1 has C1 controls in its mojibake ("â\x80\x99"): text once repaired
        controls = len(_CONTROL.findall(fix_decoding(sample)))
    if controls > 0.01 * len(sample) or (visible and not markup and letters < 0.4 * visible):
        raise Rejected("not readable text (binary or unknown encoding)")


def paragraphs(text: str) -> list[str]:
    """Split text into paragraphs on line breaks and on runs of 3+ spaces, tidy whitespace."""
    out = []
    for line in text.split("\n"):
        for part in _PARAGRAPH_SPLIT.split(line):
            part = " ".join(part.split())
            if part:
                out.append(part)
    return out


# --------------------------------------------------------------------------- text files
JUNK_SAMPLE_LINES = 2000  # line statistics are taken on the first lines (a 4 MB log has 50,000)
_TIMESTAMP = re.compile(
    r"^\W{0,3}(?:\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}|\d{1,2}/\w{3}/\d{4}:\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|"
    r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}/\d{2}/\d{2} \d{2}:\d{2}|\d{10}(?:\.\d+)?\s)")
_URL_OR_NUMBER = re.compile(r"^(?:https?://|www\.|[\w.-]+\.(?:com|org|net|fr|html?|php)\b|[-+]?[\d.,:/%x]+$)", re.I)
_KEY_VALUE = re.compile(r"^[\w.\-\[\]\"']{1,40}\s*(?:=|:)\s*\S")
_CODE = re.compile(r"(?:[;{}]\s*$|^\s*(?:def |class |import |from \S+ import|#include|function\b|var |let |const |"
                   r"return\b|public |private |if \(|for \(|}\s*else|<\?php|SELECT |INSERT |\$ ))")


def not_prose_reason(sample: list[Line]) -> str | None:
    """Why lines of text are not an article (a log, a table, code, a key=value or URL dump), or None.

    Judged on line statistics of the analysed first lines, and only when few of them read as
    sentences: an article that quotes a log line or lists a few links is still an article.
    """
    if len(sample) < 4 or sum(line.prose for line in sample) >= 0.3 * len(sample):
        return None
    n = len(sample)
    sample = [line.text for line in sample]
    share = sum(bool(_TIMESTAMP.match(line)) for line in sample) / n
    if share >= 0.5:
        return f"not article text: {share:.0%} of its lines start with a timestamp (a log file)"
    tokens = [t for line in sample for t in line.split()]
    share = sum(bool(_URL_OR_NUMBER.match(t)) for t in tokens) / max(len(tokens), 1)
    if share >= 0.5:
        return f"not article text: {share:.0%} of its words are URLs or numbers"
    for sep in (",", ";", "\t", "|"):
        counts = Counter(line.count(sep) for line in sample)
        common, times = counts.most_common(1)[0]
        if common >= 2 and times / n >= 0.8:
            return f"not article text: {times / n:.0%} of its lines hold {common + 1} '{sep.strip() or 'tab'}'-separated fields (a table)"
    share = sum(bool(_CODE.search(line)) for line in sample) / n
    if share >= 0.4:
        return f"not article text: {share:.0%} of its lines read as source code"
    share = sum(bool(_KEY_VALUE.match(line)) for line in sample) / n
    if share >= 0.6:
        return f"not article text: {share:.0%} of its lines are key=value settings"
    return None


def read_text(path: str, text: str) -> list[Document]:
    """A text scrape in any layout: its lines, each analysed for what it is."""
    # Lines stay whole (no split on space runs): a ticker is one line of glued headlines.
    lines = [" ".join(ln.split()) if "\u00a0" not in ln else ln.strip() for ln in text.split("\n")]
    # Interned: the same line in many files (rescrapes, a site's footer) is one string, and a batch
    # of documents pickled back from a worker carries it once.
    lines = [sys.intern(ln) for ln in lines if ln]
    page = analyse_page(lines[:JUNK_SAMPLE_LINES])  # a 4 MB log is judged on its first lines
    reason = not_prose_reason(page)
    if reason:
        raise Rejected(reason)
    page += analyse_page(lines[JUNK_SAMPLE_LINES:])
    cut = any(line.rule == PAYWALL_CUT for line in page)  # a paywall's stub: an excerpt (clean.py)
    page = without_spent_furniture(page)
    kind = "aggregator" if any(line.meta and line.dates for line in page) else "plain"
    return [Document(file=path, kind=kind, page=page, excerpt=cut)]  # lines: the layout stage picks the body


# --------------------------------------------------------------------------- HTML pages
_TITLE_SOURCES = ("ld", "og", "h1", "twitter", "title")  # tie-break order of the vote


def _jsonld_values(tree: Any, key: str) -> list[str]:
    """String values of `key` in the page's JSON-LD blocks (NewsArticle headline, ...)."""
    out = []
    for block in tree.xpath('//script[@type="application/ld+json"]/text()'):
        for m in re.finditer(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % key, block):
            try:
                out.append(json.loads('"' + m.group(1) + '"'))
            except json.JSONDecodeError:
                continue
    return out


def _strip_site_suffix(title: str, site: str | None) -> str:
    """'Headline | CBC News' -> 'Headline'; ' - Site' only when it names the site."""
    title = " ".join(title.split())
    m = re.match(r"^(.{20,}?)\s+[|*•]\s+.*$", title)
    if m:
        title = m.group(1)
    m = re.match(r"^(.{20,})\s+[-–—]\s+([^-–—]{2,60})$", title)
    if m and site:
        tail = re.sub(r"\W", "", m.group(2).lower())
        name = re.sub(r"\W", "", site.lower())
        if tail and name and (name in tail or tail in name):
            title = m.group(1)
    return title


def page_title(tree: Any, site: str | None) -> str | None:
    """The headline most of the page's title sources agree on (JSON-LD, og:title, h1, ...)."""
    h1 = tree.xpath("//h1")
    found = {
        "ld": next(iter(_jsonld_values(tree, "headline")), ""),
        "og": tree.xpath('string(//meta[@property="og:title"]/@content)'),
        "h1": h1[0].text_content() if h1 else "",
        "twitter": tree.xpath('string(//meta[@name="twitter:title"]/@content)'),
        "title": tree.xpath("string(//title)"),
    }
    candidates = [(src, _strip_site_suffix(v, site)) for src, v in found.items() if len(v.split()) >= 3]
    if not candidates:
        return None
    votes: dict[str, int] = {}
    for _, value in candidates:
        votes[value.casefold()] = votes.get(value.casefold(), 0) + 1
    best = max(candidates, key=lambda c: (votes[c[1].casefold()], -_TITLE_SOURCES.index(c[0])))
    return best[1]


def standfirst(tree: Any, body_text: str) -> str | None:
    """The page's description when it is shown on the page as a lead but missing from the body."""
    body_el = tree.xpath("//body")
    if not body_el:
        return None
    visible = " ".join(body_el[0].text_content().split())
    candidates = [tree.xpath('string(//meta[@property="og:description"]/@content)'),
                  tree.xpath('string(//meta[@name="description"]/@content)'),
                  tree.xpath('string(//meta[@name="twitter:description"]/@content)'),
                  *_jsonld_values(tree, "description")]
    flat_body = " ".join(body_text.split())
    for text in candidates:
        text = " ".join(text.split())
        if len(text.split()) >= 6 and text in visible and text not in flat_body:
            return text
    return None


def extract_html(text: str, with_metadata: bool = True) -> dict[str, Any] | None:
    """trafilatura's reading of an HTML page: its main text ("text") and metadata, or None."""
    import trafilatura  # heavy import, only when there is HTML

    extracted = trafilatura.bare_extraction(
        text, with_metadata=with_metadata, include_comments=False, include_tables=False,
        favor_recall=True, date_extraction_params={"original_date": True, "extensive_search": True})
    if extracted is None:
        return None
    return extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)


def text_lines(body: str) -> list[str]:
    """The non-empty lines of extracted text, whitespace tidied."""
    return [ln for ln in (" ".join(ln.split()) for ln in body.split("\n")) if ln]


def html_fragment_lines(fragment: str) -> list[str]:
    """The text of an HTML fragment (a feed item's content), cleaned as a saved page's body is."""
    # trafilatura finds no page in a bare fragment of a few sentences: give it one.
    # It has no metadata to find either (the item gives it), and the search costs 2/3 of the time.
    data = extract_html(f"<html><body><article>{fragment}</article></body></html>", with_metadata=False)
    return text_lines(data.get("text") or "") if data else []


def read_html(path: str, text: str) -> list[Document]:
    """Saved web page: body with trafilatura, title/site/date from meta tags and JSON-LD."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(text)
    except (ValueError, SyntaxError):  # lxml's ParserError subclasses these
        tree = None
    listed = section_excerpts(path, tree) if tree is not None else []
    if listed:
        return listed
    data = extract_html(text)
    if data is None:
        raise Rejected("no article text found in the HTML page")
    body = data.get("text") or ""
    doc = Document(file=path, kind="html", lines=text_lines(body))
    doc.outlet = clean_field(data.get("sitename"))
    if tree is not None:
        doc.title = page_title(tree, doc.outlet)
        lead = standfirst(tree, body)
        if lead:
            doc.lines.insert(0, lead)
    doc.title = doc.title or clean_field(data.get("title"))
    doc.date = parse_date(str(data.get("date") or "")[:10]) if data.get("date") else None
    if tree is not None and doc.date:
        updated = next((parse_date(v.strip()[:10]) for v in modified_dates(tree)), None)
        doc.updated = updated if updated and updated > doc.date else None
    doc.url = clean_field(data.get("url"))
    lang = data.get("language")
    if isinstance(lang, str) and re.fullmatch(r"[a-z]{2}", lang.strip().lower()[:2]):
        doc.lang = lang.strip().lower()[:2]
    return [doc]


_MODIFIED_META = ('//meta[@property="article:modified_time" or @name="article:modified_time" or '
                  '@itemprop="dateModified" or @property="og:updated_time"]/@content')


def modified_dates(tree: Any) -> list[str]:
    """When the page says its article was last revised: JSON-LD dateModified, then meta tags."""
    return [v for v in _jsonld_values(tree, "dateModified") + tree.xpath(_MODIFIED_META) if isinstance(v, str)]


def section_excerpts(path: str, tree: Any) -> list[Document]:
    """A section page (its teasers: a linked headline and a snippet each, most of its text) as
    one excerpt per article it lists, linked to it; [] for any other page. A page that is only
    a list of headlines, without snippets, is rejected: there is no article to read in it.
    TREE is the page parsed (lxml)."""
    base = next((v.strip() for v in tree.xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content')
                 if v.strip().startswith(("http://", "https://"))), None)
    lines = shown_lines(tree, base)
    listed = teasers(lines)
    headlines = 0 if listed else headline_list(lines)
    if headlines:
        raise Rejected(f"listing page: {headlines} linked headlines and no article text")
    site = next((clean_field(v) for v in tree.xpath('//meta[@property="og:site_name"]/@content')), None)
    docs = []
    for i, t in enumerate(listed):
        # the short line under a headline (an alert's outlet) is, on a site's own page, its date or byline
        dated = find_dates(t["outlet"]) if t["outlet"] else []
        docs.append(Document(file=path, kind="html", record=i, lines=t["lines"], title=t["title"], url=t["url"],
                             outlet=site or outlet_from_url(t["url"]), date=dated[0].date if dated else None,
                             excerpt=True))
    return docs


def clean_field(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):  # NewsAPI: "source": {"id": ..., "name": ...}
        value = value.get("name") or value.get("title")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if not isinstance(value, (str, int, float)):
        return None
    s = " ".join(str(value).split())
    return s or None


# --------------------------------------------------------------------------- records
FIELD_NAMES = {
    "title": ("title", "titre", "headline", "name"),
    "text": ("text", "body", "content", "article", "texte", "contenu", "body_text", "article_body",
             "maintext", "description", "summary"),
    "outlet": ("outlet", "source", "site", "publisher", "outlet_name", "site_name", "sitename",
               "media", "média", "journal", "source_name"),
    "date": ("date", "published", "publishing_date", "published_at", "publishedat", "pubdate",
             "publish_date", "date_publish", "date_publication", "datetime", "created_at"),
    "url": ("url", "link", "href", "canonical_link", "source_url"),
    "lang": ("lang", "language", "langue"),
}


def _field(record: dict[str, Any], name: str) -> Any:
    """The value of the first common field name for `name`, matched case-insensitively."""
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for candidate in FIELD_NAMES[name]:
        value = lowered.get(candidate)
        if value not in (None, "", [], {}):
            return value
    return None


def outlet_from_url(url: str | None) -> str | None:
    m = re.match(r"^[a-z]+://(?:www\d?\.)?([^/:?#]+)", url or "", re.I)
    return m.group(1).lower() if m else None


def document_from_record(path: str, index: int | None, record: dict[str, Any],
                         kind: str = "record") -> Document:
    """A Document from a mapping with common field names (title, text, outlet, date, url)."""
    text = _field(record, "text")
    text = text if isinstance(text, str) else ""
    doc = Document(file=path, kind=kind, record=index, lines=paragraphs(text))
    doc.title = clean_field(_field(record, "title"))
    doc.url = clean_field(_field(record, "url"))
    doc.outlet = clean_field(_field(record, "outlet")) or outlet_from_url(doc.url)
    raw_date = clean_field(_field(record, "date"))
    if raw_date:
        doc.date = parse_date(raw_date[:10]) or parse_date(re.sub(r"\s+\d{1,2}:\d{2}.*$", "", raw_date))
    lang = clean_field(_field(record, "lang"))
    if lang and re.fullmatch(r"[a-z]{2}", lang.lower()[:2]):
        doc.lang = lang.lower()[:2]
    return doc


def _records_of(data: Any) -> list[dict[str, Any]]:
    """The article records in parsed JSON: a list, a {"articles": [...]} wrapper, or one record."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if isinstance(data, dict):
        for key in ("articles", "items", "records", "data", "results", "entries", "documents"):
            if isinstance(data.get(key), list):
                return _records_of(data[key])
        return [data]
    return []


def read_json(path: str, text: str) -> list[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Rejected(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
    records = _records_of(data)
    if not records:
        raise Rejected("JSON holds no article records")
    return [document_from_record(path, i, r) for i, r in enumerate(records)]


def read_jsonl(path: str, text: str) -> list[Document]:
    docs = []
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Rejected(f"invalid JSON on line {i + 1}: {exc.msg}") from None
        if isinstance(record, dict):
            docs.append(document_from_record(path, len(docs), record))
    if not docs:
        raise Rejected("JSON Lines file holds no article records")
    return docs


def read_csv(path: str, text: str) -> list[Document]:
    sample = text[:10000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(64 * 1024 * 1024)
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        raise Rejected(f"unreadable CSV: {exc}") from None
    docs = [document_from_record(path, i, row) for i, row in enumerate(rows)]
    if not docs or not any(d.lines for d in docs):
        raise Rejected("CSV has no text/body/content/article column with text")
    return docs


# --------------------------------------------------------------------------- feeds
FEED_ROOTS = ("rss", "feed", "rdf:RDF")  # RSS 0.9x/2.0, Atom, RSS 1.0
_FEED_START = re.compile(r"^(?:<\?xml[^>]*>|<!--.*?-->|<\?xml-stylesheet[^>]*>|<!doctype[^>]*>|\s)*<(%s)\b"
                         % "|".join(FEED_ROOTS), re.I | re.S)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def feed_root(text: str) -> str | None:
    """The root element of an RSS or Atom feed ("rss", "feed", "rdf:RDF"), or None."""
    m = _FEED_START.match(text[:4000])
    return m.group(1) if m else None


def _entry_date(entry: Any, name: str) -> str | None:
    """The entry's `published` or `updated` date as the feed wrote it, in its own time zone."""
    # dict.get: feedparser's own get() answers `updated` with the published date when there is none
    raw = clean_field(dict.get(entry, name))
    if raw:
        try:  # RFC 822 (RSS): its calendar day as written, not the UTC one feedparser computes
            return parse_date(email.utils.parsedate_to_datetime(raw).date().isoformat())
        except (TypeError, ValueError, IndexError):
            day = parse_date(raw[:10]) or parse_date(raw)  # W3C dates (Atom), odd shapes
            if day:
                return day
    parsed = dict.get(entry, name + "_parsed")
    return parse_date("%04d-%02d-%02d" % tuple(parsed[:3])) if parsed else None


def _entry_lines(detail: Any) -> list[str]:
    """Body lines of a feed text construct: HTML cleaned as a saved page's body, plain text split."""
    value = detail.get("value") or ""
    if detail.get("type") in _HTML_TYPES:
        return html_fragment_lines(value)
    return paragraphs(value)


def _entry_title(entry: Any) -> str | None:
    """The item's title as text: an Atom title of type html keeps its markup in feedparser."""
    detail = entry.get("title_detail") or {}
    title = entry.get("title")
    if detail.get("type") in _HTML_TYPES and title and "<" in title:
        from lxml import html as lxml_html

        try:
            title = lxml_html.fragment_fromstring(title, create_parent="div").text_content()
        except (ValueError, SyntaxError):  # lxml's ParserError subclasses these
            pass
    return clean_field(title)


# An item's <description> (RSS) or <summary> (Atom) is a summary by the specs, but many feeds put
# the whole article there: RSS 1.0 has no other element for it without the content module, and
# RSS 2.0 feeds often give the full HTML as description. Whether a feed's descriptions are whole
# articles or teasers is its publisher's setting (WordPress "full text" or "excerpt", Drupal
# "teasers" or "full text"), so it is judged on the feed: its descriptions are the articles when
# at least half of them are evidently more than a teaser. Teasers are short by construction:
# WordPress cuts at 55 words, Hugo at 70, Drupal at 600 characters (about 100 words), Jekyll keeps
# the first paragraph, a news site's standfirst is a sentence or two; an abstract, the longest
# kind of summary, stays under about 300 words. Evidently whole: WHOLE_PARAGRAPHS paragraphs of
# sentences (a heading or a line ending on ":" is not one) and WHOLE_WORDS words, or any shape past
# SUMMARY_MAX_WORDS words. An item that ends on a truncation mark is a teaser in any feed: that is
# how a cut says so ("[…]", "…", "Lire la suite", "Read more", "Continue reading on ...").
WHOLE_PARAGRAPHS = 3
WHOLE_WORDS = 120
SUMMARY_MAX_WORDS = 300
TRUNCATION_ENDS = ("…", "...", "[…]", "[...]", "(…)", "(...)")
READ_MORE = ("lire la suite", "lire l'article", "la suite de l'article", "suite de l'article", "lire plus",
             "read more", "read the full", "read the rest", "read the remaining", "continue reading",
             "keep reading", "full story")
# a line a feed adds under every item, full or cut (WordPress with Yoast): not where a cut shows
FEED_FOOTERS = re.compile(r"^(?:the post .+ appeared first on .+|(?:l'article|cet article) .+ est apparu en "
                          r"premier sur .+)$", re.I)
_TRUNCATED = re.compile(r"(?:%s)$" % "|".join(map(re.escape, TRUNCATION_ENDS)))
# the invitation as a link of its own: opening the last paragraph, or after a sentence or a cut
_READ_MORE = re.compile(r"(?:^|[….!?»\]\)]\s*)(?:%s)\b[^.!?]{0,40}[.!?]?$" % "|".join(map(re.escape, READ_MORE)),
                        re.I)
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
CUT, SHORT, WHOLE = "cut", "short", "whole"  # what an item's description is (description_shape)


def _shown_paragraphs(detail: Any) -> list[str]:
    """The paragraphs of a feed text construct as a reader sees them, links and all: the cleaning of
    _entry_lines drops a "Lire la suite" link, which is what tells a cut teaser."""
    value = detail.get("value") or ""
    if detail.get("type") in _HTML_TYPES:
        from lxml import html as lxml_html

        value = re.sub(r"(?i)<(?:br|/p|/div|/li|/h[1-6]|/blockquote)\b[^>]*>", "\n", value)
        try:
            value = lxml_html.fragment_fromstring(value, create_parent="div").text_content()
        except (ValueError, SyntaxError):  # lxml's ParserError subclasses these
            return []
    return paragraphs(value)


def description_shape(lines: list[str], shown: list[str]) -> str:
    """CUT when an item's description or summary ends on a truncation mark, WHOLE when it is
    evidently the whole article, else SHORT (a teaser, or a short article in a feed of whole ones).
    LINES are its body lines (what a page would publish), SHOWN its paragraphs with their links."""
    shown = [line.replace("\u2019", "'") for line in shown or lines]
    while shown and FEED_FOOTERS.match(shown[-1]):
        shown = shown[:-1]
    if not lines or not shown or _TRUNCATED.search(shown[-1]) or _READ_MORE.search(shown[-1]):
        return CUT
    words = sum(len(line.split()) for line in lines)
    sentences = sum(bool(_SENTENCE_END.search(line)) for line in lines)
    return WHOLE if words > SUMMARY_MAX_WORDS or sentences >= WHOLE_PARAGRAPHS and words >= WHOLE_WORDS else SHORT


def document_from_entry(path: str, index: int, entry: Any, outlet: str | None,
                        lang: str | None) -> tuple[Document, str | None]:
    """One feed item: its full content (content:encoded, Atom content), else its description or
    summary, an excerpt until read_feed judges the feed's descriptions; with the description's
    shape (description_shape), None when the item has content."""
    doc = Document(file=path, kind="feed", record=index)
    shape = None
    for content in entry.get("content") or []:
        doc.lines = _entry_lines(content)
        if doc.lines:
            break
    if not doc.lines and entry.get("summary_detail"):
        doc.lines, doc.excerpt = _entry_lines(entry["summary_detail"]), True
        shape = description_shape(doc.lines, _shown_paragraphs(entry["summary_detail"]))
    doc.title = _entry_title(entry)
    doc.url = clean_field(entry.get("link"))
    doc.outlet = outlet or outlet_from_url(doc.url)
    doc.date = _entry_date(entry, "published") or _entry_date(entry, "updated")
    updated = _entry_date(entry, "updated")
    doc.updated = updated if updated and doc.date and updated > doc.date else None
    doc.lang = lang
    return doc, shape


def _xml_error(exc: Exception | None) -> str | None:
    """feedparser's complaint in a report's words: "no element found at line 12"."""
    if exc is None:
        return None
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}"
    return str(exc) or type(exc).__name__


def read_feed(path: str, text: str) -> list[Document]:
    """RSS (0.9x, 1.0, 2.0) or Atom feed, parsed with feedparser: one document per item."""
    import feedparser  # only when there is a feed

    root = feed_root(text)
    if root is None:
        raise Rejected("not an RSS or Atom feed (no <rss>, <feed> or <rdf:RDF> root element)")
    # A stream, never the string: feedparser opens a string that looks like a URL or a file
    # name. The text is decoded already, so the XML declaration's encoding no longer holds.
    parsed = feedparser.parse(io.BytesIO(text.encode("utf-8")),
                              response_headers={"content-type": "application/xml; charset=utf-8"})
    error = _xml_error(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if error is not None and not re.search(r"</%s\s*>\s*$" % re.escape(root), text):
        raise Rejected(f"truncated feed (no closing </{root}>): {error}")
    if not parsed.entries:
        raise Rejected(f"feed is not readable XML: {error}" if error is not None else "feed holds no items")
    outlet = clean_field(parsed.feed.get("title"))
    lang = clean_field(parsed.feed.get("language"))
    lang = lang.lower()[:2] if lang and re.fullmatch(r"[a-z]{2}", lang.lower()[:2]) else None
    read = [document_from_entry(path, i, entry, outlet, lang) for i, entry in enumerate(parsed.entries)]
    docs = [doc for doc, _ in read]
    shapes = [shape for _, shape in read if shape]
    whole_feed = sum(shape == WHOLE for shape in shapes) * 2 >= len(shapes)  # its descriptions are the articles
    for doc, shape in read:
        if shape:
            doc.excerpt = shape == CUT or not whole_feed
    if error is not None:  # feedparser's lenient parser read it (an undefined entity, a stray character)
        for doc in docs:
            doc.notes.append(f"feed is not well-formed XML, read leniently: {error}")
    return docs


# --------------------------------------------------------------------------- Markdown
def read_markdown(path: str, text: str) -> list[Document]:
    """Markdown with optional YAML frontmatter (title, outlet/source, date, lang, url)."""
    meta: dict[str, Any] = {}
    body = text
    m = re.match(r"^---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)", text, re.S)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError:
            raise Rejected("frontmatter is not valid YAML") from None
        if isinstance(loaded, dict):
            meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in loaded.items()}
        body = text[m.end():]
    meta = {k: v for k, v in meta.items() if str(k).lower() not in FIELD_NAMES["text"]}
    meta["text"] = body
    return [document_from_record(path, None, meta, kind="markdown")]
