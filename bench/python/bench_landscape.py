"""Benchmark: glasslens perturbation probes and sparse random walks vs numpy and PyTorch loops.

Run: PYTHONPATH=python /work/venv/bin/python bench/python/bench_landscape.py [--quick] [--threads N]

Cases (issue 3):
  A. K=32 filter-normalised Gaussian perturbations of 784-128-10 on 10,000 samples
  B. K=2000 perturbations of 64-32-10 on 1,000 samples
  C. 100,000 single-weight walk steps on 784-128-10 with 10,000 samples, against
     re-evaluating the network after every step (peer time = measured full forward x steps)
Every time is the best of 2 runs (glasslens and the plain evaluate reference: best of 5,
interleaved; case C: of 2 x 5 full passes). Two tables: 1 thread everywhere timed by process
CPU time (robust on a shared machine), then --threads N wall time. Peers do the same work
(generate a direction, filter-normalise it, build the perturbed weights, forward, mean
cross-entropy) one perturbation at a time, like loss-landscapes / Goldstein's scripts, with the
same thread count. Data are synthetic (Gaussian inputs).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import glasslens as gl


def timeit(f, repeat=1, clock=time.perf_counter):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = clock()
        out = f()
        best = min(best, clock() - t)
    return best, out


def filter_normalise_np(net, u):
    out = []
    for W, b, (dW, db) in zip(net.weights, net.biases, u):
        nW = np.sqrt((W.astype(np.float64) ** 2).sum(1) + b.astype(np.float64) ** 2)
        nU = np.sqrt((dW.astype(np.float64) ** 2).sum(1) + db.astype(np.float64) ** 2)
        f = (nW / nU).astype(np.float32)
        out.append((dW * f[:, None], db * f))
    return out


def numpy_profile(net, X, y, K, radii, seed=0):
    rng = np.random.default_rng(seed)
    losses = np.empty((K, len(radii)))
    for k in range(K):
        u = [(rng.standard_normal(W.shape, dtype=np.float32),
              rng.standard_normal(b.shape, dtype=np.float32)) for W, b in zip(net.weights, net.biases)]
        u = filter_normalise_np(net, u)
        for j, r in enumerate(radii):
            r = np.float32(r)
            h = X
            for i, (W, b) in enumerate(zip(net.weights, net.biases)):
                h = h @ (W + r * u[i][0]).T + (b + r * u[i][1])
                if i < len(net.weights) - 1:
                    np.maximum(h, 0, out=h)
            m = h.max(1, keepdims=True)
            lse = np.log(np.exp(h - m).sum(1)) + m[:, 0]
            losses[k, j] = np.mean(lse - h[np.arange(len(y)), y])
    return losses


def torch_profile(model, X, y, K, radii, seed=0):
    import torch
    g = torch.Generator().manual_seed(seed)
    losses = np.empty((K, len(radii)))
    params = [p.detach().clone() for p in model.parameters()]
    lossf = torch.nn.CrossEntropyLoss()
    with torch.no_grad():
        for k in range(K):
            # loss-landscapes style: a random direction per parameter tensor, filter-normalised
            plist = list(model.parameters())
            dirs = []
            for i in range(0, len(plist), 2):
                W0, b0 = params[i], params[i + 1]
                dW = torch.randn(W0.shape, generator=g)
                db = torch.randn(b0.shape, generator=g)
                f = torch.sqrt((W0 ** 2).sum(1) + b0 ** 2) / torch.sqrt((dW ** 2).sum(1) + db ** 2)
                dirs.append((dW * f[:, None], db * f))
            for j, r in enumerate(radii):
                for i in range(0, len(plist), 2):
                    plist[i].copy_(params[i] + r * dirs[i // 2][0])
                    plist[i + 1].copy_(params[i + 1] + r * dirs[i // 2][1])
                losses[k, j] = float(lossf(model(X), y))
        for p, p0 in zip(model.parameters(), params):
            p.copy_(p0)
    return losses


def fmt(x):
    return f"{x:.3g}"


def limit_threads(nt):
    """Limit BLAS (numpy) and torch to nt threads; returns a context manager."""
    try:
        import torch
        torch.set_num_threads(nt)
    except ImportError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(limits=nt)
    except Exception:  # pragma: no cover
        import contextlib
        return contextlib.nullcontext()


def sgemm_gflops(clock, repeat=3):
    """numpy's float32 matrix-multiply rate (2048^3), GFLOP/s, under the current thread limit."""
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    a @ a
    t, _ = timeit(lambda: a @ a, repeat, clock)
    return 2 * 2048 ** 3 / t / 1e9


