"""Benchmark: glasslens Hessian-vector products and top Hessian eigenvalue vs PyTorch autograd
double-backward, on the same network and data, same run, same thread count, float32 both.

Run: PYTHONPATH=python /work/venv/bin/python bench/python/bench_curvature.py [--threads N]
Prints a Markdown table (ratio = torch time / glasslens time). The shared 2-core machine is
heavily contended, so the timed calls are interleaved round-robin (glasslens, torch, glasslens,
...) and the *minimum* over repeats is reported (contention only ever adds time). With
``--threads 1`` the times are process CPU times (time.process_time, robust to other load);
otherwise wall-clock times.

Also prints, per case, the arithmetic rate of one HVP at cached theta (FLOPs of its matrix
products: 4 n d0 d1 + 12 n sum_{l>=1} d_l d_{l+1}) next to the rate of torch's own sgemm on the
largest product shape (n x d0 x d1) in the same run, as an attainable-peak reference.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import glasslens as gl
from glasslens.flatness import _curvature as cv


CLOCK = time.perf_counter


def timeit_rr(fs, repeat):
    """Round-robin timing of several callables; returns the minimum time of each."""
    for f in fs:
        f()  # warm-up
    best = [np.inf] * len(fs)
    for _ in range(repeat):
        for i, f in enumerate(fs):
            t0 = CLOCK()
            f()
            best[i] = min(best[i], CLOCK() - t0)
    return best


def hvp_flops(widths, n):
    """FLOPs of the matrix products of one HVP at cached theta (dense input layer)."""
    rest = sum(widths[i] * widths[i + 1] for i in range(1, len(widths) - 1))
    return 4.0 * n * widths[0] * widths[1] + 12.0 * n * rest


def torch_setup(net, X, y):
    import torch

    model = net.to_torch()
    params = list(model.parameters())
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))

    def split(v):
        out, p = [], 0
        for q in params:
            out.append(v[p:p + q.numel()].view(q.shape))
            p += q.numel()
        return out

    def hvp_once(v):  # from scratch: forward, backward with graph, double backward
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * vv).sum() for g, vv in zip(grads, split(v)))
        return torch.cat([h.reshape(-1) for h in torch.autograd.grad(dot, params)])

    def make_op():  # graph built once, reused for every product (the fair Lanczos baseline)
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        grads = torch.autograd.grad(loss, params, create_graph=True)

        def mv(v):
            vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
            dot = sum((g * vv).sum() for g, vv in zip(grads, split(vt)))
            hv = torch.autograd.grad(dot, params, retain_graph=True)
            return torch.cat([h.reshape(-1) for h in hv]).numpy().astype(np.float64)
        return mv

    return hvp_once, make_op


def bench_case(name, widths, X, y, threads, iters, repeat):
    import torch

    torch.set_num_threads(threads)
    net = gl.MLP.init(widths, seed=0, scheme="pytorch")
    P = net.n_params
    v = np.random.default_rng(0).standard_normal(P).astype(np.float32)
    vt = torch.from_numpy(v)
    hvp_once, make_op = torch_setup(net, X, y)

    # correctness in the same run
    a = cv.hvp(net, X, y, v, n_threads=threads)
    b = hvp_once(vt).detach().numpy()
    rel = float(np.abs(a - b).max() / np.abs(b).max())

    H = cv.HessianOperator(net, X, y, n_threads=threads)
    mv_t = make_op()
    t_gl, t_t, t_gl_c, t_t_c = timeit_rr(
        [lambda: cv.hvp(net, X, y, v, n_threads=threads), lambda: hvp_once(vt),
         lambda: H.matvec(v), lambda: mv_t(v)], repeat)

    def top_gl():
        return cv.hessian_top(net, X, y, k=1, iters=iters, tol=0.0, seed=1, n_threads=threads)

    def top_t():
        mv = make_op()
        q0 = np.random.default_rng(1).standard_normal(P)
        alpha, beta, _ = cv._lanczos(mv, P, iters, q0)
        th, _ = cv._tridiag_eig(alpha, beta[:-1])
        return th.max()

    # attainable-peak reference: torch sgemm on the largest product shape, same run
    A = torch.from_numpy(np.ascontiguousarray(X[:, :], dtype=np.float32))
    B = torch.from_numpy(np.random.default_rng(2).standard_normal((widths[1], widths[0]))
                         .astype(np.float32))
    (t_mm,) = timeit_rr([lambda: A @ B.T], repeat)
    rate = (hvp_flops(widths, X.shape[0]) / t_gl_c / 1e9,
            2.0 * X.shape[0] * widths[0] * widths[1] / t_mm / 1e9)
    lam_gl = float(top_gl().values[0])
    lam_t = float(top_t())
    t_top_gl, t_top_t = timeit_rr([top_gl, top_t], max(1, repeat // 2))
    rows = [
        (f"{name}: HVP from scratch", t_gl, t_t),
        (f"{name}: HVP at cached theta", t_gl_c, t_t_c),
        (f"{name}: top eigenvalue (Lanczos, {iters} steps)", t_top_gl, t_top_t),
    ]
    return rows, rel, lam_gl, lam_t, rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.threads == 1 else time.perf_counter
    from glasslens import datasets

    cases = []
    d = datasets.load("digits", standardize=True)
    cases.append(("64-32-10, digits (1,352, standardised)", [64, 32, 10], d.X_train, d.y_train))
    try:
        f = datasets.load("fashion-mnist", n_train=2000, n_test=10, standardize=False)
        cases.append(("784-128-10, Fashion-MNIST 2,000 raw pixels", [784, 128, 10], f.X_train,
                      f.y_train))
        fs = datasets.load("fashion-mnist", n_train=2000, n_test=10, standardize=True)
        cases.append(("784-128-10, Fashion-MNIST 2,000 standardised", [784, 128, 10], fs.X_train,
                      fs.y_train))
    except Exception as exc:  # pragma: no cover - depends on the machine
        rng = np.random.default_rng(0)
        print(f"(Fashion-MNIST unavailable: {exc}; using Gaussian data)")
        X = rng.standard_normal((2000, 784)).astype(np.float32)
        cases.append(("784-128-10, Gaussian 2,000", [784, 128, 10], X, rng.integers(0, 10, 2000)))
    import torch

    print(f"threads: {args.threads} ({'process CPU' if args.threads == 1 else 'wall'} time), torch {torch.__version__}, glasslens {gl.__version__}, "
          f"simd {gl.build_info()['simd_path']}\n")
    print("| case | glasslens (ms) | torch (ms) | speed-up |")
    print("|---|---:|---:|---:|")
    notes = []
    for name, w, X, y in cases:
        rows, rel, lg, lt, rate = bench_case(name, w, X, y, args.threads, args.iters,
                                             args.repeat)
        for lab, a, b in rows:
            print(f"| {lab} | {a * 1e3:.2f} | {b * 1e3:.2f} | {b / a:.2f}x |")
        notes.append(f"{name}: max |Hv_gl - Hv_torch| / max|Hv| = {rel:.1e}; "
                     f"top eigenvalue glasslens {lg:.6g}, torch {lt:.6g}; HVP at cached theta "
                     f"{rate[0]:.0f} GFLOP/s vs torch sgemm {rate[1]:.0f} GFLOP/s on "
                     f"{X.shape[0]}x{w[0]}x{w[1]}")
    print()
    for n in notes:
        print("- " + n)


if __name__ == "__main__":
    main()
