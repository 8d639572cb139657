"""Known-answer calibration of the ultrametricity nulls (glasslens.replicas).

Before/after: the verdict of the old default nulls (isotropic Gaussian in the ambient dimension
plus coordinate shuffle; for Ensembles the isotropic Gaussian plus unaligned unit permutation)
and of the new defaults (covariance-matched + Brownian-path; null networks through the data's
alignment) on cases with a known answer both ways; then the p-value calibration (fraction of
p < 0.05 on many data sets drawn from each null hypothesis) and the detection rate of planted
trees. Writes bench/results/replicas_calibration.json and replicas_calibration.png and prints
the markdown tables for bench/results/replicas.md.

    OMP_NUM_THREADS=2 PYTHONPATH=python python bench/python/calibrate_ultrametricity.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import scipy.spatial.distance as ssd

import glasslens as gl
from glasslens.nn import Ensemble
from glasslens.replicas import _nulls
from glasslens.replicas._replicas import _dist_from_gram
from glasslens.spinmodels import geometric_temperatures, parallel_tempering

ALIGNMENTS = ("none", "pairwise", "reference", "medoid", "mean")
OUT = os.path.join(os.path.dirname(__file__), "..", "results")


# ---- known-answer data -------------------------------------------------------------------------

def random_walk(rng, M=64, D=2000):
    return np.cumsum(rng.standard_normal((M, D)), 0)


def embedded(rng, k, M=64, D=2000):
    Qb, _ = np.linalg.qr(rng.standard_normal((D, k)))
    return rng.standard_normal((M, k)) @ Qb.T


def power_law(rng, M=64, D=2000, a=1.0):
    return rng.standard_normal((M, D)) * np.arange(1, D + 1) ** (-a / 2)


def planted_tree(rng, branching, depth, D=500, ratio=0.5, noise=0.5):
    """Branching process: every node has `branching` children displaced by ratio^level Gaussian
    steps; leaves get extra noise (noise x the last step) and are shuffled."""
    pts = [np.zeros(D)]
    for lev in range(depth):
        s = ratio ** lev
        pts = [p + s * rng.standard_normal(D) for p in pts for _ in range(branching)]
    P = np.array(pts)
    P += noise * ratio ** (depth - 1) * rng.standard_normal(P.shape)
    return P[rng.permutation(len(P))]


def sk_replicas(seed, N=128, M=24, sweeps=1000, n_samples=4):
    r = parallel_tempering("sk", N, geometric_temperatures(0.4, 1.6, 12), n_samples=n_samples,
                           n_replicas=M, n_equilibrate=sweeps, n_measure=sweeps,
                           record_every=sweeps, seed=seed)
    return [r.configs[s, :, -1, 0, :] for s in range(n_samples)]


def untrained(seed, replicas=24):
    return gl.train_ensemble(gl.load_dataset("digits", n_train=1000), hidden=(32,),
                             replicas=replicas, epochs=0, seed=seed)


def dist(P):
    return ssd.squareform(ssd.pdist(P))


# ---- verdicts ----------------------------------------------------------------------------------

def short(v):
    return "MORE" if v.startswith("MORE") else ("NOT" if v.startswith("NOT") else v.split(":")[0])


def points_case(P, n_null):
    D = dist(P)
    old = gl.replicas.ultrametricity(D, null=("gaussian", "shuffle"), dim=P.shape[1], points=P,
                                     n_null=n_null, seed=0)
    new = gl.replicas.ultrametricity(D, points=P, n_null=n_null, seed=0)
    return old, new


def ps(u):
    return ", ".join(f"{k} {v.p_value:.2g}" for k, v in u.nulls.items())


def before_after(quick):
    n_null = 39 if quick else 99
    rows = []
    rng = np.random.default_rng(2024)
    cases = [("random walk, M = 64, D = 2000", random_walk(rng), False),
             ("2-D Gaussian cloud in D = 2000", embedded(rng, 2), False),
             ("10-D Gaussian cloud in D = 2000", embedded(rng, 10), False),
             ("power-law spectrum lambda_k ~ 1/k, D = 2000", power_law(rng), False),
             ("power-law spectrum lambda_k ~ 1/k^2, D = 2000", power_law(rng, a=2.0), False),
             ("isotropic Gaussian, D = 2000", rng.standard_normal((64, 2000)), False)]
    for b, d in ((2, 5), (3, 3), (4, 2), (8, 2), (2, 4)):
        cases.append((f"planted tree, branching {b}, depth {d} (M = {b ** d})",
                      planted_tree(rng, b, d), True))
    for name, P, expect in cases:
        old, new = points_case(P, n_null)
        rows.append(dict(case=name, expected="MORE" if expect else "NOT", old=short(old.verdict),
                         old_p=ps(old), new=short(new.verdict), new_p=ps(new)))
    for s, S in enumerate(sk_replicas(7, n_samples=2 if quick else 6)):
        old = gl.replicas.replica_structure(S, distance="1-|q|", null=("gaussian", "shuffle"),
                                            n_null=n_null, methods=("average",))
        new = gl.replicas.replica_structure(S, distance="1-|q|", n_null=n_null,
                                            methods=("average",))
        rows.append(dict(case=f"SK, N = 128, T = 0.4, 24 replicas, sample {s}", expected="MORE",
                         old=short(old.ultrametricity.verdict), old_p=ps(old.ultrametricity),
                         new=short(new.ultrametricity.verdict), new_p=ps(new.ultrametricity)))
    ens = untrained(5)
    for a in ALIGNMENTS:
        old_nulls = {"gaussian": gl.replicas.gaussian_null(24, ens.n_params, "cosine"),
                     "permutation": gl.replicas.permutation_null(ens, alignment="none")}
        new = gl.replicas.replica_structure(ens, alignment=a, n_null=39, methods=("average",))
        old = gl.replicas.ultrametricity(new.distances, null=old_nulls, n_null=39)
        rows.append(dict(case=f"untrained i.i.d. networks (digits, 32 hidden, 24 replicas), "
                              f"alignment = {a}", expected="NOT",
                         old=short(old.verdict), old_p=ps(old),
                         new=short(new.ultrametricity.verdict), new_p=ps(new.ultrametricity)))
    return rows


# ---- calibration --------------------------------------------------------------------------------

def _pvals_points(gen, n_sets, n_null, null, metric="euclidean", seed0=0):
    out = {n: [] for n in null}
    out["verdict_more"] = []
    for i in range(n_sets):
        P = gen(np.random.default_rng(seed0 + i))
        G = P @ P.T
        D = _dist_from_gram(G, metric)
        u = gl.replicas.ultrametricity(D, points=P, null=null, metric=metric, n_null=n_null,
                                       seed=i, n_threads=1)
        for n in null:
            out[n].append(u.nulls[n].p_value)
        out["verdict_more"].append(u.verdict.startswith("MORE"))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _pvals_network(alignment, n_sets, n_null, seed0=0):
    p, more = [], []
    for i in range(n_sets):
        ens = Ensemble.init([16, 12, 4], replicas=12, seed=seed0 + i)
        u = gl.replicas.replica_structure(ens, alignment=alignment, n_null=n_null, seed=i,
                                          methods=("average",), n_threads=1).ultrametricity
        p.append(u.nulls["network"].p_value)
        more.append(u.verdict.startswith("MORE"))
    return {"network": np.asarray(p), "verdict_more": np.asarray(more, dtype=float)}


def calibration(quick):
    n_sets = 40 if quick else 200
    n_null = 39 if quick else 99
    fams = {
        "isotropic Gaussian, M = 24, D = 300": lambda r: r.standard_normal((24, 300)),
        "Gaussian, power-law spectrum 1/k, M = 24, D = 300":
            lambda r: power_law(r, M=24, D=300),
        "3-D Gaussian in D = 300, M = 24": lambda r: embedded(r, 3, M=24, D=300),
        "Gaussian with mean, cosine metric, M = 24, D = 300":
            lambda r: r.standard_normal((24, 300)) + 0.5,
    }
    res = {}
    for name, gen in fams.items():
        metric = "cosine" if "cosine" in name else "euclidean"
        res[name] = dict(null="covariance", **_pvals_points(gen, n_sets, n_null,
                                                            ("covariance", "path"), metric))
    res["random walk, M = 24, D = 300"] = dict(null="path", **_pvals_points(
        lambda r: random_walk(r, M=24, D=300), n_sets, n_null, ("covariance", "path")))
    pm = {"covariance": [], "verdict_more": []}
    for i in range(n_sets):
        S = np.random.default_rng(5000 + i).choice([-1, 1], (24, 128))
        u = gl.replicas.replica_structure(S, distance="1-|q|", n_null=n_null, seed=i,
                                          methods=("average",)).ultrametricity
        pm["covariance"].append(u.nulls["covariance"].p_value)
        pm["verdict_more"].append(u.verdict.startswith("MORE"))
    res["paramagnet (i.i.d. +-1), M = 24, N = 128, d = 1 - |q|"] = dict(
        null="covariance", **{k: np.asarray(v, dtype=float) for k, v in pm.items()})
    for a in ALIGNMENTS:
        n_net = 20 if quick else (100 if a in ("medoid", "mean") else 200)
        res[f"untrained networks [16, 12, 4] x 12, alignment = {a}"] = dict(
            null="network", **_pvals_network(a, n_net, 39 if quick else 59))
    return res


def power(quick):
    n_sets = 10 if quick else 20
    out = {}
    for b, d in ((2, 5), (3, 3), (4, 2), (8, 2)):
        for noise in (1.0, 4.0, 8.0):
            more = [gl.replicas.ultrametricity(dist(P), points=P, n_null=39, seed=i)
                    .verdict.startswith("MORE")
                    for i, P in enumerate(planted_tree(np.random.default_rng(i), b, d,
                                                       noise=noise) for i in range(n_sets))]
            out[f"b{b} d{d} noise {noise}"] = float(np.mean(more))
    return out


# ---- figure ------------------------------------------------------------------------------------

def figure(cal, pw, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for i, (name, r) in enumerate(cal.items()):
        p = np.sort(r[r["null"]])
        short_name = ("networks, " + name.split("alignment = ")[1]) if "alignment" in name \
            else name
        ax1.plot(np.arange(1, len(p) + 1) / len(p), p, color=f"C{i % 10}", lw=1,
                 ls="-" if i < 10 else "--", label=f"{r['null']}: {short_name}"[:48])
    ax1.plot([0, 1], [0, 1], "k:", lw=1)
    ax1.set_xlabel("uniform quantile")
    ax1.set_ylabel("p-value quantile")
    ax1.set_title("p-values on null data sets", fontsize=9)
    ax1.legend(fontsize=5)
    names = list(cal)
    rate = [float(np.mean(cal[n][cal[n]["null"]] < 0.05)) for n in names]
    y = np.arange(len(names))
    ax2.barh(y, rate, color="0.6")
    ax2.axvspan(0.02, 0.08, color="C2", alpha=0.2, label="0.02-0.08")
    ax2.set_yticks(y)
    ax2.set_yticklabels([(("networks, " + n.split("alignment = ")[1]) if "alignment" in n
                          else n)[:34] for n in names], fontsize=5)
    ax2.set_xlabel("fraction p < 0.05 (own null)")
    ax2.legend(fontsize=7)
    ax2.set_title("calibration", fontsize=9)
    keys = list(pw)
    ax3.bar(np.arange(len(keys)), [pw[k] for k in keys], color="C0")
    ax3.set_xticks(np.arange(len(keys)))
    ax3.set_xticklabels(keys, rotation=70, fontsize=6)
    ax3.set_ylim(0, 1.05)
    ax3.set_ylabel("fraction 'MORE ultrametric' (default nulls)")
    ax3.set_title("planted trees: detection", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    t0 = time.time()
    rows = before_after(a.quick)
    t1 = time.time()
    cal = calibration(a.quick)
    t2 = time.time()
    pw = power(a.quick)
    t3 = time.time()
    suffix = "_quick" if a.quick else ""
    figure(cal, pw, os.path.join(OUT, f"replicas_calibration{suffix}.png"))
    summary = {
        "before_after": rows,
        "calibration": {n: {"null": r["null"], "n_datasets": int(len(r[r["null"]])),
                            "frac_p_below_0.05": float(np.mean(r[r["null"]] < 0.05)),
                            "mean_p": float(np.mean(r[r["null"]])),
                            "frac_default_verdict_more": float(np.mean(r["verdict_more"])),
                            **({"frac_path_p_below_0.05": float(np.mean(r["path"] < 0.05)),
                                "frac_covariance_p_below_0.05":
                                    float(np.mean(r["covariance"] < 0.05))}
                               if "path" in r else {})}
                        for n, r in cal.items()},
        "tree_detection": pw,
        "seconds": {"before_after": t1 - t0, "calibration": t2 - t1, "power": t3 - t2},
    }
    with open(os.path.join(OUT, f"replicas_calibration{suffix}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("| case | expected | old default | old p | new default | new p |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['expected']} | {r['old']} | {r['old_p']} | {r['new']} | "
              f"{r['new_p']} |")
    print()
    print("| null data sets | null | data sets | fraction p < 0.05 | mean p | "
          "default verdict MORE |")
    print("|---|---|---|---|---|---|")
    for n, c in summary["calibration"].items():
        print(f"| {n} | {c['null']} | {c['n_datasets']} | {c['frac_p_below_0.05']:.3f} | "
              f"{c['mean_p']:.3f} | {c['frac_default_verdict_more']:.3f} |")
    print()
    print("| planted tree | fraction MORE (default nulls) |")
    print("|---|---|")
    for k, v in pw.items():
        print(f"| {k} | {v:.2f} |")
    print("\nseconds:", {k: round(v, 1) for k, v in summary["seconds"].items()})


if __name__ == "__main__":
    main()
