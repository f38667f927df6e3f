"""site.yaml errors are one clear line with file and line; nothing in output/ is touched."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PROJECT, run_build
from generator.core.settings import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_two_line_config_is_valid(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'title: "Ma revue"\nbase_url: "https://example.org/"\n'))
    assert cfg["title"] == "Ma revue" and cfg["page_size"] == 20 and cfg["dedup"]["jaccard"] == 0.5


def test_shipped_site_yaml_is_valid() -> None:
    assert load_config(PROJECT / "site.yaml")["language"] == "fr"


@pytest.mark.parametrize("text, message", [
    ("title: x\npage_sise: 10\n", r"site.yaml:2: unknown key 'page_sise'; did you mean 'page_size'\?"),
    ("dedup:\n  jacard: 0.4\n", r"site.yaml:2: unknown key 'dedup.jacard'; did you mean 'jaccard'\?"),
    ("title: x\npage_size: many\n", r"site.yaml:2: 'page_size' must be an integer, not 'many'"),
    ("dedup:\n  enabled: 3\n", r"site.yaml:2: 'dedup.enabled' must be a boolean"),
    ("title: [unclosed\n", r"site.yaml:2: invalid YAML"),
    ("language: de\n", r"'language' must be 'fr' or 'en'"),
])
def test_bad_config_is_reported_with_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_cli_reports_bad_config_in_one_line_and_keeps_output(tmp_path: Path, seeds_copy: Path) -> None:
    out = tmp_path / "out"
    assert run_build(seeds_copy, out).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = run_build(seeds_copy, out, config=write(tmp_path, "title: x\nbase_urll: /\n"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "site.yaml:2: unknown key 'base_urll'; did you mean 'base_url'?" in result.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_cli_reports_missing_config_and_seeds(tmp_path: Path, seeds_copy: Path) -> None:
    result = run_build(seeds_copy, tmp_path / "out", config=tmp_path / "nope.yaml")
    assert result.returncode == 2 and "nope.yaml: config file not found" in result.stderr
    result = run_build(tmp_path / "missing", tmp_path / "out")
    assert result.returncode == 2 and "seeds folder not found" in result.stderr
    assert "Traceback" not in result.stderr
