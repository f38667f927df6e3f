"""The docs site: it builds strictly, its settings reference is the code's, its examples are valid."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import content_pages, run_build
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


def _accepts(tmp_path: Path, key: str, value: object) -> bool:
    """Whether site.yaml setting only KEY (dotted) to VALUE passes the validator."""
    data = value
    for part in reversed(key.split(".")):
        data = {part: data}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        load_config(path)
    except ConfigError:
        return False
    return True


RANGE_CHECKS = {key: check for key, check in settings_doc.CHECKS.items()
                if re.fullmatch(r"at least \d+|in \(0, 1\]|(one of )?`\w+`((, | or )`\w+`)*", check)}


def test_range_and_choice_checks_are_parsed():
    assert len(RANGE_CHECKS) >= 15, sorted(RANGE_CHECKS)


@pytest.mark.parametrize("key,check", sorted(RANGE_CHECKS.items()))
def test_the_checked_column_is_what_the_validator_checks(key, check, tmp_path):
    """The 'checked' column of docs/settings.md is written by hand (settings_doc.CHECKS): each range
    or list of choices it states is the validator's, bound for bound."""
    if check.startswith("at least"):
        least = int(check.split()[-1])
        assert _accepts(tmp_path, key, least) and not _accepts(tmp_path, key, least - 1)
    elif check == "in (0, 1]":
        assert _accepts(tmp_path, key, 1.0) and _accepts(tmp_path, key, 0.5)
        assert not _accepts(tmp_path, key, 0.0) and not _accepts(tmp_path, key, 1.5)
    else:
        choices = re.findall(r"`(\w+)`", check)
        assert all(_accepts(tmp_path, key, choice) for choice in choices)
        assert not _accepts(tmp_path, key, "zzz")


@pytest.mark.parametrize("key", sorted(k for k, v in settings_doc.keys()
                                       if k not in settings_doc.CHECKS and type(v) in (int, float)))
def test_a_number_documented_as_type_only_has_no_range_check(key, tmp_path):
    assert _accepts(tmp_path, key, -1000), f"{key} has a check: add it to settings_doc.CHECKS"


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


def test_the_contract_page_names_every_report_field_and_frontmatter_key(seeds_copy: Path, tmp_path: Path) -> None:
    """The build report's fields and the frontmatter keys are documented once, in the output contract:
    every key a real build writes there (a record file and a repaired scrape included) is named on that page,
    and so is every optional frontmatter key the code can set."""
    body = ("Le conseil municipal a adopté mardi soir le budget de la ville pour l'année prochaine, "
            "après un long débat sur les transports et les écoles du quartier nord.")
    records = [{"title": f"Budget municipal {n}", "text": f"{body} Séance {n}.", "outlet": "La Gazette",
                "date": f"2021-03-0{n}"} for n in (1, 2)]
    (seeds_copy / "export.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                            encoding="utf-8")
    (seeds_copy / "broken.txt").write_text("La dÃ©claration du maire sur les Ã©coles\n\n"
                                           + body.replace("é", "Ã©") + "\n", encoding="utf-8")
    out = tmp_path / "out"
    done = run_build(seeds_copy, out, "--quiet", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    rows = report["inputs"]
    assert any("records" in row for row in rows) and any("repaired" in row for row in rows), rows
    stats = report["stats"]
    keys = {k for row in rows for k in row} | {k for row in rows for r in row.get("records", []) for k in r}
    keys |= set(stats) | {k for part in ("layouts", "curation", "entity_corrections", "stories") for k in stats[part]}
    keys |= {k for fm, _ in content_pages(out) for k in fm}
    code = "".join((ROOT / "generator" / path).read_text(encoding="utf-8")
                   for path in ("output/content.py", "corpus/curate.py"))
    keys |= set(re.findall(r'(?:fm|extra)\["(\w+)"\] =', code))  # optional keys the shipped seeds do not set
    page = (DOCS / "output-contract.md").read_text(encoding="utf-8")
    missing = sorted(k for k in keys if f"`{k}`" not in page)
    assert missing == [], f"docs/output-contract.md does not name: {missing}"
