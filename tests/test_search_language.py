"""One language on screen: the search page (Pagefind's UI and its filters) speaks the site's."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from browser import browser, collect_page_problems, serve
from conftest import PROJECT, run_build

EXPECTED = {
    "en": {"placeholder": "Search", "filters": ["Organizations", "Outlet", "People", "Places"],
           "words": ["Filters", "Clear", "1 result for Frontex"]},
    "fr": {"placeholder": "Rechercher", "filters": ["Lieux", "Média", "Organisations", "Personnes"],
           "words": ["Filtres", "Nettoyer", "1 résultat pour Frontex"]},
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_search_page_speaks_the_site_language(seeds_copy: Path, tmp_path: Path, language: str) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(f'title: "Revue"\nlanguage: {language}\n', encoding="utf-8")
    result = run_build(seeds_copy, tmp_path / "out", "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    other = "fr" if language == "en" else "en"
    catalog = yaml.safe_load((PROJECT / "templates" / "i18n" / f"{language}.yaml").read_text(encoding="utf-8"))
    foreign = yaml.safe_load((PROJECT / "templates" / "i18n" / f"{other}.yaml").read_text(encoding="utf-8"))
    with serve(tmp_path / "out" / "site") as base, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        expected = EXPECTED[language]
        page.goto(f"{base}/search/index.html?q=Frontex")
        page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
        # every filter, not only those whose index had loaded when the search ran (Pagefind's
        # UI counts filters from its search: static/search.js loads them all before searching)
        page.wait_for_function(f"document.querySelectorAll('.pagefind-ui__filter-name').length >= "
                               f"{len(expected['filters'])}", timeout=10000)
        assert page.locator(".pagefind-ui__search-input").get_attribute("placeholder") == expected["placeholder"]
        filters = [t.strip() for t in page.locator(".pagefind-ui__filter-name").all_inner_texts()]
        assert sorted(filters) == expected["filters"]
        # everything on screen but the results (the articles' own words) is in the site's language
        page.evaluate("document.querySelector('.pagefind-ui__results').remove()")
        screen = page.locator("body").inner_text()
        for word in expected["words"]:
            assert word in screen, (word, screen)
        assert catalog["search_title"] in screen and catalog["people"] in screen
        for key in ("search_title", "search_label", "people", "organizations", "places", "footer"):
            if foreign[key] != catalog[key]:
                assert foreign[key] not in screen, (key, foreign[key])
        for word in EXPECTED[other]["words"][:2] + EXPECTED[other]["filters"]:
            if word not in expected["filters"]:
                assert word not in screen, word
        assert not problems, problems.report()
