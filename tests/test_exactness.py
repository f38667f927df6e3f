"""Exactness: any sequence of changes, built one after the other, gives the output of a build
from scratch on the final seeds, byte for byte (content/, site/, every input's fate).

The only thing the build from scratch is handed is the published history (slugs ever
published and each article's story, pipeline.History): a digest's permalinks never move, so
the same seeds can legitimately give other slugs to a folder with another past.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import PROJECT, TOOLS, need_shared, tree_differences
from generator.core import curation_file
from generator.core.curation_file import Entry
from generator.core.settings import load_config
from generator.pipeline import BuildPaths, build, published_history
from generator.site.editions import period_of

HELD_BACK = 4  # generated files kept out of the first build: the pool of additions

OPERATIONS = ("add", "edit_body", "edit_title", "edit_outlet", "edit_date", "delete", "duplicate",
              "settings", "template", "correct")


@dataclass
class Digest:
    """A seeds folder, its settings and templates, and the output folder built from them."""

    root: Path
    seeds: Path
    pool: Path
    config: Path
    templates: Path
    out: Path

    def paths(self, output: Path) -> BuildPaths:
        return BuildPaths(seeds=self.seeds, output=output, templates=self.templates,
                          static=PROJECT / "static", cache=output / ".cache")

    def build(self, output: Path | None = None, **kwargs) -> None:
        config = load_config(self.config)
        config.pop("executor")
        build(config, self.paths(output or self.out), jobs=1, keep_models=True, **kwargs)

    def report(self, output: Path | None = None) -> dict:
        return json.loads(((output or self.out) / "build-report.json").read_text(encoding="utf-8"))

    def pages(self) -> dict[str, dict]:
        """Slug -> frontmatter of the published content pages."""
        import yaml

        out = {}
        for path in (self.out / "content").glob("*.md"):
            out[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n", 2)[1])
        return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small make_seeds corpus in several page layouts, with duplicates, and the shipped seeds."""
    tool = need_shared(TOOLS / "make_seeds.py")
    base = tmp_path_factory.mktemp("exact")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "14", "--seed", "11", "--dup-rate", "0.3",
                    "--layouts", "mixed", "--quiet"], check=True, timeout=300)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    return seeds


def _new_digest(generated: Path, root: Path) -> Digest:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    seeds, pool = root / "seeds", root / "pool"
    shutil.copytree(generated, seeds)
    pool.mkdir()
    for path in sorted(seeds.glob("*"))[-HELD_BACK:]:
        shutil.move(path, pool / path.name)
    config = root / "site.yaml"
    config.write_text('title: "Revue exacte"\nbase_url: "https://example.org/revue/"\npage_size: 4\n',
                      encoding="utf-8")
    templates = root / "templates"
    shutil.copytree(PROJECT / "templates", templates)
    return Digest(root, seeds, pool, config, templates, root / "out")


def _apply(digest: Digest, operation: str, pick: int, step: int) -> None:
    files = sorted(p for p in digest.seeds.iterdir() if p.is_file())
    target = files[pick % len(files)] if files else None
    fates = {row["file"]: row for row in digest.report()["inputs"]}
    pages = digest.pages()
    page = pages.get((fates.get(target.name) or {}).get("article") or "") if target else None
    text = target.read_text(encoding="utf-8", errors="replace") if target else ""
    if operation == "add":
        pool = sorted(digest.pool.iterdir())
        if pool:
            shutil.move(pool[pick % len(pool)], digest.seeds / pool[pick % len(pool)].name)
    elif operation == "edit_body" and target:
        target.write_text(text.rstrip("\n") + f"\n\nLa rédaction a complété cet article, version {step}.\n",
                          encoding="utf-8")
    elif operation == "edit_title" and page and page["title"] in text:
        target.write_text(text.replace(page["title"], f"{page['title']} : ce qui change ({step})", 1),
                          encoding="utf-8")
    elif operation == "edit_outlet" and page and page.get("outlet") and page["outlet"] in text:
        target.write_text(text.replace(page["outlet"], "Le Courrier du Test"), encoding="utf-8")
    elif operation == "edit_date" and page and page.get("date") and page["date"][:4] in text:
        year = page["date"][:4]
        target.write_text(re.sub(rf"\b{year}\b", str(int(year) - 1), text, count=1), encoding="utf-8")
    elif operation == "delete" and target and len(files) > 3:
        target.unlink()
    elif operation == "duplicate" and target:
        shutil.copy(target, digest.seeds / f"copie_{step}_{target.name}")
    elif operation == "settings":
        config = digest.config.read_text(encoding="utf-8")
        size = "page_size: 3" if "page_size: 4" in config else "page_size: 4"
        digest.config.write_text(re.sub(r"page_size: \d+", size, config).replace("exacte", f"exacte {step}"),
                                 encoding="utf-8")
    elif operation == "template":
        card = digest.templates / "_card.html"
        card.write_text(card.read_text(encoding="utf-8") + f"<!-- card {step} -->\n", encoding="utf-8")
    elif operation == "correct" and pages:
        _correct(digest, pages, pick, step)


