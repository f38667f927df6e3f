"""site/render.py: the build renders from the articles in memory; output/content/ alone rebuilds
the very same site (it is the published contract)."""
from __future__ import annotations

from pathlib import Path

from conftest import PROJECT, tree_differences
from generator.core.settings import load_config
from generator.site.render import render_site_from_content


def test_the_site_rebuilt_from_content_alone_equals_the_built_site(corpus_site: Path, tmp_path: Path) -> None:
    config = load_config(corpus_site.parent / "site.yaml")
    config.pop("executor")
    site = tmp_path / "site"
    result = render_site_from_content(corpus_site / "content", site, PROJECT / "templates", PROJECT / "static", config)
    assert result.pages > 50
    assert tree_differences(corpus_site / "site", site) == []
    assert sorted(p.name for p in (site / "pagefind").iterdir()) == \
        sorted(p.name for p in (corpus_site / "site" / "pagefind").iterdir())


def test_related_links_come_back_from_the_store_only_for_the_same_entities(corpus_site: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """The related articles of a build whose articles name the same entities are read back; an
    article naming other entities has them counted again, as a build without the store would,
    and so has a build whose code counts them otherwise (another version of the stage)."""
    from generator.core.store import StageCache
    from generator.output.content import read_content
    from generator.site import taxonomies
    from generator.site.views import build_views

    pages = read_content(corpus_site / "content")
    publish = load_config(None)["publish"]

    def views(edited: bool = False) -> list[dict]:
        made = build_views(list(pages), "fr", publish, StageCache(None, "test", "views"))
        if edited:  # the fourth article names the first one's entities instead of its own
            made[3]["entities"] = made[0]["entities"]
        taxonomies.collect_terms(made)
        return made

    def related(made: list[dict]) -> list[list[str]]:
        return [[other["slug"] for other in view["related"]] for view in made]

    counted = []
    count = taxonomies._related
    monkeypatch.setattr(taxonomies, "_related", lambda made, most: counted.append(1) or count(made, most))
    store = StageCache(tmp_path / "store.sqlite", "test", "related")
    first, again = views(), views()
    taxonomies.link_related(first, cache=store)
    taxonomies.link_related(again, cache=store)
    assert len(counted) == 1 and related(again) == related(first)
    edited, fresh = views(edited=True), views(edited=True)
    taxonomies.link_related(edited, cache=store)
    taxonomies.link_related(fresh)
    assert len(counted) == 3 and related(edited) == related(fresh) != related(first)
    # the code that counts them changed (another version): the stored links are not read
    taxonomies.link_related(views(edited=True), cache=StageCache(tmp_path / "store.sqlite", "changed", "related"))
    assert len(counted) == 4


def test_related_articles_tied_on_shared_entities_are_the_nearest_in_date() -> None:
    """Among articles sharing as many entities, the related links are those nearest in date (a
    day of news does not enter the links of every older article naming the same country);
    more shared entities still come first, and undated articles last."""
    from generator.core.model import TAXONOMIES
    from generator.site.taxonomies import Term, link_related

    country, person = Term("Panama", "panama", "places"), Term("Ana López", "ana-lopez", "people")
    dates = ["2026-07-20", "2024-01-01", "2019-05-03", "2019-05-01", None, "2019-04-20"]
    views = [{"slug": f"a{i}", "date": date, "terms": {t: [] for t in TAXONOMIES}} for i, date in enumerate(dates)]
    for view in views:
        view["terms"]["places"].append(country)
    for i in (0, 3):  # the newest and 2019-05-01 share a person too
        views[i]["terms"]["people"].append(person)
    link_related(views)

    def related(i: int) -> list[str | None]:
        return [other["date"] for other in views[i]["related"]]

    assert related(3) == ["2026-07-20", "2019-05-03", "2019-04-20", "2024-01-01", None]
    assert related(1) == ["2026-07-20", "2019-05-03", "2019-05-01", "2019-04-20", None]
    assert related(4) == ["2026-07-20", "2024-01-01", "2019-05-03", "2019-05-01", "2019-04-20"]
