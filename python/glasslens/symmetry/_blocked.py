"""All-pairs weight matching in tiles: locally one tile after another, or as Dask tasks.

The ``M (M - 1) / 2`` pairs of an ensemble are cut into square tiles of the upper triangle of
the ``M x M`` pair matrix: replicas ``I = [i0, i1)`` against ``J = [j0, j1)`` with blocks of
``block_size`` consecutive replicas, ``I <= J`` (a diagonal tile solves its pairs ``a < b``
only). A tile needs only the replicas of its two blocks: with a ``dask.distributed.Client``
the blocks are scattered once (one future per block) and every tile task receives two of
them, so a task holds ``2 block_size`` replicas and its tile's results, whatever ``M``.

Every pair is solved by the code of the single call (the C++ kernel ``lap_pairs_block``
shares its pair routine with ``lap_all_pairs``; the float64 and deep paths call the same numpy
/ ``match_weights`` code per pair), and every tile's results are written to fixed positions of
the output, so the blocked result equals the single call bit for bit, for any block size,
worker count and order of completion.

Dask is an optional dependency (``pip install "glasslens[dask]"``); it is imported only when a
client is given.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._lib._validate import check_int
from ..nn._network import Ensemble
from ._assignment import linear_sum_assignment_batch

__all__ = ["INSTALL_HINT", "require_distributed", "check_client", "tiles", "tile_bytes",
           "default_block_size", "run_tiles", "Tile"]

INSTALL_HINT = 'pip install "glasslens[dask]"'

#: most bytes one tile task may hold by default (its two blocks of replicas, the kernel's
#: outputs and the compact permutations it sends back)
TILE_BYTES = 256 * 2 ** 20

#: tiles per worker thread aimed at by the default block size (load balance: the diagonal
#: tiles hold half the pairs of the others)
TILES_PER_THREAD = 4

#: fewest pairs per tile aimed at by the default block size (one pair of 64-32-10 networks
#: takes ~11 us of CPU: 20,000 pairs ~0.2 s against Dask's ~5 ms per task)
MIN_PAIRS_PER_TILE = 20_000

Tile = Tuple[int, int, int, int]  # i0, i1, j0, j1


def require_distributed() -> Any:
    """The ``distributed`` module, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "client= needs dask.distributed, which is not installed; install it with "
            f"{INSTALL_HINT}") from exc
    return distributed


def check_client(client: Any) -> Any:
    """``client`` if it is None or a ``dask.distributed.Client``, else a TypeError naming it."""
    if client is None:
        return None
    distributed = require_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError("client must be a dask.distributed.Client or None, got "
                        f"{type(client).__name__}")
    if client.status not in ("running", "connecting", "newly-created"):
        raise ValueError(f"client is not connected (status {client.status!r})")
    return client


def tiles(M: int, block_size: int) -> List[Tile]:
    """The tiles ``(i0, i1, j0, j1)`` of the upper triangle, row-major (I <= J)."""
    edges = list(range(0, M, block_size)) + [M]
    nb = len(edges) - 1
    return [(edges[i], edges[i + 1], edges[j], edges[j + 1])
            for i in range(nb) for j in range(i, nb)]


def _n_pairs(t: Tile) -> int:
    i0, i1, j0, j1 = t
    n = i1 - i0
    return n * (n - 1) // 2 if i0 == j0 else n * (j1 - j0)


