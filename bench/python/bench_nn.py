"""Benchmark of the nn engine: replica training and fused evaluation.

Times, in one run and at equal thread counts, glasslens against PyTorch CPU (training: a loop
over replicas, the way one would train R independent networks) and against numpy/OpenBLAS
(evaluation), and measures numpy's float32 matrix-multiply rate on this machine.

Usage: PYTHONPATH=python python bench/python/bench_nn.py [--threads N] [--repeat K] [--out FILE]
Prints a Markdown table; --out also writes it (default bench/results/nn.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import glasslens as gl
from glasslens import _core
from glasslens.nn import derived_seeds, lr_schedule


CLOCK: Callable[[], float] = time.perf_counter


def best_of(f: Callable[[], object], repeat: int) -> float:
    """Smallest time of `repeat` calls after one warm-up call (seconds, on CLOCK)."""
    f()
    ts = []
    for _ in range(repeat):
        t = CLOCK()
        f()
        ts.append(CLOCK() - t)
    return min(ts)


# ---- numpy float32 matrix-multiply rate -----------------------------------------------------
def sgemm_rate(repeat: int) -> Tuple[float, float]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2048, 2048)).astype(np.float32)
    C = np.empty_like(A)
    t = best_of(lambda: np.matmul(A, A, out=C), repeat)
    square = 2 * 2048**3 / t / 1e9
    X = rng.standard_normal((10000, 784)).astype(np.float32)
    W = rng.standard_normal((128, 784)).astype(np.float32)
    H = np.empty((10000, 128), np.float32)
    t = best_of(lambda: np.matmul(X, W.T, out=H), repeat)
    layer = 2 * 10000 * 784 * 128 / t / 1e9
    return square, layer


# ---- evaluation peers -------------------------------------------------------------------------
def numpy_eval_loop(Ws: List[np.ndarray], bs: List[np.ndarray], X: np.ndarray, y: np.ndarray):
    """Loop over weight sets; each is a sequence of BLAS products + vectorised log-softmax."""
    K = Ws[0].shape[0]
    n = X.shape[0]
    loss = np.empty(K)
    acc = np.empty(K)
    rows = np.arange(n)
    for k in range(K):
        h = X
        for l in range(len(Ws)):
            z = h @ Ws[l][k].T
            z += bs[l][k]
            if l < len(Ws) - 1:
                np.maximum(z, 0, out=z)
            h = z
        m = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
        loss[k] = np.mean(lse - z[rows, y])
        acc[k] = np.mean(z.argmax(axis=1) == y)
    return loss, acc


def _stacked_xent(z, y):
    """Mean cross-entropy and accuracy of stacked logits z (c, n, classes)."""
    m = z.max(axis=2, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=2)) + m[..., 0]
    zy = np.take_along_axis(z, np.broadcast_to(y[None, :, None], z.shape[:2] + (1,)), 2)[..., 0]
    return np.mean(lse - zy, axis=1), np.mean(z.argmax(axis=2) == y[None], axis=1)


def numpy_eval_batched(Ws, bs, X, y, chunk=64):
    """Stacked matmuls over chunks of weight sets (better for many small networks)."""
    K = Ws[0].shape[0]
    n = X.shape[0]
    loss = np.empty(K)
    acc = np.empty(K)
    for k0 in range(0, K, chunk):
        sl = slice(k0, min(K, k0 + chunk))
        h = X[None]
        for l in range(len(Ws)):
            z = np.matmul(h, Ws[l][sl].transpose(0, 2, 1))
            z += bs[l][sl][:, None, :]
            if l < len(Ws) - 1:
                np.maximum(z, 0, out=z)
            h = z
        loss[sl], acc[sl] = _stacked_xent(z, y)
    return loss, acc


def numpy_eval_one_gemm(Ws, bs, X, y, chunk=128):
    """First layer of a chunk of weight sets as ONE large BLAS product X @ [W_1; ...; W_c]^T
    (the shared input makes this possible), the rest stacked as in numpy_eval_batched."""
    K = Ws[0].shape[0]
    n = X.shape[0]
    loss = np.empty(K)
    acc = np.empty(K)
    for k0 in range(0, K, chunk):
        sl = slice(k0, min(K, k0 + chunk))
        c = sl.stop - sl.start
        W0 = Ws[0][sl]
        L = len(Ws)
        z = X @ W0.reshape(-1, W0.shape[2]).T          # n x (c * d1): one BLAS call
        z += bs[0][sl].reshape(-1)
        if L > 1:
            np.maximum(z, 0, out=z)
        z = z.reshape(n, c, -1).transpose(1, 0, 2)     # c x n x d1 (a view)
        for l in range(1, L):
            z = np.matmul(z, Ws[l][sl].transpose(0, 2, 1))
            z += bs[l][sl][:, None, :]
            if l < L - 1:
                np.maximum(z, 0, out=z)
        loss[sl], acc[sl] = _stacked_xent(z, y)
    return loss, acc


# ---- training peers ---------------------------------------------------------------------------
def torch_train(ens: gl.Ensemble, X: np.ndarray, y: np.ndarray, epochs: int, batch: int,
                lr: float, momentum: float, seed: int = 0) -> None:
    import torch

    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    for r in range(ens.n_replicas):
        model = ens[r].to_torch()
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        lossf = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for b0 in range(0, n, batch):
                idx = perm[b0:b0 + batch]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()


def glasslens_sgd(ens: gl.Ensemble, X, y, epochs, batch, lr, momentum, threads) -> np.ndarray:
    """The training engine alone (no history evaluation): the same work as the torch loop."""
    R, P = ens.n_replicas, ens.n_params
    theta = ens.flat().copy()
    vel = np.zeros_like(theta)
    z = np.zeros((R, 0))
    ds = derived_seeds(0)
    _core.nn.train(theta, vel, np.zeros(R, np.int64), np.zeros(R, np.uint8), z, z.copy(),
                   z.copy(), z.copy(), ens.widths, True, X, y.astype(np.int32),
                   np.zeros((0, X.shape[1]), np.float32), np.zeros(0, np.int32),
                   np.arange(R, dtype=np.uint64), np.arange(R, dtype=np.uint64),
                   lr_schedule(lr, epochs), np.full(epochs, -1, np.int64),
                   _core.nn.TrainOptions(batch_size=batch, momentum=momentum,
                                         noise_seed=ds["noise_seed"], order_seed=ds["order_seed"],
                                         epoch_begin=0, epoch_end=epochs), threads)
    return theta


class _DS:
    def __init__(self, X, y, Xt, yt):
        self.X_train, self.y_train, self.X_test, self.y_test = X, y, Xt, yt


def run_suite(T: int, repeat: int, have_torch: bool):
    """All benchmark rows at T threads on the current CLOCK."""
    rng = np.random.default_rng(0)
    rows: List[Tuple[str, str, float, float, str]] = []
    if have_torch:
        import torch

        torch.set_num_threads(T)
    with threadpool_limits(T):
        sq, layer = sgemm_rate(repeat)

        # ---- evaluation 1: 32 x 784-128-10 on 10,000 samples ---------------------------------
        X = rng.standard_normal((10000, 784)).astype(np.float32)
        y = rng.integers(0, 10, 10000)
        ens = gl.Ensemble.init([784, 128, 10], 32, seed=1, scheme="pytorch")
        t_gl = best_of(lambda: gl.evaluate(ens, X, y, n_threads=T), repeat)
        t_np = best_of(lambda: numpy_eval_loop(ens.weights, ens.biases, X, y), repeat)
        ref = numpy_eval_loop(ens.weights, ens.biases, X, y)
        got = gl.evaluate(ens, X, y, n_threads=T)
        assert np.allclose(got[0], ref[0], rtol=1e-4), "evaluation disagrees with numpy"
        flops = 32 * 10000 * 2 * (784 * 128 + 128 * 10)
        rate1 = flops / t_gl / 1e9
        rows.append(("evaluate 32 x 784-128-10, n=10,000", "numpy loop", t_np, t_gl,
                     f"{rate1:.0f} GFLOP/s = {rate1 / sq:.0%} of numpy sgemm; "
                     f"ceiling {t_np / (flops / (sq * 1e9)):.2f}x"))

        # ---- evaluation 2: 2,000 x 64-32-10 on 1,000 samples ---------------------------------
        X2 = rng.standard_normal((1000, 64)).astype(np.float32)
        y2 = rng.integers(0, 10, 1000)
        ens2 = gl.Ensemble.init([64, 32, 10], 2000, seed=2, scheme="pytorch")
        t_gl2 = best_of(lambda: gl.evaluate(ens2, X2, y2, n_threads=T), repeat)
        t_np2a = best_of(lambda: numpy_eval_loop(ens2.weights, ens2.biases, X2, y2), 1)
        t_np2b = best_of(lambda: numpy_eval_batched(ens2.weights, ens2.biases, X2, y2), repeat)
        t_np2c = best_of(lambda: numpy_eval_one_gemm(ens2.weights, ens2.biases, X2, y2), repeat)
        ref2 = numpy_eval_batched(ens2.weights, ens2.biases, X2, y2)
        assert np.allclose(gl.evaluate(ens2, X2, y2)[0], ref2[0], rtol=1e-4)
        assert np.allclose(numpy_eval_one_gemm(ens2.weights, ens2.biases, X2, y2)[0], ref2[0],
                           rtol=1e-4)
        flops2 = 2000 * 1000 * 2 * (64 * 32 + 32 * 10)
        t_peer2 = min(t_np2a, t_np2b, t_np2c)
        rows.append(("evaluate 2,000 x 64-32-10, n=1,000", "numpy (best of loop, batched, "
                     "one-GEMM)", t_peer2, t_gl2,
                     f"{flops2 / t_gl2 / 1e9:.0f} GFLOP/s; numpy loop {t_np2a:.3f} s, "
                     f"batched {t_np2b:.3f} s, one-GEMM first layer {t_np2c:.3f} s; "
                     f"ceiling {t_peer2 / (flops2 / (sq * 1e9)):.1f}x"))

        # ---- training 1: 16 x 784-128-10, 10,000 samples, 1 epoch, batch 64 --------------------
        yi = y.astype(np.int64)
        ens_t = gl.Ensemble.init([784, 128, 10], 16, seed=3, scheme="pytorch")
        t_gls = best_of(lambda: glasslens_sgd(ens_t, X, yi, 1, 64, 0.01, 0.9, T), repeat)
        fl_t = 16 * 10000 * 2 * (2 * 784 * 128 + 3 * 128 * 10)
        ds = _DS(X, yi, X[:0], yi[:0])
        t_gle = best_of(lambda: gl.train_ensemble(ds, hidden=(128,), replicas=16, epochs=1,
                                                  batch_size=64, lr=0.01, momentum=0.9,
                                                  init=ens_t, family="both", n_threads=T), 1)
        t_pt = (best_of(lambda: torch_train(ens_t, X, yi, 1, 64, 0.01, 0.9), 1)
                if have_torch else float("nan"))
        rows.append(("train 16 x 784-128-10, n=10,000, 1 epoch, batch 64", "PyTorch loop", t_pt,
                     t_gls, f"{fl_t / t_gls / 1e9:.0f} GFLOP/s; train_ensemble with history "
                     f"evaluation {t_gle:.3f} s"))

        # ---- training 2: 64 x 64-32-10 on digits -----------------------------------------------
        from sklearn.datasets import load_digits

        d = load_digits()
        Xd = (d.data / 16.0).astype(np.float32)
        yd = d.target.astype(np.int64)
        E2 = 5
        ens_d = gl.Ensemble.init([64, 32, 10], 64, seed=4, scheme="pytorch")
        t_gld = best_of(lambda: glasslens_sgd(ens_d, Xd, yd, E2, 64, 0.05, 0.9, T), repeat)
        dsd = _DS(Xd, yd, Xd[:0], yd[:0])
        t_gle2 = best_of(lambda: gl.train_ensemble(dsd, hidden=(32,), replicas=64, epochs=E2,
                                                   batch_size=64, lr=0.05, momentum=0.9,
                                                   init=ens_d, family="both", n_threads=T), 1)
        t_ptd = (best_of(lambda: torch_train(ens_d, Xd, yd, E2, 64, 0.05, 0.9), 1)
                 if have_torch else float("nan"))
        rows.append((f"train 64 x 64-32-10, digits n=1,797, {E2} epochs, batch 64",
                     "PyTorch loop", t_ptd, t_gld,
                     f"train_ensemble with history evaluation {t_gle2:.3f} s"))
    return rows, sq, layer


def table(rows, title: str, sq: float, layer: float, unit: str) -> List[str]:
    out = [f"## {title}\n",
           f"numpy float32 matmul rate: {sq:.0f} GFLOP/s (2048^3), {layer:.0f} GFLOP/s "
           f"(10000x784 @ 784x128); times in {unit}\n",
           "| task | peer | peer | glasslens | speed-up | notes |",
           "|---|---|---:|---:|---:|---|"]
    out.insert(2, "ceiling = the peer's time over the time these FLOPs take at numpy's 2048^3 sgemm "
                  "rate: the largest speed-up any implementation doing the same arithmetic at "
                  "that rate can show.\n")
    for task, peer, tp, tg, note in rows:
        out.append(f"| {task} | {peer} | {tp:.3f} | {tg:.3f} | {tp / tg:.1f}x | {note} |")
    return out + [""]


def main() -> int:
    global CLOCK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every library (default: glasslens' default)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results" / "nn.md"))
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--skip-single", action="store_true",
                    help="skip the single-thread CPU-time table")
    a = ap.parse_args()
    T = gl.resolve_threads(a.threads)
    try:
        import torch  # noqa: F401

        have_torch = not a.no_torch
    except ImportError:  # pragma: no cover
        have_torch = False

    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    CLOCK = time.perf_counter
    rows_T, sq_T, layer_T = run_suite(T, a.repeat, have_torch)
    tables = table(rows_T, f"{T} thread(s), wall-clock time (best of {a.repeat}; slow peers: 1 run)",
                   sq_T, layer_T, "seconds")
    if not a.skip_single:
        # One thread, process CPU time: robust when other jobs share the machine.
        CLOCK = time.process_time
        rows_1, sq_1, layer_1 = run_suite(1, a.repeat, have_torch)
        tables += table(rows_1, "1 thread, process CPU time (insensitive to other load)",
                        sq_1, layer_1, "CPU seconds")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    with threadpool_limits(T):
        blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')})"
                for d in threadpool_info() if d.get("user_api") == "blas"]
    info = gl.build_info()
    lines = ["# nn engine benchmark (bench/python/bench_nn.py)\n",
             f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
             f"{load0:.1f} at start, {load1:.1f} at end; python {platform.python_version()}",
             f"- peers: numpy {np.__version__} ({', '.join(blas) or 'BLAS unknown'})"
             + (f", PyTorch {__import__('torch').__version__}" if have_torch else ""),
             f"- glasslens {info['version']}, {info['compiler']}, SIMD path "
             f"{info['simd_path']}, OpenMP {info['openmp']}",
             "- every library runs with the same thread count (threadpoolctl for BLAS, "
             "torch.set_num_threads)\n"]
    lines += tables
    lines.append("glasslens training times are the C++ engine alone (the same work as the PyTorch "
                 "loop: forward, backward, SGD update with momentum, one data order per replica); "
                 "`train_ensemble` adds full train/test evaluations at epoch 0 and after every "
                 "recorded epoch. The PyTorch loop trains the replicas one after another "
                 "(nn.Sequential, CrossEntropyLoss, optim.SGD) with its intra-op threads.")
    lines.append("\nReading the tables: on a machine shared with other jobs the multi-thread "
                 "wall-clock ratios swing widely (PyTorch's many short parallel regions suffer "
                 "most from oversubscription); the single-thread CPU-time table is the "
                 "reproducible comparison of the kernels themselves. The dense products run "
                 "near the machine's float32 peak on both sides, so for FLOP-bound work the "
                 "gain over a good peer comes from fusion and from removing per-call overhead.")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
