"""The Protocol 2 section of the report: barriers to permuted copies of replica 0 and between
replica pairs, raw and aligned. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._lib._sections import opt_int, run_seed, section_settings
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
    data = res.to_dict(arrays=True)
    data["seconds"] = time.perf_counter() - t0
    ctx.report.add_section(
        "Protocol 2: permutation symmetry and barriers", text,
        figures=[(fig, "Left: barrier from replica 0 to copies with k swapped pairs of hidden "
                       "units (grey: trials, black: mean +- std) and between replica pairs "
                       "(bands: mean +- std, raw and aligned). Middle: barrier against the "
                       "dissimilarity of the swapped units. Right: mean curves along the paths.")],
        data=data, key="protocol2")
