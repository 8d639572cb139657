"""Running the cells: :func:`run` with a local pool of worker processes (default), in this
process (``workers=0``), or on a Dask cluster (``client=``: a ``distributed.Client``, a scheduler
address, or ``"local"`` for a ``LocalCluster``).

The coordinator (this process) is the store's only writer: workers return each cell's reduced
arrays and the coordinator commits them one cell at a time (``_store.Store.commit``). A cell that
raises is retried once; a cell whose worker died is resubmitted (at most ``MAX_LOST`` times); a
cell that still fails is recorded in ``STORE/failed/`` with its traceback and the rest of the
campaign goes on. Ctrl-C or SIGTERM stops the workers and loses only the cells in flight.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["run", "RunSummary", "plan_workers", "MAX_ATTEMPTS", "MAX_LOST"]

#: attempts per cell that raises (the first run and one retry)
MAX_ATTEMPTS = 2
#: how often a cell is resubmitted after its worker process died
MAX_LOST = 3
_DASK_HINT = ('running a campaign on Dask needs dask.distributed: pip install "glasslens[dask]"')


@dataclasses.dataclass
class RunSummary:
    """What :func:`run` did: cell counts, failures (id -> traceback), wall time."""

    store: str
    n_cells: int
    computed: List[str]
    skipped: List[str]
    failed: Dict[str, str]
    seconds: float
    executor: str
    workers: int
    threads: int
    cell_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed and not self.interrupted and \
            len(self.computed) + len(self.skipped) == self.n_cells

    def line(self) -> str:
        """The one-line summary printed when a run ends."""
        s = (f"campaign {self.store}: {self.n_cells} cells: {len(self.computed)} computed, "
             f"{len(self.skipped)} already stored, {len(self.failed)} failed in "
             f"{self.seconds:.1f} s ({self.executor}, {self.workers} workers x {self.threads} "
             f"threads)")
        if self.interrupted:
            s += "; INTERRUPTED (run the same command again to finish)"
        return s

    def __str__(self) -> str:
        return self.line()


def plan_workers(n_cells: int, workers: Optional[int], threads: Optional[int],
                 cores: Optional[int] = None) -> Tuple[int, int]:
    """(processes, threads per process) with processes x threads = cores when neither is given
    (no oversubscription); ``workers=0`` means in this process."""
    from .._lib._validate import check_int

    cores = cores or os.cpu_count() or 1
    if workers is not None:
        workers = check_int(workers, "workers", 0)
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads == 0:
            raise ValueError(f"threads must be a non-zero int (negative: count back from the "
                             f"CPU count), got {threads!r}")
        threads = threads if threads > 0 else max(1, cores + 1 + threads)
    n = max(1, n_cells)
    if workers is None and threads is None:
        workers = max(1, min(n, cores))
        threads = max(1, cores // workers)
    elif workers is None:
        workers = max(1, min(n, cores // threads))
    elif threads is None:
        threads = max(1, cores // max(1, workers))
    return workers, threads


def _worker_task(cell: Any, threads: int, keep: bool) -> Dict[str, Any]:
    """What a worker runs (module-level, picklable)."""
    from threadpoolctl import threadpool_limits

    from ._cell import run_cell

    with threadpool_limits(limits=threads, user_api="blas"):  # our kernels take n_threads
        return run_cell(cell, threads, keep)


def _warm() -> int:
    """A pool process's first task: import what the cells need."""
    from . import _cell  # noqa: F401
    from .. import nn  # noqa: F401

    return os.getpid()


def _dask_task(cell: Any, threads: Any, keep: bool) -> Dict[str, Any]:
    """A Dask task: ``threads`` is an int or {worker address: threads} (set explicitly: Dask
    workers start with OMP_NUM_THREADS=1)."""
    if isinstance(threads, dict):
        from distributed import get_worker

        threads = threads.get(get_worker().address, 1)
    return _worker_task(cell, int(threads), keep)


