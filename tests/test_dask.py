"""build-site --dask: the same inputs give the same site on a Dask cluster as in local processes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import distributed  # noqa: F401 (a dependency: a broken install fails here, never skips)

from conftest import CORPUS, PROJECT, TOOLS, need_shared, run_build, tree


def assert_same_output(a: Path, b: Path) -> None:
    for folder in ("content", "site"):
        left, right = tree(a / folder), tree(b / folder)
        assert left.keys() == right.keys(), sorted(left.keys() ^ right.keys())[:10]
        differ = [rel for rel in left if left[rel] != right[rel]]
        assert not differ, f"{folder}: {len(differ)} files differ, e.g. {differ[:5]}"
    for out in (a, b):  # each output has its search index, in shards
        assert sorted(p.parent.name for p in (out / "site" / "pagefind").glob("*/pagefind-entry.json")) \
            == sorted(p.parent.name for p in (a / "site" / "pagefind").glob("*/pagefind-entry.json")) != []


@pytest.fixture(scope="module")
def mixed_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A make_seeds corpus of 80 articles (with copies), the shipped seeds, real web pages and
    a JSON export, an oversized file and a symbolic link: every reader and every fate."""
    tool = need_shared(TOOLS / "make_seeds.py")
    seeds = tmp_path_factory.mktemp("dask") / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "80", "--dup-rate", "0.3",
                    "--seed", "11", "--quiet"], check=True, timeout=300)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    for page in sorted((need_shared(CORPUS / "trafilatura_fr") / "html").glob("*.html"))[:3]:
        shutil.copy(page, seeds / page.name)
    shutil.copy(CORPUS / "mosaiquefm" / "newsapi_tunis_fr_2018.json", seeds)
    (seeds / "huge.txt").write_bytes(b"Un mot. " * 200_000)  # over clean.max_file_mb below
    os.symlink(sorted(seeds.glob("*.txt"))[0].name, seeds / "link-to-a-seed.txt")
    return seeds


def test_local_cluster_builds_the_same_site_as_local_processes(mixed_seeds: Path, tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text('title: "Revue"\nbase_url: "https://example.org/revue/"\npage_size: 5\n'
                      "clean:\n  max_file_mb: 1\n", encoding="utf-8")
    local = run_build(mixed_seeds, tmp_path / "local", "--quiet", "--jobs", "2", config=config)
    assert local.returncode == 0, local.stderr
    dask = run_build(mixed_seeds, tmp_path / "dask", "--dask", "local", "--jobs", "2", config=config)
    assert dask.returncode == 0, dask.stderr
    assert "internal error" not in dask.stderr and "Traceback" not in dask.stderr
    assert_same_output(tmp_path / "local", tmp_path / "dask")
    reports = [json.loads((tmp_path / out / "build-report.json").read_text(encoding="utf-8")) for out in ("local", "dask")]
    assert reports[0]["inputs"] == reports[1]["inputs"]  # every file's fate (the stats hold timings)
    fates = {entry["status"] for entry in reports[1]["inputs"]}
    assert fates == {"article", "duplicate", "rejected", "skipped"} or fates >= {"article", "duplicate", "rejected"}

    # an edit and a new file, rebuilt over each output: unchanged pages are not sent back
    edited = sorted(p for p in mixed_seeds.glob("*.txt") if not p.is_symlink())[3]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nUne phrase ajoutée au texte pour voir la page changer.\n",
                      encoding="utf-8")
    shutil.copy(PROJECT / "seeds" / sorted(os.listdir(PROJECT / "seeds"))[0], mixed_seeds / "again.txt")
    local = run_build(mixed_seeds, tmp_path / "local", "--quiet", "--jobs", "2", config=config)
    assert local.returncode == 0, local.stderr
    dask = run_build(mixed_seeds, tmp_path / "dask", "--quiet", "--jobs", "2", "--dask", "local", config=config)
    assert dask.returncode == 0, dask.stderr
    assert_same_output(tmp_path / "local", tmp_path / "dask")


