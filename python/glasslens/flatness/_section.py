"""The Protocol 4 section of the report: flatness measures of the replicas against their test
accuracy and generalisation gap. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .._lib._sections import put_finding, run_seed, section_settings
from ._measures import batch_loss
from ._measures import measures as flat_measures
from ._study import (FLAT_SIGN, STUDY_MEASURES, _measure_names, direction, oriented,
                     rank_correlations)


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
    lines = ["| measure (unit) | larger means | mean | flatter -> better: rho(flatness, test acc) "
             "[95% CI] | verdict | rho(flatness, gap) [95% CI] |", "|---|---|---|---|---|---|"]
    verdicts: Dict[str, str] = {}
    for k, m in enumerate(cols):
        x = np.array([rw[m] for rw in rows])
        ca = rank_correlations(x, [rw["test_acc"] for rw in rows], n_boot, seed=seed + k)
        cg = rank_correlations(x, [rw["gap"] for rw in rows], n_boot, seed=seed + k + 1000)
        sg = FLAT_SIGN[m]
        fa = oriented(ca, sg)
        fg = oriented(cg, sg)
        verdicts[m] = direction(fa["spearman_ci"])
        corr[m] = {"test_acc": ca, "gap": cg, "flat_sign": sg,
                   "flatter_better": fa, "flatter_smaller_gap": {k2: (-v if k2 == "spearman"
                   else [-v[1], -v[0]]) for k2, v in fg.items()}, "verdict": verdicts[m]}
        lines.append(f"| {m} ({UNITS.get(m, '?')}) | {'flatter' if sg > 0 else 'sharper'} | "
                     f"{x.mean():.4g} | {fa['spearman']:+.2f} [{fa['spearman_ci'][0]:+.2f}, "
                     f"{fa['spearman_ci'][1]:+.2f}] | {verdicts[m]} | {fg['spearman']:+.2f} "
                     f"[{fg['spearman_ci'][0]:+.2f}, {fg['spearman_ci'][1]:+.2f}] |")
    text = (f"Flatness measures of {R} replicas (after balancing each hidden unit's incoming and "
            "outgoing norms, so that the ReLU rescaling symmetry does not affect them), on the "
            "training set, and their Spearman rank correlation with test accuracy and with the "
            "generalisation gap (train - test accuracy), 95% bootstrap intervals over the "
            f"replicas ({n_boot} resamples). Sign convention, used everywhere in this section: "
            "every correlation is taken between FLATNESS (the measure, negated when larger "
            "means sharper) and test accuracy, so a positive rho means flatter replicas "
            "generalise better; verdict 'flatter -> better' / 'flatter -> worse' when the "
            "interval excludes 0, else 'no evidence'. All replicas share one training recipe; "
            "run `glasslens flatness` to vary batch size, SAM, label noise and weight decay."
            "\n\n" + "\n".join(lines))
    nc = min(4, len(cols))
    nr = (len(cols) + nc - 1) // nc
    fig = Figure(figsize=(3.2 * nc, 2.8 * nr), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    for i, m in enumerate(cols):
        ax = axes[i // nc][i % nc]
        x = np.array([rw[m] for rw in rows])
        ax.scatter(x, [100 * rw["test_acc"] for rw in rows], s=14)
        if FLAT_SIGN[m] < 0:
            ax.invert_xaxis()  # flatter to the right in every panel
        fa = corr[m]["flatter_better"]
        ax.set_title(f"{m}\nflatter->better rho {fa['spearman']:+.2f}: {verdicts[m]}",
                     fontsize=8)
        ax.set_xlabel(f"{UNITS.get(m, '')}; flatter ->", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.xaxis.set_major_formatter(_short_formatter())
        if i % nc == 0:
            ax.set_ylabel("test accuracy (%)", fontsize=8)
    for i in range(len(cols), nr * nc):
        axes[i // nc][i % nc].axis("off")
    section = ctx.report.add_section(
        "Protocol 4: flatness and generalisation", text,
        figures=[(fig, "Test accuracy (%) against each measure, one dot per replica; every x "
                       "axis runs from sharper (left) to flatter (right), so a rising cloud "
                       "means flatter -> better. Titles: the flatness-oriented Spearman rho and "
                       "the verdict from its 95% interval.")],
        data={"rows": rows, "correlations": corr, "units": {m: UNITS.get(m) for m in cols}},
        key="protocol4")
    _finding(ctx, corr, R)
    return section


#: the unit of each reported measure
UNITS: Dict[str, str] = {
    "local_energy": "nats", "basin_radius": "relative radius", "eps_sharpness": "% of 1 + L",
    "hessian_top": "nats / param^2", "hessian_trace": "nats / param^2",
    "ruggedness": "dimensionless", "corr_length": "walk steps", "copy_barrier": "nats",
}


def _short_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:.3g}")


def _finding(ctx: Any, corr: Dict[str, Any], R: int) -> None:
    better = [m for m, c in corr.items() if c["verdict"] == "flatter -> better"]
    worse = [m for m, c in corr.items() if c["verdict"] == "flatter -> worse"]

    def fmt(ms: List[str]) -> str:
        return ", ".join(f"{m} (rho {corr[m]['flatter_better']['spearman']:+.2f} "
                         f"[{corr[m]['flatter_better']['spearman_ci'][0]:+.2f}, "
                         f"{corr[m]['flatter_better']['spearman_ci'][1]:+.2f}])" for m in ms)

    verdict = f"Over {R} replicas of one recipe (flatness-oriented Spearman rho with test " \
              f"accuracy, 95% bootstrap CI): "
    verdict += (f"flatter -> better: {fmt(better)}" if better else "flatter -> better: none")
    verdict += f"; flatter -> worse: {fmt(worse)}" if worse else "; flatter -> worse: none"
    n_none = len(corr) - len(better) - len(worse)
    verdict += f"; no evidence for the other {n_none} of {len(corr)} measures."
    put_finding(ctx, "flatness", verdict=verdict,
                numbers={m: {"rho_flatter_better": c["flatter_better"]["spearman"],
                             "ci95": c["flatter_better"]["spearman_ci"],
                             "verdict": c["verdict"]} for m, c in corr.items()},
                calibration=(f"not calibrated in this run (no network of known flatness "
                             f"ordering is measured; {R} replicas of one recipe give wide "
                             f"intervals)"),
                calibration_status="not calibrated")
