"""What a user sees from the build-site command: one line per error, the promised exit statuses."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROJECT, interruptible, run_build
from generator import __version__, cli


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text('title: "Revue"\nbase_url: "https://example.org/"\njobs: 1\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("args, line", [
    (["--jobs", "x"], "build-site: error: argument --jobs: invalid int value: 'x' (see build-site --help)"),
    (["--jobs", "-1"], "build-site: error: --jobs must be 0 (all cores) or more (see build-site --help)"),
    (["--nope"], "build-site: error: unrecognized arguments: --nope (see build-site --help)"),
])
def test_a_usage_error_is_one_line_and_exit_status_2(tmp_path: Path, args: list[str], line: str) -> None:
    done = command(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")


def test_a_missing_seeds_folder_is_one_line_exit_2_and_output_untouched(tmp_path: Path, config: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("the previous site", encoding="utf-8")
    done = command("--seeds", str(tmp_path / "nowhere"), "--output", str(out), "--config", str(config), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"build-site: error: seeds folder not found: {tmp_path / 'nowhere'} (see build-site --help)\n"
    assert [p.name for p in out.iterdir()] == ["kept.txt"]


def test_help_and_version_exit_0(tmp_path: Path) -> None:
    shown = command("--help", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: build-site") and "--jobs N" in shown.stdout
    version = command("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"build-site {__version__}\n")


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help_names_the_docs_pages(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    """build-site --help, and the help shown for serve, name the docs pages for more, each one there."""
    with pytest.raises(SystemExit) as done:
        cli.main(args)
    shown = capsys.readouterr().out
    pages = re.findall(r"docs/[\w-]+\.md", shown)
    assert done.value.code == 0 and {"docs/getting-started.md", "docs/settings.md"} <= set(pages), shown
    assert [page for page in pages if not (PROJECT / page).is_file()] == []


def test_jobs_0_builds_on_all_cores_and_quiet_prints_nothing(seeds_copy: Path, tmp_path: Path, config: Path) -> None:
    done = run_build(seeds_copy, tmp_path / "out", "--jobs", "0", "--quiet", config=config)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(list((tmp_path / "out" / "content").glob("*.md"))) == 1


def test_jobs_0_means_all_cores_over_site_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                config: Path) -> None:
    seen = {}
    monkeypatch.setattr(cli, "build", lambda config, paths, jobs, *a, **k: seen.setdefault("jobs", jobs) and 1 / 0)
    monkeypatch.setattr(cli, "default_jobs", lambda: 7)
    cli.main(["--config", str(config), "--jobs", "0", "--quiet"])  # site.yaml says jobs: 1
    assert seen["jobs"] == 7


def test_a_missing_seeds_folder_is_one_line(tmp_path: Path, config: Path) -> None:
    done = run_build(tmp_path / "no-such-folder", tmp_path / "out", config=config)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("build-site: error: ")
    assert "no-such-folder" in done.stderr


def test_an_internal_error_is_one_line_exit_1_and_a_traceback_only_when_debugging(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("stage")

    monkeypatch.setattr(cli, "build", broken)
    monkeypatch.delenv("BUILD_SITE_DEBUG", raising=False)
    assert cli.main(["--config", str(config), "--quiet"]) == 1
    assert capsys.readouterr().err == ("build-site: internal error: KeyError: 'stage' "
                                       "(set BUILD_SITE_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("BUILD_SITE_DEBUG", "1")
    with pytest.raises(KeyError):  # Python then prints the traceback
        cli.main(["--config", str(config), "--quiet"])


def test_an_interrupt_inside_exec_d_code_still_exits_130(tmp_path: Path) -> None:
    """CPython ends a `python -m` process by SIGINT, whatever status it exits with, once a
    KeyboardInterrupt went through code run by exec() of a string (as dataclasses make a class):
    the command leaves with 130 all the same."""
    (tmp_path / "interrupted_main.py").write_text(
        "import generator.cli as cli\n"
        "def interrupted():\n"
        "    try:\n"
        "        exec('raise KeyboardInterrupt')\n"
        "    except KeyboardInterrupt:\n"
        "        return cli.INTERRUPTED_STATUS\n"
        "cli.main = interrupted\n"
        "cli.run()\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "interrupted_main"], cwd=tmp_path, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert proc.returncode == 130


def test_sigint_exits_130_with_a_message(seeds_copy: Path, tmp_path: Path, config: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "generator", "--seeds", str(seeds_copy), "--output", str(out),
                             "--config", str(config), "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.time() + 60
    while not (out / ".build.lock").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # 130 itself, not the death by SIGINT CPython chooses when the interrupt landed inside
    # exec'd code (a dataclass being made: about 1 run in 40 before cli.run left by os._exit)
    assert proc.returncode == 130
    assert err == "build-site: interrupted; the previous site was left as it was\n"
