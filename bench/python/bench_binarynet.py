"""Benchmark: LR-net training of binary-synapse networks, glasslens vs PyTorch (same run).

Usage: PYTHONPATH=python python bench/python/bench_binarynet.py [--replicas 8] [--epochs 3]
       [--threads 1 2] [--out bench/results/binarynet.md]

Peers (identical model and settings: 20-15-15-10 or 20-10, no biases, LR-net sampled
pre-activations, leaky ReLU / sqrt(fan-in), softmax CE, Adam(0.9, 0.999, 1e-8) lr 0.3 with
coupled L2 1e-5 on theta, batch 200, theta init N(0, 0.1^2)):
* torch-loop: one replica after another (the usual way to run independent trainings);
* torch-batched: all replicas stacked in (R, out, in) tensors and trained with bmm (a strong peer:
  Adam is elementwise, so this is R independent trainings).
Data: the authors' MNIST test set on principal components (../shared/reference, first 20 PCs;
8000 train / 2000 test) when present, else sklearn digits projected on 20 PCs.
Throughput = replicas x epochs x training examples / wall time. Also reported: the mean test
accuracy of sampled binary networks after training (both implementations should agree roughly).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import glasslens as gl
from glasslens import effective_model as bn

REF = Path(__file__).resolve().parents[2] / ".." / ".." / "shared" / "reference" / "zou-huang-2021"


def load_data():
    cands = [Path("/work/shared/reference/zou-huang-2021/mnist_test_pca50.npz"), REF / "mnist_test_pca50.npz"]
    for p in cands:
        if p.exists():
            z = np.load(p, allow_pickle=False)
            X = z["X"][:, :20].astype(np.float32)
            y = z["labels"].astype(np.int64)
            return bn.ArrayDataset(X[:8000], y[:8000], X[8000:], y[8000:], name="mnist-test-pca20")
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data / 16.0
    X = X - X.mean(0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    Z = (X @ Vt[:20].T).astype(np.float32)
    Z *= 2.3 / Z[:, 0].std()
    return bn.ArrayDataset(Z[:1400], d.target[:1400], Z[1400:], d.target[1400:], name="digits-pca20")


def torch_train(torch, widths, X, y, R, epochs, batch, lr, l2, seed, batched):
    g = torch.Generator().manual_seed(seed)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    n = Xt.shape[0]
    L = len(widths) - 1
    F = torch.nn.functional

    def forward(thetas, a):
        for i, T in enumerate(thetas):
            mu = torch.tanh(T / 2)
            var = 1 - mu * mu
            if batched:
                m = torch.bmm(a, mu.transpose(1, 2))
                s = torch.bmm(a * a, var.transpose(1, 2))
            else:
                m = a @ mu.T
                s = (a * a) @ var.T
            z = m + torch.sqrt(s) * torch.randn(m.shape, generator=g)
            a = F.leaky_relu(z, 0.1) / np.sqrt(widths[i]) if i < L - 1 else z
        return a

    def train_group(thetas, reps):
        opt = torch.optim.Adam(thetas, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=l2)
        for _ in range(epochs):
            perm = torch.stack([torch.randperm(n, generator=g) for _ in range(reps)])
            for s in range(0, n, batch):
                idx = perm[:, s:s + batch]
                if batched:
                    z = forward(thetas, Xt[idx])
                    loss = F.cross_entropy(z.reshape(-1, widths[-1]), yt[idx].reshape(-1)) * reps
                else:
                    z = forward(thetas, Xt[idx[0]])
                    loss = F.cross_entropy(z, yt[idx[0]])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return [T.detach().numpy().copy() for T in thetas]

    if batched:
        thetas = [(0.1 * torch.randn(R, widths[i + 1], widths[i], generator=g)).requires_grad_()
                  for i in range(L)]
        out = train_group(thetas, R)
        return bn.BinaryEnsemble(out)
    per = []
    for _ in range(R):
        thetas = [(0.1 * torch.randn(widths[i + 1], widths[i], generator=g)).requires_grad_()
                  for i in range(L)]
        per.append(train_group(thetas, 1))
    return bn.BinaryEnsemble([np.stack([p[i] for p in per]) for i in range(L)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    ap.add_argument("--quality-epochs", type=int, default=20,
                    help="epochs of the accuracy comparison (0: skip)")
    ap.add_argument("--eval-configs", type=int, default=2000,
                    help="binary configurations in the evaluation benchmark (0: skip)")
    ap.add_argument("--eval-only", action="store_true", help="run only the evaluation benchmark")
    ap.add_argument("--out", type=str, default=None)
    args = ap.parse_args()
    import torch

    data = load_data()
    n = data.X_train.shape[0]
    R, E = args.replicas, args.epochs
    rows = []
    lines = []
    print(f"data: {data.name}, {n} train / {data.X_test.shape[0]} test; R={R}, epochs={E}, batch 200")
    for hidden in ([] if args.eval_only else [(15, 15), ()]):
        widths = [20, *hidden, 10]
        work = R * E * n
        res = {}
        for nt in args.threads:
            gl.effective_model.train_binary(bn.ArrayDataset(data.X_train[:400], data.y_train[:400]), hidden=hidden,
                            replicas=2, epochs=1, n_threads=nt)  # warm-up
            torch.set_num_threads(nt)
            best = {}
            for _ in range(args.repeat):  # interleaved, best of `repeat` (shared, noisy machine)
                t = time.perf_counter()
                ens = gl.effective_model.train_binary(data, hidden=hidden, replicas=R, epochs=E, seed=1,
                                      n_threads=nt, n_eval=1)
                dt = time.perf_counter() - t
                if dt < best.get("glasslens", (np.inf,))[0]:
                    best["glasslens"] = (dt, ens)
                for mode in ("loop", "batched"):
                    t = time.perf_counter()
                    te = torch_train(torch, widths, data.X_train, data.y_train, R, E, 200, 0.3,
                                     1e-5, seed=1, batched=(mode == "batched"))
                    dt = time.perf_counter() - t
                    if dt < best.get(f"torch-{mode}", (np.inf,))[0]:
                        best[f"torch-{mode}"] = (dt, te)
            for name, (dt, e) in best.items():
                acc = e.evaluate(data.X_test, data.y_test, n_samples=5, seed=2).mean()
                res[(name, nt)] = (dt, acc)
        for nt in args.threads:
            g_dt, g_acc = res[("glasslens", nt)]
            for peer in ("torch-loop", "torch-batched"):
                p_dt, p_acc = res[(peer, nt)]
                rows.append((widths, nt, peer, p_dt, work / p_dt, p_acc, g_dt, work / g_dt, g_acc,
                             p_dt / g_dt))
    if rows:
        lines += _train_table(rows)
    if args.eval_configs > 0:
        lines += [""] + eval_bench(torch, data, args.eval_configs, args.threads, args.repeat)
    if args.quality_epochs > 0 and not args.eval_only:
        lines += _quality(torch, data, R, args.quality_epochs)
    table = "\n".join(lines)
    print(table)
    env = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
           f"torch {torch.__version__}, glasslens {gl.__version__} "
           f"(SIMD path {gl.build_info()['simd_path']})")
    print(env)
    if args.out:
        Path(args.out).write_text(table + "\n\n" + env + "\n")


def eval_bench(torch, data, K, threads, repeat):
    """Test accuracy of K binary configurations of the deep net: glasslens vs a batched torch
    forward pass (configurations in chunks of 100, bmm)."""
    widths = [20, 15, 15, 10]
    P = bn.n_weights(widths)
    W = np.where(np.random.default_rng(0).random((K, P)) < 0.5, 1, -1).astype(np.int8)
    X, y = data.X_test, data.y_test
    Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, dtype=np.int64))
    F = torch.nn.functional

    def torch_eval():
        out = []
        with torch.no_grad():
            for c0 in range(0, K, 100):
                Wc = torch.from_numpy(W[c0:c0 + 100].astype(np.float32))
                a = Xt.expand(Wc.shape[0], *Xt.shape)
                pos = 0
                for i in range(3):
                    o, k = widths[i + 1], widths[i]
                    M = Wc[:, pos:pos + o * k].reshape(-1, o, k)
                    pos += o * k
                    z = torch.bmm(a, M.transpose(1, 2))
                    a = F.leaky_relu(z, 0.1) / np.sqrt(k) if i < 2 else z
                out.append((a.argmax(dim=2) == yt).double().mean(dim=1).numpy())
        return np.concatenate(out)

    lines = [f"Evaluation: test accuracy of {K} random binary 20-15-15-10 configurations on "
             f"{X.shape[0]} test examples (torch: batched bmm over configurations):", "",
             "| threads | torch (s) | glasslens (s) | glasslens configs/s | speed-up | max |acc diff| |",
             "|---|---|---|---|---|---|"]
    for nt in threads:
        torch.set_num_threads(nt)
        tb, gb = np.inf, np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            ta = torch_eval()
            tb = min(tb, time.perf_counter() - t)
            t = time.perf_counter()
            ga = bn.evaluate_configurations(W, widths, X, y, n_threads=nt)
            gb = min(gb, time.perf_counter() - t)
        diff = float(np.max(np.abs(ta - ga)))
        lines.append(f"| {nt} | {tb:.3f} | {gb:.3f} | {K / gb:,.0f} | **{tb / gb:.1f}x** | {diff:.4f} |")
    return lines


def _train_table(rows):
    lines = []
    hdr = ("| net | threads | peer | peer time (s) | peer ex/s | peer acc | glasslens time (s) | "
           "glasslens ex/s | glasslens acc | speed-up |")
    sep = "|" + "---|" * 10
    lines += [hdr, sep]
    for (w, nt, peer, p_dt, p_tp, p_acc, g_dt, g_tp, g_acc, ratio) in rows:
        lines.append(f"| {'-'.join(map(str, w))} | {nt} | {peer} | {p_dt:.3f} | {p_tp:,.0f} | "
                     f"{p_acc:.3f} | {g_dt:.3f} | {g_tp:,.0f} | {g_acc:.3f} | **{ratio:.1f}x** |")
    return lines


def _quality(torch, data, R, Q):
    lines = []
    if Q > 0:
        lines += ["", f"Accuracy after {Q} epochs (deep net, {R} replicas each, mean +- std over "
                      "replicas of the mean test accuracy of 20 binary draws):", "",
                  "| implementation | binary test acc | mean-field test acc | time (s) |",
                  "|---|---|---|---|"]
        torch.set_num_threads(1)
        t = time.perf_counter()
        ens = gl.effective_model.train_binary(data, hidden=(15, 15), replicas=R, epochs=Q, seed=3, n_threads=1)
        g_dt = time.perf_counter() - t
        t = time.perf_counter()
        te = torch_train(torch, [20, 15, 15, 10], data.X_train, data.y_train, R, Q, 200, 0.3, 1e-5,
                         seed=3, batched=True)
        t_dt = time.perf_counter() - t
        for name, e, dt in (("glasslens", ens, g_dt), ("torch-batched", te, t_dt)):
            acc = e.evaluate(data.X_test, data.y_test, n_samples=20, seed=4).mean(axis=1)
            mf = e.evaluate_mean_field(data.X_test, data.y_test)
            lines.append(f"| {name} | {acc.mean():.3f} +- {acc.std():.3f} | "
                         f"{mf.mean():.3f} +- {mf.std():.3f} | {dt:.2f} |")
    return lines


if __name__ == "__main__":
    main()
