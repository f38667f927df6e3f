"""The site in a real browser (Debian's Chromium driven by Playwright): navigation, search,
accessibility (axe-core), HTML validity (Nu checker), and screenshots to look at."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import axe_violations, browser, collect_page_problems, format_violations, screenshot, serve, vnu_errors
from conftest import content_pages, in_period

SEED_SLUG = "frontex-et-l-oim-organisent-un-webinaire-sur-la-lutte-contre-la-traite-et-le"
# a story of the corpus_site build: two outlets' own write-ups of one event (stories.py)
STORY_SLUG = "securite-routiere-3-239-morts-sur-les-routes-en-2019-un-chiffre-historiquement"
PAGES = {  # one page of each type
    "home": "index.html",
    "home-page-2": "page/2/index.html",
    "article": f"articles/{SEED_SLUG}/index.html",
    "story": f"stories/{STORY_SLUG}/index.html",
    "edition": "editions/2020-w10/index.html",  # lists a story of two articles of that week, one folded
    "person": "people/fabrice-leggeri/index.html",
    "organization": "organizations/frontex/index.html",
    "outlet": "outlets/panorapost/index.html",
    "index": "people/index.html",
    "archive": "archive/index.html",
    "year": "archive/2020/index.html",
    "month": "archive/2020/10/index.html",
    "search": "search/index.html",
    "404": "404.html",
}


@pytest.fixture(scope="module")
def site(corpus_site: Path) -> Path:
    return corpus_site / "site"


def test_reader_journey_from_home_to_people_and_back(site: Path) -> None:
    with serve(site) as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        page.goto(f"{base}/index.html")
        # the seed article is from 2020; find it through the archive, as a reader would
        page.get_by_role("link", name="Archives").first.click()
        page.get_by_role("link", name="octobre 2020").first.click()
        page.get_by_role("link", name="Frontex et l'OIM organisent un webinaire").first.click()
        assert page.locator("h1").inner_text().startswith("Frontex et l'OIM organisent")
        assert "15 octobre 2020" in page.locator(".story .meta").inner_text()
        page.get_by_role("link", name="Fabrice Leggeri").click()
        assert page.locator("h1").inner_text() == "Fabrice Leggeri"
        page.get_by_role("link", name="Frontex et l'OIM organisent un webinaire").first.click()
        page.get_by_role("link", name="Frontex", exact=True).click()
        assert page.locator("h1").inner_text() == "Frontex"
        page.get_by_role("link", name="Revue test").click()
        assert page.url.endswith("/index.html") and page.locator("h1").inner_text() == "Revue test"
        assert not problems, problems.report()


def home_page_of_story(site: Path) -> str:
    """The home page (1, 2, ...) that lists STORY_SLUG."""
    home = next(p for p in [site / "index.html", *sorted((site / "page").glob("*/index.html"))]
                if f"stories/{STORY_SLUG}/" in p.read_text(encoding="utf-8"))
    return str(home.relative_to(site))


def test_reader_journey_through_a_story(site: Path) -> None:
    """Home page: a story's lead with 'and 1 other outlet' and the other headline folded under
    it; its page: the timeline; an article of it: the story's other coverage."""
    with serve(site) as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        page.goto(f"{base}/{home_page_of_story(site)}")
        entry = page.locator(".story-entry", has=page.locator(f"a[href$='stories/{STORY_SLUG}/index.html']"))
        other = entry.locator("details.story-fold li a")
        assert not other.is_visible()  # folded until the reader opens it
        entry.locator("details.story-fold summary").click()
        assert other.is_visible() and other.inner_text().startswith("Sécurité routière")
        entry.get_by_role("link", name="et 1 autre média").click()
        assert page.locator("h1").inner_text().startswith("Sécurité routière. 3 239 morts")
        assert page.locator(".count").inner_text() == "2 articles, 2 médias"
        timeline = page.locator("ol.timeline > li")
        assert timeline.count() == 2
        assert "1 février 2020" in timeline.nth(0).inner_text() and "Vosges Matin" in timeline.nth(0).inner_text()
        timeline.nth(1).locator(".timeline-title a").click()
        assert page.locator("h1").inner_text().startswith("Sécurité routière: le gouvernement")
        coverage = page.locator("section.coverage")
        assert "Autres articles sur ce sujet" in coverage.inner_text()
        coverage.get_by_role("link", name="Tout le sujet sur une page").click()
        assert page.url.endswith(f"stories/{STORY_SLUG}/index.html")
        assert not problems, problems.report()


