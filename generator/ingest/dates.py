"""Dates and times as people write them, found inside short lines.

A compiled grammar of date tokens (numeric day-month-year with any separator, ISO dates and
timestamps, day and month names in French, English, Spanish, Italian, German and Portuguese,
abbreviations, weekdays, "1er", times of day) finds every date in a line with its span, so the
layout stage can take the date out and read what is left. dateparser is only a fallback for
odd whole-field strings (record and HTML fields), never run over lines of text: it is slow.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

MIN_YEAR, MAX_YEAR = 1900, 2100

# Month names by number; each entry is a regex alternative (accents optional).
_MONTH_WORDS = {
    1: "janvier janv jan january enero gennaio januar janeiro ene gen",
    2: "f[ée]vrier f[ée]vr f[ée]v february feb febrero febbraio februar fevereiro",
    3: "mars march mar marzo m[äa]rz mär mar[çc]o",
    4: "avril avr april apr abril aprile abr",
    5: "mai may mayo maggio maio mag",
    6: "juin june jun junio giugno juni junho giu",
    7: "juillet juil july jul julio luglio juli julho lug",
    8: "ao[ûu]t august aug agosto ago",
    9: "septembre sept september sep septiembre setiembre settembre setembro set",
    10: "octobre october oct octubre ottobre oktober outubro okt ott out",
    11: "novembre november nov noviembre novembro",
    12: "d[ée]cembre d[ée]c december dec diciembre dicembre dezember dezembro dic dez",
}
_MONTH_NUMBER: list[tuple[re.Pattern[str], int]] = [
    (re.compile("^(?:" + "|".join(words.split()) + ")$", re.I), number)
    for number, words in _MONTH_WORDS.items()]
_MONTH = r"(?P<{g}>" + "|".join(sorted({w for ws in _MONTH_WORDS.values() for w in ws.split()},
                                        key=len, reverse=True)) + r")\.?"
_WEEKDAY_NAMES = (r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
            r"thursday|friday|saturday|sunday|lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo|"
            r"luned[iì]|marted[iì]|mercoled[iì]|gioved[iì]|venerd[iì]|montag|dienstag|mittwoch|donnerstag|"
            r"freitag|samstag|sonntag|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|lun|mer|jeu|ven|sam|dim)")
# A weekday before a date joins its span; looked for behind a match (cheaper than in the grammar).
_WEEKDAY_BEFORE = re.compile(r"(?<!\w)" + _WEEKDAY_NAMES + r"\.?,?\s+(?:(?:le|the|den)\s+)?$", re.I)
_DAY = r"(?P<{g}>[0-3]?\d)(?:er|st|nd|rd|th|º|°|\.)?"
_YEAR = r"(?P<{g}>(?:1[89]|2[01])\d\d)"
_TZ = r"(?:\s*(?:Z|UTC|GMT|CET|CEST|EST|EDT|PST|PDT|BST|[+-]\d{2}:?\d{2})\b)?"
TIME = re.compile(
    r"(?<![\d:])(?:(?:à|a|at|um|alle|às|-|,)\s+)?(?:[01]?\d|2[0-3])(?:\s*(?::|h|H)\s*[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:\s*[aApP]\.?\s?[mM]\.?)?|\s*[aApP]\.?\s?[mM]\b\.?|\s*[hH](?![\w]))" + _TZ + r"(?![\d:])", re.I)

# One alternative per date shape; group names carry the shape's index (d0, m0, y0, ...).
_SHAPES = [
    # ISO date, optionally a timestamp: 2020-10-15, 2020/10/15, 2020-10-15T10:32:00Z
    r"(?<!\d){y}\s*(?P<s{i}>[-/.])\s*(?P<m{i}>[01]?\d)\s*(?P=s{i})\s*(?P<d{i}>[0-3]?\d)(?!\d)"
    r"(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?" + _TZ.replace("{", "{{").replace("}", "}}") + ")?",
    # numeric day-month-year: 15/10/2020, 15 - 10 - 2020, 15.10.2020, 15 10 2020, 15/10/20
    r"(?<![\d.,])(?P<d{i}>[0-3]?\d)\s*(?P<s{i}>[-/.]|\s)\s*(?P<m{i}>[01]?\d)\s*(?P=s{i})\s*"
    r"(?:{y}|(?P<yy{i}>\d\d))(?![\d])",
    # day month year, any weekday before: jeudi 15 octobre 2020, 1er févr. 2021, 15 de octubre de 2020
    r"(?<![\w]){d}\s*(?:de\s+)?{mn}\s*,?\s*(?:de\s+|del\s+)?{y}(?!\d)",
    # month day year: October 15, 2020; Thu, Oct. 15th 2020
    r"(?<![\w])(?=[a-zäçéû]){mn}\s+{d},?\s+{y}(?!\d)",
]
DATE = re.compile("|".join(
    "(?P<a{i}>{p})".format(i=i, p=p.format(
        i=i, y=_YEAR.format(g=f"y{i}"), d=_DAY.format(g=f"d{i}"), mn=_MONTH.format(g=f"m{i}")))
    for i, p in enumerate(_SHAPES)), re.I)
_HAS_DIGIT = re.compile(r"\d")
# Every date shape holds a four-digit year or a day/month/two-digit-year run: a cheap test first.
_MAY_HOLD_DATE = re.compile(r"(?:1[89]|2[01])\d\d|\d[/.]\s*\d{1,2}\s*[/.]\s*\d\d")


@dataclass(frozen=True)
class DateSpan:
    start: int
    end: int
    date: str  # YYYY-MM-DD


def _fold(s: str) -> str:
    """Lowercase without accents: 'Février' -> 'fevrier'."""
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if not unicodedata.combining(c))


def month_number(word: str) -> int | None:
    word = word.rstrip(".")
    for pattern, number in _MONTH_NUMBER:
        if pattern.match(word):
            return number
    return None


def make_date(year: int, month: int, day: int) -> str | None:
    """ISO date if it exists and is plausible for a news article, else None."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_of(m: re.Match[str]) -> str | None:
    shape = int(next(k for k, v in m.groupdict().items() if v is not None and k[0] == "a")[1:])
    g = m.group
    if shape in (0, 1):
        month, day = int(g(f"m{shape}")), int(g(f"d{shape}"))
        if shape == 1 and day <= 12 < month:  # 10/15/2020: month first, as written in the US
            day, month = month, day
        if shape == 1 and g(f"yy{shape}") is not None:
            if g(f"s{shape}") not in "/.":
                return None  # '15-10-20' or '15 10 20' is too often something else
            year = 2000 + int(g(f"yy{shape}"))
        else:
            year = int(g(f"y{shape}"))
        return make_date(year, month, day)
    month = month_number(g(f"m{shape}"))
    return make_date(int(g(f"y{shape}")), month, int(g(f"d{shape}"))) if month else None