def _correct(digest: Digest, pages: dict[str, dict], pick: int, step: int) -> None:
    """One editor's correction, as serve --edit writes it to the corrections file."""
    slugs = sorted(pages)
    slug, other = slugs[pick % len(slugs)], slugs[(pick + 1) % len(slugs)]
    fm = pages[slug]
    overrides = ("curation", "overrides", slug)
    kind = pick % 5
    if kind == 0:
        entry = Entry((*overrides, "title"), f"Titre corrigé par la rédaction {step}")
    elif kind == 1:
        entry = Entry((*overrides, "pin"), 1 + pick % 3)
    elif kind == 2:
        entry = Entry((*overrides, "story"), other)
    elif kind == 3 and fm.get("date"):
        week = period_of(fm["date"], "weekly")[0]  # sent with this article alone: the rest waits
        entry = Entry(("curation", "sent_editions", week), [slug])
    else:
        names = [n for t in ("people", "organizations", "places") for n in fm["entities"][t]]
        entry = Entry(("entities", "aliases", names[0]), f"Nom corrigé {step}") if names \
            else Entry((*overrides, "story_title"), f"Une histoire {step}")
    corrections = digest.config.parent / "curation.yaml"
    kept = [e for e in curation_file.read(corrections) if e.path != entry.path]
    curation_file.write(corrections, kept + [entry])


def _indexed_pages(site: Path) -> int:
    entries = [json.loads(p.read_text()) for p in (site / "pagefind").glob("*/pagefind-entry.json")]
    return sum(lang["page_count"] for entry in entries for lang in entry["languages"].values())


def assert_equals_a_fresh_build(digest: Digest) -> None:
    fresh = digest.root / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    digest.build(fresh, history=published_history(digest.out))
    for folder in ("content", "site"):
        assert tree_differences(fresh / folder, digest.out / folder) == [], folder
    assert digest.report(fresh)["inputs"] == digest.report()["inputs"]
    assert _indexed_pages(fresh / "site") == _indexed_pages(digest.out / "site") == digest.report()["stats"]["articles"]


@pytest.mark.slow
@settings(max_examples=8, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 50)), min_size=1, max_size=3))
@example(changes=[('add', 0)])
@example(changes=[('edit_body', 7)])
@example(changes=[('edit_title', 14)])
@example(changes=[('edit_outlet', 21)])
@example(changes=[('edit_date', 28)])
@example(changes=[('delete', 35)])
@example(changes=[('duplicate', 42)])
@example(changes=[('settings', 49)])
@example(changes=[('template', 56)])
@example(changes=[('correct', 0), ('correct', 1), ('correct', 2), ('correct', 3), ('correct', 4)])
def test_any_sequence_of_changes_equals_a_build_from_scratch(generated: Path, tmp_path_factory, changes) -> None:
    digest = _new_digest(generated, tmp_path_factory.getbasetemp() / "exactness")
    digest.build()
    # a second generation: from now on each build writes into the recycled generation before
    # last, keeping what its stored page keys say is current (the first rebuild starts empty)
    _apply(digest, "edit_body", 0, 0)
    digest.build()
    for step, (operation, pick) in enumerate(changes, 1):
        _apply(digest, operation, pick, step)
        digest.build()
    assert_equals_a_fresh_build(digest)
