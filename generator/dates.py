"""Dates and datelines in their common French and English shapes.

Regular expressions and a month-name table come first; dateparser (languages pinned) is only a
fallback on short candidate strings, never on whole lines of body text.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

MONTHS = {
    # French
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "novembre": 11, "decembre": 12,
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
MIN_YEAR, MAX_YEAR = 1900, 2100

_MONTH = r"(?P<month>[A-Za-zÀ-ÿ]{3,10})\.?"
_DAY = r"(?P<day>\d{1,2})(?:er|st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_WEEKDAY = (r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
            r"thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\.?,?\s+)?")
_TIME = r"(?:[\sT,]+(?:à\s+|at\s+)?\d{1,2}\s*[:hH]\s*\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[aApP]\.?[mM]\.?)?(?:Z|[+-]\d{2}:?\d{2}|\s*[A-Z]{2,4})?)?"
DATE_PATTERNS = [
    re.compile(p, re.IGNORECASE) for p in (
        r"^(?P<year>\d{4})\s*[-/.]\s*(?P<month>\d{1,2})\s*[-/.]\s*(?P<day>\d{1,2})" + _TIME + "$",
        r"^(?P<day>\d{1,2})\s*[-/.]\s*(?P<month>\d{1,2})\s*[-/.]\s*(?P<year>\d{4})" + _TIME + "$",
        "^" + _WEEKDAY + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + _TIME + "$",
        "^" + _WEEKDAY + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + _TIME + "$",
    )
]


def _fold(s: str) -> str:
    """Lowercase without accents: 'Février' -> 'fevrier'."""
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if not unicodedata.combining(c))


def make_date(year: int, month: int, day: int) -> str | None:
    """ISO date if it exists and is plausible for a news article, else None."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """Parse a short date string ('15 - 10 - 2020', '15 octobre 2020', 'Oct 15, 2020')."""
    s = " ".join(text.replace("\u00a0", " ").split()).strip(" .,;|")
    if not s or len(s) > 60:
        return None
    for pattern in DATE_PATTERNS:
        m = pattern.match(s)
        if not m:
            continue
        month = m.group("month")
        month_num = int(month) if month.isdigit() else MONTHS.get(_fold(month))
        if month_num is None:
            continue
        return make_date(int(m.group("year")), month_num, int(m.group("day")))
    return _dateparser_fallback(s)


@functools.lru_cache(maxsize=4096)
def _dateparser_fallback(s: str) -> str | None:
    if not re.search(r"\d{4}", s):  # no year: too ambiguous to trust ("mardi 8 avril")
        return None
    import dateparser  # slow to import; only needed for odd shapes

    try:
        parsed = dateparser.parse(s, languages=["fr", "en"],
                                  settings={"PREFER_DAY_OF_MONTH": "first",
                                            "REQUIRE_PARTS": ["day", "month", "year"],
                                            "RETURN_AS_TIMEZONE_AWARE": False})
    except Exception:  # dateparser raises assorted errors on odd input
        return None
    return make_date(parsed.year, parsed.month, parsed.day) if parsed else None


@dataclass(frozen=True)
class Dateline:
    outlet: str | None
    date: str | None


_OUTLET = r"(?P<outlet>[^|\n]{1,80}?)"
_DATE = r"(?P<date>[^|\n]{6,60}?)"
DATELINE_PATTERNS = [
    re.compile(p, re.IGNORECASE) for p in (
        r"^Publié dans\s+" + _OUTLET + r"\s+le\s+" + _DATE + r"$",
        r"^Published in\s+" + _OUTLET + r"\s+on\s+" + _DATE + r"$",
        r"^Publié le\s+" + _DATE + r"\s+par\s+" + _OUTLET + r"$",
        r"^Published on\s+" + _DATE + r"\s+by\s+" + _OUTLET + r"$",
        r"^Source\s*:\s*" + _OUTLET + r"\s*[|,–—-]\s*" + _DATE + r"$",
        r"^By\s+[^|]{1,80}?\s*\|\s*" + _OUTLET + r"\s*\|\s*" + _DATE + r"$",
        r"^Par\s+[^|]{1,80}?\s*\|\s*" + _OUTLET + r"\s*\|\s*" + _DATE + r"$",
        r"^" + _OUTLET + r"\s*\|\s*" + _DATE + r"$",
        r"^(?:Publié|Mis à jour|Published|Updated)(?: le| on)?\s*:?\s*" + _DATE + r"$",
    )
]


_DATELINE_HINT = re.compile(r"^\s*(?:publi|mis à jour|updated|source|by\s|par\s)|\|", re.I)


def parse_dateline(line: str) -> Dateline | None:
    """Outlet and date of a dateline such as 'Publié dans PanoraPost le 15 - 10 - 2020'.

    A line is a dateline only if its date part parses, so body sentences that merely start
    with "Publié" do not qualify.
    """
    if not 8 <= len(line) <= 200 or not _DATELINE_HINT.search(line):
        return None  # cheap test first: this runs on every short line of every document
    s = " ".join(line.replace("\u00a0", " ").split())
    for pattern in DATELINE_PATTERNS:
        m = pattern.match(s)
        if not m:
            continue
        date = parse_date(re.sub(r"\s+(?:à|at)\s+\d.*$", "", m.group("date")))
        if date is None:
            continue
        outlet = m.groupdict().get("outlet")
        outlet = outlet.strip(" .,;:-–—") if outlet else None
        return Dateline(outlet=outlet or None, date=date)
    return None
