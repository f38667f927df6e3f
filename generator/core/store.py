"""The build store: each stage's results keyed by a hash of their input and of the code that made them.

One SQLite file, `build.sqlite` under `paths.cache` (default output/.cache), with a table per
stage; deleting the folder only costs time. A damaged file is rebuilt, never trusted. SQLite
transactions survive a kill.
"""
from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def digest(*parts: str | bytes) -> str:
    """A stable hash of the parts, each followed by a NUL byte (sha1: speed, not secrecy)."""
    try:  # strings only, the most frequent: hashed at once (a listing's keys: three times faster)
        return hashlib.sha1(("\0".join(parts) + "\0" * bool(parts)).encode("utf-8")).hexdigest()  # type: ignore[arg-type]
    except TypeError:  # bytes among them
        pass
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


STORE_FILE = "build.sqlite"  # under paths.cache
LEGACY_FILES = ("read.sqlite", "dedup.sqlite", "ner.sqlite", "stories.sqlite", "html.sqlite")  # before the store


def store_path(cache: Path) -> Path:
    return cache / STORE_FILE


LEGACY_TABLES = ("markdown",)  # tables of the store no stage writes any more


def remove_legacy_files(cache: Path) -> None:
    """The per-stage files the store replaced (and their SQLite journals) and the store's
    tables no stage reads any more, left by older builds."""
    for name in LEGACY_FILES:
        for suffix in ("", "-wal", "-shm"):
            (cache / (name + suffix)).unlink(missing_ok=True)
    if not store_path(cache).is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(str(store_path(cache)), timeout=60)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table in tables.intersection(LEGACY_TABLES):
                db.execute(f"DROP TABLE {table}")
            db.commit()
    except sqlite3.DatabaseError:  # a damaged store is rebuilt by the stage that opens it
        pass


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=60)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def connect(path: Path | None) -> sqlite3.Connection:
    """The store at PATH (None: a store in memory, for a build of a few documents in a test); a
    damaged file is started over."""
    if path is None:
        return sqlite3.connect(":memory:")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = _connect(path)
        db.execute("SELECT count(*) FROM sqlite_master")  # a damaged file fails here
        return db
    except sqlite3.DatabaseError:
        path.unlink(missing_ok=True)
        return _connect(path)


class StageCache:
    """Picklable values by key, for one stage: the table STAGE of the store at PATH; `version`
    names the code that produced them (see versions.py)."""

    def __init__(self, path: Path | None, version: str, stage: str) -> None:
        if not stage.isidentifier():
            raise ValueError(f"not a stage name: {stage!r}")
        self.path, self.version, self.table = path, version, stage
        self.db: sqlite3.Connection | None = None
        self.used: set[str] = set()  # the keys this build read or wrote (see prune)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._open(path)
        except sqlite3.DatabaseError:
            path.unlink(missing_ok=True)
            self.db = self._open(path)

    def _open(self, path: Path) -> sqlite3.Connection:
        db = _connect(path)
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, value BLOB)")
        db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.table} LIMIT 1)")  # a damaged file fails here
        return db

    def key(self, *parts: str | bytes) -> str:
        return digest(self.version, *parts)

    def _rows(self, columns: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """COLUMNS of the rows with these keys (asked 500 at a time: SQLite's bound on parameters)."""
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            yield from self.db.execute(f"SELECT {columns} FROM {self.table} WHERE key IN ({','.join('?' * len(chunk))})",
                                       chunk)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        if self.db is None:
            return {}
        found: dict[str, Any] = {}
        for k, v in self._rows("key, value", keys):
            try:
                found[k] = pickle.loads(v)
            except Exception:  # written by another version of a class: recompute
                pass
        self.used.update(found)
        return found

    def existing(self, keys: Iterable[str]) -> set[str]:
        """Which of KEYS the stage holds, read without loading them; they count as used (prune)."""
        if self.db is None:
            return set()
        found = {k for (k,) in self._rows("key", keys)}
        self.used.update(found)
        return found

    def keep(self, *keys: str) -> None:
        """Mark KEYS as used by this build without reading them (a value held in memory)."""
        self.used.update(keys)

    def prune(self) -> int:
        """Remove every row this build neither read nor wrote: results of another code version,
        of texts edited or deleted since. Called by a stage that looked up the result of each
        of its documents, once it succeeded; so the store holds about one result per document
        and stage whatever the number of builds. Returns the number of rows removed."""
        if self.db is None or not self.used:
            return 0
        with self.db:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS used_keys (key TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM used_keys")
            self.db.executemany("INSERT OR IGNORE INTO used_keys VALUES (?)", ((k,) for k in self.used))
            removed = self.db.execute(f"DELETE FROM {self.table} WHERE key NOT IN (SELECT key FROM used_keys)").rowcount
            self.db.execute("DELETE FROM used_keys")
        return removed

    def prune_to(self, keys: Iterable[str]) -> int:
        """Remove every row but KEYS (a stage that knows what its next build reads: the rows it
        read this time to take out of its facts are gone too)."""
        self.used = set(keys)
        return self.prune()

    def put_many(self, items: dict[str, Any]) -> None:
        if self.db is None or not items:
            return
        self.used.update(items)
        with self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)",
                                [(k, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in items.items()])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class StoredOnce:
    """A value made once per process (MAKE: slow) and kept in a stage's store, so that the next
    process reads it back instead of making it again: the reference lists, the stories' rarity
    table. KEY must name what the value is made from (a stage's version)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.value: Any = None

    def get(self, cache: StageCache | None, key: str) -> Any:
        if self.value is not None:
            if cache:
                cache.keep(key)  # held in memory since an earlier build: still this build's
            return self.value
        self.value = (cache.get_many([key]) if cache else {}).get(key)
        if self.value is None:
            self.value = self.make()
            if cache:
                cache.put_many({key: self.value})
        return self.value
