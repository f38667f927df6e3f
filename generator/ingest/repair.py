"""Broken text repaired before anything reads it: mojibake, entities and tags in plain text, line ends.

A scrape's text has often been through a wrong decode upstream (UTF-8 read as cp1252 or
latin-1, once or twice: "dÃ©claration", "lâ€™Etat"), through an HTML export that left its
entities and tags in what is now plain text ("&eacute;", "&#8217;", "<br>"), or through
editors on several systems (CRLF, CR and LF in one file). ftfy undoes the decodes; it is
held to that alone, so a correct text comes out unchanged (no quote uncurling, no
normalisation, no ligature or width folding, which change correct typography).
"""
from __future__ import annotations

import re
from collections import Counter

import ftfy
from ftfy.fixes import HTML_ENTITY_RE, unescape_html
from lxml.html import defs

# The kinds of repair counted in build-report.json (`repaired` of an inputs[] row).
MOJIBAKE, ENTITIES, TAGS, LINE_ENDS = "mojibake", "entities", "tags", "line_endings"

# Only the fixes of a wrong decode: the others rewrite correct text (’ -> ', NFC, ﬁ -> fi).
_DECODE_FIXES = ftfy.TextFixerConfig(
    unescape_html=False, fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False,
    fix_line_breaks=False, normalization=None, explain=False)
# An HTML element's tag, by the names HTML has (lxml's list): "<Paris>" or "a < b" are text.
_TAG = re.compile(r"</?(%s)(?:\s[^<>]*)?/?>" % "|".join(sorted(defs.tags, key=len, reverse=True)), re.I)
_BLOCK_TAGS = frozenset(defs.block_tags | {"br"})  # they end a line: their text is a paragraph of its own
_LINE_END = re.compile(r"\r\n|\r|\n")
_MAY_NEED_REPAIR = re.compile(r"[&<\u0080-\uffff]")  # pure ASCII without & or < has nothing to repair
# What a wrong decode leaves, as a gate before ftfy (whose own check costs 0.5 s a megabyte, 40
# times this pass): a UTF-8 lead byte read as cp1252 or latin-1 (Â..ô) before a continuation byte
# read the same way (C1 controls, NBSP..¿, cp1252's € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ),
# "Ã " (its NBSP lost), and the controls, surrogates and U+FFFD ftfy also repairs.
_WRONG_DECODE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|[\u00c2\u00c3] "
    "|[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffd\u206a-\u206f\ufff9-\ufffc\x1b]")


def _strip_tag(m: re.Match[str]) -> str:
    return "\n" if m.group(1).lower() in _BLOCK_TAGS else ""


def fix_decoding(text: str) -> str:
    """TEXT with its wrong decodes undone (ftfy), nothing else changed."""
    return ftfy.fix_text(text, _DECODE_FIXES) if _WRONG_DECODE.search(text) else text


def repair_line(text: str, counts: Counter[str]) -> str:
    """One line of plain text repaired (entities, tags, mojibake); what changed is added to COUNTS.

    The result may hold line breaks where a block tag (<p>, <br>) stood.
    """
    if not _MAY_NEED_REPAIR.search(text):
        return text
    if HTML_ENTITY_RE.search(text):
        # twice: an export that escaped its text again leaves "&amp;eacute;"
        fixed = unescape_html(unescape_html(text))
        if fixed != text:
            counts[ENTITIES] += 1
            text = fixed
    if "<" in text:
        fixed = _TAG.sub(_strip_tag, text)
        if fixed != text:
            counts[TAGS] += 1
            text = fixed
    fixed = fix_decoding(text)
    if fixed != text:
        counts[MOJIBAKE] += 1
        text = fixed
    return text


def repair_lines(lines: list[str], counts: Counter[str]) -> list[str]:
    """Paragraphs repaired, split where a tag ended one, empty ones dropped, whitespace tidied."""
    out = []
    for line in lines:
        fixed = repair_line(line, counts)
        if fixed is line:
            out.append(line)
        else:
            out.extend(p for p in (" ".join(part.split()) for part in fixed.split("\n")) if p)
    return out


def repair_field(value: str | None, counts: Counter[str]) -> str | None:
    """A one-line field (a title, an outlet) repaired, kept on one line."""
    if value is None:
        return None
    return " ".join(repair_line(value, counts).split()) or None


def normalise_line_ends(text: str, counts: Counter[str]) -> str:
    """Every line end as LF; a file that mixes kinds has its minority counted as repaired."""
    if "\r" not in text:
        return text
    kinds = Counter(_LINE_END.findall(text))
    if len(kinds) > 1:
        counts[LINE_ENDS] += sum(kinds.values()) - max(kinds.values())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def repair_text(text: str, counts: Counter[str]) -> str:
    """A whole plain text repaired line by line (a text scrape, before its lines are analysed)."""
    text = normalise_line_ends(text, counts)
    if not _MAY_NEED_REPAIR.search(text):
        return text
    return "\n".join(repair_line(line, counts) for line in text.split("\n"))
