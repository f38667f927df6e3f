"""The docs site: it builds strictly, its settings reference is the code's, its examples are valid."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator.core import settings_doc
from generator.core.settings import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_mkdocs_builds_strictly(tmp_path):
    """A broken link, a missing page or a page left out of the nav fails the build. Not -q: mkdocs -q
    hides the warnings, and --strict then counts none of them."""
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "settings" / "index.html").exists()


def test_settings_page_is_generated_from_the_code():
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == settings_doc.render(), \
        "docs/settings.md is out of date: run python -m generator.core.settings_doc"


def test_every_key_is_in_the_reference():
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([\w.]+)` \|", page, re.M))
    every = {key for key, _ in settings_doc.keys()}
    assert every, "no keys found in DEFAULTS"
    assert every - listed == set(), f"site.yaml keys missing from docs/settings.md: {sorted(every - listed)}"
    assert listed - every == set(), f"docs/settings.md lists keys the code does not accept: {sorted(listed - every)}"


def _yaml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        for text in re.findall(r"^```ya?ml\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S):
            blocks.append((page.name, text))
    return blocks


def test_docs_have_yaml_examples():
    assert len(_yaml_blocks()) >= 3


@pytest.mark.parametrize("page,text", _yaml_blocks())
def test_every_yaml_example_is_accepted(page, text, tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        pytest.fail(f"{page}: example config rejected: {exc}\n{text}")