class _Interrupt(Exception):
    pass


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def run(config: Any, store: Any, client: Any = None, *, workers: Optional[int] = None,
        threads: Optional[int] = None, progress: Optional[bool] = None) -> RunSummary:
    """Run a campaign into ``store`` (a directory; created when absent or empty).

    config : :class:`Campaign`, its dict, or the path of a TOML config
    store : path of the store; re-running skips the finished cells; a store of another config
        (or not a campaign store) is refused
    client : None (a local pool of worker processes), a ``distributed.Client``, a scheduler
        address (``tcp://host:8786``) or ``"local"`` (a ``distributed.LocalCluster`` of
        ``workers`` processes with one task each)
    workers : worker processes (default ``[run] workers``, else cores // threads); 0 = run the
        cells in this process
    threads : threads per cell (default ``[run] threads``, else cores // workers)
    progress : a bar over cells on stderr (done, running, failed, ETA) and a summary line
        (default: when stderr is a terminal)

    Returns a :class:`RunSummary`. Results do not depend on the executor, the worker count or
    the thread count.
    """
    from ._config import Campaign
    from ._store import Store

    camp = Campaign.coerce(config)
    workers = camp.run.get("workers") if workers is None else workers
    threads = camp.run.get("threads") if threads is None else threads
    keep = bool(camp.run.get("save_ensembles", False))
    if progress is None:
        try:
            progress = sys.stderr.isatty()
        except Exception:
            progress = False
    t0 = time.perf_counter()
    cells = camp.cells()
    remote = client is not None
    if remote:
        _check_dask()
    pre: Any = None
    if remote:  # connect (or start the LocalCluster) before the store is touched
        pre = _DaskExecutor(client, workers, threads)
    else:  # start the worker processes now: they import while the store opens
        from pathlib import Path

        cdir = Path(store) / "cells"
        listed = {p.name for p in cdir.iterdir() if p.is_dir()} if cdir.is_dir() else set()
        n_guess = sum(1 for c in cells if c.id not in listed)
        w_, t_ = plan_workers(n_guess, workers, threads)
        if w_ > 0 and n_guess > 0:
            pre = _PoolExecutor(w_, t_)
            pre.start(n_guess)
    try:
        st = Store(store, camp, create=True)
        lock = st.lock()
    except BaseException:
        if pre is not None:
            pre.stop()
        raise
    try:
        st.clean_tmp()
        done = set(st.finished())
        for cid in done:  # a damaged finished cell is refused before anything runs
            st.read_cell(cid)
        todo = [c for c in cells if c.id not in done]
        skipped = [c.id for c in cells if c.id in done]
        if pre is not None:
            ex = pre
        else:
            w_, t_ = plan_workers(len(todo), workers, threads)
            ex = _InlineExecutor(t_) if w_ == 0 else _PoolExecutor(w_, t_)
        summary = RunSummary(str(st.path), len(cells), [], skipped, {}, 0.0, ex.name,
                             ex.workers, ex.threads)
        _drive(ex, todo, keep, st, summary, bool(progress), len(skipped))
    finally:
        lock.close()
    summary.seconds = time.perf_counter() - t0
    if progress:
        print(summary.line(), file=sys.stderr)
        by_id = {c.id: c for c in cells}
        for cid, tb in summary.failed.items():
            print(f"cell {cid} {cell_text(by_id.get(cid))} failed:\n{tb}", file=sys.stderr)
    if summary.interrupted:
        raise KeyboardInterrupt(summary.line())
    return summary


def cell_text(cell: Any) -> str:
    """``(key=value, ...)`` of a cell's swept settings ("" for None)."""
    if cell is None:
        return ""
    return "(" + ", ".join(f"{k}={v}" for k, v in cell.coords.items()) + ")"


def _cost(cell: Any) -> float:
    """A rough relative cost of a cell: parameters x replicas x epochs x examples."""
    tr = cell.train
    widths = list(tr.get("hidden") or [])
    n_params = sum(a * b for a, b in zip([64] + widths, widths + [10])) or 640
    n = cell.data.get("n_train") or 1000
    return float(n_params) * float(tr.get("replicas", 1)) * float(max(1, tr.get("epochs", 1))) \
        * float(n)


def _check_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(_DASK_HINT) from None


