"""The effective-model section of the report: a tiny run of the Zou & Huang pipeline (a few
seconds). Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .._lib._sections import run_seed, section_settings
from ._binarynet import ArrayDataset, _unpack_dataset
from ._pipeline import liquid_solid_table, run_effective_model
from .plotting import plot_entropy_landscapes, plot_liquid_solid


def _small_data(ds: Any, n_train: int, n_test: int, seed: int):
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
    data, n_classes = _small_data(getattr(ctx, "dataset", None), 3000, 1000, seed)
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
    msgs = sorted({str(w.message).split(";")[0] for w in caught})
    figs = [(plot_liquid_solid(r, title="liquid/solid indicators (tiny run)"),
             "Per-block indicators, samples as drawn (raw) and after hidden-unit alignment.")]
    if r.landscapes:
        figs.append((plot_entropy_landscapes(r.variants()["raw"], title="entropy landscapes"),
                     "s(d) around a low-, medium- and high-energy reference, with H2(d)."))
    text = (f"Effective model of weight space (Zou & Huang 2021), tiny run{note}: {R} binary "
            f"20-15-15-10 nets trained {E} epochs on {data.X_train.shape[0]} examples (20 PCs), "
            f"{D} draws each, test accuracy {np.nanmean(r.samples.accuracy):.3f}; "
            f"pseudo-likelihood fit of the middle block (ITER), as drawn and hidden-unit aligned "
            f"(mean cosine to the template {np.mean(r.alignment['cosine']):.3f}).\n\n"
            + liquid_solid_table(r)
            + "\n\nWith so few trainings the connected correlations mostly reflect differences "
              "between networks; run `glasslens effective-model` for the paper's scale."
            + ("\n\nWarnings: " + "; ".join(msgs) if msgs else ""))
    data_out = r.to_dict()
    data_out["seconds"] = time.perf_counter() - t0
    ctx.report.add_section("Effective model (binary nets)", text, figures=figs, data=data_out,
                           key="effective-model")
