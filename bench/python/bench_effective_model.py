"""End-to-end effective model (Zou & Huang 2021) on our data, compared with the authors' release.

Runs glasslens' pipeline (train binary LR-nets, draw +-1 configurations, fit the pairwise
maximum-entropy model per block by Boltzmann learning with BP moments, tilted-BP entropy
landscapes, TAP free energies, liquid/solid indicators, with and without hidden-unit alignment)
for the deep under-parametrised and the shallow preset, and prints Markdown tables next to the
same indicators computed from the authors' released fits and data moments.

    PYTHONPATH=python /work/venv/bin/python bench/python/bench_effective_model.py \
        --dataset fashion-mnist --replicas 100 --epochs 20 --draws 1000 --json out.json

--dataset: fashion-mnist (glasslens.datasets, PCA 20 of raw pixels) or authors-mnist (the
authors' MNIST test set on their 50 PCs, first 8000 rows train / last 2000 test; needs
/work/shared/reference/zou-huang-2021).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from glasslens import effective_model as bn
from glasslens import effective_model as em
from glasslens import maxent

REF = Path("/work/shared/reference/zou-huang-2021")


def load(name: str, n_threads: int):
    if name == "authors-mnist":
        z = np.load(REF / "mnist_test_pca50.npz", allow_pickle=False)
        X, y = z["X"][:, :20].astype(np.float32), z["labels"].astype(np.int64)
        return bn.ArrayDataset(X[:8000], y[:8000], X[8000:], y[8000:], name="authors-mnist")
    from glasslens import datasets

    return datasets.load(name, pca=20, standardize=False, n_threads=n_threads)


def reference_indicators():
    """Per-block indicators of the authors' released fits / data moments."""
    out = {}
    for case in ("under", "shallow"):
        p = REF / f"bp_ising_{case}.npz"
        if not p.exists():
            continue
        z = np.load(p, allow_pickle=False)
        m, C = z["m_data"], z["C_data"]
        blocks = (maxent.block_slices((20, 15, 15, 10)) if case == "under"
                  else {"FULL": slice(0, 200)})
        for b, sl in blocks.items():
            if b == "FULL" and case == "under":
                continue
            ising = maxent.Ising(z[f"h_{b}"], z[f"J_{b}"])
            s = maxent.block_summary(ising, m[sl], C[sl, sl])
            s["frac_frozen"] = float(np.mean(np.abs(m[sl]) > 0.999))
            out[(case, b)] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--regimes", nargs="+", default=["shallow", "deep-under"])
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--references", type=int, default=1)
    ap.add_argument("--tap-starts", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    data = load(a.dataset, a.threads)
    print(f"dataset {a.dataset}: train {data.X_train.shape}, test {data.X_test.shape}, "
          f"PC1 std {data.X_train[:, 0].std():.2f}")
    xs = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.1), 10)
    results = {}
    for regime in a.regimes:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            r = em.run_effective_model(
                data, regime, n_replicas=a.replicas, epochs=a.epochs, n_per_network=a.draws,
                n_references=a.references, xs=xs, landscape_kwargs={"direction": "outward"},
                n_tap_starts=a.tap_starts, alignment="both" if regime != "shallow" else "none",
                seed=0, n_threads=a.threads)
        dt = time.perf_counter() - t0
        print(f"\n## {regime} ({dt:.0f} s)\n")
        for w in {str(w.message) for w in wl}:
            print(f"- warning: {w}")
        print(r.report())
        print()
        print(em.liquid_solid_table(r))
        for name, an in r.variants().items():
            for b, Ls in an.landscapes.items():
                for level, lst in Ls.items():
                    for L in lst:
                        print(f"[{name} {b} {level}] " + L.report().replace("\n", " | "))
        d = r.to_dict(curves=True)
        d["seconds"] = dt
        results[regime] = d
    ref = reference_indicators()
    if ref:
        print("\n## authors' release\n")
        print("| case | block | N | std J | mean abs conn. C | mean abs m | std m | frozen |m|=1 |")
        print("|---|---|---|---|---|---|---|---|")
        for (case, b), s in ref.items():
            print(f"| {case} | {b} | {int(s['n'])} | {s['J_std']:.4f} | {s['mean_abs_conn_C']:.4f} | "
                  f"{s['mean_abs_m']:.3f} | {s['std_m']:.3f} | {s['frac_frozen']:.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "results": results}, indent=1))


if __name__ == "__main__":
    main()