def _perm_dtype(H: int) -> np.dtype:
    """Smallest unsigned type holding unit indices 0..H-1 (lossless transfer of the perms)."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if H <= np.iinfo(dt).max + 1:
            return np.dtype(dt)
    return np.dtype(np.int64)


def tile_bytes(block_size: int, H: Sequence[int], D: int, perms: bool = True) -> int:
    """Bytes one tile task holds: two blocks of ``(block_size, H, D)`` float32 unit features
    (float64 for cost_dtype=float64, roughly the parameters for deeper networks), the ``(b, b)``
    totals and, with ``perms``, the kernel's ``(b, b, H)`` int64 permutations and the compact
    copy sent back."""
    b = int(block_size)
    h = int(sum(H))
    inputs = 2 * b * h * D * 4
    out = b * b * 8 + (b * b * h * (8 + _perm_dtype(max(H) if H else 1).itemsize) if perms else 0)
    return inputs + out


def default_block_size(M: int, H: Sequence[int], D: int, n_workers_threads: int,
                       perms: bool = True) -> int:
    """Replicas per block: ``TILES_PER_THREAD`` tiles per worker thread, fewer where a tile
    would hold under ``MIN_PAIRS_PER_TILE`` pairs (Dask's cost per task, ~5 ms, stays ~1% of
    the work), and at most ``TILE_BYTES`` per task."""
    M = int(M)
    want = TILES_PER_THREAD * max(1, n_workers_threads)
    floor = max(1, (M * (M - 1) // 2) // MIN_PAIRS_PER_TILE)
    if floor < want:  # the largest nb with nb (nb + 1) / 2 <= floor
        nb = max(1, int((math.sqrt(8 * floor + 1) - 1) // 2))
    else:  # the smallest nb with nb (nb + 1) / 2 >= want
        nb = max(1, math.ceil((math.sqrt(8 * want + 1) - 1) / 2))
    b = max(1, math.ceil(M / nb))
    while b > 1 and tile_bytes(b, H, D, perms) > TILE_BYTES:
        b = max(1, b * 3 // 4)
    return b


# ---- the work of one tile (runs on a worker) -----------------------------------------------------
def _tile_fast(A: np.ndarray, B: np.ndarray, diagonal: bool, n_threads: int,
               want_perms: bool) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """float32 unit features: the C++ tile kernel; perms returned compact (lossless)."""
    perms, totals = _core.symmetry.lap_pairs_block(A, B, diagonal=diagonal, n_threads=n_threads,
                                                   return_perms=want_perms)
    if not want_perms:
        return None, totals
    return perms.astype(_perm_dtype(A.shape[1])), totals


def _tile_f64(A: np.ndarray, B: np.ndarray, diagonal: bool, n_threads: int, want_perms: bool,
              chunk: int) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """float64 unit features: per row replica a, one GEMM + one batched LAP per ``chunk`` of
    replicas b (as the single call), ``n_threads`` of them at a time."""
    ma, mb, h = A.shape[0], B.shape[0], A.shape[1]
    perms = np.zeros((ma, mb, h), dtype=_perm_dtype(h)) if want_perms else None
    totals = np.zeros((ma, mb))
    tasks = [(a, np.arange(s, min(s + chunk, mb))) for a in range(ma)
             for s in range((a + 1) if diagonal else 0, mb, chunk)]

    def work(task):
        a, bs = task
        C = np.matmul(B[bs], A[a].T)  # (k, H_b, H_a)
        _, col, tot = linear_sum_assignment_batch(C, maximize=True, n_threads=1,
                                                  return_totals=True)
        return a, bs, np.argsort(col, axis=1), tot

    def store(res):
        a, bs, p, tot = res
        if perms is not None:
            perms[a, bs] = p
        totals[a, bs] = tot

    from ._matching import run_tasks

    run_tasks(work, store, tasks, n_threads)
    return perms, totals


def _tile_deep(A: Any, B: Any, diagonal: bool, want_perms: bool, max_iter: int,
               seed: int) -> Tuple[Optional[List[np.ndarray]], np.ndarray]:
    """Deeper networks (Ensembles A, B): ``match_weights`` per pair, as the single call."""
    from ._matching import hidden_widths, match_weights

    H = hidden_widths(A)
    ma, mb = A.n_replicas, B.n_replicas
    perms = [np.zeros((ma, mb, h), dtype=_perm_dtype(h)) for h in H] if want_perms else None
    totals = np.zeros((ma, mb))
    for a in range(ma):
        na = A[a]
        for b in range((a + 1) if diagonal else 0, mb):
            m = match_weights(na, B[b], max_iter=max_iter, seed=seed)
            if perms is not None:
                for l in range(len(H)):
                    perms[l][a, b] = m.perms[l]
            totals[a, b] = m.objective
    return perms, totals


def tile_task(kind: str, A: Any, B: Any, diagonal: bool, n_threads: int, want_perms: bool,
              chunk: int, max_iter: int, seed: int) -> Tuple[Any, np.ndarray]:
    """One tile: ``(perms, totals)`` of replicas A (rows) against B (columns); ``perms[a, b]``
    maps B[b] onto A[a] (an ``(|A|, |B|, H)`` array, a list of them for ``kind='deep'``, or
    None), ``totals[a, b]`` the matched inner product. A picklable top-level function (it runs
    on Dask workers)."""
    if kind == "fast":
        return _tile_fast(A, B, diagonal, n_threads, want_perms)
    if kind == "f64":
        return _tile_f64(A, B, diagonal, n_threads, want_perms, chunk)
    if kind == "deep":
        return _tile_deep(A, B, diagonal, want_perms, max_iter, seed)
    raise AssertionError(f"unknown tile kind {kind!r}")  # pragma: no cover


# ---- running the tiles -----------------------------------------------------------------------
def _slice(data: Any, i0: int, i1: int) -> Any:
    """Replicas i0..i1-1 of unit features (an array) or of an Ensemble (its layers only)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data[i0:i1])
    return Ensemble([W[i0:i1] for W in data.weights],
                    None if data.biases is None else [b[i0:i1] for b in data.biases])


