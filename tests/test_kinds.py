"""A folder of what a press review receives, end to end: make_seeds articles repackaged by
bench/kinds.py into feeds, alerts, newsletters, damaged copies, corrected republications and
paywall stubs, built, and scored through the output contract."""
from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from conftest import PROJECT, TOOLS, need_shared, run_build

_spec = importlib.util.spec_from_file_location("bench_kinds", PROJECT / "bench" / "kinds.py")
kinds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kinds)


@pytest.fixture(scope="module")
def kinds_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need_shared(TOOLS / "make_seeds.py")
    out = tmp_path_factory.mktemp("kinds")
    gold = kinds.make(out, n=150, seed=7)
    build = out / "build"
    result = run_build(out / "seeds", build, "--quiet")
    assert result.returncode == 0, result.stderr
    return {"out": out, "build": build, "gold": gold, "figures": kinds.score(out, build)}


def test_every_file_and_every_listed_item_is_accounted_for(kinds_build: dict[str, Any]) -> None:
    figures = kinds_build["figures"]
    assert figures["items"] > figures["inputs"]  # feeds and alerts hold several articles
    assert figures["inputs_accounted"] == 1.0, figures["unaccounted"]


def test_each_article_keeps_its_title_outlet_and_date_whatever_it_came_in(kinds_build: dict[str, Any]) -> None:
    figures = kinds_build["figures"]
    assert set(kinds_build["gold"]["kinds"]) == set(kinds.KIND_SHARES) | {"scrape"}
    for key in ("title", "outlet", "date"):
        assert figures[key] >= 0.98, (key, figures["failures"])


def test_excerpts_merge_into_full_copies_and_stand_alone_with_their_link(kinds_build: dict[str, Any]) -> None:
    figures = kinds_build["figures"]
    assert figures["merged"] >= 0.98, figures["failures"]  # issue 21's bar
    assert figures["excerpt"] >= 0.9, figures["failures"]
    assert figures["full"] >= 0.98, figures["failures"]


def test_a_corrected_republication_shows_the_newest_text_with_both_dates(kinds_build: dict[str, Any]) -> None:
    assert kinds_build["figures"]["updated"] == 1.0, kinds_build["figures"]["failures"]  # every one


def test_no_page_keeps_mojibake_an_entity_or_a_paywall_line(kinds_build: dict[str, Any]) -> None:
    figures = kinds_build["figures"]
    assert figures["damaged_pages"] == 0, figures["damaged_examples"]
    assert figures["paywall_lines_in_bodies"] == 0


def test_the_score_sees_a_damaged_page(kinds_build: dict[str, Any]) -> None:
    """The damage check can fail: one page given back its mojibake is counted."""
    page = next((kinds_build["build"] / "content").glob("*.md"))
    kept = page.read_text(encoding="utf-8")
    try:
        page.write_text(kept + "\nLa dÃ©claration de lâ€™Etat.\n", encoding="utf-8")
        assert kinds.score(kinds_build["out"], kinds_build["build"])["damaged_pages"] == 1
    finally:
        page.write_text(kept, encoding="utf-8")