def profile_rows(cases, nt, clock, have_torch, repeat=2):
    """Cases A, A', B with nt threads everywhere, timed with `clock`."""
    rows = []
    rate = sgemm_gflops(clock)
    for name, widths, n, K, radii in cases:
        rng = np.random.default_rng(sum(widths) + K)
        X = rng.standard_normal((n, widths[0]), dtype=np.float32)
        y = rng.integers(0, widths[-1], n)
        net = gl.MLP.init(widths, seed=1, scheme="pytorch")
        data = (X, y)
        run_gl = lambda: gl.probes.profile(net, data, radii, n_directions=K, n_threads=nt)  # noqa: E731
        res = run_gl()
        t_np, lnp = timeit(lambda: numpy_profile(net, X, y, K, radii), repeat, clock)
        # sanity: same distribution of perturbed losses (different random streams)
        assert abs(np.mean(lnp) - res.train_loss.mean()) < 0.2 * abs(np.mean(lnp)) + 0.05
        R = len(radii)
        what = f"K={K} directions x {R} radii" if R > 1 else f"K={K} perturbations"
        row = {"case": f"{name}: {what}, {'-'.join(map(str, widths))}, n={n}",
               "numpy_s": t_np}
        if R == 1:
            # the plain fused evaluation (glasslens.evaluate) of K given weight sets: the same
            # forward work without generating directions; timed interleaved with the profile
            # (best of 5 each) so that bursts of load on a shared machine hit both alike
            th = net.flat()[None, :] + 0.01 * rng.standard_normal(
                (K, net.n_params), dtype=np.float32)
            t_gl = t_ev = np.inf
            for _ in range(5):
                t_gl = min(t_gl, timeit(run_gl, 1, clock)[0])
                t_ev = min(t_ev, timeit(
                    lambda: gl.evaluate(th, X, y, widths=widths, n_threads=nt), 1, clock)[0])
            row["glasslens_s"], row["evaluate_s"] = t_gl, t_ev
            # the least time any implementation needs for these forward FLOPs at numpy's sgemm
            # rate: the largest speed-up over a peer that arithmetic allows
            flops = 2.0 * K * n * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
            row["floor_s"] = flops / (rate * 1e9)
            row["sgemm"] = rate
        else:
            row["glasslens_s"] = timeit(run_gl, repeat + 1, clock)[0]
        if have_torch:
            import torch
            Xt = torch.from_numpy(X)
            yt = torch.from_numpy(y.astype(np.int64))
            model = net.to_torch()
            row["torch_s"], _ = timeit(lambda: torch_profile(model, Xt, yt, K, radii), repeat,
                                       clock)
        rows.append(row)
        print(row, flush=True)
    return rows


def walk_row(nt, clock, have_torch, steps, repeat=2):
    """Case C: single-weight walk steps vs a full forward per step, and the walk's full
    refresh pass against one numpy / torch forward pass."""
    widths, n = [784, 128, 10], 10_000
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, widths[0]), dtype=np.float32)
    y = rng.integers(0, 10, n)
    net = gl.MLP.init(widths, seed=1, scheme="pytorch")
    t_walk, w = timeit(lambda: gl.probes.random_walk(net, (X, y), steps, 0.01, move="weight",
                                              n_walkers=1, record_every=steps,
                                              refresh_every=10_000, eval_test=False,
                                              n_threads=nt), 1, clock)
    # the refresh pass alone: 20 extra refreshes (refresh_every=1) minus none
    S = 20

    def walk(refresh):
        return gl.probes.random_walk(net, (X, y), S, 0.01, move="weight", n_walkers=1, record_every=S,
                              refresh_every=refresh, eval_test=False, n_threads=nt)

    t_w1, _ = timeit(lambda: walk(1), repeat, clock)
    t_w0, _ = timeit(lambda: walk(0), repeat, clock)
    t_refresh = max(t_w1 - t_w0, 0.0) / S
    reps = 5
    t_full_gl, _ = timeit(
        lambda: [gl.probes.network_loss(net, X, y, n_threads=nt) for _ in range(reps)],
        repeat, clock)

    def np_forward():
        h = np.maximum(X @ net.weights[0].T + net.biases[0], 0) @ net.weights[1].T + net.biases[1]
        m = h.max(1, keepdims=True)
        return np.mean(np.log(np.exp(h - m).sum(1)) + m[:, 0] - h[np.arange(n), y])

    t_full_np, _ = timeit(lambda: [np_forward() for _ in range(reps)], repeat, clock)
    row = {"case": f"C: {steps:,} single-weight walk steps, 784-128-10, n={n}",
           "glasslens_s": t_walk, "numpy_s": t_full_np / reps * steps,
           "full_gl_s": t_full_gl / reps, "full_np_s": t_full_np / reps,
           "refresh_s": t_refresh, "steps": steps,
           "drift": float(w.max_drift.max())}
    if have_torch:
        import torch
        model = net.to_torch()
        Xt = torch.from_numpy(X)
        yt = torch.from_numpy(y.astype(np.int64))
        lossf = torch.nn.CrossEntropyLoss()

        def to_forward():
            with torch.no_grad():
                return float(lossf(model(Xt), yt))

        t_full_to, _ = timeit(lambda: [to_forward() for _ in range(reps)], repeat, clock)
        row["torch_s"] = t_full_to / reps * steps
        row["full_to_s"] = t_full_to / reps
    print(row, flush=True)
    return row


