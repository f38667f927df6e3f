"""build(): the whole pipeline, top to bottom."""
from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__
from .core.executor import distributed, map_batches
from .core.model import ARTICLE, Document, FileOutcome, UsageError
from .core.store import digest, remove_legacy_files, store_path
from .core.versions import stage_version
from .corpus.permalinks import slug_history, slugs_of_content
from .ingest.read import list_seed_files, seed_entries
from .output.publish import build_lock, open_staging, publish, published_manifest, remove_leftovers
from .output.report import build_report, write_report

if TYPE_CHECKING:
    from .corpus.ner import ModelServer

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
    unchanged: bool = False  # no input changed since the published build: nothing was done


def files_signature(*folders: Path) -> list[str]:
    """Name, size, modification and change times and inode of every file under the folders
    (cheap: no reads; the change time catches an edit whose modification time was put back)."""
    parts = []
    for folder in folders:
        for rel, entry in seed_entries(folder) if folder.is_dir() else []:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            parts.append(f"{folder}/{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    return parts


def input_fingerprint(config: dict[str, Any], paths: BuildPaths) -> str:
    """What a build's output depends on: settings, the generator's code and models, and every
    seed, template and static file (by name, size and modification time, as make does)."""
    return digest(json.dumps(config, sort_keys=True, default=str), repr(paths), __version__,
                  stage_version("build"), *files_signature(paths.seeds, paths.templates, paths.static))


def render_inputs(content: dict[str, str], config: dict[str, Any], paths: BuildPaths) -> str:
    """What the site depends on: the content pages, settings, templates, static files, code."""
    return digest(json.dumps(content, sort_keys=True), json.dumps(config, sort_keys=True, default=str),
                  stage_version("render"), *files_signature(paths.templates, paths.static))


def build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress | None = None,
          keep_models: bool = False, history: History | None = None) -> BuildResult:
    """The whole pipeline, under the output folder's lock; nothing to do if no input changed.

    keep_models: the spaCy models stay loaded for the next build in this process (serve).
    history: what the digest published before, instead of what the output folder says (a
    build from scratch that must keep another output's permalinks and stories).
    """
    if not paths.seeds.is_dir():
        raise UsageError(f"seeds folder not found: {paths.seeds}")
    with build_lock(paths.output):
        remove_leftovers(paths.output)
        fingerprint = input_fingerprint(config, paths)
        published = published_manifest(paths.output)
        if published is not None and published.get("inputs") == fingerprint:
            report = json.loads((paths.output / "build-report.json").read_text(encoding="utf-8"))
            return BuildResult(stats=report["stats"], seconds={}, unchanged=True)
        if history is None:
            history = published_history(paths.output, published)
        from .corpus.ner import start_model_server  # here: a build with nothing to do never loads it

        # the models load in a child meanwhile, which runs the NER (ner.ModelServer): an edit's
        # one text without waiting for a model, a cold build's in workers that hold no corpus
        models = start_model_server(store_path(paths.cache), jobs) \
            if jobs > 1 and not keep_models and not distributed() else None
        try:
            with rare_collections(collect_after=keep_models):  # a process that goes on (serve)
                return _build(config, paths, jobs, progress or NoProgress(), fingerprint, published, history,
                              keep_models, models)
        finally:
            if models is not None:  # closed by the entities stage, or here if a stage before it failed
                models.close()


# Python's default collector passes over the young objects every 700 allocations and over all
# of them every 100 such passes: a build holds millions of small objects (lines, documents,
# views) and spent about a fifth of an incremental build walking them. Almost none form cycles;
# the few that do (views linking views) wait for a rarer pass, or for the end of the build in a
# process that goes on (a full pass takes about 0.4 s at 10,000 articles).
BUILD_GC_THRESHOLDS = (50_000, 20, 1000)


@contextlib.contextmanager
def rare_collections(collect_after: bool) -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*BUILD_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if collect_after:  # what the build left in cycles, freed now rather than in the next build
            gc.collect()


