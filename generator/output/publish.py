"""Putting a build in place: incremental writes, atomic exchange, the recycled generation.

A build renders into output/.staging-<pid> and each of content/ and site/ is then exchanged
with the published one in one atomic step. The generation that was published before is not
deleted: it is kept in output/.spare with a manifest of its files (path -> digest) and
becomes the next build's staging folder, so the next build rewrites only the files that
differ from it. output/.manifest.json describes the published generation. Both are safe to
delete (the next build then writes every file).
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.executor import kept_from_workers
from ..core.model import BuildError

FOLDERS = ("content", "site")
MANIFEST = ".manifest.json"
SPARE = ".spare"
# folder -> relative path -> sha1 of the bytes; "site_keys" -> page -> what it was rendered
# from; "inputs" -> the input fingerprint; "render" -> the render stage's input digest
Manifest = dict[str, Any]


def write_if_changed(folder: Path, rel: str, data: bytes, previous: dict[str, str]) -> str:
    """Write FOLDER/REL unless it already holds these bytes (per `previous`); returns their digest."""
    digest = hashlib.sha1(data).hexdigest()
    target = folder / rel
    if previous.get(rel) != digest or not target.exists():
        # a new file, never the old one rewritten in place: it may be a hard link to the
        # published copy (site/writer.py links the pages a build leaves as published)
        target.unlink(missing_ok=True)
        try:
            target.write_bytes(data)
        except FileNotFoundError:  # first file of its folder: a mkdir per folder, not per file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return digest


def remove_stale(folder: Path, previous: dict[str, str], manifest: dict[str, str]) -> None:
    """Files the folder held that this build did not write, and the folders they emptied."""
    emptied = set()
    for rel in previous.keys() - manifest.keys():
        (folder / rel).unlink(missing_ok=True)
        emptied.add((folder / rel).parent)
    for path in sorted(emptied, key=lambda f: len(f.parts), reverse=True):
        while path != folder and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            path = path.parent


@contextlib.contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """One writer per output folder: a second build stops with a clear message."""
    output.mkdir(parents=True, exist_ok=True)
    with open(output / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build-site is writing to {output}; try again when it ends") from None
        with kept_from_workers(handle.fileno()):
            yield


def _read_manifest(path: Path) -> Manifest | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and all(isinstance(data.get(f), dict) for f in FOLDERS) else None


def _write_manifest(path: Path, manifest: Manifest) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def open_staging(output: Path) -> tuple[Path, Manifest]:
    """This build's staging folder and what it already holds: the spare generation, recycled."""
    staging = output / f".staging-{os.getpid()}"
    spare = output / SPARE
    held: Manifest | None = None
    if spare.is_dir():
        held = _read_manifest(spare / "manifest.json")
        if held is not None and all((spare / f).is_dir() for f in FOLDERS):
            (spare / "manifest.json").unlink()  # from now on it is being changed
            os.rename(spare, staging)
        else:
            held = None
            shutil.rmtree(spare, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    held = held or {f: {} for f in FOLDERS}
    held.setdefault("site_keys", {})
    return staging, held


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def published_manifest(output: Path) -> Manifest | None:
    """The manifest of the published build, if that build is complete and untouched."""
    manifest = _read_manifest(output / MANIFEST)
    if manifest is None or not all((output / f).is_dir() for f in FOLDERS) \
            or not (output / "build-report.json").is_file():
        return None
    return manifest


def publish(staging: Path, output: Path, built: Manifest, in_staging: Manifest) -> None:
    """Put the freshly built content/, site/ and report in place; keep the old ones as the spare.

    `built` lists each folder's files as this build made them (and the build's other keys),
    `in_staging` what the staging folders hold: a folder this build left as published is not
    touched. Each folder is exchanged with the old one in a single atomic step where the
    system allows, so a reader (or a kill -9) never finds output/site missing or half written.
    """
    published = published_manifest(output)
    (output / MANIFEST).unlink(missing_ok=True)  # until the new one is written, nothing is known
    kept = {f for f in FOLDERS if published is not None and built[f] == published[f]}
    # the spare holds what staging holds for a kept folder, the old published one otherwise;
    # what each page of its site was rendered from travels with it
    source = {f: in_staging if f in kept else (published or {}) for f in FOLDERS}
    spare = {f: source[f].get(f) for f in FOLDERS} | {"site_keys": source["site"].get("site_keys", {})}
    for name in FOLDERS:
        if name in kept:
            continue  # unchanged: the published folder stays as it is
        new, current = staging / name, output / name
        if current.exists() and _exchange(new, current):
            continue  # the old folder is now in staging
        old = output / f".old-{name}"
        shutil.rmtree(old, ignore_errors=True)
        if current.exists():
            os.rename(current, old)
        os.rename(new, current)
        if old.exists():
            os.rename(old, new)
    os.replace(staging / "build-report.json", output / "build-report.json")
    shutil.rmtree(output / SPARE, ignore_errors=True)
    if all(spare[f] is not None and (staging / f).is_dir() for f in FOLDERS):
        _write_manifest(staging / "manifest.json", spare)
        os.rename(staging, output / SPARE)
    _write_manifest(output / MANIFEST, built)


def remove_leftovers(output: Path) -> None:
    """Staging folders of builds that were killed; restore a site a killed swap left aside."""
    for leftover in output.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for name in FOLDERS:
        old = output / f".old-{name}"
        if old.exists() and not (output / name).exists():
            os.rename(old, output / name)
        shutil.rmtree(old, ignore_errors=True)
