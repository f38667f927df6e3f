"""E-mail as input: .eml (one message) and .mbox (many), read with the standard library.

A message's HTML part (else its text part) is read as a saved page is. An alert or a newsletter
that lists several articles (each a headline linking to it, the outlet, a snippet, as news
alerts are written) is one excerpt per article, linked to it, instead of one page.
"""
from __future__ import annotations

import binascii
import email
import email.policy
import email.utils
import re
from collections import Counter
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import html as lxml_html
from lxml.html import defs

from ..core.model import REJECTED, Document
from .dates import parse_date
from .readers import Rejected, clean_field, extract_html, outlet_from_url, page_title, paragraphs, text_lines

# A listing's teaser: a headline of at least this many words that is a whole line and a link,
# then a snippet of SNIPPET_WORDS words, before the next link line.
HEADLINE_MIN_WORDS = 3
SNIPPET_WORDS = (5, 150)  # longer than that under a linked headline: the article itself
LISTING_MIN_TEASERS = 2
LISTING_MIN_SHARE = 0.5  # of the message's words in teasers: the rest is its header and footer
OUTLET_LINE_MAX_WORDS = 6  # a short line right under the headline, no sentence: the outlet (news alerts)
# redirect links of alert senders (Google: /url?url=..., /url?q=...): the article's address is a parameter
REDIRECT_PARAMETERS = ("url", "q", "u", "target")
PARAGRAPH_END = ("", None)
_BREAKS = frozenset(defs.block_tags | {"br", "td", "th", "tr", "li"})
_SKIPPED = frozenset({"script", "style", "head", "title", "noscript"})
_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,60}:[ \t]*\S?")
_MESSAGE_HEADERS = ("from", "subject", "date", "message-id")
_MBOXRD_FROM = re.compile(r"^>(>*From )", re.M)  # a body line "From ..." is written ">From ..." in a mailbox
_URL_LINE = re.compile(r"^<?(https?://\S+?)>?$")


def mail_kind(text: str) -> str | None:
    """"mbox" or "eml" when TEXT starts like a mailbox or a message (its header block), else None."""
    head = text[:20000].lstrip("\n").split("\n\n", 1)[0].split("\n")
    if head and head[0].startswith("From ") and len(head) > 1:
        kind, head = "mbox", head[1:]
    else:
        kind = "eml"
    names = set()
    for line in head:
        if line[:1] in (" ", "\t"):  # a folded header goes on
            continue
        if not _HEADER.match(line):
            return None
        names.add(line.split(":", 1)[0].strip().lower())
    return kind if "from" in names and len(names & set(_MESSAGE_HEADERS)) >= 2 else None


def _unwrapped(url: str) -> str:
    """An alert's redirect link as the article's own address."""
    parts = urlsplit(url)
    for name in REDIRECT_PARAMETERS:
        for value in parse_qs(parts.query).get(name, []):
            if value.startswith(("http://", "https://")):
                return value
    return url


def rendered_lines(markup: str) -> list[tuple[str, str | None]]:
    """An HTML message's text as a mail client shows it, line by line: (text, href when the whole
    line is one link)."""
    try:
        tree = lxml_html.fromstring(markup)
    except (ValueError, SyntaxError):  # lxml's ParserError subclasses these
        return []
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
        if tag == "a" and element.get("href", "").startswith(("http://", "https://")):
            href = _unwrapped(element.get("href"))
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