def table(rows, title):
    lines = [title, "",
             "| case | glasslens (s) | plain evaluate (s) | numpy (s) | torch (s) | vs numpy "
             "| vs torch | vs evaluate | ceiling vs numpy / torch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r_ in rows:
        tt = r_.get("torch_s")
        ev = r_.get("evaluate_s")
        vs_ev = f"{r_['glasslens_s'] / ev:.2f}" if ev else "-"
        vs_to = f"{tt / r_['glasslens_s']:.1f}x" if tt else "-"
        fl = r_.get("floor_s")
        ceil = (f"{r_['numpy_s'] / fl:.1f}x / " + (f"{tt / fl:.1f}x" if tt else "-")) if fl else "-"
        lines.append(
            f"| {r_['case']} | {fmt(r_['glasslens_s'])} | {fmt(ev) if ev else '-'} | "
            f"{fmt(r_['numpy_s'])} | {fmt(tt) if tt else '-'} | "
            f"{r_['numpy_s'] / r_['glasslens_s']:.1f}x | "
            f"{vs_to} | "
            f"{vs_ev} | {ceil} |")
    c = rows[-1]
    to = c.get("full_to_s")
    lines += ["", f"Case C: peers = one measured full forward pass x {c['steps']:,} steps. "
              f"Full pass on 10,000 x 784-128-10: glasslens network_loss "
              f"{fmt(c['full_gl_s'] * 1e3)} ms, the walk's refresh pass "
              f"{fmt(c['refresh_s'] * 1e3)} ms, numpy {fmt(c['full_np_s'] * 1e3)} ms"
              + (f", torch {fmt(to * 1e3)} ms" if to else "")
              + f". Walk: {c['steps'] / c['glasslens_s']:,.0f} moves/s; max drift at a "
              f"refresh {c['drift']:.1e}.",
              "'vs evaluate' = glasslens profile time / glasslens.evaluate time for the same "
              "number of networks given as weight sets (1.00 = no overhead for directions).",
              "'ceiling' = peer time / (forward FLOPs at numpy's 2048^3 sgemm rate, "
              f"{rows[0].get('sgemm', float('nan')):.0f} GFLOP/s here): the largest speed-up "
              "over that peer any implementation doing this arithmetic at that rate can show."]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-cpu-table", action="store_true",
                    help="skip the 1-thread process-CPU-time table")
    ap.add_argument("--out", default=None, help="also write the Markdown tables to this file")
    a = ap.parse_args(argv)
    nt = a.threads
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:  # pragma: no cover
        have_torch = False
    info = gl.build_info()
    cases = [("A", [784, 128, 10], 10_000, 32, [0.3]),
             ("A'", [784, 128, 10], 10_000, 32, list(np.linspace(0.1, 1.0, 8))),
             ("B", [64, 32, 10], 1_000, 2000, [0.3])]
    steps = 100_000
    if a.quick:
        cases = [("A", [784, 128, 10], 2_000, 8, [0.3]),
                 ("A'", [784, 128, 10], 2_000, 8, list(np.linspace(0.1, 1.0, 8))),
                 ("B", [64, 32, 10], 1_000, 200, [0.3])]
        steps = 20_000
    head = (f"simd: {info['simd_path']}; compiler: {info['compiler']}; "
            f"torch {'yes' if have_torch else 'no'}")
    out = []
    if not a.no_cpu_table:
        with limit_threads(1):
            rows = profile_rows(cases, 1, time.process_time, have_torch)
            rows.append(walk_row(1, time.process_time, have_torch, steps // 5))
        out.append(table(rows, f"1 thread everywhere, process CPU time (robust to other load); "
                               f"{head}"))
    with limit_threads(nt):
        rows = profile_rows(cases, nt, time.perf_counter, have_torch)
        rows.append(walk_row(nt, time.perf_counter, have_torch, steps))
    out.append(table(rows, f"{nt} threads everywhere, wall time; {head}"))
    text = "\n\n".join(out)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
