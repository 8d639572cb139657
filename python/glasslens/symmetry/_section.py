"""The Protocol 2 section of the report: barriers to permuted copies of replica 0 and between
replica pairs, raw and aligned. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
from typing import Any, Dict

import numpy as np

from .._lib._plotting import legend_below
from .._lib._sections import bootstrap_mean_ci, opt_int, put_finding, run_seed, section_settings
from ._matching import _cos, hidden_widths, match_weights, permute, random_permutation
from ._permutation import permutation_interpolation


def section(ctx: Any) -> None:
    """Protocol 2 report section (settings ``p2_trials``, ``p2_points``, ``p2_pairs``,
    ``p2_matching``; ``p2_align`` is the old name of ``p2_matching``)."""
    ex = section_settings(ctx)
    ens = ctx.ensemble
    if len(ens.widths) < 3:
        ctx.report.add_section("Protocol 2: permutation symmetry and barriers",
                               "The network has no hidden layer: nothing to permute.")
        return
    align = ex.get("p2_matching", ex.get("p2_align", "weights"))
    t0 = time.perf_counter()
    res = permutation_interpolation(
        ens, ctx.dataset, n_trials=opt_int(ex, "p2_trials", 2),
        n_points=opt_int(ex, "p2_points", 21, 2), n_replica_pairs=opt_int(ex, "p2_pairs", 8, 0),
        matching=align, seed=run_seed(ctx), n_threads=ctx.n_threads)
    rows = res.to_dict()["rows"]
    copies = [r for r in rows if r["path"].startswith("copy")]
    reps = {r["path"]: r for r in rows if r["path"].startswith("replica")}
    text = (f"Replica 0 against function-preserving copies of itself: k random disjoint "
            f"transpositions of the {res.width} units of the first hidden layer, and a full "
            f"random permutation; each path evaluated at {res.options['n_points']} points. "
            f"Barrier = {res.definition} (nats; Entezari et al.). The barrier to copies grows "
            f"from {copies[0]['barrier_mean']:.3g} at k = {copies[0]['k']} to "
            f"{copies[-1]['barrier_mean']:.3g} for the full permutation")
    if reps:
        raw = reps.get("replica pairs, raw")
        al = [v for k, v in reps.items() if k != "replica pairs, raw"]
        text += (f"; between independently trained replicas ({raw['n']} pairs) it is "
                 f"{raw['barrier_mean']:.3g} on the raw path")
        if al:
            text += (f" and {al[0]['barrier_mean']:.3g} after {align} matching (cosine of the "
                     f"parameter vectors {raw['cosine']:.2f} -> {al[0]['cosine']:.2f})")
            frac = (al[0]["barrier_mean"] / raw["barrier_mean"]
                    if raw["barrier_mean"] > 0 else float("nan"))
            if np.isfinite(frac):
                text += (f": alignment removes {100 * (1 - frac):.0f}% of the raw barrier, so "
                         f"that much of the apparent separation of replicas is the permutation "
                         f"symmetry")
    text += "."
    half = [r for r in copies if r["k"] == res.width // 2]
    full = [r for r in copies if r["k"] == -1]
    if half and full and half[0]["barrier_mean"] > full[0]["barrier_mean"]:
        text += (f" Swapping all units in pairs (k = {res.width // 2}) gives a higher barrier "
                 f"than a random full permutation: at alpha = 1/2 the two units of a swapped "
                 f"pair become identical (both equal their average), so the midpoint network "
                 f"has half the effective width, while the long cycles of a random permutation "
                 f"average every unit with a different one.")
    text += ("\n\nCosine column: for copies, the mean cosine between the incoming weight "
             "vectors of the swapped units; for replica pairs, the cosine of the whole "
             "parameter vectors (after alignment where stated).\n\n" + res.table())
    fig = res.plot()
    for i, ax in enumerate(fig.axes[:3]):
        ax.set_ylabel(ax.get_ylabel() + " (nats)")
        legend_below(ax, ncol=2 if i == 0 else 4, title="k" if i == 1 else None)
    data = res.to_dict(arrays=True)
    data["seconds"] = time.perf_counter() - t0
    cal = _matching_calibration(ens[0], run_seed(ctx))
    data["calibration"] = cal
    ctx.report.add_section(
        "Protocol 2: permutation symmetry and barriers", text,
        figures=[(fig, "Left: barrier from replica 0 to copies with k swapped pairs of hidden "
                       "units (grey: trials, black: mean +- std) and between replica pairs "
                       "(bands: mean +- std, raw and aligned). Middle: barrier against the "
                       "dissimilarity of the swapped units. Right: mean curves along the paths. "
                       "Look at the gap between the red (raw) and green (aligned) bands: the "
                       "part of the barrier that the alignment removes is permutation symmetry.")],
        data=data, key="protocol2")
    _finding(ctx, res, align, cal)


def _matching_calibration(net: Any, seed: int) -> Dict[str, Any]:
    """Known answer of the alignment: a copy of ``net`` with a hidden random permutation of
    every hidden layer is the same function, so matching must undo it (cosine 1 after
    matching, against the raw cosine of the permuted copy)."""
    perms = [random_permutation(h, seed=seed + 7 + i) for i, h in enumerate(hidden_widths(net))]
    copy = permute(net, perms)
    raw = _cos(net, copy, [])
    m = match_weights(net, copy, seed=seed)
    return {"raw_cosine": raw, "matched_cosine": float(m.cosine),
            "recovered": bool(m.cosine > 1 - 1e-6)}


def _finding(ctx: Any, res: Any, align: str, cal: Dict[str, Any]) -> None:
    """The Protocol 2 line: mean barrier between replica pairs, raw and aligned, with 95%
    bootstrap intervals over the pairs."""
    r = res.replicas
    seed = run_seed(ctx)
    calib = (f"hidden random permutation of replica 0 undone by {align} matching: cosine "
             f"{cal['raw_cosine']:.3f} -> {cal['matched_cosine']:.4f} (known answer 1): "
             + ("instrument OK" if cal["recovered"] else "NOT recovered: the aligned barrier "
                "overstates the true one"))
    numbers: Dict[str, Any] = {"matching": align}
    if r is None or None not in r.aligns or len(r.aligns) < 2:
        verdict = "No replica pairs were compared (p2_pairs = 0 or a single replica)."
    else:
        j0 = r.aligns.index(None)
        j1 = next(j for j, al in enumerate(r.aligns) if al is not None)
        b_raw, b_al = r.barrier[:, j0], r.barrier[:, j1]
        ci_raw = bootstrap_mean_ci(b_raw, seed=seed)
        ci_al = bootstrap_mean_ci(b_al, seed=seed + 1)
        frac = (1 - b_al.mean() / b_raw.mean()) if b_raw.mean() > 0 else float("nan")
        numbers.update(n_pairs=int(len(b_raw)), barrier_raw_nats=float(b_raw.mean()),
                       barrier_raw_ci95=list(ci_raw), barrier_aligned_nats=float(b_al.mean()),
                       barrier_aligned_ci95=list(ci_al), fraction_removed=float(frac))
        verdict = (f"Loss barrier between {len(b_raw)} replica pairs: raw {b_raw.mean():.3g} "
                   f"nats [95% CI {ci_raw[0]:.3g}, {ci_raw[1]:.3g}], after {align} matching "
                   f"{b_al.mean():.3g} nats [{ci_al[0]:.3g}, {ci_al[1]:.3g}]")
        if np.isfinite(frac):
            verdict += (f": alignment removes {100 * frac:.0f}% of it, so "
                        + ("most of the separation of replicas is permutation symmetry"
                           if frac > 0.5 else "the replicas stay separated by a real barrier"))
        verdict += "."
    put_finding(ctx, "symmetry", verdict=verdict, numbers=numbers, calibration=calib,
                calibration_status="ok" if cal["recovered"] else "warning")