def find_dates(line: str) -> list[DateSpan]:
    """Every real calendar date written in `line`, with its span (weekday included)."""
    out: list[DateSpan] = []
    done = 0
    for year in _MAY_HOLD_DATE.finditer(line):
        # The grammar runs only around each year-like run: a date spans at most ~30 characters
        # before its year ("mercredi 1er septembre 2021" counts its weekday apart).
        start = max(done, year.start() - 32)
        for m in DATE.finditer(line, start, min(len(line), year.end() + 32)):
            if m.end() <= done:
                continue
            date = _date_of(m)
            if date:
                out.append(DateSpan(_with_weekday(line, m), m.end(), date))
                done = m.end()
    return out


def _with_weekday(line: str, m: re.Match[str]) -> int:
    """Where a date written with a month name starts, a weekday before it included; never the
    name of an outlet ("The Sun, 15 Oct 2020")."""
    shape = int(next(k for k, v in m.groupdict().items() if v is not None and k[0] == "a")[1:])
    weekday = _WEEKDAY_BEFORE.search(line, max(0, m.start() - 24), m.start()) if shape >= 2 else None
    if weekday is None or re.search(r"(?i)\b(?:the|le|la|les|el|il|der|die|das)\s+$", line[:weekday.start()]):
        return m.start()
    return weekday.start()


def find_times(line: str) -> list[tuple[int, int]]:
    """Spans of times of day: 10:32, 10 h 32, 10h32, 10:32 AM, 9 pm (with 'à'/'at' before)."""
    return [m.span() for m in TIME.finditer(line)] if _HAS_DIGIT.search(line) else []


def parse_date(text: str) -> str | None:
    """The date of a short field ('15 - 10 - 2020', '15 octobre 2020', '2020-10-15T08:00:00Z')."""
    s = " ".join(text.replace("\u00a0", " ").split()).strip(" .,;|")
    if not s or len(s) > 60:
        return None
    found = find_dates(s)
    if found:
        return found[0].date
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
