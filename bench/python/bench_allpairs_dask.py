"""Blocked all-pairs alignment on a Dask LocalCluster against the single call (issue 16).

M replicas of a 64-32-10 network trained briefly on digits (SGD, seed 0). Timed, best of
``--repeats``:

* single: ``pairwise_alignment(ens, n_threads=2)`` (the C++ all-pairs kernel, one call);
* dask 2x1: ``pairwise_alignment(ens, client=c)`` on ``LocalCluster(n_workers=2,
  threads_per_worker=1)`` (processes), default and other block sizes;
* dask 1x2: the same on ``LocalCluster(n_workers=1, threads_per_worker=2)``: tasks with 1
  thread each (the default: the worker runs 2 tiles at once) and with ``n_threads=2`` (2 tiles
  at once, 2 OpenMP threads each: oversubscribed).

The configurations run in rounds (each once per round, best of the rounds), so that they see
the same background load. Besides wall time, the CPU seconds of each run (this process + the worker processes) are
recorded: on a shared machine the cluster's extra processes can get a larger share of the
cores than the single process, so the CPU ratio is the load-robust measure of the blocked run's
overhead. Every blocked result is asserted equal to the single call (perms and overlaps, bit for bit).
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


def worker_cpu(client) -> float:
    """CPU seconds (user + system) used so far by the client's worker processes."""
    if client is None:
        return 0.0

    def cpu():
        import psutil

        t = psutil.Process().cpu_times()
        return t.user + t.system

    return sum(client.run(cpu).values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--M", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3, help="rounds (best of)")
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

    P, Q = sy.pairwise_alignment(ens, n_threads=2)
    c21 = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0"))
    c12 = Client(LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                              dashboard_address=":0"))
    for c in (c21, c12):
        sy.pairwise_alignment(ens[:8], client=c)  # warm the workers (import glasslens)
    # the clusters' own background CPU (heartbeats, event loops) while idle, per wall second:
    # a run's CPU includes it for its duration, whatever it computes
    time.sleep(1.0)
    w0, c0, t = worker_cpu(c21) + worker_cpu(c12), time.process_time(), time.perf_counter()
    time.sleep(4.0)
    bg = (time.process_time() - c0 + worker_cpu(c21) + worker_cpu(c12) - w0) / (
        time.perf_counter() - t)
    print(f"idle background of the two clusters: {bg:.3f} CPU-s per second")
    # fixed cost of one blocked call (scatter, scheduling, gathers, the cluster's own work):
    # 8 replicas, 28 pairs, 10 tiles
    small = ens[:8]
    fixed = []
    for _ in range(5):
        w0, c0, t = worker_cpu(c21), time.process_time(), time.perf_counter()
        sy.pairwise_alignment(small, client=c21)
        fixed.append((time.perf_counter() - t, time.process_time() - c0 + worker_cpu(c21) - w0))
    print(f"fixed cost of a blocked call (M = 8, 10 tiles, 2 x 1 cluster): best wall "
          f"{min(f[0] for f in fixed):.3f} s, CPU {min(f[1] for f in fixed):.3f} s")
    bdef = _blocked.default_block_size(M, [H], D, 2)
    print(f"default block size on 2 threads: {bdef} ({len(_blocked.tiles(M, bdef))} tiles)")
    configs = [("single call, n_threads=2", None, dict(n_threads=2)),
               ("dask 2 workers x 1 thread", c21, {})]
    configs += [("dask 2 workers x 1 thread", c21, dict(block_size=int(b)))
                for b in args.blocks.split(",") if b and int(b) != bdef]
    configs += [("dask 2 workers x 1 thread", c21, dict(return_perms=False)),
                ("dask 1 worker x 2 threads", c12, {}),
                ("dask 1 worker x 2 threads", c12, dict(n_threads=2))]
    times = [[] for _ in configs]
    cpus = [[] for _ in configs]
    # rounds: every configuration once per round, so that they share the machine's load
    for _ in range(args.repeats):
        for k, (label, client, kw) in enumerate(configs):
            w0 = worker_cpu(client)
            c0 = time.process_time()
            t = time.perf_counter()
            p, q = sy.pairwise_alignment(ens, client=client, **kw)
            times[k].append(time.perf_counter() - t)
            cpus[k].append(time.process_time() - c0 + worker_cpu(client) - w0)
            np.testing.assert_array_equal(q, Q)
            if kw.get("return_perms", True):
                np.testing.assert_array_equal(p, P)
    t_single, cpu_single = min(times[0]), min(cpus[0])
    print(f"single call, n_threads=2: best {t_single:.3f} s ({npairs / t_single:,.0f} pairs/s), "
          f"CPU {cpu_single:.3f} s")
    rows = []
    for (label, client, kw), ts, cs in list(zip(configs, times, cpus))[1:]:
        best, cpu = min(ts), min(cs)
        net = min(c - bg * t for c, t in zip(cs, ts))
        rows.append((label, kw, best, t_single / best, cpu_single / net))
        print(f"{label} {kw}: best {best:.3f} s (runs {', '.join(f'{r:.3f}' for r in ts)}), "
              f"speed vs single {t_single / best:.2f}x; CPU best {cpu:.3f} s (client + workers; "
              f"net of the idle background {net:.3f} s), CPU efficiency vs single "
              f"{cpu_single / cpu:.2f}x (net {cpu_single / net:.2f}x); identical")
    print(f"single call runs: {', '.join(f'{r:.3f}' for r in times[0])}; "
          f"load after {os.getloadavg()[0]:.2f}")
    for c in (c21, c12):
        cl = c.cluster
        c.close()
        cl.close()

    # M = 2,000 extrapolation (per-pair work is independent of M)
    M2 = 2000
    p2 = M2 * (M2 - 1) // 2
    eff = rows[0][4]  # the default blocked run on 2 workers x 1 thread, net CPU efficiency
    cpu_pair = cpu_single / npairs
    quiet = cpu_pair * p2 / 2
    print(f"\nM = {M2}: {p2:,} pairs; {cpu_pair * 1e6:.1f} us CPU per pair (single call): "
          f"{cpu_pair * p2:.0f} core-s, ~{quiet:.0f} s on 2 quiet cores for the single call, "
          f"~{quiet / eff:.0f} s blocked at the measured net CPU efficiency {eff:.2f}")
    print(f"  perms (M, M, H) int64 on the client: {8 * M2 * M2 * H / 1e9:.2f} GB; overlaps "
          f"{8 * M2 * M2 / 1e6:.0f} MB")
    b2 = _blocked.default_block_size(M2, [H], D, 2)
    for b in sorted({b2, 125, 250, 500}):
        print(f"  block {b}: {len(_blocked.tiles(M2, b))} tasks, per task "
              f"{_blocked.tile_bytes(b, [H], D) / 2**20:.1f} MiB with perms, "
              f"{_blocked.tile_bytes(b, [H], D, perms=False) / 2**20:.2f} MiB without")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, glasslens {gl.__version__}")


if __name__ == "__main__":
    main()