def text_part_lines(text: str) -> list[tuple[str, str | None]]:
    """A plain-text message's lines; in a paragraph holding one address on a line of its own (an
    alert's text version: headline, outlet, snippet, <address>), the first line links to it.
    Each paragraph ends with PARAGRAPH_END: a teaser of a text alert is its paragraph."""
    out: list[tuple[str, str | None]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n") if line.strip()]
        urls = [m.group(1) for m in map(_URL_LINE.match, lines) if m]
        if len(urls) == 1 and len(lines) > 1:
            lines = [line for line in lines if not _URL_LINE.match(line)]
            out.append((lines[0], _unwrapped(urls[0])))
            out += [(line, None) for line in lines[1:]]
        else:
            out += [(line, None) for line in lines]
        out.append(PARAGRAPH_END)
    return out


def teasers(lines: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The articles a listing message links to (title, url, outlet, snippet lines), or [] when it
    is not a listing (one article, with perhaps a few links around it)."""
    link_texts = Counter(text for text, href in lines if href is not None)
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for text, href in lines:
        if not text:  # PARAGRAPH_END
            current = None
        elif href is not None:
            current = None
            # a link text shown more than once ("Signaler comme non pertinent") is the message's furniture
            if len(text.split()) >= HEADLINE_MIN_WORDS and link_texts[text] == 1:
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
    if len(found) < LISTING_MIN_TEASERS or any(not SNIPPET_WORDS[0] <= n <= SNIPPET_WORDS[1] for n in sizes):
        return []
    total = sum(len(text.split()) for text, _ in lines)
    shown = sum(len(t["title"].split()) for t in found) + sum(sizes)
    return found if shown >= LISTING_MIN_SHARE * total else []


def _message_date(message: EmailMessage) -> str | None:
    """The Date header's calendar day as written, in the sender's time zone."""
    raw = message.get("date")
    if not raw:
        return None
    try:
        return parse_date(email.utils.parsedate_to_datetime(str(raw)).date().isoformat())
    except (TypeError, ValueError, IndexError):
        return None


def _part_text(part: EmailMessage) -> str:
    """A part's text in its declared charset; an unknown or wrong one read as UTF-8, errors replaced."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, binascii.Error, AssertionError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload or "")


def documents_from_message(path: str, message: EmailMessage) -> list[Document]:
    """One message: one article, or one excerpt per article it lists (their position their record)."""
    if not any(message.get(name) for name in _MESSAGE_HEADERS):
        raise Rejected("not an e-mail: no From, Subject, Date or Message-ID header")
    subject = clean_field(str(message.get("subject") or ""))
    sender = clean_field(email.utils.parseaddr(str(message.get("from") or ""))[0])
    date = _message_date(message)
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        raise Rejected("e-mail has no text or HTML part")
    content = _part_text(part)
    is_html = part.get_content_subtype() == "html"
    listed = teasers(rendered_lines(content) if is_html else text_part_lines(content))
    if listed:
        return [Document(file=path, kind="email", record=i, lines=t["lines"], title=t["title"], url=t["url"],
                         outlet=t["outlet"] or outlet_from_url(t["url"]) or sender, date=date, excerpt=True)
                for i, t in enumerate(listed)]
    doc = Document(file=path, kind="email", date=date)
    data: dict[str, Any] = {}
    if is_html:
        data = extract_html(content) or {}
        doc.lines = text_lines(data.get("text") or "")
        try:
            doc.title = page_title(lxml_html.fromstring(content), sender)
        except (ValueError, SyntaxError):
            pass
        doc.outlet = clean_field(data.get("sitename"))
        doc.url = clean_field(data.get("url"))
    else:
        doc.lines = paragraphs(content)
    if doc.title and doc.lines and doc.lines[0].casefold() == doc.title.casefold():
        del doc.lines[0]  # the letter's headline, kept in the text when its <title> names the letter
    if not doc.lines:
        raise Rejected("no text in the e-mail")
    doc.title = doc.title or subject
    doc.outlet = doc.outlet or sender
    doc.date = doc.date or (parse_date(str(data["date"])[:10]) if data.get("date") else None)
    return [doc]


def _parsed(text: str) -> EmailMessage:
    return email.message_from_string(text, policy=email.policy.default)  # type: ignore[return-value]


def read_eml(path: str, text: str) -> list[Document]:
    """One e-mail message (.eml)."""
    try:
        return documents_from_message(path, _parsed(text))
    except Rejected:
        raise
    except Exception as exc:  # the email package has no one error type for a message it cannot read
        raise Rejected(f"malformed e-mail: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}") from None


def read_mbox(path: str, text: str) -> list[Document]:
    """A mailbox (.mbox): every message, each article or listed excerpt one record, in order; a
    message that cannot be read is a rejected record with its reason."""
    # Split here, not with mailbox.mbox, which opens a path: a reader gets the text (a Dask worker
    # sees no seeds folder). Each message starts with its "From " line after a blank line.
    chunks = [c for c in re.split(r"(?:^|\n\n)(?=From \S)", text) if c.strip()]
    docs: list[Document] = []
    for n, chunk in enumerate(chunks, 1):
        body = chunk.split("\n", 1)[1] if chunk.startswith("From ") and "\n" in chunk else chunk
        try:
            found = documents_from_message(path, _parsed(_MBOXRD_FROM.sub(r"\1", body)))
        except Rejected as exc:
            found = [Document(file=path, kind="email", status=REJECTED, reason=f"message {n}: {exc}")]
        except Exception as exc:  # as in read_eml
            found = [Document(file=path, kind="email", status=REJECTED,
                              reason=f"message {n}: malformed e-mail: {type(exc).__name__}")]
        for doc in found:
            doc.record = len(docs)
            docs.append(doc)
    if not docs:
        raise Rejected("mailbox holds no messages")
    return docs
