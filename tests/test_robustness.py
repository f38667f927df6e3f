"""Nothing lost, nothing injected: interrupted builds, hostile paths, fuzzed readers, accounting."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PROJECT, content_pages, interruptible, run_build
from generator.core.settings import DEFAULTS
from generator.corpus.layout import decide_layouts
from generator.core.model import FileOutcome
from generator.pipeline import BuildPaths, build
from generator.ingest.dispatch import READERS, read_file
from test_site import broken_links

SEED_RAW = (PROJECT / "seeds" / "000_ab709a61b5646eb0.txt").read_bytes()
SEED_CLEAN = (PROJECT / "seeds" / "001_416bb22001713cf5.txt").read_bytes()


def pages(out: Path) -> list[dict]:
    return [fm for fm, _ in content_pages(out)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_build_killed_mid_render_leaves_the_previous_site(corpus_site: Path, tmp_path: Path, sig: int) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    out = tmp_path / "out"
    shutil.copytree(corpus_site, out)  # the previous, complete build (with its NER cache)
    before = {p.relative_to(out): p.read_bytes() for p in (out / "site").rglob("*.html")}
    (seeds / "zzz_new.txt").write_text("Un article ajouté\nPublié dans Le Courrier le 02 - 03 - 2021\n\n"
                                       + "Le conseil municipal a voté un budget pour les écoles. " * 5)
    proc = subprocess.Popen([sys.executable, "-m", "generator", "--seeds", str(seeds), "--output", str(out),
                             "--quiet"], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=interruptible)
    deadline = time.time() + 300
    while not list(out.glob(".staging-*/site")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    # frozen as soon as rendering starts, so the signal lands there however fast the rest is
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the build ended before rendering could be interrupted"
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    after = {p.relative_to(out): p.read_bytes() for p in (out / "site").rglob("*.html")}
    assert after == before and broken_links(out / "site") == []
    with sqlite3.connect(out / ".cache" / "build.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    result = run_build(seeds, out, "--quiet", config=corpus_site.parent / "site.yaml")
    assert result.returncode == 0, result.stderr
    assert (out / "site" / "articles" / "un-article-ajoute" / "index.html").exists()
    assert not list(out.glob(".staging-*")) and not list(out.glob(".old-*"))


def test_hostile_names_stay_inside_the_site(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    names = ["../../etc/passwd", "CON", ".git", "Le Monde", "le monde", "LE MONDÉ", "/tmp/x", "..", "NUL"]
    vocabulary = "budget école conseil ville vote débat maire projet rue parc gare musée".split()
    for i, name in enumerate(names):
        rng = random.Random(i)
        body = " ".join(rng.choice(vocabulary) for _ in range(60))  # unrelated stories
        (seeds / f"{i}.txt").write_text(f"{name}\nPublié dans {name} le 0{i + 1} - 03 - 2021\n\n{body}\n",
                                        encoding="utf-8")
    outside_before = sorted(p for p in tmp_path.rglob("*") if "out" not in p.parts)
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    assert sorted(p for p in tmp_path.rglob("*") if "out" not in p.parts) == outside_before
    site = (tmp_path / "out" / "site").resolve()
    for path in site.rglob("*"):
        assert path.resolve().is_relative_to(site)
        assert not path.name.startswith(".") or path.name in (".pagefind",)
    outlets = sorted(p.name for p in (site / "outlets").iterdir() if p.is_dir())
    assert "etc-passwd" in outlets and "git" in outlets and "con" in outlets
    # the three spellings of Le Monde are one outlet page listing the three articles
    monde = (site / "outlets" / "le-monde" / "index.html").read_text(encoding="utf-8")
    assert monde.count('<article class="card">') == 3
    assert len(pages(tmp_path / "out")) == len(names)


READER_EXTENSIONS = sorted(READERS)  # every extension a reader is registered for: a new reader is fuzzed too


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), ext=st.sampled_from(READER_EXTENSIONS))
def test_readers_survive_random_bytes(tmp_path: Path, data: bytes, ext: str) -> None:
    check_reader(tmp_path, f"fuzz{ext}", data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([SEED_RAW, SEED_CLEAN]), ext=st.sampled_from(READER_EXTENSIONS),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from("fidt")), max_size=20))
def test_readers_survive_mutated_seeds(tmp_path: Path, seed: bytes, ext: str, edits: list) -> None:
    data = bytearray(seed)
    for pos, byte, kind in edits:
        pos %= max(len(data), 1)
        if not data:
            data.append(byte)
        elif kind == "f":
            data[pos] = byte
        elif kind == "i":
            data.insert(pos, byte)
        elif kind == "d" and data:
            del data[pos]
        else:
            del data[pos:]  # truncate, as an interrupted download would
    check_reader(tmp_path, f"mutated{ext}", bytes(data))


def check_reader(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)
    outcome = read_file(folder, name, 10**7)
    if isinstance(outcome, FileOutcome):
        assert outcome.status in ("rejected", "skipped") and outcome.reason
        return
    decide_layouts(outcome, DEFAULTS["clean"], [])
    for doc in outcome:
        assert doc.status in ("article", "rejected")
        assert doc.date is None or len(doc.date) == 10


FILE_KINDS = st.sampled_from(["raw", "clean", "rescrape", "other", "junk", "empty", "short", "json"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(FILE_KINDS, min_size=1, max_size=10), salt=st.integers(0, 10**6))
def test_every_input_is_accounted_for_exactly_once(tmp_path_factory: pytest.TempPathFactory,
                                                   kinds: list[str], salt: int) -> None:
    base = tmp_path_factory.mktemp("acct")
    seeds = base / "seeds"
    seeds.mkdir()
    rng = random.Random(salt)
    for i, kind in enumerate(kinds):
        words = " ".join(rng.choice(["budget", "école", "conseil", "ville", "vote", "débat", "maire", "projet"])
                         for _ in range(40))
        content = {
            "raw": SEED_RAW, "clean": SEED_CLEAN,
            "rescrape": SEED_RAW.replace(b"PanoraPost", b"Autre Media"),
            "other": f"Titre {salt} {i}\nPublié dans Le Courrier le 02 - 03 - 2021\n\n{words}\n".encode(),
            "junk": os.urandom(200), "empty": b"", "short": b"trois mots seulement",
            "json": json.dumps([{"title": f"R{i}", "text": words}, {"title": "vide", "text": ""}]).encode(),
        }[kind]
        (seeds / f"{i:02d}_{kind}{'.json' if kind == 'json' else '.txt'}").write_bytes(content)
    config = dict(DEFAULTS)
    out = base / "out"
    build(config, BuildPaths(seeds=seeds, output=out, templates=PROJECT / "templates", static=PROJECT / "static",
                             cache=base / "cache"), jobs=1)
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    files = [e["file"] for e in report["inputs"]]
    assert sorted(files) == sorted(p.name for p in seeds.iterdir())
    placed: dict[tuple[str, int | None], int] = {}
    for fm in pages(out):
        for src in fm["sources"]:
            key = (src["file"], src.get("record"))
            placed[key] = placed.get(key, 0) + 1
    assert all(n == 1 for n in placed.values())
    for entry in report["inputs"]:
        records = entry.get("records") or [dict(entry, record=None)]
        for rec in records:
            on_page = (entry["file"], rec["record"]) in placed
            assert on_page == (rec["status"] in ("article", "duplicate")), (entry, rec)