def test_search_for_frontex_finds_the_seed_article(site: Path) -> None:
    with serve(site) as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        page.goto(f"{base}/index.html")
        page.get_by_label("Rechercher dans les articles").fill("Frontex")
        page.get_by_role("button", name="Rechercher").click()
        result = page.locator(".pagefind-ui__result-link").first
        result.wait_for(timeout=15000)
        titles = page.locator(".pagefind-ui__result-link").all_inner_texts()
        assert any(t.startswith("Frontex et l'OIM organisent un webinaire") for t in titles), titles
        result.click()
        assert page.locator("h1").inner_text().startswith("Frontex et l'OIM")
        assert not problems, problems.report()


def _word_only_in(text: str, others: list[str]) -> str | None:
    """A long word of TEXT whose first 6 letters (more than the French stemmer keeps) no other text has."""
    for word in sorted(set(re.findall(r"[a-zà-ÿ]{10,}", text.lower()))):
        if not any(word[:6] in other for other in others):
            return word
    return None


def test_search_spans_every_shard(site: Path) -> None:
    """The search index is one Pagefind bundle per period (search.py), merged by the search
    page: the header search box finds articles of two shards (at least one merged in), and the
    outlet filter lists and applies outlets of every shard."""
    html = (site / "search" / "index.html").read_text(encoding="utf-8")
    bundles = re.search(r'data-bundles="([^"]*)"', html).group(1).split()
    assert len(bundles) >= 2, bundles
    assert all((site / "pagefind" / name / "pagefind-entry.json").is_file() for name in bundles)
    pages = content_pages(site.parent)
    texts = [(fm["title"] + " " + body).lower() for fm, body in pages]

    def shard_of(fm: dict) -> str:
        return next(name for name in bundles if in_period(fm["date"], name))

    picked: dict[str, tuple[dict, str]] = {}  # two shards, newest first: an article and a word only it has
    for shard in bundles:
        for i, (fm, body) in enumerate(pages):
            if len(picked) == 2 or shard in picked:
                break
            french = fm["lang"] == "fr" and shard_of(fm) == shard  # the site's language: Pagefind's stemmer
            word = _word_only_in(body, texts[:i] + texts[i + 1:]) if french else None
            if word:
                picked[shard] = (fm, word)
                break
    assert len(picked) == 2, picked
    outlets_of = {name: {fm["outlet"] for fm, _ in pages if fm["outlet"] and shard_of(fm) == name} for name in bundles}
    with serve(site) as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        for fm, word in picked.values():
            page.goto(f"{base}/index.html")
            page.get_by_label("Rechercher dans les articles").fill(word)
            page.get_by_role("button", name="Rechercher").click()
            page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
            assert fm["title"] in page.locator(".pagefind-ui__result-link").all_inner_texts(), (word, fm["title"])
        # the filters of every shard, merged: the oldest article's outlet (from its shard) narrows
        # the results to it; an outlet of the newest shard is offered beside it
        newer, older = list(picked)
        old, word = picked[older]
        page.wait_for_function("document.querySelectorAll('.pagefind-ui__filter-name').length >= 4", timeout=15000)
        block = page.locator(".pagefind-ui__filter-block", has_text="Média")
        block.locator(".pagefind-ui__filter-name").click()
        offered = block.text_content()
        assert old["outlet"] in offered and any(outlet in offered for outlet in outlets_of[newer])
        block.get_by_label(re.compile("^" + re.escape(old["outlet"]) + r" \(\d+\)$")).check()
        page.wait_for_function("document.querySelector('.pagefind-ui__message').textContent.startsWith('1 ')")
        assert page.locator(".pagefind-ui__result-link").all_inner_texts() == [old["title"]]
        page.locator(".pagefind-ui__result-link").first.click()
        assert page.locator("h1").inner_text() == old["title"]
        assert not problems, problems.report()


