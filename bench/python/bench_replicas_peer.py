"""Protocol 3 end to end: glasslens against the same pipeline written with PyTorch + scipy + numpy.

The study (issue 17): M replicas of 784-H-10 (default 100 x 784-256-10) trained for 5 epochs
(batch 64, lr 0.05, momentum 0.9) on n Fashion-MNIST training images (default 10,000), then the
pairwise-aligned weight overlaps, P(q), hierarchical clustering (average, complete, ward) and the
ultrametricity of all triangles against n_null aligned null realisations (the default 'network'
null of an Ensemble: the flat parameters rotated by a Haar rotation in replica space, then the
same pairwise alignment, overlaps and distances).

* glasslens: ``train_ensemble`` (timed with ``record='epoch'``, today's default, and with
  ``record='none'``, no evaluation; the weights are bit-identical) and one
  ``replica_structure(ens, alignment='pairwise', n_null=...)`` call.
* peer: a PyTorch loop over replicas (``torch.set_num_threads``, the same initialisations and
  the same data order, so its weights agree with glasslens' to float rounding); then, on
  glasslens' trained ensemble (so that the results can be compared exactly), numpy float32 cost
  GEMMs (one batched matmul per replica a against all later b) + ``scipy.optimize.
  linear_sum_assignment`` per pair, ``np.histogram`` / moments for P(q),
  ``scipy.cluster.hierarchy`` linkage + cophenet, numpy for the triangles, and the same null
  draws (the same SeedSequence stream, the same Haar rotations) through the same peer pipeline.

Each side runs in its own fresh Python process, timed from before its imports (first-call
import costs included). The comparison asserts overlaps within 1e-6, the same P(q) counts, the
same verdict and p-values, and reports the fraction of identical permutations.

Usage: PYTHONPATH=python python bench/python/bench_replicas_peer.py [--replicas 100] [--hidden 256]
       [--n-train 10000] [--n-null 39] [--threads 2] [--out bench/results/replicas_peer.md]
Quick: --replicas 20 --n-train 2000.
"""
from __future__ import annotations

import time

T_START = time.perf_counter()  # noqa: E402  (before any import of the side that runs)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

LR, MOMENTUM, BATCH, SEED = 0.05, 0.9, 64, 0
METHODS = ("average", "complete", "ward")


def _stamp(times, key, t0):
    t = time.perf_counter()
    times[key] = t - t0
    return t


# ---- glasslens side ------------------------------------------------------------------------------
def run_glasslens(a, work):
    times = {}
    t0 = T_START
    import numpy as np

    import glasslens as gl
    t0 = _stamp(times, "import", t0)
    ds = gl.load_dataset("fashion-mnist", n_train=a.n_train)
    t0 = _stamp(times, "load data", t0)
    cfg = gl.TrainConfig(hidden=(a.hidden,), replicas=a.replicas, epochs=a.epochs,
                         batch_size=BATCH, lr=LR, momentum=MOMENTUM, seed=SEED)
    ens = gl.train_ensemble(ds, cfg, record="none", n_threads=a.threads)
    t0 = _stamp(times, "train (record='none')", t0)
    res = gl.replicas.replica_structure(ens, alignment="pairwise", n_null=a.n_null, seed=SEED,
                                        n_threads=a.threads)
    t0 = _stamp(times, "analysis (replica_structure)", t0)
    times["total"] = sum(v for k, v in times.items() if k != "load data")  # as the peer's
    cpu_total = time.process_time()
    # not part of the end-to-end pipeline: today's default training and the stage breakdown
    ens_e = gl.train_ensemble(ds, cfg, record="epoch", n_threads=a.threads)
    t0 = _stamp(times, "train (record='epoch', today's default)", t0)
    assert np.array_equal(ens_e.flat(), ens.flat()), "record changed the weights"
    Q = gl.replicas.overlap_matrix(ens, alignment="pairwise", n_threads=a.threads)
    t0 = _stamp(times, "breakdown: data alignment + overlaps", t0)
    from glasslens.symmetry import pairwise_alignment

    perms, _ = pairwise_alignment(ens, n_threads=a.threads)
    assert np.array_equal(Q, res.Q)
    ens.save(os.path.join(work, "ens.npz"))
    um = res.ultrametricity
    nl = um.nulls["network"]
    np.savez(os.path.join(work, "gl.npz"), Q=res.Q, perms=perms, counts=res.distribution.counts,
             edges=res.distribution.edges, mean_K=um.mean_K, null_mean_K=nl.mean_K,
             null_coph=nl.cophenetic, cophenetic=np.array([res.clusters[m].cophenetic
                                                           for m in METHODS]),
             p=np.array([nl.p_value, nl.p_value_cophenetic]),
             linkage=np.stack([res.clusters[m].linkage for m in METHODS]))
    out = {"times": times, "cpu": cpu_total, "verdict": um.verdict, "more": bool(nl.more_ultrametric),
           "final_test_acc": float(np.mean(ens_e.metrics["test_acc"]))}
    with open(os.path.join(work, "gl.json"), "w") as f:
        json.dump(out, f)


