"""Benchmarks for the replica area (glasslens vs numpy, same run, same data).

1. +-1 overlaps: bit-packed XOR/popcount kernel vs numpy float32 X @ X.T (BLAS) on M x N data.
2. Float weight overlaps: overlap_matrix(kind='weights') vs numpy float32 X @ X.T.
3. Triangle sides of all triples (M = 200: 1.3 M triangles): C++ vs vectorised numpy.
4. Parallel tempering throughput (SK model): spin-flip proposals per second, vs a plain numpy
   Metropolis reference (local fields, one chain) for scale.

Usage: PYTHONPATH=python python bench/python/bench_replicas.py [--quick] [--N 100000] [--M 1000]
Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

import glasslens as gl
from glasslens import _core
from glasslens import replicas as rp
from glasslens import spinmodels as sm
from glasslens.replicas import pack_signs, sign_overlaps


def best(f, repeat=3):
    ts = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def bench_popcount(M, N, threads, repeat):
    rng = np.random.default_rng(0)
    S = np.where(rng.random((M, N), dtype=np.float32) < 0.5, -1, 1).astype(np.int8)
    F = S.astype(np.float32)
    rows = []
    for nt in threads:
        with threadpool_limits(nt):
            t_np, G = best(lambda: F @ F.T, repeat)
        t_pack, P = best(lambda: pack_signs(S, n_threads=nt), repeat)
        kernels = [k for k in ("avx512", "avx2", "scalar")
                   if _core.replicas.popcount_kernel_available(k)]
        for k in kernels:
            _core.replicas.set_popcount_kernel(k)
            reps = 1 if k == "scalar" else repeat
            t_gl, Q = best(lambda: sign_overlaps(P, n_threads=nt), reps)
            assert np.array_equal(Q, G.astype(np.float64) / N) or np.abs(Q - G / N).max() < 1e-6
            rows.append((nt, k, t_np, t_gl, t_pack))
        _core.replicas.set_popcount_kernel("auto")
    print(f"\n### +-1 overlaps, M={M}, N={N} (numpy float32 X @ X.T vs packed popcount)\n")
    print("| threads | kernel | numpy matmul (s) | glasslens kernel (s) | pack (s) | speed-up kernel | speed-up incl. pack |")
    print("|---|---|---|---|---|---|---|")
    for nt, k, a, b, p in rows:
        print(f"| {nt} | {k} | {a:.3f} | {b:.4f} | {p:.3f} | {a / b:.1f}x | {a / (b + p):.1f}x |")
    return rows


def bench_float(R, P, threads, repeat):
    rng = np.random.default_rng(1)
    F = rng.standard_normal((R, P), dtype=np.float32)
    print(f"\n### float weight overlaps, R={R}, P={P} (cosine)\n")
    print("| threads | numpy X @ X.T (s) | overlap_matrix (s) | ratio numpy/glasslens |")
    print("|---|---|---|---|")
    for nt in threads:
        a, b = [], []
        with threadpool_limits(nt):
            for _ in range(max(repeat, 1) + 2):  # interleaved, best of each
                a.append(best(lambda: F @ F.T, 1)[0])
                b.append(best(lambda: gl.replicas.overlap_matrix(F, kind="weights"), 1)[0])
        t_np, t_gl = min(a), min(b)
        print(f"| {nt} | {t_np:.3f} | {t_gl:.3f} | {t_np / t_gl:.2f} |")


def numpy_sides(D):
    M = D.shape[0]
    idx = np.array(list(itertools.combinations(range(M), 3)), dtype=np.int64)
    a, b, c = idx.T
    s = np.stack([D[a, b], D[a, c], D[b, c]], axis=1)
    s.sort(axis=1)
    return s


def numpy_sides_fast(D):
    """Vectorised without Python tuples: triu masks per first index."""
    M = D.shape[0]
    out = []
    for a in range(M - 2):
        j, k = np.triu_indices(M - a - 1, 1)
        j = j + a + 1
        k = k + a + 1
        s = np.stack([np.broadcast_to(D[a, j], j.shape), D[a, k], D[j, k]], axis=1)
        out.append(s)
    s = np.concatenate(out)
    s.sort(axis=1)
    return s


def bench_triangles(M, threads, repeat):
    rng = np.random.default_rng(2)
    P = rng.standard_normal((M, 50))
    D = np.linalg.norm(P[:, None] - P[None], axis=2)
    t_np, ref = best(lambda: numpy_sides(D), 1)
    t_np2, ref2 = best(lambda: numpy_sides_fast(D), repeat)
    assert np.array_equal(ref, ref2)
    print(f"\n### triangle sides, all {M * (M - 1) * (M - 2) // 6} triangles of M={M}\n")
    print("| threads | numpy itertools (s) | numpy vectorised (s) | glasslens C++ (s) | speed-up vs vectorised numpy |")
    print("|---|---|---|---|---|")
    for nt in threads:
        t_gl, got = best(lambda: rp.triangle_sides(D, n_threads=nt), repeat)
        assert np.array_equal(got, ref)
        print(f"| {nt} | {t_np:.3f} | {t_np2:.3f} | {t_gl:.4f} | {t_np2 / t_gl:.1f}x |")
    t_u, _ = best(lambda: rp.ultrametricity(D, null=("gaussian",), dim=50, n_null=39), 1)
    print(f"\nFull `ultrametricity` (all triangles, Gaussian null with 39 realisations): {t_u:.2f} s")


def numpy_metropolis(J, betas, n_sweeps, rng):
    """Reference: one chain per temperature, Python loop over spins, numpy field update."""
    N = J.shape[0]
    S = [rng.choice([-1.0, 1.0], N) for _ in betas]
    F = [J @ s for s in S]
    for _ in range(n_sweeps):
        for s, f, beta in zip(S, F, betas):
            u = rng.random(N)
            for i in range(N):
                dE = 2 * s[i] * f[i]
                if dE <= 0 or u[i] < np.exp(-beta * dE):
                    s[i] = -s[i]
                    f += 2 * s[i] * J[i]
    return S


def bench_pt(threads, quick):
    print("\n### parallel tempering (SK, Gaussian couplings, 16 temperatures 0.4..1.6)\n")
    print("| N | samples x replicas | threads | sweeps per chain-temperature | time (s) | flips proposed / s | sweeps / s (one temperature) |")
    print("|---|---|---|---|---|---|---|")
    Ts = sm.geometric_temperatures(0.4, 1.6, 16)
    rates = {}
    for N, sweeps in ((256, 200 if quick else 500), (1024, 50 if quick else 150)):
        for nt in threads:
            t = time.perf_counter()
            sm.parallel_tempering("sk", N, Ts, n_samples=2, n_replicas=2, n_equilibrate=0,
                                  n_measure=sweeps, record_every=sweeps, seed=0, n_threads=nt)
            el = time.perf_counter() - t
            props = 4 * 16 * sweeps * N
            rates[(N, nt)] = props / el
            print(f"| {N} | 2 x 2 | {nt} | {sweeps} | {el:.2f} | {props / el:.3g} | {4 * 16 * sweeps / el:.3g} |")
    N = 256
    J = sm.spin_couplings("sk", N, seed=0)[0].astype(np.float64)
    n = 2 if quick else 5
    t = time.perf_counter()
    numpy_metropolis(J, 1 / Ts, n, np.random.default_rng(0))
    el = time.perf_counter() - t
    rate = n * N * len(Ts) / el
    print(f"\nnumpy reference (Python loop over spins, numpy local-field update, same 16 "
          f"temperatures, no swaps, N={N}): {rate:.3g} flips proposed / s; glasslens with 1 thread "
          f"is {rates[(256, threads[0])] / rate:.0f}x faster.")


def calibration(quick):
    """The instruments on systems with known answers (not a speed benchmark)."""
    print("\n### calibration: SK (T = 0.5 < T_c = 1), paramagnet, Curie-Weiss ferromagnet\n")
    print("| system | N | samples x replicas | <E>/N | q_EA | Binder | weight |q| < q_EA/2 | mean K / Gaussian-null mean K | samples more ultrametric (p < 0.05) |")
    print("|---|---|---|---|---|---|---|---|---|")
    from glasslens.replicas import sign_overlaps

    N = 128 if quick else 256
    S, R = (2, 16) if quick else (4, 24)
    sweeps = 500 if quick else 1500
    for name, model, Ts, dist in (
        ("SK", "sk", sm.geometric_temperatures(0.5, 1.6, 16), "1-|q|"),
        ("paramagnet (J = 0)", "paramagnet", np.array([2.0]), "1-|q|"),
        ("Curie-Weiss", "ferromagnet", sm.geometric_temperatures(0.5, 1.5, 10), "1-|q|"),
    ):
        t = time.perf_counter()
        r = sm.parallel_tempering(model, N, Ts, n_samples=S, n_replicas=R, n_equilibrate=sweeps,
                                  n_measure=sweeps, record_every=sweeps // 10, seed=1)
        K = r.configs.shape[2]
        Qs = np.stack([sign_overlaps(r.configs[s, :, k, 0, :]) for s in range(S) for k in range(K)])
        d = rp.overlap_distribution(Qs, symmetric=True)
        ratios, n_more = [], 0
        for s in range(S):
            D = rp.overlaps_to_distances(sign_overlaps(r.configs[s, :, -1, 0, :]), dist)
            u = rp.ultrametricity(D, null="gaussian", dim=N, metric="abs_cosine", n_null=39, seed=s)
            ratios.append(u.mean_K / u.nulls["gaussian"].mean_K.mean())
            n_more += u.nulls["gaussian"].more_ultrametric
        between = np.mean(np.abs(d.q) < 0.5 * d.q_ea) if d.q_ea > 0.05 else float("nan")
        print(f"| {name}, T = {Ts[0]:g} | {N} | {S} x {R} | {r.energy[:, :, 0].mean():.4f} | "
              f"{d.q_ea:.3f} | {d.binder:.3f} | {between:.3f} | {np.mean(ratios):.3f} | "
              f"{n_more}/{S} | ")
        print(f"<!-- {name}: {time.perf_counter() - t:.1f} s -->")
    m = sm.curie_weiss_magnetization(0.5)
    print(f"\nReferences: SK large-N ground-state energy -0.7633 (Parisi; finite T and N raise it); "
          f"Curie-Weiss m(T=0.5) = {m:.4f}, so q_EA ~ m^2 = {m * m:.4f}; paramagnet q_EA ~ 0 and "
          f"Binder ~ 0.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--M", type=int, default=1000)
    ap.add_argument("--N", type=int, default=100_000)
    args = ap.parse_args()
    ncpu = os.cpu_count() or 1
    threads = sorted({1, ncpu}) if ncpu > 1 else [1]
    repeat = 1 if args.quick else 3
    print(f"## glasslens replicas benchmarks\n\nCPU: {platform.processor() or platform.machine()}, "
          f"{ncpu} logical CPUs; popcount kernel (auto): {_core.replicas.popcount_kernel()}; "
          f"numpy {np.__version__}")
    bench_popcount(args.M, args.N if not args.quick else 20_000, threads, repeat)
    bench_float(100, 200_000 if args.quick else 1_000_000, threads, repeat)
    bench_triangles(120 if args.quick else 200, threads, repeat)
    bench_pt(threads, args.quick)
    calibration(args.quick)


if __name__ == "__main__":
    main()
