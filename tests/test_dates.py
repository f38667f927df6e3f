"""Dates and times in the forms people write them, found inside short lines."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from generator.ingest.dates import find_dates, find_times, parse_date


@pytest.mark.parametrize("text, iso", [
    ("15 - 10 - 2020", "2020-10-15"), ("2020-10-15T08:00:00+02:00", "2020-10-15"),
    ("mardi 8 avril 2025", "2025-04-08"), ("8 Avril 2018 23:33", "2018-04-08"),
    ("Oct. 5, 2019", "2019-10-05"), ("5 décembre 2019", "2019-12-05"), ("15.10.2020", "2020-10-15"),
    ("1er février 2021", "2021-02-01"), ("jeudi 1er octobre 2020", "2020-10-01"), ("26 févr. 2020", "2020-02-26"),
    ("Thu 15 Oct 2020", "2020-10-15"), ("Tuesday, March 3rd, 2020", "2020-03-03"), ("15/10/20", "2020-10-15"),
    ("10/15/2020", "2020-10-15"), ("2020/10/15", "2020-10-15"), ("15 10 2020", "2020-10-15"),
    ("15 de octubre de 2020", "2020-10-15"), ("15. Oktober 2020", "2020-10-15"), ("3 agosto 2021", "2021-08-03"),
])
def test_dates_in_the_forms_people_write(text: str, iso: str) -> None:
    assert parse_date(text) == iso
    assert [d.date for d in find_dates(f"Le Matin | {text} | 10:32")] == [iso]


@pytest.mark.parametrize("line", [
    "2020", "Lu 1234 fois", "31/02/2020", "Le score final est de 15-10-20 après prolongation",
    "Tél. 01 45 67 89 10", "Il y a 15 ans, 300 personnes",
])
def test_what_is_not_a_date(line: str) -> None:
    assert find_dates(line) == []


@pytest.mark.parametrize("line, times", [
    ("Mis à jour le 2020-10-15 10:32 | Le Matin", ["10:32"]),
    ("Publié le 12 mars 2019 à 10 h 32", ["à 10 h 32"]),
    ("15.10.2020 - 10h32", ["- 10h32"]),
    ("Reuters — October 15, 2020 10:32 AM", ["10:32 AM"]),
    ("Updated 9 pm", ["9 pm"]),
])
def test_times_of_day(line: str, times: list[str]) -> None:
    assert [line[a:b] for a, b in find_times(line)] == times


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_date_never_crashes_nor_invents_a_date(text: str) -> None:
    result = parse_date(text)
    if result is not None:
        day = dt.date.fromisoformat(result)
        assert 1900 <= day.year <= 2100


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 14), st.integers(1800, 2200), st.sampled_from(["/", "-", ".", " - "]))
def test_numeric_dates_are_real_days(day: int, month: int, year: int, sep: str) -> None:
    found = [d.date for d in find_dates(f"Publié le {day:02d}{sep}{month:02d}{sep}{year}")]
    expected = []
    for d, m in ((day, month), (month, day)) if day <= 12 < month else ((day, month),):
        try:
            expected = [dt.date(year, m, d).isoformat()] if 1900 <= year <= 2100 else []
        except ValueError:
            pass
    assert found == expected
