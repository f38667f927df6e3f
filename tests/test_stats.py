"""The statistics page: its numbers match the content frontmatter, its charts are static SVG
with a text alternative, and it renders in Chromium as accessible, valid HTML."""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from pathlib import Path

import lxml.html
import pytest

from browser import axe_violations, browser, collect_page_problems, format_violations, screenshot, serve, vnu_errors
from conftest import content_pages
from generator.site.taxonomies import term_slug

TYPES = ("people", "organizations", "places")
CHARTS = ("weeks.svg", "outlets.svg", "people.svg", "organizations.svg", "places.svg", "pairs.svg")


@pytest.fixture(scope="module")
def site(corpus_site: Path) -> Path:
    return corpus_site / "site"


def table(doc: lxml.html.HtmlElement, name: str) -> list[list[str]]:
    rows = doc.xpath(f"//table[@data-stat='{name}']/tbody/tr")
    return [[c.text_content().strip() for c in row.xpath("./th|./td")] for row in rows]


def test_numbers_match_the_content(corpus_site: Path, site: Path) -> None:
    fms = [fm for fm, _ in content_pages(corpus_site)]
    doc = lxml.html.fromstring((site / "stats" / "index.html").read_text(encoding="utf-8"))
    weeks = Counter("{}-W{:02d}".format(*dt.date.fromisoformat(fm["date"]).isocalendar()[:2])
                    for fm in fms if fm["date"])
    assert {w: int(n) for w, _, n in table(doc, "weeks")} == dict(weeks)
    assert sum(int(n) for _, _, n in table(doc, "weeks")) == sum(1 for fm in fms if fm["date"])
    outlets = Counter(fm["outlet"] for fm in fms if fm["outlet"])
    assert {o: int(n) for o, n, _ in table(doc, "outlets")} == dict(outlets)
    shares = [float(s.rstrip(" %")) for _, _, s in table(doc, "outlets")]
    assert abs(sum(shares) - 100) < 0.1 * len(shares)
    for taxonomy in TYPES:  # counted by term page, as the site shows them: names that slug alike are one
        counts = Counter(s for fm in fms for s in {term_slug(n) for n in fm["entities"][taxonomy]})
        rows = table(doc, taxonomy)
        assert rows and [int(n) for _, n in rows] == sorted((n for n in counts.values()), reverse=True)[:len(rows)]
        links = doc.xpath(f"//table[@data-stat='{taxonomy}']//a/@href")
        for (_, n), href in zip(rows, links):
            assert counts[re.search(rf"{taxonomy}/([^/]+)/index.html", href).group(1)] == int(n)
    pairs: Counter[tuple[str, str]] = Counter()
    for fm in fms:
        keys = sorted({f"{t}/{term_slug(n)}" for t in TYPES for n in fm["entities"][t]})
        pairs.update(itertools.combinations(keys, 2))
    rows = doc.xpath("//table[@data-stat='pairs']/tbody/tr")
    assert rows
    best = sorted(pairs.values(), reverse=True)[:len(rows)]
    got = []
    for row in rows:
        a, b = (re.search(r"\.\./(\w+/[^/]+)/index.html", h).group(1) for h in row.xpath(".//a/@href"))
        n = int(row.xpath("./td")[-1].text_content())
        assert pairs[tuple(sorted((a, b)))] == n
        got.append(n)
    assert got == best


def test_charts_are_static_svg_with_a_text_alternative(site: Path) -> None:
    doc = lxml.html.fromstring((site / "stats" / "index.html").read_text(encoding="utf-8"))
    images = doc.xpath("//main//figure/img")
    assert sorted(img.get("src") for img in images) == sorted(CHARTS)
    for img in images:
        svg = (site / "stats" / img.get("src")).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "<script" not in svg and "kozea.github.io" not in svg  # no JS, nothing fetched
        assert len(img.get("alt")) > 40 and img.xpath("ancestor::section//table")
    alt = doc.xpath("//img[@src='people.svg']/@alt")[0]
    first_name, first_count = table(doc, "people")[0]
    assert f"{first_name}: {first_count}" in alt


def test_charts_are_byte_identical_across_builds(tmp_path: Path, seeds_copy: Path) -> None:
    from conftest import run_build

    for name in ("a", "b"):
        assert run_build(seeds_copy, tmp_path / name, "--quiet").returncode == 0
    for chart in (tmp_path / "a" / "site" / "stats").iterdir():
        assert chart.read_bytes() == (tmp_path / "b" / "site" / "stats" / chart.name).read_bytes(), chart.name


def test_statistics_page_in_chromium(site: Path) -> None:
    with serve(site) as base, browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        problems = collect_page_problems(page)
        page.goto(f"{base}/index.html")
        page.get_by_role("link", name="Statistiques").click()
        assert page.locator("h1").inner_text() == "Statistiques"
        for img in page.locator("main figure img").all():
            img.scroll_into_view_if_needed()
            box = img.bounding_box()
            assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
            assert box and box["width"] > 300 and box["height"] > 100
        shot = screenshot(page, "stats-1280", full_page=True)
        assert shot.stat().st_size > 50_000
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
        page.set_viewport_size({"width": 390, "height": 900})
        screenshot(page, "stats-390", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not problems, problems.report()


def test_editions_pages_in_chromium(site: Path) -> None:
    edition = sorted((site / "editions").glob("*/index.html"))[-1].parent.name
    with serve(site) as base, browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        problems = collect_page_problems(page)
        page.goto(f"{base}/index.html")
        page.get_by_role("link", name="Éditions").click()
        assert page.locator("h1").inner_text() == "Éditions"
        for rel in ("editions/index.html", f"editions/{edition}/index.html", f"editions/{edition}/email.html"):
            page.goto(f"{base}/{rel}")
            violations = axe_violations(page)
            assert violations == [], (rel, format_violations(violations))
        page.goto(f"{base}/editions/{edition}/index.html")
        screenshot(page, "edition-1280", full_page=True)
        page.goto(f"{base}/editions/{edition}/email.html")
        screenshot(page, "edition-email-1280", full_page=True)
        assert not problems, problems.report()


def test_new_pages_are_valid_html(site: Path) -> None:
    editions = sorted((site / "editions").glob("*/index.html"))
    files = [site / "stats" / "index.html", site / "editions" / "index.html", editions[0], editions[-1],
             editions[-1].parent / "email.html", site / "index.html"]
    assert vnu_errors(files) == []