# ---- peer side -----------------------------------------------------------------------------------
def run_peer(a, work):
    times = {}
    t0 = T_START
    import numpy as np
    import torch
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import squareform

    import glasslens as gl  # data loading, the initial networks and the seeds only (untimed)
    from glasslens.nn import derived_seeds, epoch_order, layer_slices
    torch.set_num_threads(a.threads)
    t0 = _stamp(times, "import", t0)
    ds = gl.load_dataset("fashion-mnist", n_train=a.n_train)
    widths = [ds.X_train.shape[1], a.hidden, 10]
    init = gl.Ensemble.init(widths, a.replicas, seed=SEED)
    oseed = derived_seeds(SEED)["order_seed"]
    n = ds.X_train.shape[0]
    orders = [torch.from_numpy(epoch_order(oseed, 0, e, n)) for e in range(a.epochs)]
    t0 = time.perf_counter()  # data, initial networks and data order: not timed

    # training: the PyTorch loop over replicas (same init, same data order as glasslens)
    Xt = torch.from_numpy(ds.X_train)
    yt = torch.from_numpy(ds.y_train.astype(np.int64))
    thetas = []
    for r in range(a.replicas):
        model = init[r].to_torch()
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        lossf = torch.nn.CrossEntropyLoss()
        for e in range(a.epochs):
            perm = orders[e]
            for b0 in range(0, n, BATCH):
                idx = perm[b0:b0 + BATCH]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        with torch.no_grad():
            thetas.append(np.concatenate([np.concatenate([m.weight.numpy().ravel(),
                                                          m.bias.numpy()])
                                          for m in model if isinstance(m, torch.nn.Linear)]))
    t0 = _stamp(times, "train (torch)", t0)
    theta_torch = np.stack(thetas)

    # the analysis, on glasslens' trained ensemble (the same input for both pipelines)
    ens = gl.Ensemble.load(os.path.join(work, "ens.npz"))
    F32 = ens.flat()
    t0 = time.perf_counter()
    sl = layer_slices(widths, True)
    M, H = a.replicas, a.hidden

    def features(F):
        """(M, H, D) float32 unit vectors [W1 row, b1, W2 column] and (M, 10) float64 b2."""
        W1 = F[:, sl[0]["weight"]].reshape(M, H, widths[0])
        b1 = F[:, sl[0]["bias"]].reshape(M, H, 1)
        W2 = F[:, sl[1]["weight"]].reshape(M, widths[2], H).transpose(0, 2, 1)
        return (np.ascontiguousarray(np.concatenate([W1, b1, W2], axis=2), dtype=np.float32),
                F[:, sl[1]["bias"]].astype(np.float64))

    def pairwise(F):
        U, b2 = features(F)
        nrm = np.linalg.norm(F.astype(np.float64), axis=1)
        perms = np.empty((M, M, H), dtype=np.int64)
        Q = np.eye(M)
        rows = np.arange(H)
        for i in range(M):
            perms[i, i] = rows
            if i + 1 == M:
                break
            Cs = np.matmul(U[i + 1:], U[i].T)  # (M - i - 1, H_b, H_a): rows units of b
            for k, C in enumerate(Cs):
                j = i + 1 + k
                _, col = linear_sum_assignment(C, maximize=True)  # unit b -> unit a
                p = np.empty(H, np.int64)
                p[col] = rows  # p[unit of a] = unit of b
                perms[i, j], perms[j, i] = p, col
                Q[i, j] = Q[j, i] = (C[rows, col].astype(np.float64).sum() + b2[i] @ b2[j]) \
                    / (nrm[i] * nrm[j])
        return np.clip(Q, -1.0, 1.0), perms

    iu = np.triu_indices(M, 1)

    def mean_K(D):
        d = D[iu]
        sig = d.std()
        tot, cnt = 0.0, 0
        for i in range(M - 2):  # all triangles i < j < k, vectorised per i
            j, k = np.triu_indices(M - i - 1, 1)
            j, k = j + i + 1, k + i + 1
            s = np.sort(np.stack([D[i, j], D[i, k], D[j, k]], axis=1), axis=1)
            tot += float((s[:, 2] - s[:, 1]).sum())
            cnt += s.shape[0]
        return tot / cnt / sig

    def coph(D, method="average"):
        c = squareform(D, checks=False)
        return float(cophenet(linkage(c, method), c)[0])

    Q, perms = pairwise(F32)
    t0 = _stamp(times, "align + overlaps", t0)
    q = Q[iu]
    counts, edges = np.histogram(q, bins=50, range=(-1.0, 1.0))
    moments = (q.mean(), q.var(), np.mean(q ** 2), np.mean(q ** 4))  # noqa: F841
    t0 = _stamp(times, "P(q)", t0)
    D = np.clip(1.0 - Q, 0.0, None)
    np.fill_diagonal(D, 0.0)
    cond = squareform(D, checks=False)
    links, cophs = [], []
    for m in METHODS:
        Z = linkage(cond, m)
        links.append(Z)
        cophs.append(float(cophenet(Z, cond)[0]))
    t0 = _stamp(times, "clustering", t0)
    obs = mean_K(D)
    coph_obs = coph(D)
    t0 = _stamp(times, "triangles", t0)
    # the network null: the same SeedSequence stream as glasslens.replicas.ultrametricity
    s_null = np.random.SeedSequence(SEED).spawn(3)[1]
    rng = np.random.default_rng(s_null.spawn(1)[0])
    F = F32.astype(np.float64)
    mean = F.mean(axis=0)
    Y = F - mean
    Hm = np.zeros((M, M - 1))
    for k in range(1, M):
        Hm[:k, k - 1] = 1.0 / np.sqrt(k * (k + 1))
        Hm[k, k - 1] = -k / np.sqrt(k * (k + 1))
    mk, cp = np.empty(a.n_null), np.empty(a.n_null)
    for t in range(a.n_null):
        A = rng.standard_normal((M - 1, M - 1))
        qq, rr = np.linalg.qr(A)
        qq = qq * np.sign(np.diag(rr))[None, :]
        O = Hm @ qq @ Hm.T + np.full((M, M), 1.0 / M)
        Qn, _ = pairwise((O @ Y + mean).astype(np.float32))
        Dn = np.clip(1.0 - Qn, 0.0, None)
        np.fill_diagonal(Dn, 0.0)
        Dn = Dn * (D[iu].mean() / Dn[iu].mean())
        mk[t], cp[t] = mean_K(Dn), coph(Dn)
    p = (1 + np.sum(mk <= obs)) / (1 + a.n_null)
    pc = (1 + np.sum(cp >= coph_obs)) / (1 + a.n_null)
    more = bool(p < 0.05 and obs < mk.mean())
    t0 = _stamp(times, f"{a.n_null} aligned nulls", t0)
    times["total"] = sum(v for k, v in times.items())
    cpu_total = time.process_time()  # includes loading the data and glasslens' ensemble
    np.savez(os.path.join(work, "peer.npz"), Q=Q, perms=perms, counts=counts, edges=edges,
             mean_K=obs, null_mean_K=mk, null_coph=cp, cophenetic=np.array(cophs),
             p=np.array([p, pc]), linkage=np.stack(links), theta_torch=theta_torch)
    with open(os.path.join(work, "peer.json"), "w") as f:
        json.dump({"times": times, "cpu": cpu_total, "more": more}, f)


