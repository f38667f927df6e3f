"""The one place that knows about parallelism: map a stage function over batches.

Stages hand over a picklable function and a list of items; a distributed engine (Dask, say)
could replace the local process pool here without touching the stages. Read-only state that
every batch needs (the render stage's page contexts) is passed as `shared`: here it reaches
the workers by fork, never pickled; a distributed engine would broadcast it once.
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_FOR_POOL = 400  # below this, starting workers costs more than it saves

_SHARED: Any = None  # the `shared` state of the current map, inherited by forked workers
_PARENT_ONLY_FDS: set[int] = set()  # descriptors a worker must not keep open (the build lock)


@contextlib.contextmanager
def kept_from_workers(fd: int) -> Iterator[None]:
    """While inside, workers close FD: a forked worker that outlived a killed build must not
    hold its lock (an flock belongs to every process sharing the descriptor)."""
    _PARENT_ONLY_FDS.add(fd)
    try:
        yield
    finally:
        _PARENT_ONLY_FDS.discard(fd)


def _init_worker() -> None:
    for fd in _PARENT_ONLY_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    try:  # Linux: a worker ends with the build that started it, even on SIGKILL
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _call_with_shared(func: Callable[[Any, Sequence[T]], list[R]], batch: Sequence[T]) -> list[R]:
    return func(_SHARED, batch)


def map_batches(func: Callable[..., list[R]], items: Sequence[T], jobs: int,
                batch_size: int = 200, on_batch: Callable[[int], None] | None = None,
                shared: Any = None) -> list[R]:
    """func(batch) -> results for each batch, concatenated in input order.

    With `shared`, func is called as func(shared, batch).
    """
    global _SHARED
    call: Callable[[Sequence[T]], list[R]] = func if shared is None else (lambda b: func(shared, b))
    out: list[R] = []
    if jobs <= 1 or len(items) < MIN_ITEMS_FOR_POOL:
        for batch in _batches(items, batch_size):
            out.extend(call(batch))
            if on_batch:
                on_batch(len(batch))
        return out
    batches = list(_batches(items, batch_size))
    if shared is not None:
        if "fork" not in multiprocessing.get_all_start_methods():  # no fork: run here instead
            return map_batches(func, items, 1, batch_size, on_batch, shared)
        _SHARED = shared
        context = multiprocessing.get_context("fork")
        task: Callable[[Sequence[T]], list[R]] = functools.partial(_call_with_shared, func)
    else:
        context = None
        task = func
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker) as pool:
            for batch, results in zip(batches, pool.map(task, batches)):
                out.extend(results)
                if on_batch:
                    on_batch(len(batch))
    finally:
        _SHARED = None
    return out

