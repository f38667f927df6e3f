"""The read stage: every file under seeds/ read, cleaned line by line and its metadata
extracted, in worker processes; from the build store for files whose bytes were seen before."""
from __future__ import annotations

import functools
import logging
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.executor import distributed
from ..core.model import ARTICLE, Document, FileOutcome
from ..core.store import StageCache, digest
from ..core.versions import stage_version
from .clean import strip_boilerplate
from .extract import detect_document_language, extract_metadata
from .dispatch import read_file

log = logging.getLogger(__name__)


def seed_entries(seeds: Path) -> list[tuple[str, os.DirEntry]]:
    """Every file under the seeds folder, by relative name (sorted), with its directory entry
    (its stat is one call, no path lookup); a symlink to a folder is a file, never entered."""
    out: list[tuple[str, os.DirEntry]] = []
    folders = [("", os.fspath(seeds))]
    while folders:
        prefix, path = folders.pop()
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append((prefix + entry.name + "/", entry.path))
                    else:
                        out.append((prefix + entry.name, entry))
        except OSError:  # an unreadable folder holds nothing we can read (as os.walk)
            continue
    out.sort(key=lambda item: item[0])
    return out


def list_seed_files(seeds: Path) -> list[str]:
    """Every file under the seeds folder (relative, sorted); symlinked folders not entered."""
    return [rel for rel, _ in seed_entries(seeds)]


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
                if doc.status != ARTICLE:  # a reader's rejected record (a broken message of a mailbox) keeps its reason
                    continue
                if doc.page is None:  # a text page waits for the layout stage
                    strip_boilerplate(doc)
                    extract_metadata(doc, min_words)
                if doc.status == ARTICLE:
                    detect_document_language(doc)
        results.append(outcome)
    return results



# a file modified this recently may be modified again within the file system's clock tick,
# its size kept: its bytes are read until it is older (git's "racy clean" entries)
SETTLED_SECONDS = 2.0


def content_digests(seeds: Path, files: list[str], max_bytes: int, cache_path: Path | None) -> list[str | None]:
    """The digest of each plain file's bytes (None for a link, an oversized or unreadable file).

    A file whose name, size, inode, modification and change times are those of a file read
    before has the bytes it had then: its digest comes from the store, unread. The change
    time is set by the kernel on every write and cannot be put back, so an edit that keeps
    the size and restores the modification time is still read.
    """
    known_files = StageCache(cache_path, stage_version("files"), "files")
    try:
        stats: list[tuple[str | None, bool]] = []
        now = time.time()
        for rel in files:
            try:
                st = os.lstat(seeds / rel)
            except OSError:
                stats.append((None, False))
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
                stats.append((None, False))
                continue
            settled = now - max(st.st_mtime, st.st_ctime) > SETTLED_SECONDS
            stats.append((known_files.key(rel, str(st.st_size), str(st.st_ino), str(st.st_mtime_ns),
                                          str(st.st_ctime_ns)), settled))
        remembered = known_files.get_many(k for k, settled in stats if k is not None and settled)
        out: list[str | None] = []
        fresh: dict[str, str] = {}
        for rel, (key, settled) in zip(files, stats):
            if key is None:
                out.append(None)
            elif key in remembered:
                out.append(remembered[key])
            else:
                try:
                    out.append(digest((seeds / rel).read_bytes()))
                except OSError:
                    out.append(None)
                    continue
                if settled and out[-1] is not None:
                    fresh[key] = out[-1]
        known_files.put_many(fresh)
        known_files.prune()
        return out
    finally:
        known_files.close()


@dataclass
class ReadResults:
    """What the read stage knows of each seed file: its key in the store, and the results of
    the files it read in this build (the others are in the store, loaded when a stage needs them)."""

    keys: list[str | None]  # None: a file judged afresh at every build (a link, an oversized file)
    fresh: dict[int, list[Document] | FileOutcome]  # by the file's index


def read_seeds(seeds: Path, files: list[str], settings: dict[str, Any], cache_path: Path | None,
               mapper: Any) -> ReadResults:
    """read_clean_extract() of every file whose bytes were not read before.

    Keyed by the file's name and content hash, the settings and the code version; only plain
    files are kept (a link or an oversized file is judged afresh each time, unread).
    """
    max_bytes = int(settings["max_file_mb"] * 1_000_000)
    cache = StageCache(cache_path, stage_version("read"), "read")
    try:
        contents = content_digests(seeds, files, max_bytes, cache_path)
        keys = [cache.key(rel, content, str(max_bytes), str(settings["min_words"])) if content else None
                for rel, content in zip(files, contents)]
        known = cache.existing(k for k in keys if k is not None)
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
        cache.prune()
        return ReadResults(keys, dict(zip(todo, fresh)))
    finally:
        cache.close()


def stored_reads(cache_path: Path | None) -> Callable[[set[str]], dict[str, list[Document] | FileOutcome]]:
    """A loader of the read stage's stored results by key."""
    def load(keys: set[str]) -> dict[str, list[Document] | FileOutcome]:
        if not keys:
            return {}
        cache = StageCache(cache_path, stage_version("read"), "read")
        try:
            return cache.get_many(keys)
        finally:
            cache.close()
    return load
