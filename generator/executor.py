"""The one place that knows about parallelism: map a stage function over batches.

Stages hand over a picklable function and a list of items; a distributed engine (Dask, say)
could replace the local process pool here without touching the stages.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_FOR_POOL = 400  # below this, starting workers costs more than it saves


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def map_batches(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], jobs: int,
                batch_size: int = 200, on_batch: Callable[[int], None] | None = None) -> list[R]:
    """func(batch) -> results for each batch, concatenated in input order."""
    out: list[R] = []
    if jobs <= 1 or len(items) < MIN_ITEMS_FOR_POOL:
        for batch in _batches(items, batch_size):
            out.extend(func(batch))
            if on_batch:
                on_batch(len(batch))
        return out
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        batches = list(_batches(items, batch_size))
        for batch, results in zip(batches, pool.map(func, batches)):
            out.extend(results)
            if on_batch:
                on_batch(len(batch))
    return out