def test_site_yaml_executor_and_bad_scheduler(seeds_copy: Path, tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text('title: "Revue"\nbase_url: "/"\nexecutor:\n  kind: dask\n  scheduler: "nowhere"\n',
                      encoding="utf-8")
    bad = run_build(seeds_copy, tmp_path / "out", config=config)
    assert bad.returncode == 2 and "Dask scheduler" in bad.stderr and "Traceback" not in bad.stderr
    flag = run_build(seeds_copy, tmp_path / "out", "--dask", "http//x")
    assert flag.returncode == 2 and "--dask" in flag.stderr


def test_a_standing_cluster_keeps_its_models_between_builds(tmp_path: Path) -> None:
    """A scheduler and workers started apart, as docs/dask.md says: the first build has every
    worker load each model it needs once, the second build's NER runs on the same workers and
    loads none (the build process loads none either: it only sends texts)."""
    from distributed import Client

    from generator.corpus.ner import model_loads

    seeds = tmp_path / "seeds"
    shutil.copytree(PROJECT / "seeds", seeds)
    scheduler_file = tmp_path / "scheduler.json"
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                                 str(scheduler_file), "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)]
    try:
        deadline = time.monotonic() + 60
        while not (scheduler_file.exists() and scheduler_file.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
        started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                         "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            loads = []
            for run in ("first", "second"):  # a fresh output each time: nothing cached, NER runs again
                result = run_build(seeds, tmp_path / run, "--dask", address, "--quiet")
                assert result.returncode == 0, result.stderr
                pages = [p.read_text(encoding="utf-8") for p in (tmp_path / run / "content").glob("*.md")]
                assert pages and all("people:\n  - " in p or "places:\n  - " in p for p in pages)  # NER ran
                loads.append(client.run(model_loads))
        first, second = loads
        assert len(first) == 2 and all(worker and set(worker.values()) == {1} for worker in first.values())
        assert second == first  # the second build loaded no model
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(30)


def test_a_worker_killed_mid_build_gives_the_same_site(tmp_path: Path) -> None:
    """Two workers started apart (no nanny to bring one back); one is killed while NER runs on
    it: the build ends with the site a local build gives, or stops with a one-line error and
    nothing published; it never hangs."""
    import signal as signals

    from distributed import Client

    from generator.corpus.ner import model_loads

    tool = need_shared(TOOLS / "make_seeds.py")
    seeds = tmp_path / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "150", "--seed", "23", "--quiet"],
                   check=True, timeout=300)
    local = run_build(seeds, tmp_path / "local", "--quiet", "--jobs", "2")
    assert local.returncode == 0, local.stderr
    scheduler_file = tmp_path / "scheduler.json"
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                                 str(scheduler_file), "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)]
    try:
        deadline = time.monotonic() + 60
        while not (scheduler_file.exists() and scheduler_file.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
        workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
                                     "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)
                   for _ in range(2)]
        started += workers
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            by_pid = {pid: addr for addr, pid in client.run(os.getpid).items()}
            build = subprocess.Popen([sys.executable, "-m", "generator", "--seeds", str(seeds), "--output",
                                      str(tmp_path / "dask"), "--dask", address, "--quiet",
                                      "--config", str(PROJECT / "site.yaml")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
            victim = workers[0]
            deadline = time.monotonic() + 300
            victim_address = by_pid[victim.pid]
            while time.monotonic() < deadline and build.poll() is None:  # NER running there: a model, a task
                if client.run(model_loads, workers=[victim_address]).get(victim_address) \
                        and client.processing(workers=[victim_address]).get(victim_address):
                    break
                time.sleep(0.05)
            assert build.poll() is None, "the build ended before NER ran on the worker"
            victim.send_signal(signals.SIGKILL)
            try:
                _, stderr = build.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                build.kill()
                raise AssertionError("the build hung after a worker was killed") from None
        assert "Traceback" not in stderr
        if build.returncode == 0:
            assert_same_output(tmp_path / "local", tmp_path / "dask")
        else:
            assert len(stderr.strip().splitlines()) == 1 and "Dask" in stderr, stderr
            assert not (tmp_path / "dask" / "site").exists()
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.terminate()
                process.wait(30)