# ---- driver --------------------------------------------------------------------------------------
def _side(side, a, work):
    argv = [sys.executable, os.path.abspath(__file__), "--side", side, "--work", work,
            "--replicas", str(a.replicas), "--hidden", str(a.hidden), "--n-train",
            str(a.n_train), "--n-null", str(a.n_null), "--epochs", str(a.epochs), "--threads",
            str(a.threads)]
    subprocess.run(argv, check=True, env={**os.environ, "OMP_NUM_THREADS": str(a.threads),
                                          "OPENBLAS_NUM_THREADS": str(a.threads)})
    with open(os.path.join(work, f"{side}.json")) as f:
        return json.load(f)


def compare(a, work, g, p):
    import numpy as np

    G = np.load(os.path.join(work, "gl.npz"))
    P = np.load(os.path.join(work, "peer.npz"))
    ens_flat = None
    try:
        import glasslens as gl

        ens_flat = gl.Ensemble.load(os.path.join(work, "ens.npz")).flat()
    except Exception:  # pragma: no cover
        pass
    dq = float(np.abs(G["Q"] - P["Q"]).max())
    same_perm = float(np.mean(np.all(G["perms"] == P["perms"], axis=2)))
    checks = {
        "max abs(Q_gl - Q_peer)": f"{dq:.1e}",
        "identical permutations (ordered pairs)": f"{100 * same_perm:.2f}%",
        "P(q) histogram counts equal": bool(np.array_equal(G["counts"], P["counts"])),
        "max abs cophenetic diff (3 linkages)": f"{np.abs(G['cophenetic'] - P['cophenetic']).max():.1e}",
        "observed mean K diff": f"{abs(float(G['mean_K']) - float(P['mean_K'])):.1e}",
        "max abs null mean K diff": f"{np.abs(G['null_mean_K'] - P['null_mean_K']).max():.1e}",
        "p-values (K, cophenetic) gl / peer": f"{G['p'].round(4).tolist()} / {P['p'].round(4).tolist()}",
        "verdict more-ultrametric gl / peer": f"{g['more']} / {p['more']}",
    }
    if ens_flat is not None:
        dth = P["theta_torch"] - ens_flat
        rel = np.linalg.norm(dth, axis=1) / np.linalg.norm(ens_flat, axis=1)
        checks["torch vs glasslens weights (same init and order; float rounding, amplified by "
               "SGD)"] = (f"max abs {np.abs(dth).max():.1e}, relative norm median "
                          f"{np.median(rel):.1e}, max {rel.max():.1e}")
    assert dq < 1e-6, dq
    assert np.array_equal(G["counts"], P["counts"])
    assert np.array_equal(G["p"], P["p"]) and g["more"] == p["more"], (G["p"], P["p"])
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--n-null", type=int, default=39)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="also write the Markdown to this file")
    ap.add_argument("--side", choices=("gl", "peer"), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side == "gl":
        return run_glasslens(a, a.work)
    if a.side == "peer":
        return run_peer(a, a.work)
    work = tempfile.mkdtemp(prefix="bench_replicas_peer_")
    t = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()
    g = _side("gl", a, work)
    p = _side("peer", a, work)
    checks = compare(a, work, g, p)
    gt, pt = g["times"], p["times"]
    train_e = gt["train (record='epoch', today's default)"]
    gl_epoch_total = gt["total"] - gt["train (record='none')"] + train_e
    lines = [f"### Protocol 3 end to end: {a.replicas} x 784-{a.hidden}-10, {a.n_train:,} "
             f"Fashion-MNIST images, {a.epochs} epochs, pairwise alignment, {a.n_null} aligned "
             f"(network) nulls, {a.threads} threads",
             "", f"Run {t}, load average before {load0[0]:.1f} / after {os.getloadavg()[0]:.1f} "
             f"(shared machine), {platform.processor() or platform.machine()}.", "",
             "| stage | glasslens (s) | | peer (s) |", "|---|---|---|---|"]
    gk = [k for k in gt if k != "total"]
    pk = [k for k in pt if k != "total"]
    for i in range(max(len(gk), len(pk))):
        l = f"{gk[i]} | {gt[gk[i]]:.2f}" if i < len(gk) else " | "
        r = f"{pk[i]} | {pt[pk[i]]:.2f}" if i < len(pk) else " | "
        lines.append(f"| {l} | {r} |")
    t_none = gt["train (record='none')"]
    ana_peer = pt["total"] - pt["import"] - pt["train (torch)"]
    lines += ["", f"**End to end** (import, training with record='none', analysis; data "
              f"loading excluded on both sides): glasslens {gt['total']:.1f} s, peer "
              f"{pt['total']:.1f} s: **{pt['total'] / gt['total']:.2f}x**; with today's default "
              f"record='epoch': {gl_epoch_total:.1f} s, {pt['total'] / gl_epoch_total:.2f}x. "
              f"Training alone {pt['train (torch)'] / t_none:.2f}x (record='epoch': "
              f"{pt['train (torch)'] / train_e:.2f}x); analysis alone "
              f"{ana_peer / gt['analysis (replica_structure)']:.2f}x. Process CPU time: "
              f"glasslens {g['cpu']:.1f} s (the pipeline), peer {p['cpu']:.1f} s.",
              "", "| check | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in checks.items()]
    lines += ["", f"glasslens verdict: {g['verdict']}", ""]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