def _build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress,
           fingerprint: str, published: dict[str, Any] | None, history: History,
           keep_models: bool = False, models: ModelServer | None = None) -> BuildResult:
    # the stages are imported here: a build that finds nothing changed (the editor's most
    # frequent run) does not load them and their libraries (0.35 s of 1 s)
    from .corpus.curate import apply_curation
    from .corpus.dedup import make_articles
    from .corpus.entities import assign_entities
    from .corpus.layout import layout_files
    from .corpus.stories import assign_stories
    from .ingest.read import read_seeds, stored_reads
    from .output.content import write_content
    from .site.render import render_site

    seconds: dict[str, float] = {}
    peak_mb: dict[str, float] = {}
    stage_peak_mb()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        peak_mb[stage] = stage_peak_mb()
        release_free_memory()
        clock = now
        progress.finish()

    def mapper(batch_size: int, counted: bool = True) -> Any:
        """Run a stage function over batches in `jobs` processes, advancing the bar."""
        return lambda func, items: map_batches(func, items, jobs, batch_size,
                                               on_batch=progress.advance if counted else None)

    remove_legacy_files(paths.cache)
    store = store_path(paths.cache)  # every stage's stored results (core/store.py)
    files = list_seed_files(paths.seeds)
    progress.start("read + extract", len(files))
    reading = read_seeds(paths.seeds, files, config["clean"], store, mapper(200))
    lap("read")

    progress.start("layout", None)
    results, layouts = layout_files(files, reading.keys, reading.fresh, config["clean"], config["outlets"], store,
                                    stored_reads(store))
    del reading
    outcomes = [r for r in results if isinstance(r, FileOutcome)]
    docs = [d for r in results if not isinstance(r, FileOutcome) for d in r]
    del results
    lap("layout")

    progress.start("dedup", None)
    articles = make_articles([d for d in docs if d.status == ARTICLE], config["dedup"], mapper(500, False),
                             store, history.slugs)
    slugs = slug_history(articles, history.slugs)  # before curation: a hidden page keeps its URL too
    for doc in docs:  # from here the report needs their fates only: each article holds its text
        doc.lines = []
    lap("dedup")

    progress.start("entities", len(articles))
    ner_map = models.mapper(64, progress.advance) if models is not None else mapper(64)
    entities = assign_entities(articles, config["entities"], store, ner_map,
                                  mapper(500, False), keep_models, models, config["language"])
    lap("entities")

    progress.start("curation", None)
    articles, curation = apply_curation(articles, config["curation"])
    lap("curation")

    progress.start("stories", None)
    moves = {slug: str(o["story"]) for slug, o in config["curation"]["overrides"].items() if o and o.get("story")}
    stories = assign_stories(articles, config["stories"], store, mapper(500, False),
                             history.stories, moves)  # a published story keeps its page
    lap("stories")

    progress.start("content", len(articles))
    staging, held = open_staging(paths.output)
    try:
        content, pages = write_content(articles, staging / "content", held["content"], store)
        progress.advance(len(articles))
        lap("content")
        progress.start("render", None)
        built = {"inputs": fingerprint, "content": content, "render": render_inputs(content, config, paths),
                 "slugs": slugs, "stories": {art.slug: art.story for art in articles}}
        article_count = len(articles)
        del articles  # the site is rendered from the content pages: the corpus is not held beside them
        if published is not None and published.get("render") == built["render"]:
            # the same site: keep the published one
            built.update({k: published[k] for k in ("site", "site_keys", "pages")})
            files_rendered = 0
            in_staging = {"content": content, "site": held["site"], "site_keys": held["site_keys"]}
        else:
            rendered = render_site(pages, staging / "site", paths.templates, paths.static, config,
                                   jobs=jobs, previous=held["site"], previous_keys=held["site_keys"],
                                   cache_dir=paths.cache, published_site=None if published is None else
                                   (paths.output / "site", published["site"], published.get("site_keys", {})))
            built.update(site=rendered.manifest, site_keys=rendered.keys, pages=rendered.pages)
            files_rendered = rendered.rendered
            in_staging = {"content": content, "site": rendered.manifest, "site_keys": rendered.keys}
        lap("render")
        changed = count_changes(published, built)
        stats = summarise(files, outcomes, docs, article_count, built["pages"], changed, seconds)
        stats["files_rendered"] = files_rendered
        stats["layouts"] = layouts
        stats["curation"] = curation
        stats["entity_corrections"] = entities["corrections"]
        stats["entities_unsure"] = entities["unsure"]
        stats["stories"] = stories
        stats["peak_mb"] = peak_mb
        stats["workers_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        write_report(build_report(outcomes, docs, stats), staging / "build-report.json")
        publish(staging, paths.output, built, in_staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(stats=stats, seconds=seconds)


@dataclass
class History:
    """What a published digest keeps from one build to the next, and the only thing a build
    takes from the builds before it besides stored results: the inputs of every slug ever
    published (so no URL moves, see corpus/permalinks.py) and each article's story (a story
    keeps its page, see corpus/stories.py)."""

    slugs: dict[str, list[str]] | None = None
    stories: dict[str, str] | None = None


def published_history(output: Path, published: dict[str, Any] | None = None) -> History:
    """The history of the build published in OUTPUT: from its manifest, else its content pages."""
    if published is None:
        published = published_manifest(output)
    if published is not None and isinstance(published.get("slugs"), dict):
        return History(published["slugs"], published.get("stories"))
    if (output / "content").is_dir():
        return History(slugs_of_content(output / "content") or None)
    return History()




def release_free_memory() -> None:
    """Give the heap a stage freed back to the system (glibc keeps it otherwise): it would count
    in the build's memory to the end, and in every worker forked from it."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def stage_peak_mb() -> float:
    """Peak resident memory of this process since the last call, in MB (Linux; else 0).

    Reading VmHWM and then resetting it through clear_refs gives each stage its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return round(peak / 1024, 1)
    except (OSError, StopIteration, ValueError):
        return 0.0


def count_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> int:
    """Files of content/ and site/ added, changed or removed since the published build."""
    changed = 0
    for folder in ("content", "site"):
        old, new = (before or {}).get(folder, {}), after[folder]
        changed += sum(old.get(rel) != d for rel, d in new.items()) + len(old.keys() - new.keys())
    return changed


def summarise(files: list[str], outcomes: list[FileOutcome], docs: list[Document],
              articles: int, pages: int, files_changed: int, seconds: dict[str, float]) -> dict[str, Any]:
    counts = {"article": 0, "duplicate": 0, "rejected": 0, "skipped": 0}
    for o in outcomes:
        counts[o.status] += 1
    for d in docs:
        counts[d.status] += 1
    return {"files": len(files), "documents": len(docs), "articles": articles,
            "duplicates": counts["duplicate"], "rejected": counts["rejected"],
            "skipped": counts["skipped"], "pages_written": pages, "files_changed": files_changed,
            "seconds": dict(seconds), "version": __version__}