@pytest.mark.parametrize("name", ["home", "article", "story", "edition", "person", "index", "archive", "search"])
def test_no_accessibility_violations(site: Path, name: str) -> None:
    with serve(site) as base, browser() as b:
        page = b.new_page()
        page.goto(f"{base}/{PAGES[name]}")
        if name == "search":
            page.goto(f"{base}/{PAGES[name]}?q=Frontex")
            page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)


def test_every_page_type_is_valid_html(site: Path) -> None:
    errors = vnu_errors([site / rel for rel in PAGES.values()])
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots(site: Path, width: int) -> None:
    with serve(site) as base, browser() as b:
        page = b.new_page(viewport={"width": width, "height": 900})
        for name in ("home", "article", "story", "edition", "person"):
            page.goto(f"{base}/{PAGES[name]}")
            shot = screenshot(page, f"{name}-{width}", full_page=True)
            assert shot.stat().st_size > 10_000
            # nothing sticks out sideways on a phone
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        # a home page holding a story, its other headlines unfolded
        page.goto(f"{base}/{home_page_of_story(site)}")
        for summary in page.locator("details.story-fold summary").all():
            summary.click()
        assert screenshot(page, f"home-stories-{width}", full_page=True).stat().st_size > 10_000
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_hostile_text_runs_nothing_in_the_browser(tmp_path: Path) -> None:
    """Scripts, handlers and script URLs in every field of every reader: shown, never run."""
    import json

    from conftest import run_build
    from test_site import HOSTILE

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    text = " ".join(HOSTILE)
    filler = "Le conseil municipal a voté le budget de la ville pour l'année prochaine. "
    (seeds / "a.txt").write_text(f"<script>alert('title')</script>\nPublié dans <img src=x onerror=alert(1)> "
                                 f"le 02 - 03 - 2021\n\n{text} {filler * 3}\n", encoding="utf-8")
    (seeds / "b.json").write_text(json.dumps({"title": "<svg onload=alert(2)>", "text": text + " " + "Autre sujet. " * 30,
                                              "outlet": "javascript:alert(3)", "date": "2021-03-04"}), encoding="utf-8")
    (seeds / "c.md").write_text("---\ntitle: \"{{ 7*7 }} <iframe src=javascript:alert(4)>\"\noutlet: '<b>x</b>'\n---\n\n"
                                + text + " " + "Troisième histoire distincte. " * 30 + "\n", encoding="utf-8")
    (seeds / "d.html").write_text("<html><head><title>&lt;script&gt;alert(5)&lt;/script&gt; page</title>"
                                  "<meta property='og:site_name' content='<script>alert(6)</script>'></head><body>"
                                  "<article><h1>&lt;script&gt;alert(5)&lt;/script&gt; page</h1>"
                                  + "".join(f"<p>{t.replace('<', '&lt;')} paragraphe {i} d'une page web hostile.</p>"
                                            for i, t in enumerate(HOSTILE)) + "</article></body></html>",
                                  encoding="utf-8")
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    site = tmp_path / "out" / "site"
    visited = ["index.html", "outlets/index.html"] + [str(p.relative_to(site)) for p in (site / "articles").rglob("index.html")]
    visited += [str(p.relative_to(site)) for p in (site / "outlets").rglob("index.html")][:6]
    with serve(site) as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        for rel in visited:
            page.goto(f"{base}/{rel}")
            for link in page.locator("a").all()[:60]:
                href = link.get_attribute("href") or ""
                assert not href.strip().lower().startswith(("javascript:", "data:")), (rel, href)
        assert not problems, problems.report()
    assert len(visited) >= 6
