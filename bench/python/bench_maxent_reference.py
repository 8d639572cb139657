"""Calibration of glasslens.maxent.landscape against the authors' released fits (Zou & Huang 2021).

Needs /work/shared/reference/zou-huang-2021 (skips otherwise). For the deep nets ("under",
"over") it sweeps x from 0 to -3 with the block fits LB / ITER / RB and low-energy references and
reports the range of s(d)/H2(d) and whether d jumps; for the shallow net it reproduces the
discontinuous jump of d. Compare with docs/effective-model-zou-huang2021.md, sections 7 and
"Validation: tilted BP on bp_ising_shallow".

Usage: PYTHONPATH=python python bench/python/bench_maxent_reference.py [--refs 3] [--step 0.1]
       [--cases under,over] [--out file.md]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from glasslens.maxent import (Ising, block_slices, entropy_landscape, fit_boltzmann,
                              fit_pseudolikelihood, mean_field_init, reconstruction_error,
                              sk_model)

REF = Path("/work/shared/reference/zou-huang-2021")


def planted_table(threads: int) -> str:
    """Planted-model recovery: SK model, N = 50, beta = 0.5, h ~ N(0, 0.2^2)."""
    true = sk_model(50, beta=0.5, h_std=0.2, seed=11)
    X = true.sample(100_000, burn_in=1000, thin=2, chains=16, seed=5, n_threads=threads)
    X = X[np.random.default_rng(1).permutation(len(X))]
    out = ["## Planted-model recovery (SK, N = 50, beta = 0.5, Metropolis samples)", "",
           "relative coupling error ||J_fit - J||_F / ||J||_F (off-diagonal)", "",
           "| M | pseudo-likelihood (l2 = 1e-5) | TAP | nMF | Boltzmann, BP moments (lr 0.1, 300 it., TAP init) |",
           "|---|---|---|---|---|"]
    for M in (1000, 10_000, 100_000):
        Y = X[:M]
        pl = reconstruction_error(true, fit_pseudolikelihood(Y, l2=1e-5, n_threads=threads))["J_rel"]
        tap = reconstruction_error(true, mean_field_init(Y, method="tap"))["J_rel"]
        nmf = reconstruction_error(true, mean_field_init(Y, method="nmf"))["J_rel"]
        try:
            bp = "%.3f" % reconstruction_error(true, fit_boltzmann(
                Y, moments="bp", lr_J=0.1, lr_h=0.1, iters=300, keep_after=100, init="tap",
                n_threads=threads))["J_rel"]
        except FloatingPointError:
            bp = "diverged"
        out.append(f"| {M} | {pl:.3f} | {tap:.3f} | {nmf:.3f} | {bp} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--refs", type=int, default=3)
    ap.add_argument("--step", type=float, default=0.1)
    ap.add_argument("--cases", type=str, default="under,over")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=str, default="")
    a = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # BP warnings are counted in the tables
    planted = planted_table(a.threads)
    if not REF.exists():
        print(planted)
        print("reference data absent; skipping the calibration")
        return
    xs = np.round(np.arange(-3.0, 1e-9, a.step), 10)
    lines = ["## Calibration on the authors' released fits", "",
             f"x from 0 to -3 in steps of {a.step} (warm-started BP, max |dm| <= 1e-6), "
             f"low-energy references 0..{a.refs - 1}.", ""]
    # Shallow net: the discontinuous transition.
    z = np.load(REF / "bp_ising_shallow.npz", allow_pickle=False)
    model = Ising(z["h_FULL"], z["J_FULL"])
    lines += ["### Shallow net (bp_ising_shallow.npz, N = 200)", "",
              "| reference | d at x=0 | d at x=-1.5 | jump at x | d after | s before -> after | BP sweeps (max) |",
              "|---|---|---|---|---|---|---|"]
    for r in range(a.refs):
        L = entropy_landscape(model, z["ref_l_sigma"][r], xs=np.round(np.arange(-3, 1e-9, 0.1), 10),
                              direction="backward", n_threads=a.threads)
        b = L.branches["backward"]
        k15 = int(np.argmin(np.abs(b.x + 1.5)))
        if L.jumps:
            j = L.jumps[0]
            jump = f"{j['x_to']:+.1f} | {j['d_to']:.3f} | {j['s_from']:.3f} -> {j['s_to']:.3f}"
        else:
            jump = "none | - | -"
        lines.append(f"| ref_l_sigma[{r}] | {b.d[0]:.3f} | {b.d[k15]:.3f} | {jump} | {b.sweeps.max()} |")
    for case in [c for c in a.cases.split(",") if c]:
        z = np.load(REF / f"bp_ising_{case}.npz", allow_pickle=False)
        blocks = block_slices((20, 15, 15, 10))
        lines += ["", f"### {case} (bp_ising_{case}.npz), blocks fitted separately", "",
                  "| block | N | d at x=0 | d at x=-3 | s/H2 min..max (x in [-3, 0]) | jumps | time (s) |",
                  "|---|---|---|---|---|---|---|"]
        for name in ("LB", "ITER", "RB"):
            sl = blocks[name]
            model = Ising(z[f"h_{name}"], z[f"J_{name}"])
            d0, d3, lo, hi, nj = [], [], [], [], 0
            t = time.perf_counter()
            for r in range(a.refs):
                ref = z["ref_l_sigma"][r][sl]
                L = entropy_landscape(model, ref, xs=xs, direction="backward", n_threads=a.threads)
                b = L.branches["backward"]
                ratio = b.ratio
                d0.append(b.d[0]); d3.append(b.d[-1])
                lo.append(np.nanmin(ratio)); hi.append(np.nanmax(ratio))
                nj += len(L.jumps)
            dt = time.perf_counter() - t
            lines.append(f"| {name} | {model.n} | {min(d0):.3f}..{max(d0):.3f} | {min(d3):.3f}..{max(d3):.3f} | "
                         f"{min(lo):.3f}..{max(hi):.3f} | {nj} | {dt:.1f} |")
    text = planted + "\n\n" + "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
