"""The build store: what older versions left in the cache folder is cleared, the rest kept."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from generator.core.store import StageCache, digest, remove_legacy_files, store_path


def test_what_older_versions_left_is_removed_and_the_stage_tables_kept(tmp_path: Path) -> None:
    (tmp_path / "ner.sqlite").write_bytes(b"a per-stage file from before the store")
    stage = StageCache(store_path(tmp_path), "v1", "read")
    stage.put_many({"key": "a stored result"})
    stage.close()
    with sqlite3.connect(store_path(tmp_path)) as db:
        db.execute("CREATE TABLE markdown (key TEXT PRIMARY KEY, value BLOB)")
    remove_legacy_files(tmp_path)
    assert not (tmp_path / "ner.sqlite").exists()
    with sqlite3.connect(store_path(tmp_path)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "markdown" not in tables and "read" in tables
    assert StageCache(store_path(tmp_path), "v1", "read").get_many(["key"]) == {"key": "a stored result"}


def test_a_damaged_store_does_not_stop_the_cleanup(tmp_path: Path) -> None:
    store_path(tmp_path).write_bytes(b"not a database" * 100)
    remove_legacy_files(tmp_path)  # the stage that opens it rebuilds it
    assert StageCache(store_path(tmp_path), "v1", "read").get_many(["key"]) == {}


def test_digest_hashes_each_part_and_its_separator_whatever_the_path() -> None:
    """digest() hashes strings at once and mixed parts one by one: the same hash either way, so
    the keys of a store written before stay valid (and '' never equals no part at all)."""
    def one_by_one(*parts: str | bytes) -> str:
        h = hashlib.sha1()
        for part in parts:
            h.update(part.encode("utf-8") if isinstance(part, str) else part)
            h.update(b"\0")
        return h.hexdigest()

    for parts in [(), ("",), ("", ""), ("a", "b"), ("ab",), ("é", "日本", "\0"), ("a", b"b"), (b"\xff",)]:
        assert digest(*parts) == one_by_one(*parts), parts
    assert len({digest(), digest(""), digest("", ""), digest("a", "b"), digest("ab")}) == 5
