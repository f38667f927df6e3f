"""build(): the whole pipeline, top to bottom."""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import __version__
from .clean import strip_boilerplate, strip_repeated_lines
from .content import assign_slugs, write_content
from .curate import apply_curation
from .dedup import cluster_duplicates, merge_cluster
from .entities import assign_entities
from .executor import map_batches
from .extract import check_length, derive_title, extract_metadata
from .model import ARTICLE, DUPLICATE, Article, BuildError, Document, FileOutcome
from .readers import read_file
from .render import render_site
from .report import build_report, write_report

log = logging.getLogger(__name__)


class Progress(Protocol):
    def start(self, stage: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, stage: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


@dataclass
class BuildPaths:
    seeds: Path
    output: Path
    templates: Path
    static: Path
    cache: Path


@dataclass
class BuildResult:
    stats: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def list_seed_files(seeds: Path) -> list[str]:
    """Every file under the seeds folder (relative, sorted); symlinked folders not entered."""
    out = []
    for root, dirs, files in os.walk(seeds, followlinks=False):
        dirs.sort()
        for name in files:
            out.append(os.path.relpath(os.path.join(root, name), seeds).replace(os.sep, "/"))
        for name in dirs:  # a symlink to a folder is listed as a file, never followed
            if os.path.islink(os.path.join(root, name)):
                out.append(os.path.relpath(os.path.join(root, name), seeds).replace(os.sep, "/"))
    return sorted(out)


def read_clean_extract(seeds: Path, max_bytes: int, min_words: int,
                       files: Sequence[str]) -> list[list[Document] | FileOutcome]:
    """Read, per-line cleaning and extraction for a batch of files (runs in worker processes).

    One pass per file, so each document crosses between processes once.
    """
    results: list[list[Document] | FileOutcome] = []
    for rel in files:
        outcome = read_file(seeds, rel, max_bytes)
        if not isinstance(outcome, FileOutcome):
            for doc in outcome:
                strip_boilerplate(doc)
                extract_metadata(doc, min_words)
        results.append(outcome)
    return results


def strip_corpus_boilerplate(docs: list[Document], settings: dict[str, Any]) -> None:
    """Corpus-wide repeated lines out of the bodies (titles and datelines are already apart)."""
    kept = [d for d in docs if d.status == ARTICLE]
    strip_repeated_lines(kept, settings["repeated_line_min_docs"], settings["repeated_sentence_share"])
    for doc in kept:
        if check_length(doc, settings["min_words"]) and doc.title_derived:
            doc.title = derive_title(doc.lines)  # the first line may have been boilerplate


@contextlib.contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """One writer per output folder: a second build stops with a clear message."""
    output.mkdir(parents=True, exist_ok=True)
    with open(output / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build-site is writing to {output}; try again when it ends") from None
        yield


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish(staging: Path, output: Path) -> None:
    """Put the freshly built content/, site/ and report in place.

    Each folder is exchanged with the old one in a single atomic step where the system allows,
    so a reader (or a kill -9) never finds output/site missing or half written.
    """
    for name in ("content", "site"):
        new, current = staging / name, output / name
        if current.exists() and _exchange(new, current):
            continue  # the old folder is now in staging, removed with it
        old = output / f".old-{name}"
        shutil.rmtree(old, ignore_errors=True)
        if current.exists():
            os.rename(current, old)
        os.rename(new, current)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(staging / "build-report.json", output / "build-report.json")


def remove_leftovers(output: Path) -> None:
    """Staging folders of builds that were killed; restore a site a killed swap left aside."""
    for leftover in output.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for name in ("content", "site"):
        old = output / f".old-{name}"
        if old.exists() and not (output / name).exists():
            os.rename(old, output / name)
        shutil.rmtree(old, ignore_errors=True)


def build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress | None = None) -> BuildResult:
    """The whole pipeline, under the output folder's lock."""
    if not paths.seeds.is_dir():
        raise BuildError(f"seeds folder not found: {paths.seeds}")
    with build_lock(paths.output):
        remove_leftovers(paths.output)
        return _build(config, paths, jobs, progress or NoProgress())


def _build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress) -> BuildResult:
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now
        progress.finish()

    def mapper(batch_size: int, counted: bool = True) -> Any:
        """Run a stage function over batches in `jobs` processes, advancing the bar."""
        return lambda func, items: map_batches(func, items, jobs, batch_size,
                                               on_batch=progress.advance if counted else None)

    files = list_seed_files(paths.seeds)
    progress.start("read + extract", len(files))
    max_bytes = int(config["clean"]["max_file_mb"] * 1_000_000)
    results = mapper(200)(functools.partial(read_clean_extract, paths.seeds, max_bytes,
                                            config["clean"]["min_words"]), files)
    outcomes = [r for r in results if isinstance(r, FileOutcome)]
    docs = [d for r in results if not isinstance(r, FileOutcome) for d in r]
    del results
    lap("read")

    progress.start("clean", None)
    strip_corpus_boilerplate(docs, config["clean"])
    lap("clean")

    progress.start("dedup", None)
    articles = make_articles([d for d in docs if d.status == ARTICLE], config["dedup"], mapper(500, False))
    lap("dedup")

    progress.start("entities", len(articles))
    assign_entities(articles, config["entities"], paths.cache / "ner.sqlite", mapper(64), mapper(500, False))
    lap("entities")

    progress.start("curation", None)
    articles, curation = apply_curation(articles, config["curation"])
    lap("curation")

    progress.start("content", len(articles))
    staging = paths.output / f".staging-{os.getpid()}"
    try:
        write_content(articles, staging / "content")
        progress.advance(len(articles))
        lap("content")
        progress.start("render", None)
        pages = render_site(staging / "content", staging / "site", paths.templates, paths.static, config)
        lap("render")
        stats = summarise(files, outcomes, docs, articles, pages, seconds)
        stats["curation"] = curation
        write_report(build_report(outcomes, docs, stats), staging / "build-report.json")
        publish(staging, paths.output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(stats=stats, seconds=seconds)


def make_articles(docs: list[Document], settings: dict[str, Any], mapper: Any) -> list[Article]:
    """Cluster duplicates, merge each cluster into one article, name the pages."""
    if settings["enabled"]:
        clusters, links = cluster_duplicates(docs, settings, mapper)
    else:
        clusters, links = [[d] for d in sorted(docs, key=lambda d: d.key)], {}
    articles = [merge_cluster(members) for members in clusters]
    assign_slugs(articles)
    for art in articles:
        canonical = art.members[0]
        canonical.reason = f"{canonical.kind} input ({canonical.encoding})"
        if len(art.members) > 1:
            canonical.reason += f"; canonical of {len(art.members)} copies"
        for doc in art.members:
            doc.article_slug = art.slug
            if doc is not canonical:
                doc.status = DUPLICATE
                doc.reason = links[doc.key].describe(settings)
    return articles


def summarise(files: list[str], outcomes: list[FileOutcome], docs: list[Document],
              articles: list[Article], pages: int, seconds: dict[str, float]) -> dict[str, Any]:
    counts = {"article": 0, "duplicate": 0, "rejected": 0, "skipped": 0}
    for o in outcomes:
        counts[o.status] += 1
    for d in docs:
        counts[d.status] += 1
    return {"files": len(files), "documents": len(docs), "articles": len(articles),
            "duplicates": counts["duplicate"], "rejected": counts["rejected"],
            "skipped": counts["skipped"], "pages_written": pages,
            "seconds": dict(seconds), "version": __version__}
