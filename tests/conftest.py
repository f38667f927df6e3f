"""Shared fixtures: the real corpus in ../shared, and builds into temporary folders."""
from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
CORPUS = SHARED / "corpus"
TOOLS = SHARED / "tools"
SHIPPED_CONFIG = PROJECT / "site.yaml"  # what a build in a test reads unless it is given its own


def under_ci() -> bool:
    """CI is set, as a boolean (1, true, yes in any case): a missing test need fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Hypothesis keeps its example database (.hypothesis/) under this run's temporary folder, not in
    the project root. Before collection, so every @settings made when a test module is imported
    inherits it."""
    from hypothesis import configuration, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    home = session.config._tmp_path_factory.getbasetemp() / "hypothesis"
    configuration.set_hypothesis_home_dir(home)
    settings.register_profile("tests", database=DirectoryBasedExampleDatabase(home / "examples"))
    settings.load_profile("tests")


def need_shared(path: Path) -> Path:
    """Skip (or fail under CI, see under_ci) when ../shared is not beside the checkout."""
    if not path.exists():
        message = f"{path} is missing: clone the project beside ../shared to run this test"
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def semeval_rows() -> list[dict]:
    """Every article of ../shared/corpus/semeval_fr_full (title, text, outlet, date, url)."""
    path = need_shared(CORPUS / "semeval_fr_full" / "articles.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_page(path: Path) -> tuple[dict, str]:
    """(frontmatter, Markdown body) of one output/content page."""
    import yaml

    _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(head), body


def content_pages(out: Path) -> list[tuple[dict, str]]:
    """Every page under OUT/content, sorted by file name."""
    return [read_page(p) for p in sorted((out / "content").glob("*.md"))]


def interruptible() -> None:
    """A child's SIGINT back to Python's default (KeyboardInterrupt), as at a terminal: a shell
    running the tests in the background starts them with SIGINT ignored, and children inherit it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under FOLDER (relative path -> bytes), Pagefind's index files aside (not
    reproducible byte for byte: see the output contract)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "pagefind" not in p.relative_to(folder).parts}


def tree_differences(expected: Path, got: Path) -> list[str]:
    """The files that differ between two folders, or are in one only (Pagefind's index aside)."""
    out: list[str] = []

    def walk(c: filecmp.dircmp, prefix: str) -> None:
        out.extend(f"{prefix}{name}: only in {expected}" for name in c.left_only)
        out.extend(f"{prefix}{name}: only in {got}" for name in c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        out.extend(f"{prefix}{name}: differs" for name in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, got, ignore=["pagefind"]), "")
    return sorted(out)


def run_build(seeds: Path, output: Path, *extra: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real build-site command (as a user would), capturing its output.

    With the settings of CONFIG, else the shipped site.yaml, always named with --config; run from
    the output's parent folder, so nothing is read from the project root unsaid."""
    args = [sys.executable, "-m", "generator", "--seeds", str(seeds), "--output", str(output), *extra,
            "--config", str(config if config is not None else SHIPPED_CONFIG)]
    return subprocess.run(args, capture_output=True, text=True, cwd=output.parent, timeout=900)


def score_build(seeds: Path, work: Path, bars: list[str], gold: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Build `seeds` with the real command and score it with ../shared/tools/score_build.py
    against its make_seeds gold; exit code 0 when every --min/--max bar holds."""
    args = [sys.executable, str(need_shared(TOOLS / "score_build.py")), "--seeds", str(seeds),
            "--project", str(PROJECT), "--cmd", f"{sys.executable} -m generator",
            "--output", str(work / "out"), "--workdir", str(work / "work"), *bars]
    if gold is not None:
        args += ["--gold", str(gold)]
    return subprocess.run(args, capture_output=True, text=True, timeout=900)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """The two shipped seed files in a fresh folder."""
    folder = tmp_path / "seeds"
    shutil.copytree(PROJECT / "seeds", folder)
    return folder


@pytest.fixture(scope="session")
def generated_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A make_seeds corpus of 300 articles (dup-rate 0.3) and its gold file."""
    tool = need_shared(TOOLS / "make_seeds.py")
    base = tmp_path_factory.mktemp("generated")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "300", "--dup-rate", "0.3",
                    "--seed", "7", "--quiet"], check=True, timeout=300)
    return seeds, base / "seeds-gold.json"


@pytest.fixture(scope="session")
def corpus_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of a build of a small make_seeds corpus plus the shipped seeds, 5 per page."""
    tool = need_shared(TOOLS / "make_seeds.py")
    base = tmp_path_factory.mktemp("site")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "60", "--seed", "3", "--quiet"], check=True)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    config = base / "site.yaml"
    config.write_text('title: "Revue test"\nbase_url: "https://example.org/revue/"\npage_size: 5\n',
                      encoding="utf-8")
    result = run_build(seeds, base / "out", "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    return base / "out"


def listing_in_order(folder: Path) -> list[Path]:
    """A listing's pages as a reader goes through them, newest first: the front page, then the
    numbered pages from the highest down to page 1 (they count from the oldest)."""
    numbered = sorted((int(p.parent.name), p) for p in folder.glob("page/*/index.html") if p.parent.name.isdigit())
    return [folder / "index.html"] + [p for _, p in reversed(numbered)]


def in_period(date: object, shard: str) -> bool:
    """Whether an article of DATE belongs in SHARD ("2024", "2024-q2", "2024-05", "undated")."""
    if not date:
        return shard == "undated"
    from generator.site.search import quarter_of

    return quarter_of(str(date)) == shard if "-q" in shard else str(date).startswith(shard)
