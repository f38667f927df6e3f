"""The one place that knows about parallelism: map a stage function over batches.

Stages hand over a picklable function and a list of items. By default the batches run in
local worker processes; inside `dask_engine(...)` they run as tasks on a Dask cluster
(dask.distributed: a scheduler's address, or "local" for a LocalCluster started here), and
the stages do not change. Read-only state that every batch needs (the render stage's page
contexts) is passed as `shared`: local workers inherit it by fork, never pickled; on Dask it
is pickled once and broadcast to every worker, which unpickles it once per map.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib.metadata
import logging
import multiprocessing
import os
import pickle
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from .model import BuildError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_FOR_POOL = 400  # below this, starting workers costs more than it saves
LOST_BATCH_ATTEMPTS = 3  # times a batch lost with a dying Dask worker is sent again
NO_WORKER_WAIT_S = 30  # seconds a Dask build waits with no worker left (a nanny restarts one in a few)

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


def init_worker() -> None:
    for fd in _PARENT_ONLY_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    try:  # Linux: a worker ends with the build that started it, even on SIGKILL
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
                shared: Any = None, then: Callable[[Sequence[T], list[R]], list[Any]] | None = None) -> list[Any]:
    """func(batch) -> results for each batch, concatenated in input order.

    With `shared`, func is called as func(shared, batch). With `then`, each batch's results
    are replaced by then(batch, results), called in this process as each batch comes back
    (so that large results, pages sent back by Dask workers, are not all held at once).
    """
    global _SHARED
    if _DASK is not None and len(items):
        return _DASK.map(func, list(_batches(items, batch_size)), on_batch, shared, then)
    call: Callable[[Sequence[T]], list[Any]] = func if shared is None else (lambda b: func(shared, b))
    if then is not None:
        inner = call
        call = lambda b: then(b, inner(b))  # noqa: E731
    out: list[Any] = []
    if jobs <= 1 or len(items) < MIN_ITEMS_FOR_POOL:
        for batch in _batches(items, batch_size):
            out.extend(call(batch))
            if on_batch:
                on_batch(len(batch))
        return out
    batches = list(_batches(items, batch_size))
    if shared is not None:
        if "fork" not in multiprocessing.get_all_start_methods():  # no fork: run here instead
            return map_batches(func, items, 1, batch_size, on_batch, shared, then)
        _SHARED = shared
        context = multiprocessing.get_context("fork")
        task: Callable[[Sequence[T]], list[R]] = functools.partial(_call_with_shared, func)
    else:
        context = None
        task = func
    # what this process holds goes into the collector's permanent generation for the workers'
    # lifetime: a full collection in a worker would otherwise write to every object's header,
    # copying the pages it shares with this process (the views of a whole site, say)
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=init_worker) as pool:
            for batch, results in zip(batches, pool.map(task, batches)):
                out.extend(results if then is None else then(batch, results))
                if on_batch:
                    on_batch(len(batch))
    finally:
        _SHARED = None
        gc.unfreeze()
    return out



# ------------------------------------------------------------------------------------ Dask

_DASK: DaskEngine | None = None  # the cluster map_batches runs on, inside dask_engine()


@contextlib.contextmanager
def dask_engine(scheduler: str | None, workers: int) -> Iterator[None]:
    """While inside, map_batches runs on the Dask cluster at SCHEDULER (a tcp:// address, or
    "local": a LocalCluster of WORKERS single-threaded processes on this machine).

    The cluster is reached on the first map, so a build with nothing to do never starts one.
    With no SCHEDULER, nothing changes: local processes.
    """
    global _DASK
    if not scheduler:
        yield
        return
    engine = DaskEngine(scheduler, workers)
    outer, _DASK = _DASK, engine
    try:
        yield
    finally:
        _DASK = outer
        engine.close()


# glibc's mallopt parameters, and the largest values its own dynamic thresholds reach (64-bit)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
DYNAMIC_MMAP_MAX, DYNAMIC_TRIM_MAX = 32 * 2**20, 64 * 2**20


def restore_malloc_thresholds() -> None:
    """On a Dask worker: undo what MALLOC_TRIM_THRESHOLD_ did to glibc's allocator. Dask's nanny
    starts every worker with it (to give freed memory back at once), which also pins the mmap
    threshold at 128 KB: each of the large arrays spaCy's NER allocates is then mapped and
    unmapped again, and NER took 25-30% more CPU on a worker than in a local process (3,000 texts:
    52 s of CPU against 41 s). The thresholds set here are those glibc's dynamic ones rise to by
    themselves."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, DYNAMIC_MMAP_MAX)
        libc.mallopt(M_TRIM_THRESHOLD, DYNAMIC_TRIM_MAX)
    except (OSError, AttributeError):  # not glibc
        pass


def distributed() -> bool:
    """True while map_batches runs on Dask: workers may be other machines, which see none of
    this machine's files (inputs go to them as bytes, pages come back as bytes)."""
    return _DASK is not None


