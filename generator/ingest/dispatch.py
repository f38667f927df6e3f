"""Which reader reads a seed file (by its content first, then its extension), and the one
place every reader's text passes on its way in: repaired (repair.py).

Apart from readers.py so that mail.py, which reads with the helpers there, is imported by
neither: no import cycle.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..core.model import REJECTED, SKIPPED, Document, FileOutcome
from .mail import mail_kind, read_eml, read_mbox
from .readers import (NOT_ARTICLE_EXTENSIONS, Rejected, decode, feed_root, read_csv, read_feed, read_html, read_json,
                      read_jsonl, read_markdown, read_text)
from .repair import normalise_line_ends, repair_field, repair_lines, repair_text

Reader = Callable[[str, str], list[Document]]
READERS: dict[str, Reader] = {
    ".txt": read_text, ".text": read_text, "": read_text,
    ".html": read_html, ".htm": read_html, ".xhtml": read_html,
    ".json": read_json, ".jsonl": read_jsonl, ".ndjson": read_jsonl, ".csv": read_csv,
    ".md": read_markdown, ".markdown": read_markdown,
    ".xml": read_feed, ".rss": read_feed, ".atom": read_feed,
    ".eml": read_eml, ".mbox": read_mbox,
}
MAIL_READERS: dict[str, Reader] = {"eml": read_eml, "mbox": read_mbox}


def sniff_reader(ext: str, text: str) -> Reader | None:
    """Choose a reader by content first (an .html saved as .txt is still HTML), then extension."""
    if feed_root(text):  # before HTML: an item's content may hold a whole page
        return read_feed
    mail = mail_kind(text)
    if mail:  # an e-mail saved under any name starts with its headers
        return MAIL_READERS[mail]
    start = text.lstrip()[:500].lower()
    if start.startswith(("<!doctype html", "<html")) or (start.startswith("<") and "<body" in text[:20000].lower()):
        return read_html
    if ext in (".txt", "", ".text", ".md", ".markdown") and start.startswith("---\n") \
            and re.search(r"\n(?:---|\.\.\.)\s*\n", text[:20000]):
        return read_markdown
    if ext in ("", ".txt") and start[:1] in "[{":
        try:
            json.loads(text)
            return read_json
        except json.JSONDecodeError:
            pass
    return READERS.get(ext)


def read_file(seeds: Path, rel: str, max_bytes: int, data: bytes | None = None) -> list[Document] | FileOutcome:
    """All documents of one seed file, or the reason it yields none.

    DATA, when given, is the file's content, already read from a plain file no larger than
    MAX_BYTES (on a Dask worker, which does not see the seeds folder).
    """
    path = seeds / rel
    name = os.path.basename(rel)
    ext = os.path.splitext(name)[1].lower()
    if any(part.startswith(".") for part in Path(rel).parts):
        return FileOutcome(rel, SKIPPED, "hidden file or folder")
    if ext in NOT_ARTICLE_EXTENSIONS:
        return FileOutcome(rel, SKIPPED, f"not an article file ({ext[1:]})")
    if data is None:
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(seeds.resolve()):
                return FileOutcome(rel, SKIPPED, "symbolic link pointing outside the seeds folder")
        try:
            size = path.stat().st_size
            if size > max_bytes:
                return FileOutcome(rel, REJECTED, f"file too large ({size / 1e6:.1f} MB > "
                                                  f"{max_bytes / 1e6:.0f} MB, clean.max_file_mb)")
            data = path.read_bytes()
        except OSError as exc:
            return FileOutcome(rel, REJECTED, f"cannot read file: {exc.strerror or exc}")
    repaired: Counter[str] = Counter()
    try:
        text, encoding = decode(data)
        text = normalise_line_ends(text, repaired)
        reader = sniff_reader(ext, text)
        if reader is None:
            return FileOutcome(rel, SKIPPED, f"unsupported file type ({ext[1:] or 'no extension'})")
        if reader is read_text:  # all of it is plain text, repaired before its lines are analysed
            text = repair_text(text, repaired)
        docs = reader(rel, text)
    except Rejected as exc:
        return FileOutcome(rel, REJECTED, str(exc))
    except RecursionError:
        return FileOutcome(rel, REJECTED, "structure nested too deeply to read")
    # The one place every reader's text passes: what a reader took out of markup or records is
    # plain text now, so an entity, a tag or mojibake left in it is damage (see repair.py). A
    # text scrape was repaired whole above: a second pass would unescape "&amp;eacute;" twice.
    for i, doc in enumerate(docs):
        counts = repaired if i == 0 else Counter()  # the file's line ends count once, on its first document
        if reader is not read_text:
            doc.title = repair_field(doc.title, counts)
            doc.outlet = repair_field(doc.outlet, counts)
            doc.lines = repair_lines(doc.lines, counts)
        doc.repaired = dict(sorted(counts.items()))
        doc.encoding = encoding
    return docs
