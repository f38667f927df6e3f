"""Datelines and dates in the shapes French and English scrapes use."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from generator.dates import Dateline, parse_date, parse_dateline


@pytest.mark.parametrize("line, outlet, date", [
    ("Publié dans PanoraPost le 15 - 10 - 2020", "PanoraPost", "2020-10-15"),
    ("Publié le 15 octobre 2020 par Le Monde", "Le Monde", "2020-10-15"),
    ("Publié le 1er février 2021 à 10h32 par Jeune Afrique", "Jeune Afrique", "2021-02-01"),
    ("Source : Le Figaro | 15/10/2020", "Le Figaro", "2020-10-15"),
    ("Published in The Guardian on 15 - 10 - 2020", "The Guardian", "2020-10-15"),
    ("Published on October 15, 2020 by Reuters", "Reuters", "2020-10-15"),
    ("By Jane Doe | The Independent | Oct 15, 2020", "The Independent", "2020-10-15"),
    ("Publié le 15/10/2020", None, "2020-10-15"),
])
def test_datelines(line: str, outlet: str | None, date: str) -> None:
    assert parse_dateline(line) == Dateline(outlet=outlet, date=date)


@pytest.mark.parametrize("line", [
    "Le temps qu'il fera ce mardi 8 avril 2025",  # a ticker headline, not a dateline
    "Publié dans un rapport, le chiffre inquiète les experts depuis des mois.",
    "Publié dans PanoraPost le 31 - 02 - 2020",  # no such day
    "",
])
def test_not_datelines(line: str) -> None:
    assert parse_dateline(line) is None


@pytest.mark.parametrize("text, iso", [
    ("15 - 10 - 2020", "2020-10-15"), ("2020-10-15T08:00:00+02:00", "2020-10-15"),
    ("mardi 8 avril 2025", "2025-04-08"), ("8 Avril 2018 23:33", "2018-04-08"),
    ("Oct. 5, 2019", "2019-10-05"), ("5 décembre 2019", "2019-12-05"), ("15.10.2020", "2020-10-15"),
])
def test_dates(text: str, iso: str) -> None:
    assert parse_date(text) == iso


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_date_never_crashes_nor_invents_a_date(text: str) -> None:
    result = parse_date(text)
    if result is not None:
        day = dt.date.fromisoformat(result)
        assert 1900 <= day.year <= 2100


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 14), st.integers(1800, 2200))
def test_numeric_dates_are_real_days(day: int, month: int, year: int) -> None:
    result = parse_dateline(f"Publié dans X le {day:02d} - {month:02d} - {year}")
    try:
        expected = dt.date(year, month, day).isoformat() if 1900 <= year <= 2100 else None
    except ValueError:
        expected = None
    assert (result.date if result else None) == expected
