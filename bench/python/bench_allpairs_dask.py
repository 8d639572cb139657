"""Blocked all-pairs alignment on a Dask LocalCluster against the single call (issue 16).

M replicas of a 64-32-10 network trained briefly on digits (SGD, seed 0). Timed, best of
``--repeats``:

* single: ``pairwise_alignment(ens, n_threads=2)`` (the C++ all-pairs kernel, one call);
* dask 2x1: ``pairwise_alignment(ens, client=c)`` on ``LocalCluster(n_workers=2,
  threads_per_worker=1)`` (processes), default and other block sizes;
* dask 1x2: the same on ``LocalCluster(n_workers=1, threads_per_worker=2)``: tasks with 1
  thread each (the default: the worker runs 2 tiles at once) and with ``n_threads=2`` (2 tiles
  at once, 2 OpenMP threads each: oversubscribed).

Every blocked result is asserted equal to the single call (perms and overlaps, bit for bit).
Then the memory per task and the time for M = 2,000 are extrapolated from the measured pair
rate (the work is M (M - 1) / 2 independent pairs).

Run: ``PYTHONPATH=python python bench/python/bench_allpairs_dask.py [--M 400] [--repeats 3]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--M", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--blocks", type=str, default="50,100,200",
                    help="extra block sizes timed on the 2 x 1 cluster")
    args = ap.parse_args()

    import glasslens as gl
    from distributed import Client, LocalCluster
    from glasslens import symmetry as sy
    from glasslens.symmetry import _blocked

    M = args.M
    ds = gl.datasets.load("digits")
    t = time.perf_counter()
    ens = gl.train_ensemble(ds, hidden=(32,), replicas=M, epochs=args.epochs, batch_size=32,
                            lr=0.05, seed=0, n_threads=2)
    t_train = time.perf_counter() - t
    H, D = 32, 64 + 1 + 10
    npairs = M * (M - 1) // 2
    print(f"M = {M} replicas of {ens.widths} ({args.epochs} epochs on digits, {t_train:.1f} s); "
          f"{npairs:,} pairs; load {os.getloadavg()[0]:.2f}")

    t_single, (P, Q) = best_of(lambda: sy.pairwise_alignment(ens, n_threads=2), args.repeats)
    print(f"single call, n_threads=2: {t_single:.3f} s ({npairs / t_single:,.0f} pairs/s)")
    rows = []

    def run(label, client, **kw):
        res = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            p, q = sy.pairwise_alignment(ens, client=client, **kw)
            res.append(time.perf_counter() - t)
            np.testing.assert_array_equal(q, Q)
            if kw.get("return_perms", True):
                np.testing.assert_array_equal(p, P)
        best = min(res)
        rows.append((label, kw, best, t_single / best))
        print(f"{label} {kw}: best {best:.3f} s (runs {', '.join(f'{r:.3f}' for r in res)}), "
              f"speed vs single {t_single / best:.2f}x, identical")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as lc, Client(lc) as c:
        sy.pairwise_alignment(ens[:8], client=c)  # warm the workers (import glasslens)
        bdef = _blocked.default_block_size(M, [H], D, 2)
        print(f"default block size on 2 threads: {bdef} "
              f"({len(_blocked.tiles(M, bdef))} tiles)")
        run("dask 2 workers x 1 thread", c)
        for b in [int(x) for x in args.blocks.split(",") if x]:
            run("dask 2 workers x 1 thread", c, block_size=b)
        run("dask 2 workers x 1 thread", c, return_perms=False)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=None) as lc, Client(lc) as c:
        sy.pairwise_alignment(ens[:8], client=c)
        run("dask 1 worker x 2 threads", c)
        run("dask 1 worker x 2 threads", c, n_threads=2)

    # M = 2,000 extrapolation (per-pair work is independent of M)
    M2 = 2000
    p2 = M2 * (M2 - 1) // 2
    best_dask = max(r[3] for r in rows if r[0].startswith("dask 2"))
    rate = npairs / t_single
    b2 = _blocked.default_block_size(M2, [H], D, 2)
    print(f"\nM = {M2}: {p2:,} pairs; single-call time at the measured rate {p2 / rate:.1f} s on "
          f"2 threads (blocked ~{p2 / rate / best_dask:.1f} s), {p2 / rate * 2:.0f} core-s")
    print(f"  perms (M, M, H) int64 on the client: {8 * M2 * M2 * H / 1e9:.2f} GB; overlaps "
          f"{8 * M2 * M2 / 1e6:.0f} MB")
    for b in (b2, 250, 500):
        print(f"  block {b}: {len(_blocked.tiles(M2, b))} tasks, per task "
              f"{_blocked.tile_bytes(b, [H], D) / 2**20:.1f} MiB with perms, "
              f"{_blocked.tile_bytes(b, [H], D, perms=False) / 2**20:.2f} MiB without")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, glasslens {gl.__version__}")


if __name__ == "__main__":
    main()
