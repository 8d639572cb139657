"""Benchmark: pseudo-likelihood inference of the Ising model, glasslens vs scikit-learn.

Both solve the same problem: for every spin i an L2-penalised logistic regression of s_i on the
other spins, (1/M) sum_mu ln(1 + exp(-2 s_i H_i)) + l2 |J_i|^2 with an unpenalised field h_i,
which is scikit-learn's LogisticRegression(C = 2 / (l2 M)) with w = 2 J_i, b = 2 h_i.
glasslens fits all N spins (C++, blocks of spins in lock step, float32 GEMM kernels);
scikit-learn (lbfgs, float64, BLAS matvecs) fits a few spins and its total is extrapolated
linearly to N spins (the per-spin problems are independent and of equal size). The stopping
rules are matched: max |dF/dJ| <= tol for glasslens, sklearn tol = tol / 2 (its gradient is with
respect to w = 2J).

Data: samples of a planted Ising model with N = 675 spins - the authors' released block fits
(LB, ITER, RB of bp_ising_under.npz, block-diagonal) when /work/shared is present, else an SK
model - drawn by Metropolis.

Usage: PYTHONPATH=python python bench/python/bench_maxent.py [--M 20000] [--full]
       [--sk-spins 6] [--threads 2] [--out bench/results/maxent.md]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import glasslens
from glasslens.maxent import Ising, fit_pseudolikelihood, sk_model

REF = Path("/work/shared/reference/zou-huang-2021/bp_ising_under.npz")


def planted(N: int) -> tuple:
    if N == 675 and REF.exists():
        z = np.load(REF, allow_pickle=False)
        J = np.zeros((675, 675))
        h = np.zeros(675)
        for name, sl in (("LB", slice(0, 300)), ("ITER", slice(300, 525)), ("RB", slice(525, 675))):
            J[sl, sl] = z[f"J_{name}"]
            h[sl] = z[f"h_{name}"]
        return Ising(h, J), "authors' under-parametrised block fits (LB+ITER+RB, block-diagonal)"
    return sk_model(N, beta=0.5, h_std=0.2, seed=1), f"SK model beta=0.5, N={N}"


def sklearn_fit(X8: np.ndarray, spins, l2: float, tol: float):
    from sklearn.linear_model import LogisticRegression

    M = X8.shape[0]
    X = X8.astype(np.float64)
    rows, times = {}, []
    for i in spins:
        col = X[:, i].copy()
        y = X8[:, i]
        X[:, i] = 0.0  # the spin's own column drops out (its coefficient is 0 under L2)
        t = time.perf_counter()
        lr = LogisticRegression(C=2.0 / (l2 * M), tol=tol / 2, max_iter=2000)
        lr.fit(X, y)
        times.append(time.perf_counter() - t)
        X[:, i] = col
        w = lr.coef_[0] / 2
        w[i] = lr.intercept_[0] / 2
        rows[i] = (w, int(lr.n_iter_[0]))
    return rows, times


def run(M: int, N: int, X_all: np.ndarray, sk_spins, l2: float, tol: float, threads: int):
    X = X_all[:M, :N]
    t = time.perf_counter()
    model = fit_pseudolikelihood(X, l2=l2, l2_h=0.0, tol=tol, n_threads=threads)
    t_gl = time.perf_counter() - t
    info = model.info
    rows, times = sklearn_fit(X, sk_spins, l2, tol)
    P = info["J_asym"] + np.diag(model.h)
    diff = max(float(np.max(np.abs(P[i] - rows[i][0]))) for i in sk_spins)
    per_spin = float(np.mean(times))
    t_sk = per_spin * N
    return {
        "M": M, "N": N, "t_gl": t_gl, "t_sk_per_spin": per_spin, "t_sk_total": t_sk,
        "ratio": t_sk / t_gl, "diff": diff, "gl_iters": float(np.mean(info["iters"])),
        "gl_evals": float(np.mean(info["evals"])), "gl_status": np.bincount(info["status"], minlength=4).tolist(),
        "sk_iters": float(np.mean([rows[i][1] for i in sk_spins])), "n_sk": len(sk_spins),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=675)
    ap.add_argument("--M", type=int, default=20000, help="reduced sample size (always run)")
    ap.add_argument("--full", action="store_true", help="also run M = 100,000")
    ap.add_argument("--sk-spins", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--out", type=str, default="")
    a = ap.parse_args()

    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{d.get('internal_api')} {d.get('num_threads')} threads" for d in threadpool_info())
    except Exception:  # pragma: no cover
        blas = "unknown"
    model, desc = planted(a.N)
    M_max = 100_000 if a.full else a.M
    t = time.perf_counter()
    X = model.sample(M_max, method="metropolis", burn_in=500, thin=1, chains=16, seed=7,
                     n_threads=a.threads)
    X = X[np.random.default_rng(0).permutation(len(X))]
    t_sample = time.perf_counter() - t
    sk_spins = np.linspace(0, a.N - 1, a.sk_spins).round().astype(int).tolist()
    results = [run(a.M, a.N, X, sk_spins, a.l2, a.tol, a.threads)]
    if a.full and a.M != 100_000:
        results.append(run(100_000, a.N, X, sk_spins[: max(2, a.sk_spins // 2)], a.l2, a.tol, a.threads))

    bi = glasslens.build_info()
    lines = [
        "# maxent benchmark: pseudo-likelihood, glasslens vs scikit-learn",
        "",
        f"- planted model: {desc}; samples: Metropolis, 16 chains ({M_max} samples in {t_sample:.1f} s)",
        f"- problem: per-spin L2 logistic regression, l2 = {a.l2:g} on J, h unpenalised; stop at "
        f"max |dF/dJ| <= {a.tol:g} (sklearn tol = {a.tol / 2:g} on w = 2J)",
        f"- glasslens {bi['version']} ({bi['simd_path']}, {a.threads} threads) fits all {a.N} spins; "
        f"scikit-learn LogisticRegression(lbfgs) fits the listed number of spins, total "
        f"extrapolated x N/n (BLAS: {blas})",
        f"- machine: {platform.processor() or platform.machine()}, shared and heavily loaded: "
        "absolute times are noisy, the ratio comes from the same run",
        "",
        "| M | N | glasslens all spins (s) | sklearn per spin (s) | sklearn spins timed | sklearn all spins, extrapolated (s) | speed-up | max abs diff of fitted rows | mean iters gl / sk | gl evals/spin |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['M']} | {r['N']} | {r['t_gl']:.1f} | {r['t_sk_per_spin']:.2f} | {r['n_sk']} | "
            f"{r['t_sk_total']:.0f} | **{r['ratio']:.1f}x** | {r['diff']:.1e} | "
            f"{r['gl_iters']:.1f} / {r['sk_iters']:.1f} | {r['gl_evals']:.1f} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