def _local(kind: str, data: Any, tl: List[Tile], nt: int, want_perms: bool, kw: Dict[str, Any]
           ) -> Iterator[Tuple[Tile, Any]]:
    for t in tl:
        i0, i1, j0, j1 = t
        yield t, tile_task(kind, _slice(data, i0, i1), _slice(data, j0, j1), i0 == j0, nt,
                           want_perms, **kw)


def _dask(client: Any, kind: str, data: Any, tl: List[Tile], block_size: int, nt: int,
          want_perms: bool, kw: Dict[str, Any]) -> Iterator[Tuple[Tile, Any]]:
    distributed = require_distributed()
    M = data.shape[0] if isinstance(data, np.ndarray) else data.n_replicas
    starts = list(range(0, M, block_size))
    # hash=False: fresh keys (a block equal to one of an earlier call, whose release may still
    # be on its way to the scheduler, must not be forgotten with it)
    blocks = client.scatter([_slice(data, s, min(s + block_size, M)) for s in starts],
                            hash=False)
    by_start = dict(zip(starts, blocks))
    futures = {}
    # largest tiles first (Dask runs tasks roughly in submission order): the diagonal tiles,
    # with half the pairs, fill the gaps at the end (longest-processing-time-first balance)
    for t in sorted(tl, key=lambda t: -_n_pairs(t)):
        i0, _, j0, _ = t
        f = client.submit(tile_task, kind, by_start[i0], by_start[j0], i0 == j0, nt, want_perms,
                          pure=False, **kw)
        futures[f.key] = (t, f)
    try:
        # results are fetched one at a time from this thread (as_completed(with_results=True)
        # gathers them concurrently, which once left a gather hanging on a loaded machine)
        for f in distributed.as_completed([f for _, f in futures.values()]):
            t, _ = futures.pop(f.key)
            try:
                res = f.result()
            finally:
                f.release()  # also when it failed (the traceback keeps this frame alive)
            yield t, res
    finally:
        for _, f in futures.values():
            f.cancel()
        del blocks, by_start


def run_tiles(kind: str, data: Any, M: int, block_size: int, nt: int, want_perms: bool,
              client: Any, progress: bool, **kw: Any) -> Iterator[Tuple[Tile, Any]]:
    """Yield ``((i0, i1, j0, j1), (perms, totals))`` for every tile (in completion order with a
    client, row-major without), with a tqdm bar over the tiles when ``progress``."""
    tl = tiles(M, block_size)
    it = (_dask(client, kind, data, tl, block_size, nt, want_perms, kw) if client is not None
          else _local(kind, data, tl, nt, want_perms, kw))
    if not progress:
        yield from it
        return
    from tqdm.auto import tqdm

    where = "Dask tasks" if client is not None else "tiles"
    with tqdm(total=len(tl), desc=f"pairwise alignment of {M} replicas ({where} of "
              f"{block_size} x {block_size})", unit="tile") as bar:
        for item in it:
            bar.update(1)
            yield item


def check_block_size(block_size: Any) -> Optional[int]:
    """None or a positive int (ValueError / TypeError naming ``block_size``)."""
    if block_size is None:
        return None
    return check_int(block_size, "block_size", 1)
