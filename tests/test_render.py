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
