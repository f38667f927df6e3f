"""A build killed (SIGKILL) at each step of publish(): the served site stays whole, the next build repairs.

Each kill is real: the build runs in its own process, where one step of generator/output/publish.py
is wrapped to kill that process at the named moment; nothing else of the build is changed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, SHIPPED_CONFIG, run_build, tree
from generator.output.publish import remove_leftovers

NEW_SEED = ("Un article ajouté\nPublié dans Le Courrier le 02 - 03 - 2021\n\n"
            + "Le conseil municipal a voté un budget pour les écoles. " * 5)

# Runs build-site with one publish step wrapped to SIGKILL the build: argv = step, build-site's flags.
KILLER = r'''
import os, signal, sys
from pathlib import Path
from generator import cli
from generator.output import publish as p

step, argv = sys.argv[1], sys.argv[2:]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
exchange, write_manifest, rename = p._exchange, p._write_manifest, os.rename
if step.endswith("no-renameat2"):
    p._exchange = lambda a, b: False  # a system without renameat2: the rename fallback
def killing_exchange(a, b):
    done = exchange(a, b)
    if b.name == "content":
        die()  # content/ is the new one, site/ still the old one
    return done
def killing_write(path, manifest):
    if path.name == p.MANIFEST:
        path.with_name(path.name + ".tmp").write_text('{"content": {', encoding="utf-8")
        die()  # half the new manifest written, not yet in place
    write_manifest(path, manifest)
def killing_rename(a, b):
    if step == "spare" and Path(b).name == p.SPARE:
        die()  # the old spare removed, the new one not yet in place
    rename(a, b)
    if step == "fallback-no-renameat2" and Path(b).name == ".old-site":
        die()  # the old site moved aside, the new one not yet in place
if step.startswith("content-exchanged"):
    p._exchange = killing_exchange
    if step.endswith("no-renameat2"):
        p._exchange = lambda a, b: (die() if b.name == "site" else False)
if step == "manifest":
    p._write_manifest = killing_write
p.os.rename = killing_rename
sys.exit(cli.main(argv))
'''


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An output folder built from the shipped seeds (the old generation), the seeds with one more
    article, and a fresh build of those (the new generation)."""
    base = tmp_path_factory.mktemp("swap")
    old_seeds, new_seeds = base / "old-seeds", base / "new-seeds"
    shutil.copytree(PROJECT / "seeds", old_seeds)
    shutil.copytree(PROJECT / "seeds", new_seeds)
    (new_seeds / "002_new.txt").write_text(NEW_SEED, encoding="utf-8")
    for seeds, out in ((old_seeds, base / "old"), (new_seeds, base / "fresh")):
        assert run_build(seeds, out, "--quiet", "--jobs", "1").returncode == 0
    return {"old": base / "old", "fresh": base / "fresh", "seeds": new_seeds}


@pytest.mark.parametrize("step", ["content-exchanged", "manifest", "spare", "content-exchanged-no-renameat2",
                                  "fallback-no-renameat2"])
def test_a_build_killed_while_publishing_leaves_a_whole_site_and_the_next_build_repairs(
        generations: dict[str, Path], tmp_path: Path, step: str) -> None:
    out = tmp_path / "out"
    shutil.copytree(generations["old"], out)
    old_site, new_site = tree(generations["old"] / "site"), tree(generations["fresh"] / "site")
    killed = subprocess.run([sys.executable, "-c", KILLER, step, "--seeds", str(generations["seeds"]),
                             "--output", str(out), "--config", str(SHIPPED_CONFIG), "--quiet", "--jobs", "1"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert killed.returncode == -9, killed.stderr  # killed at that step, not ended some other way
    if step != "fallback-no-renameat2":  # renameat2 (or a kill between two fallback renames): site/ is whole
        assert tree(out / "site") in (old_site, new_site)
    else:  # without renameat2, site/ is missing between two renames; the old one waits beside it and is
        assert not (out / "site").exists() and tree(out / ".old-site") == old_site
        remove_leftovers(out)  # put back first thing by the next build, whatever becomes of the build
        assert tree(out / "site") == old_site
    again = run_build(generations["seeds"], out, "--quiet", "--jobs", "1")
    assert again.returncode == 0, again.stderr
    for folder in ("content", "site"):  # the pair is of one generation: the fresh build's
        assert tree(out / folder) == tree(generations["fresh"] / folder), folder
    assert (out / "site" / "pagefind").is_dir()
    assert not list(out.glob(".staging-*")) and not list(out.glob(".old-*"))
