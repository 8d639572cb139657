"""The Protocol 4 section of the report: flatness measures of the replicas against their test
accuracy and generalisation gap. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .._lib._sections import run_seed, section_settings
from ._measures import batch_loss
from ._measures import measures as flat_measures
from ._study import FLAT_SIGN, STUDY_MEASURES, _measure_names, rank_correlations


def section(ctx: Any, which: Optional[List[str]] = None, max_replicas: int = 8,
            n_boot: int = 500) -> Dict[str, Any]:
    """Protocol 4 section of ``glasslens analyze``.

    ``ctx`` provides ``dataset``, ``ensemble``, ``report`` (with ``add_section(title, text,
    figures, data)``) and optionally ``n_threads`` and ``options``. Computes the (balanced)
    flatness measures of up to ``max_replicas`` replicas and their Spearman/Kendall
    correlations with test accuracy and with the generalisation gap. Within one training
    recipe the spread of flatness and of test accuracy is small, so the intervals are wide;
    the ``glasslens flatness`` study varies the recipe."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ds, ens = ctx.dataset, ctx.ensemble
    nt = getattr(ctx, "n_threads", None)
    opts = section_settings(ctx)
    seed = run_seed(ctx)
    calls, cols = _measure_names(list(which or STUDY_MEASURES))
    R = min(ens.n_replicas, int(opts.get("flatness_replicas", max_replicas)))
    rows = []
    for r in range(R):
        net = ens[r]
        th = net.flat()[None, :]
        trl, tra = batch_loss(net, th, ds.X_train, ds.y_train, nt)
        tel, tea = batch_loss(net, th, ds.X_test, ds.y_test, nt)
        fm = flat_measures(net, (ds.X_train, ds.y_train), which=calls, balance=True, seed=seed,
                           n_threads=nt)
        row = {"replica": r, "train_loss": float(trl[0]), "train_acc": float(tra[0]),
               "test_loss": float(tel[0]), "test_acc": float(tea[0]), "gap": float(tra[0] - tea[0])}
        row.update({m: float(fm.values[m]) for m in cols})
        rows.append(row)
    corr: Dict[str, Any] = {}
    lines = ["| measure | flat sign | mean | Spearman(test acc) [95% CI] | Kendall(test acc) | "
             "Spearman(gap) [95% CI] |", "|---|---|---|---|---|---|"]
    for k, m in enumerate(cols):
        x = np.array([rw[m] for rw in rows])
        ca = rank_correlations(x, [rw["test_acc"] for rw in rows], n_boot, seed=seed + k)
        cg = rank_correlations(x, [rw["gap"] for rw in rows], n_boot, seed=seed + k + 1000)
        corr[m] = {"test_acc": ca, "gap": cg}
        lines.append(f"| {m} | {FLAT_SIGN[m]:+d} | {x.mean():.4g} | {ca['spearman']:+.2f} "
                     f"[{ca['spearman_ci'][0]:+.2f}, {ca['spearman_ci'][1]:+.2f}] | "
                     f"{ca['kendall']:+.2f} | {cg['spearman']:+.2f} "
                     f"[{cg['spearman_ci'][0]:+.2f}, {cg['spearman_ci'][1]:+.2f}] |")
    text = (f"Flatness measures of {R} replicas (after balancing each hidden unit's incoming and "
            "outgoing norms, so that the ReLU rescaling symmetry does not affect them), on the "
            "training set, and their rank correlation with test accuracy and with the "
            "generalisation gap (train - test accuracy). Flat sign +1: larger = flatter. "
            "A flatness-oriented correlation (sign x Spearman) above 0 means flatter replicas "
            "generalise better. All replicas share one training recipe; run `glasslens "
            "flatness` to vary batch size, SAM, label noise and weight decay.\n\n" + "\n".join(lines))
    nc = min(4, len(cols))
    nr = (len(cols) + nc - 1) // nc
    fig = Figure(figsize=(3.0 * nc, 2.6 * nr))
    axes = fig.subplots(nr, nc, squeeze=False)
    for i, m in enumerate(cols):
        ax = axes[i // nc][i % nc]
        ax.scatter([rw[m] for rw in rows], [rw["test_acc"] for rw in rows], s=12)
        ax.set_title(f"{m}: rho={corr[m]['test_acc']['spearman']:+.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        if i % nc == 0:
            ax.set_ylabel("test accuracy", fontsize=8)
    for i in range(len(cols), nr * nc):
        axes[i // nc][i % nc].axis("off")
    fig.tight_layout()
    section = ctx.report.add_section("Protocol 4: flatness and generalisation", text,
                                     figures=[(fig, "test accuracy against each measure")],
                                     data={"rows": rows, "correlations": corr})
    return section
