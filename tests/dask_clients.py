"""Dask clients for the tests of the blocked (``client=``) paths.

``inprocess_client()``: one in-process cluster (1 worker, 2 threads, no processes) shared by
the wiring tables, started on first use and closed by ``close()`` (each wiring module's
teardown) or at exit; ``CLIENT`` is the placeholder that
a wiring row passes as ``client=`` and ``call(fn, **kw)`` swaps for it, recording the number of
Dask tasks the call ran in ``TASKS[block_size]``. Tests skip where dask is not installed.
"""
import atexit
from typing import Any, Callable, Dict, Optional

import pytest


class _Placeholder:
    def __repr__(self) -> str:
        return "<in-process dask client>"


CLIENT = _Placeholder()
#: number of Dask tasks of the latest call through the client, by its block_size
TASKS: Dict[Optional[int], int] = {}


_open: Dict[str, Any] = {}


def inprocess_client() -> Any:
    """The shared in-process client (started on first use)."""
    if "client" not in _open:
        distributed = pytest.importorskip("distributed")
        _open["cluster"] = distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0")
        _open["client"] = distributed.Client(_open["cluster"])
    return _open["client"]


def close() -> None:
    """Close the shared client and its cluster (a test module's teardown; also at exit)."""
    if "client" in _open:
        _open.pop("client").close()
        _open.pop("cluster").close()


atexit.register(close)


def call(fn: Callable[..., Any], **kw: Any) -> Any:
    """``fn(**kw)``, with the placeholder ``CLIENT`` replaced by the in-process client."""
    if kw.get("client") is not CLIENT:
        return fn(**kw)
    import distributed

    c = inprocess_client()
    kw["client"] = c
    with distributed.get_task_stream(c) as ts:
        out = fn(**kw)
    TASKS[kw.get("block_size")] = sum(1 for t in ts.data if "tile_task" in str(t.get("key")))
    return out
