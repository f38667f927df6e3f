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
from email.message import EmailMessage
from typing import Any

from lxml import html as lxml_html

from ..core.model import REJECTED, Document
from .dates import parse_date
from .listings import PARAGRAPH_END, rendered_lines, teasers, unwrapped
from .readers import Rejected, clean_field, extract_html, outlet_from_url, page_title, paragraphs, text_lines

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
            out.append((lines[0], unwrapped(urls[0])))
            out += [(line, None) for line in lines[1:]]
        else:
            out += [(line, None) for line in lines]
        out.append(PARAGRAPH_END)
    return out


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
    listed = teasers(rendered_lines(content) if is_html else text_part_lines(content), min_teasers=1)
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
