"""The effective-model section of the report: a tiny run of the Zou & Huang pipeline (a few
seconds). Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .._lib._sections import put_finding, run_seed, section_settings
from ._binarynet import ArrayDataset, _unpack_dataset
from ._pipeline import liquid_solid_table, run_effective_model
from .plotting import plot_entropy_landscapes, plot_liquid_solid


def _small_data(ds: Any, n_train: int, n_test: int, seed: int, info: Any = None):
    """The ctx dataset reduced to <= 20 principal components (of its training inputs) and
    <= 10 classes; falls back to scikit-learn digits when it has no usable test set."""
    try:
        Xtr, ytr, Xte, yte = _unpack_dataset(ds)
    except (TypeError, ValueError):
        Xte = None
    name = str(getattr(ds, "name", None) or "arrays")
    if Xte is None or Xtr.shape[0] < 50 or Xte.shape[0] < 10:
        from sklearn.datasets import load_digits

        name = "digits"
        d = load_digits()
        X, y = d.data / 16.0, d.target
        Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
        if info is not None:
            info["source"] = "digits (scikit-learn; the context dataset has no usable test set)"
    Xtr, Xte = np.asarray(Xtr, np.float64)[:n_train], np.asarray(Xte, np.float64)[:n_test]
    ytr, yte = np.asarray(ytr)[:n_train], np.asarray(yte)[:n_test]
    mu = Xtr.mean(axis=0)
    _, sv, Vt = np.linalg.svd(Xtr - mu, full_matrices=False)
    k = min(20, Vt.shape[0])
    Ztr, Zte = (Xtr - mu) @ Vt[:k].T, (Xte - mu) @ Vt[:k].T
    if k < 20:  # pad so the 20-input preset applies (zero inputs carry no signal)
        Ztr = np.hstack([Ztr, np.zeros((len(Ztr), 20 - k))])
        Zte = np.hstack([Zte, np.zeros((len(Zte), 20 - k))])
    sc = 2.3 / max(float(Ztr[:, 0].std()), 1e-12)  # the authors' PC1 scale (MNIST, std 2.3)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    return ArrayDataset((Ztr * sc).astype(np.float32), ytr.astype(np.int64),
                        (Zte * sc).astype(np.float32), yte.astype(np.int64),
                        name=f"{name} (20 PCs)"), n_classes


def section(ctx: Any) -> None:
    """``glasslens analyze`` section: a tiny effective-model run (a few seconds).

    Trains ``em_trainings`` (default 30) binary 20-15-15-10 nets for ``em_epochs`` (default:
    about 300 Adam steps, at most 50 epochs) on at most 3000 examples of the
    context dataset reduced to 20 principal components (scikit-learn digits when it has no test
    set or more than 10 classes), draws ``em_draws`` (50) configurations each, fits the middle
    (ITER) block by L2 pseudo-likelihood (l2 = 0.03: few trainings give strong, glassy
    couplings otherwise, and BP/TAP then stall) as drawn and after hidden-unit alignment, and
    reports the liquid/solid indicators with one entropy landscape per energy level and the
    TAP state count.
    ``ctx.options['extra']`` may set those keys. The numbers are for orientation only: the
    paper's scale is ``glasslens effective-model``."""
    extra = section_settings(ctx)
    nt = getattr(ctx, "n_threads", None)
    R = max(2, int(extra.get("em_trainings", 30)))
    D = max(2, int(extra.get("em_draws", 50)))
    seed = run_seed(ctx)
    t0 = time.perf_counter()
    info: dict = {}
    data, n_classes = _small_data(getattr(ctx, "dataset", None), 3000, 1000, seed, info)
    note = ""
    if n_classes > 10:
        data, _ = _small_data(None, 3000, 1000, seed)
        note = " (the context dataset has more than 10 classes; digits used instead)"
    # about 300 Adam steps of batch 200 (an epoch of a small set is only a few steps)
    E = max(1, int(extra.get("em_epochs", min(50, -(-60000 // data.X_train.shape[0])))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run_effective_model(
            data, "deep-under", n_replicas=R, epochs=E, n_per_network=D, blocks=["ITER"],
            fit="pseudolikelihood", fit_kwargs={"l2": 3e-2, "l2_h": 1e-3}, n_references=1,
            xs=np.round(np.arange(-2.0, 2.0 + 1e-9, 0.5), 10),
            landscape_kwargs={"direction": "outward", "max_sweeps": 200}, n_tap_starts=30,
            tap_kwargs={"max_iter": 300},
            alignment=("none", "mean"), seed=seed, n_threads=nt)
    bp = _bp_points(r)
    figs = [(plot_liquid_solid(r, title="liquid/solid indicators (tiny run)"),
             "Per-block indicators, samples as drawn (raw) and after hidden-unit alignment. "
             "Liquid-like: small couplings, correlations and magnetisations, and a liquid-like "
             "score s/H2 near 1 (dotted line).")]
    if r.landscapes:
        figs.append((plot_entropy_landscapes(r.variants()["raw"], title="entropy landscapes "
                                             "(samples as drawn)"),
                     "Entropy s(d) (nats per weight) at distance d (fraction of weights that "
                     "differ) around a low-, medium- and high-energy reference, with the bound "
                     "H2(d). Filled dots: BP converged; open circles: BP did not converge (value "
                     "unreliable); dotted segments: a jump of the tilted-BP sweep "
                     "(first-order: the landscape is broken there). A liquid-like block hugs "
                     "H2(d) without jumps."))
    dataset = info.get("source") or getattr(getattr(ctx, "dataset", None), "name", None) \
        or "the context dataset"
    if note:
        dataset = "digits (scikit-learn)"
    bp_text = (f"BP did not converge at {bp['raw']['failed']} of {bp['raw']['points']} "
               f"landscape points of the samples as drawn and {bp['aligned']['failed']} of "
               f"{bp['aligned']['points']} after alignment (flagged in the figure; their values "
               f"are not used in s/H2)." if bp else "")
    text = (f"Effective model of weight space (Zou & Huang 2021), tiny run{note}: {R} binary "
            f"20-15-15-10 nets trained {E} epochs on {data.X_train.shape[0]} examples of "
            f"{dataset} (20 PCs), {D} draws each, test accuracy "
            f"{100 * np.nanmean(r.samples.accuracy):.1f}%; pseudo-likelihood fit of the middle "
            f"block (ITER), as drawn and hidden-unit aligned (mean cosine to the template "
            f"{np.mean(r.alignment['cosine']):.3f}).\n\n"
            + liquid_solid_table(r)
            + "\n\nUnits: J and C dimensionless (+-1 spins); s/H2 is the entropy density "
              "divided by its bound H2(d), averaged over the converged landscape points "
              "(1 = as random as possible). With so few trainings the connected correlations "
              "mostly reflect differences between networks; run `glasslens effective-model` for "
              "the paper's scale."
            + ("\n\n" + bp_text if bp_text else ""))
    data_out = r.to_dict()
    # what ran (the preset's metadata names its own data set and size)
    data_out.update(dataset=dataset, n_train=int(data.X_train.shape[0]),
                    n_test=int(data.X_test.shape[0]), preset_dataset=r.preset.dataset,
                    bp_points=bp,
                    warnings=sorted({str(w.message) for w in caught}))
    data_out["seconds"] = time.perf_counter() - t0
    ctx.report.add_section("Effective model (binary nets)", text, figures=figs, data=data_out,
                           key="effective-model")
    _finding(ctx, r, bp)


def _bp_points(r: Any) -> dict:
    """Per variant: landscape points and those where BP did not converge (from the data)."""
    out = {}
    for name, an in r.variants().items():
        n = bad = 0
        for lv in an.landscapes.values():
            for Ls in lv.values():
                for L in Ls:
                    for br in L.branches.values():
                        c = np.asarray(br.converged, dtype=bool)
                        n += c.size
                        bad += int((~c).sum())
        out[name] = {"points": n, "failed": bad}
    return out if any(v["points"] for v in out.values()) else {}


#: the report's reading of the indicators: liquid-like = mean s/H2 >= this and no jumps
LIQUID_SCORE = 0.8


def _finding(ctx: Any, r: Any, bp: dict) -> None:
    parts, numbers = [], {}
    for name, an in r.variants().items():
        for b, s in an.summaries.items():
            score = float(s.get("s_over_H2_mean", np.nan))
            jumps = int(s.get("n_jumps", 0))
            if not np.isfinite(score):
                v = "undecided (no converged landscape point)"
            elif jumps == 0 and score >= LIQUID_SCORE:
                v = "liquid-like"
            elif jumps > 0:
                v = "not liquid-like (broken landscape: first-order jumps)"
            else:
                v = f"not liquid-like (s/H2 below {LIQUID_SCORE})"
            parts.append(f"{b} {name}: {v} (s/H2 {score:.2f}, {jumps} jumps, mean |m| "
                         f"{s['mean_abs_m']:.2f})")
            numbers[f"{b}_{name}"] = {"verdict": v, "s_over_H2_mean": score, "n_jumps": jumps,
                                      "mean_abs_m": float(s["mean_abs_m"])}
    if bp:
        tot = sum(v["points"] for v in bp.values())
        bad = sum(v["failed"] for v in bp.values())
        cal = (f"BP converged at {tot - bad} of {tot} landscape points"
               + (f" ({bad} flagged and left out of s/H2)" if bad else "")
               + "; the s/H2 scale is not calibrated against a known liquid (paramagnet) in "
                 "this run")
        status = "warning" if bad else "ok"
        numbers["bp_failed_points"], numbers["bp_points"] = bad, tot
    else:
        cal, status = "not calibrated in this run (no landscapes)", "not calibrated"
    put_finding(ctx, "effective_model", verdict="; ".join(parts) + f" (liquid-like here: mean "
                f"s/H2 >= {LIQUID_SCORE} and no jumps; tiny run, for orientation).",
                numbers=numbers, calibration=cal, calibration_status=status)