def preload_on_workers(name: str, func: Callable[[], Any]) -> None:
    """On Dask, run FUNC on every worker before the next map, and on any worker that joins later
    (a worker plugin named NAME). A standing cluster's workers keep what FUNC loads, so the
    next build that preloads the same NAME finds it there. Outside Dask: nothing."""
    if _DASK is not None:
        _DASK.preload(name, func)


class DaskEngine:
    """A dask.distributed client; its scheduler places the tasks, one task per batch."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.client: Any = None
        self.cluster: Any = None

    def connect(self) -> Any:
        if self.client is not None:
            return self.client
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BuildError("--dask needs dask.distributed: pip install 'dask[distributed]'") from None
        for name in ("distributed", "dask"):  # its INFO lines about workers coming and going are noise here
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
        try:
            if self.scheduler == "local":
                # one thread per worker process: the stages are pure Python, the GIL would serialise threads
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR,
                                            host="127.0.0.1",  # its health page on any free port, not 8787
                                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.scheduler, timeout="20s")
                self.client.wait_for_workers(1, timeout=60)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise BuildError(f"cannot use the Dask cluster at {self.scheduler}: {exc}") from None
        log.info("dask: %d workers at %s", len(self.client.scheduler_info()["workers"]),
                 self.client.scheduler.address)
        self.check_workers()
        self.preload("malloc-thresholds", restore_malloc_thresholds)
        return self.client

    def check_workers(self) -> None:
        """Every worker must run the same generator code and libraries as this build: the same
        inputs must give the same site wherever a batch runs."""
        here = worker_identity()
        for address, there in sorted(self.client.run(worker_identity).items()):
            differ = sorted(k for k in here.keys() | there.keys() if here.get(k) != there.get(k))
            if differ:
                shown = ", ".join(f"{k} {here.get(k) or 'missing'} here, {there.get(k) or 'missing'} there"
                                  for k in differ[:3])
                raise BuildError(f"Dask worker {address} does not run this build's code and libraries "
                                 f"({shown}); install the same checkout and models.txt on every worker")

    def preload(self, name: str, func: Callable[[], Any]) -> None:
        from distributed.diagnostics.plugin import WorkerPlugin

        class Preload(WorkerPlugin):  # sent by value (cloudpickle): workers need not import it
            def setup(self, worker: Any) -> None:
                func()

        self.connect().register_plugin(Preload(), name=name)

    def map(self, func: Callable[..., list[R]], batches: list[Sequence[T]],
            on_batch: Callable[[int], None] | None, shared: Any,
            then: Callable[[Sequence[T], list[R]], list[Any]] | None = None) -> list[Any]:
        """The results of every batch, in order. A batch lost with a worker that died (its input
        lived there, or the worker died under it) is sent again to the workers left, up to
        LOST_BATCH_ATTEMPTS times; with no worker left for NO_WORKER_WAIT_S seconds the build
        stops with a one-line error rather than waiting for ever."""
        client = self.connect()
        started = time.perf_counter()
        kwargs: dict[str, Any] = {}
        task = functools.partial(_run_batch, stage=func)
        if shared is not None:
            kwargs = {"payload": client.scatter(deep_dumps(shared), broadcast=True, hash=False)}
            task = functools.partial(_run_batch, stage=func, token=uuid.uuid4().hex)
        results: list[list[Any] | None] = [None] * len(batches)
        try:
            for attempt in range(LOST_BATCH_ATTEMPTS + 1):
                todo = [i for i, r in enumerate(results) if r is None]
                if not todo:
                    break
                if attempt:
                    log.warning("dask: %d batches lost with a worker, sent again", len(todo))
                    try:
                        client.wait_for_workers(1, timeout=NO_WORKER_WAIT_S)
                    except (TimeoutError, OSError):
                        raise self._no_worker() from None
                self._run_once(client, task, kwargs, batches, todo, results, on_batch, then)
            else:
                raise BuildError(f"Dask: batches were lost with workers {LOST_BATCH_ATTEMPTS + 1} times "
                                 f"(cluster at {self.scheduler}); the published site is unchanged")
        finally:
            if shared is not None:
                client.cancel([kwargs["payload"]])
                with contextlib.suppress(Exception):  # a worker that died has nothing to forget
                    client.run(_forget_shared)
        log.info("dask: %d batches of %s in %.2f s", len(batches), _name_of(func), time.perf_counter() - started)
        return [r for batch in results for r in batch]  # type: ignore[union-attr]

    def _run_once(self, client: Any, task: Callable[..., bytes], kwargs: dict[str, Any],
                  batches: list[Sequence[T]], todo: list[int], results: list[list[Any] | None],
                  on_batch: Callable[[int], None] | None,
                  then: Callable[[Sequence[T], list[R]], list[Any]] | None) -> None:
        """Send the batches TODO, fill in `results` for those that come back; the others (lost
        with a worker) stay None."""
        from distributed import wait
        from distributed.client import FuturesCancelledError
        from distributed.scheduler import KilledWorker

        # each batch travels as one pickle (Dask would frame every array and string of it on its
        # own), straight to the workers rather than inside the task graph through the scheduler
        inputs = client.scatter([pickle.dumps(batches[i], protocol=pickle.HIGHEST_PROTOCOL) for i in todo], hash=False)
        with warnings.catch_warnings():  # a stage function may carry corpus-wide state (known names): sent once
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            futures = client.map(task, inputs, pure=False, **kwargs)
        position = {future.key: i for i, future in zip(todo, futures)}
        waiting, alone_since = set(futures), None
        try:
            while waiting:
                try:
                    done = wait(list(waiting), timeout=1.0, return_when="FIRST_COMPLETED").done
                except TimeoutError:  # none came back within the second
                    done = set()
                except FuturesCancelledError:  # one was lost with its worker: said by its status
                    done = {f for f in waiting if f.status != "pending"}
                if not done:
                    if client.scheduler_info()["workers"]:
                        alone_since = None
                    elif alone_since is None:
                        alone_since = time.monotonic()
                    elif time.monotonic() - alone_since > NO_WORKER_WAIT_S:
                        raise self._no_worker()
                    continue
                for future in done:
                    waiting.discard(future)
                    i = position[future.key]
                    if future.status == "finished":
                        result = pickle.loads(future.result())
                        results[i] = result if then is None else then(batches[i], result)
                        if on_batch:
                            on_batch(len(batches[i]))
                    elif future.status == "error" and not isinstance(future.exception(), KilledWorker):
                        future.result()  # the stage's own error: raised here, as it would be locally
                    future.release()
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            client.cancel(inputs)

    def _no_worker(self) -> BuildError:
        return BuildError(f"Dask: no worker left at {self.scheduler} for {NO_WORKER_WAIT_S} s; "
                          "the published site is unchanged")

    def close(self) -> None:
        for part in (self.client, self.cluster):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.close()
        self.client = self.cluster = None


def _name_of(func: Any) -> str:
    while isinstance(func, functools.partial):
        func = func.keywords.get("stage", func.func)
    return getattr(func, "__qualname__", repr(func))


def worker_identity() -> dict[str, str]:
    """What a batch's result depends on besides its input: the generator's code, and the
    versions of the libraries and models it calls (runs on each worker, and here)."""
    from ..corpus.ner import MODELS
    from .versions import stage_version

    found = {"generator": stage_version("build"), "python": ".".join(map(str, sys.version_info[:2]))}
    try:
        needed = [r.split(";")[0] for r in importlib.metadata.requires("news-digest") or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        needed = []
    names = {n.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for n in needed} | set(MODELS.values())
    for name in sorted(names - {"dask", "rich", "pagefind"}):  # what batches never call
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = ""
    return found


def deep_dumps(value: Any) -> bytes:
    """Pickle VALUE, however deep its references go (pages chained newer -> older recurse
    once per page): in a thread with a large stack, so no recursion limit is met."""
    import cloudpickle  # comes with dask.distributed; pickles the lambdas some page contexts hold

    out: list[bytes] = []
    failure: list[BaseException] = []

    def dump() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 1_000_000))
        try:
            out.append(cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            sys.setrecursionlimit(limit)

    size = threading.stack_size()
    threading.stack_size(1 << 29)  # address space, only touched as deep as the pickle goes
    try:
        worker = threading.Thread(target=dump, name="deep-pickle")
        worker.start()
    finally:
        threading.stack_size(size)
    worker.join()
    if failure:
        raise failure[0]
    return out[0]


_WORKER_SHARED: tuple[str, Any] | None = None  # on a Dask worker: the current map's shared state
_WORKER_LOCK = threading.Lock()


def _run_batch(blob: bytes, stage: Callable[..., list[R]], token: str | None = None,
               payload: bytes | None = None) -> bytes:
    """One batch of a map, on a Dask worker: pickled in, pickled out. With shared state
    (TOKEN names the map), the state is unpickled once per worker and map."""
    global _WORKER_SHARED
    batch = pickle.loads(blob)
    if token is None:
        return pickle.dumps(stage(batch), protocol=pickle.HIGHEST_PROTOCOL)
    with _WORKER_LOCK:
        if _WORKER_SHARED is None or _WORKER_SHARED[0] != token:
            _WORKER_SHARED = None  # the previous map's state goes before the next one arrives
            _WORKER_SHARED = (token, pickle.loads(payload))  # type: ignore[arg-type]
        shared = _WORKER_SHARED[1]
    return pickle.dumps(stage(shared, batch), protocol=pickle.HIGHEST_PROTOCOL)


def _forget_shared() -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = None
