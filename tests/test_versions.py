"""core/versions.py: one function decides what each stage's stored results depend on."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.core.versions import PACKAGE, STAGES, stage_version


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "generator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _versions(root: Path) -> dict[str, str]:
    return {stage: stage_version(stage, root) for stage in STAGES}


def test_editing_a_reference_list_makes_the_entity_stages_stale_and_nothing_else(package_copy: Path) -> None:
    """NER's results too: its cleaning asks the lists whether a demonym ("Calais") is a place."""
    before = _versions(package_copy)
    data = package_copy / "corpus" / "data" / "reference.yaml"
    data.write_text(data.read_text(encoding="utf-8") + "\n# an editor's addition\n", encoding="utf-8")
    stage_version.cache_clear()
    after = _versions(package_copy)
    changed = {stage for stage in STAGES if before[stage] != after[stage]}
    assert changed == {"reference", "ner", "entities", "build"}


def test_editing_the_corpus_wide_entity_passes_keeps_every_text_s_ner(package_copy: Path) -> None:
    """corpus/entities.py (joins, types, tags) is not what spaCy's mentions of a text are made
    by: editing it keeps the stored NER results, which cost most of a cold build."""
    before = _versions(package_copy)
    passes = package_copy / "corpus" / "entities.py"
    passes.write_text(passes.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    stage_version.cache_clear()
    after = _versions(package_copy)
    assert before["entities"] != after["entities"] and before["ner"] == after["ner"]


def test_editing_a_reader_changes_the_read_stage_and_not_the_render_stage(package_copy: Path) -> None:
    before = _versions(package_copy)
    readers = package_copy / "ingest" / "readers.py"
    readers.write_text(readers.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    stage_version.cache_clear()
    after = _versions(package_copy)
    assert before["read"] != after["read"] and before["build"] != after["build"]
    assert before["render"] == after["render"] and before["stories"] == after["stories"]


def test_every_file_a_stage_names_exists() -> None:
    for stage, (patterns, _) in STAGES.items():
        for pattern in patterns:
            assert list(PACKAGE.glob(pattern)), f"{stage}: {pattern} matches no file"
