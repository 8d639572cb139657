"""Boltzmann learning with BP moments on the authors' released data moments (Zou & Huang 2021):
the paper's fixed step (step="fixed"), the adaptive step from a small random J without
exploration (init="random", explore=0) and the default (init="auto": closed-form Bethe start or
Adam exploration, then the adaptive step with checks by BP from zero messages), per data set and
block: moment error of the returned fit, at the last iteration, of BP restarted from zero
messages, the convergence verdict, the start used, rejected steps, final step scale and seconds.

    PYTHONPATH=python python bench/python/bench_maxent_boltzmann.py [--blocks shallow:FULL,under:RB]
        [--variants fixed,adaptive,default] [--iters 100]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from glasslens.maxent import Ising, block_slices, fit_boltzmann, moment_error

REF = Path("/work/shared/reference/zou-huang-2021")
ALL = ("shallow:FULL,under:LB,under:ITER,under:RB,over:LB,over:ITER,over:RB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", default=ALL)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="fixed,adaptive,default")
    a = ap.parse_args()
    if not REF.exists():
        print("reference data absent")
        return
    sl_all = dict(block_slices((20, 15, 15, 10)), FULL=slice(0, 200))
    variants = {"fixed": dict(step="fixed"), "adaptive": dict(init="random", explore=0),
                "default": {}}
    print("| case | block | released fit | variant | returned | last iter. | zero-message BP | converged"
          " (reason) | start | rejected | final step scale | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for cb in a.blocks.split(","):
        case, b = cb.split(":")
        z = np.load(REF / f"bp_ising_{case}.npz", allow_pickle=False)
        sl = sl_all[b]
        m, C = z["m_data"][sl], z["C_data"][sl, sl]
        st = Ising(z[f"h_{b}"], z[f"J_{b}"]).bp(warn=False, n_threads=a.threads)
        rel = moment_error(st.m, st.C, m, C)
        for step in a.variants.split(","):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = fit_boltzmann(data_moments=(m, C), moments="bp", iters=a.iters,
                                  n_threads=a.threads, **variants[step])
            dt = time.perf_counter() - t
            i = f.info
            why = "yes" if i["converged"] else "no: " + i["reason"].split(":")[0]
            print(f"| {case} | {b} | {rel:.4f} | {step} | {i['final_error']:.4f} | "
                  f"{i['last_error']:.4f} | {i['cold_bp_error']:.4f} | {why} | {i['start']} | {i['n_rejected']} | "
                  f"{i['steps'][-1]:.2g} | {dt:.1f} |", flush=True)


if __name__ == "__main__":
    main()
