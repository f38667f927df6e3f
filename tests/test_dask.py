"""build-site --dask: the same inputs give the same site on a Dask cluster as in local processes."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
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
    loads none (the build process loads none either: it only sends texts). And the workers'
    allocator is as fast as a local process's."""
    from distributed import Client

    from generator.corpus.ner import model_loads

    def large_allocation_is_mapped() -> bool:
        """Whether glibc serves a 4 MB allocation with a mapping of its own (run on the workers:
        a nested function, so that it travels by value)."""
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                             "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        before = libc.mallinfo2().hblks
        block = bytearray(4 * 2**20)
        mapped = libc.mallinfo2().hblks > before
        del block
        return mapped

    seeds = tmp_path / "seeds"
    shutil.copytree(PROJECT / "seeds", seeds)
    with standing_cluster(tmp_path, [["--nworkers", "2"]]) as (address, _), Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=120)
        loads = []
        for run in ("first", "second"):  # a fresh output each time: nothing cached, NER runs again
            result = run_build(seeds, tmp_path / run, "--dask", address, "--quiet")
            assert result.returncode == 0, result.stderr
            pages = [p.read_text(encoding="utf-8") for p in (tmp_path / run / "content").glob("*.md")]
            assert pages and all("people:\n  - " in p or "places:\n  - " in p for p in pages)  # NER ran
            loads.append(client.run(model_loads))
        mapped = client.run(large_allocation_is_mapped)
    first, second = loads
    assert len(first) == 2 and all(worker and set(worker.values()) == {1} for worker in first.values())
    assert second == first  # the second build loaded no model
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_, which pins glibc's mmap threshold at
    # 128 KB (NER 25-30% slower there); the build sets the thresholds glibc would reach by itself
    assert len(mapped) == 2 and not any(mapped.values())


@contextlib.contextmanager
def standing_cluster(folder: Path, workers: list[list[str]]) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and workers started apart, as docs/dask.md says (one `dask worker` per entry
    of WORKERS, with those options), stopped at the end; (its address, the worker processes)."""
    scheduler_file = folder / "scheduler.json"
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                                 str(scheduler_file), "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)]
    try:
        deadline = time.monotonic() + 60
        while not (scheduler_file.exists() and scheduler_file.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
        pool = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, *options,
                                  "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)
                for options in workers]
        started += pool
        yield address, pool
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.terminate()
                process.wait(30)


def build_losing_a_worker(seeds: Path, output: Path, workers: int) -> tuple[subprocess.CompletedProcess[str], str]:
    """Build SEEDS on a scheduler and WORKERS workers started apart (no nanny to bring one back),
    killing one of them while NER runs on it (a model loaded there, a task in its hands);
    (the build's result, the scheduler's address)."""
    import signal as signals

    from distributed import Client

    from generator.corpus.ner import model_loads

    with standing_cluster(output.parent, [["--no-nanny"]] * workers) as (address, pool):
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
            victim = pool[0]
            there = {pid: addr for addr, pid in client.run(os.getpid).items()}[victim.pid]
            build = subprocess.Popen([sys.executable, "-m", "generator", "--seeds", str(seeds), "--output",
                                      str(output), "--dask", address, "--quiet", "--config", str(PROJECT / "site.yaml")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=output.parent)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and build.poll() is None:
                if client.run(model_loads, workers=[there]).get(there) and client.processing(workers=[there]).get(there):
                    break
                time.sleep(0.05)
            assert build.poll() is None, "the build ended before NER ran on the worker"
            victim.send_signal(signals.SIGKILL)
        try:
            stdout, stderr = build.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            build.kill()
            raise AssertionError("the build hung after a worker was killed") from None
        return subprocess.CompletedProcess(build.args, build.returncode, stdout, stderr), address


@pytest.fixture(scope="module")
def seeds_150(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("killed") / "seeds"
    subprocess.run([sys.executable, str(need_shared(TOOLS / "make_seeds.py")), str(seeds), "--n", "150",
                    "--seed", "23", "--quiet"], check=True, timeout=300)
    return seeds


def test_a_worker_killed_mid_build_gives_the_same_site(seeds_150: Path, tmp_path: Path) -> None:
    """One of two workers killed while NER runs on it: its batches go to the other, and the
    site is the one a local build gives."""
    local = run_build(seeds_150, tmp_path / "local", "--quiet", "--jobs", "2")
    assert local.returncode == 0, local.stderr
    result, _ = build_losing_a_worker(seeds_150, tmp_path / "dask", workers=2)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert_same_output(tmp_path / "local", tmp_path / "dask")


def test_the_last_worker_killed_stops_the_build_with_one_line(seeds_150: Path, tmp_path: Path) -> None:
    """The only worker killed while NER runs on it: the build stops in bounded time with one
    line naming the cluster, and publishes nothing."""
    result, address = build_losing_a_worker(seeds_150, tmp_path / "dask", workers=1)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "no worker left" in result.stderr
    assert address in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "dask" / "site").exists() and not (tmp_path / "dask" / "content").exists()