def _drive(ex: Any, todo: List[Any], keep: bool, st: Any, summary: RunSummary,
           progress: bool, n_skipped: int) -> None:
    """Submit, collect, retry and commit; a progress bar over cells."""
    from tqdm.auto import tqdm

    attempts = {c.id: 0 for c in todo}
    lost = {c.id: 0 for c in todo}
    bar = tqdm(total=summary.n_cells, initial=n_skipped, desc="campaign cells", unit="cell",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    old = None
    if threading.current_thread() is threading.main_thread():
        def _term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt("SIGTERM")
        old = signal.signal(signal.SIGTERM, _term)
    try:
        ex.start(len(todo))
        # the costliest cells first (longest-processing-time order: the last cells to finish
        # are short ones, so workers do not idle at the end); the order never changes results
        for c in sorted(todo, key=_cost, reverse=True):
            attempts[c.id] += 1
            ex.submit(c, keep)
        while ex.pending():
            bar.set_postfix_str(f"running {ex.running()}, failed {len(summary.failed)}",
                                refresh=False)
            for cell, result, exc, was_lost in ex.wait():
                if exc is None:
                    st.commit(result)
                    summary.computed.append(cell.id)
                    summary.cell_seconds[cell.id] = result["seconds"]["total"]
                    bar.update(1)
                    continue
                if was_lost:
                    lost[cell.id] += 1
                    retry = lost[cell.id] < MAX_LOST
                else:
                    retry = attempts[cell.id] < MAX_ATTEMPTS
                    attempts[cell.id] += 1 if retry else 0
                if retry:
                    ex.submit(cell, keep)
                else:
                    tb = exc if isinstance(exc, str) else _format(exc)
                    st.record_failure(cell.id, tb, attempts[cell.id])
                    summary.failed[cell.id] = tb
                    bar.update(1)
                bar.set_postfix_str(f"running {ex.running()}, failed {len(summary.failed)}")
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        ex.stop()
        bar.close()
        if old is not None:
            signal.signal(signal.SIGTERM, old)


class _InlineExecutor:
    """The cells one after another in this process (``workers=0``)."""

    name = "inline"

    def __init__(self, threads: int):
        self.workers, self.threads = 0, threads
        self.queue: List[Tuple[Any, bool]] = []

    def start(self, n: int) -> None:
        pass

    def submit(self, cell: Any, keep: bool) -> None:
        self.queue.append((cell, keep))

    def pending(self) -> int:
        return len(self.queue)

    def running(self) -> int:
        return 1 if self.queue else 0

    def wait(self) -> List[Tuple[Any, Any, Any, bool]]:
        cell, keep = self.queue.pop(0)
        try:
            return [(cell, _worker_task(cell, self.threads, keep), None, False)]
        except Exception as exc:
            return [(cell, None, exc, False)]

    def stop(self) -> None:
        self.queue.clear()


class _PoolExecutor:
    """A ProcessPoolExecutor of spawned processes (fork after OpenMP is unsafe); a pool broken
    by a dead worker is replaced and its cells resubmitted."""

    name = "local processes"

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.pool: Any = None
        self.futures: Dict[Any, Any] = {}

    def _new_pool(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                        mp_context=multiprocessing.get_context("spawn"))

    def start(self, n: int) -> None:
        if n and self.pool is None:
            self._new_pool()
            for _ in range(self.workers):  # spawn every process now and import glasslens
                self.pool.submit(_warm)

    def submit(self, cell: Any, keep: bool) -> None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            f = self.pool.submit(_worker_task, cell, self.threads, keep)
        except BrokenProcessPool:
            self._replace_pool()
            f = self.pool.submit(_worker_task, cell, self.threads, keep)
        self.futures[f] = (cell, keep)

    def _replace_pool(self) -> None:
        old = self.pool
        self._new_pool()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def pending(self) -> int:
        return len(self.futures)

    def running(self) -> int:
        return min(self.workers, len(self.futures))

    def wait(self) -> List[Tuple[Any, Any, Any, bool]]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as fwait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = fwait(list(self.futures), return_when=FIRST_COMPLETED, timeout=1.0)
        out = []
        broken = False
        for f in done:
            cell, _ = self.futures.pop(f)
            exc = f.exception()
            if isinstance(exc, BrokenProcessPool):
                broken = True
                out.append((cell, None, exc, True))
            else:
                out.append((cell, None if exc else f.result(), exc, False))
        if broken:
            # every other future of the dead pool fails too: collect them now, new pool next
            for f in list(self.futures):
                cell, _ = self.futures.pop(f)
                try:
                    res = f.result(timeout=30)
                    out.append((cell, res, None, False))
                except BrokenProcessPool as exc:
                    out.append((cell, None, exc, True))
                except Exception as exc:
                    out.append((cell, None, exc, False))
            self._replace_pool()
        return out

    def stop(self) -> None:
        if self.pool is None:
            return
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        for f in self.futures:
            f.cancel()
        self.futures.clear()
        for p in procs:  # the cells in flight are abandoned; nothing of theirs was written
            if p.is_alive():
                p.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


class _DaskExecutor:
    """Cells as Dask tasks (``client.submit``, one task per cell); a task's thread count is set
    explicitly per worker: its host's cores divided among the task slots on that host."""

    name = "dask"

    def __init__(self, client: Any, workers: Optional[int], threads: Optional[int]):
        from distributed import Client, LocalCluster

        self.own: List[Any] = []
        if isinstance(client, str):
            if client == "local":
                n, t = plan_workers(10 ** 6, workers or None, threads)
                with preserved_environ():
                    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", scheduler_port=0)
                client = Client(cluster)
                self.own = [client, cluster]
                self.name = "dask LocalCluster"
            else:
                addr = client
                try:
                    client = Client(addr)
                except OSError as exc:  # unreachable or refused
                    raise ValueError(f"client: cannot reach the Dask scheduler at {addr!r} "
                                     f"({exc})") from None
                self.own = [client]
                self.name = f"dask {client.scheduler.address}"
        elif not isinstance(client, Client):
            raise TypeError(f"client must be a distributed.Client, a scheduler address or "
                            f"'local', got {type(client).__name__}")
        self.client = client
        info = client.scheduler_info(n_workers=-1)["workers"] if _takes_n_workers(client) \
            else client.scheduler_info()["workers"]
        self.workers = len(info)
        if threads is not None:
            self.threads_arg: Any = int(threads)
            self.threads = int(threads)
        else:
            cpus = client.run(os.cpu_count)
            slots: Dict[str, int] = {}
            for addr, w in info.items():
                slots[w["host"]] = slots.get(w["host"], 0) + int(w["nthreads"])
            self.threads_arg = {addr: max(1, int(cpus.get(addr) or 1) // slots[w["host"]])
                                for addr, w in info.items()}
            self.threads = min(self.threads_arg.values()) if self.threads_arg else 1
        self.futures: Dict[Any, Any] = {}
        self.n = 0

    def start(self, n: int) -> None:
        pass

    def submit(self, cell: Any, keep: bool) -> None:
        self.n += 1
        f = self.client.submit(_dask_task, cell, self.threads_arg, keep, pure=False,
                               key=f"glasslens-cell-{cell.id}-{self.n}")
        self.futures[f] = cell

    def pending(self) -> int:
        return len(self.futures)

    def running(self) -> int:
        return sum(1 for f in self.futures if f.status == "pending")

    def wait(self) -> List[Tuple[Any, Any, Any, bool]]:
        from distributed import wait as dwait

        try:
            res = dwait(list(self.futures), timeout=1.0, return_when="FIRST_COMPLETED")
        except TimeoutError:  # distributed raises the builtin (an alias since Python 3.10)
            return []
        out = []
        for f in list(res.done if res else []):
            cell = self.futures.pop(f)
            if f.status == "finished":
                try:
                    out.append((cell, f.result(timeout=60), None, False))
                except Exception as exc:  # its data were on a worker that died meanwhile
                    out.append((cell, None, exc, True))
            elif f.status == "error":
                exc = f.exception()
                lost = type(exc).__name__ == "KilledWorker"
                out.append((cell, None, exc, lost))
            else:  # cancelled or lost with its worker: resubmit
                out.append((cell, None, f"task {f.key} ended {f.status}", True))
            f.release()
        return out

    def stop(self) -> None:
        if self.futures:
            self.client.cancel(list(self.futures))
        self.futures.clear()
        for obj in self.own:
            obj.close()


@contextlib.contextmanager
def preserved_environ() -> Iterator[None]:
    """Restore ``os.environ`` after the block: distributed's Nanny writes OMP_NUM_THREADS=1
    (and MKL_/OPENBLAS_NUM_THREADS, MALLOC_TRIM_THRESHOLD_) into the *parent's* environment
    when it starts workers, which would serialise everything this process starts or imports
    later (torch reads OMP_NUM_THREADS on import)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for k in set(os.environ) - set(saved):
            del os.environ[k]
        for k, v in saved.items():
            if os.environ.get(k) != v:
                os.environ[k] = v


def _takes_n_workers(client: Any) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters
