"""The four protocol sections of ``glasslens analyze`` (registered at import).

=========  =====  ==========================================================================
section    order  content
=========  =====  ==========================================================================
protocol1  30     loss vs perturbation radius and random walks around replica 0
                  (:func:`glasslens.landscape_cli.report_section_protocol1`)
protocol2  40     barriers to permuted copies and between replica pairs, raw and aligned
                  (:func:`glasslens.permutation_interpolation`)
protocol3  50     replica analysis of the aligned ensemble next to SK samples at T = 0.5 and a
                  paramagnet (T = 2) as reference pictures (:func:`glasslens.replica_analysis`)
protocol4  60     flatness measures of the replicas against test accuracy and the gap
                  (:func:`glasslens.flatness_cli.report_section_protocol4`)
=========  =====  ==========================================================================

Settings (``glasslens analyze -O key=value``), defaults chosen so that the default run stays
around a minute on 2 cores: ``p1_directions`` (16), ``p1_steps`` (500), ``p1_walkers`` (4);
``p2_trials`` (2), ``p2_points`` (21), ``p2_pairs`` (8), ``p2_align`` ("weights");
``p3_null`` (39 null realisations), ``p3_spins`` (N = 128 SK spins), ``p3_sweeps`` (1000),
``p3_ref_replicas`` (max(replicas, 24)), ``p3_reference`` (true: run the SK and paramagnet
references); ``flatness_replicas`` (8).
"""
from __future__ import annotations

import time
from typing import Any, Dict

import numpy as np

from .analyze import AnalysisContext, register_section

__all__ = ["protocol1_section", "protocol2_section", "protocol3_section", "protocol4_section"]


def _extra(ctx: AnalysisContext) -> Dict[str, Any]:
    return dict((ctx.options or {}).get("extra", {}) or {})


def _opt_int(extra: Dict[str, Any], key: str, default: int, low: int = 1) -> int:
    v = extra.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < low:
        raise ValueError(f"-O {key}= expects an integer >= {low}, got {v!r}")
    return int(v)


@register_section("protocol1", order=30, title="Protocol 1: perturbation probes and random walks")
def protocol1_section(ctx: AnalysisContext) -> None:
    from .landscape_cli import report_section_protocol1

    report_section_protocol1(ctx)


@register_section("protocol2", order=40, title="Protocol 2: permutation symmetry and barriers")
def protocol2_section(ctx: AnalysisContext) -> None:
    from .permutation import permutation_interpolation

    ex = _extra(ctx)
    ens = ctx.ensemble
    if len(ens.widths) < 3:
        ctx.report.add_section("Protocol 2: permutation symmetry and barriers",
                               "The network has no hidden layer: nothing to permute.")
        return
    align = ex.get("p2_align", "weights")
    t0 = time.perf_counter()
    res = permutation_interpolation(
        ens, ctx.dataset, trials=_opt_int(ex, "p2_trials", 2),
        n_points=_opt_int(ex, "p2_points", 21, 2), replica_pairs=_opt_int(ex, "p2_pairs", 8, 0),
        align=align, seed=int(ctx.options.get("seed", 0)), n_threads=ctx.n_threads)
    rows = res.rows()
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
    data = res.summary()
    data["seconds"] = time.perf_counter() - t0
    ctx.report.add_section(
        "Protocol 2: permutation symmetry and barriers", text,
        figures=[(fig, "Left: barrier from replica 0 to copies with k swapped pairs of hidden "
                       "units (grey: trials, black: mean +- std) and between replica pairs "
                       "(bands: mean +- std, raw and aligned). Middle: barrier against the "
                       "dissimilarity of the swapped units. Right: mean curves along the paths.")],
        data=data, key="protocol2")


def _sk_reference(M: int, N: int, sweeps: int, seed: int, nt: int):
    from .spinmodels import geometric_temperatures, parallel_tempering

    r = parallel_tempering("sk", N, geometric_temperatures(0.5, 1.6, 12), n_samples=1,
                           n_replicas=M, n_equilibrate=sweeps, n_measure=sweeps,
                           record_every=sweeps, seed=seed, n_threads=nt)
    return r.configs[0, :, -1, 0, :], float(r.energy[0, :, 0].mean())


def _paramagnet(M: int, N: int, seed: int, nt: int):
    from .spinmodels import parallel_tempering

    r = parallel_tempering("paramagnet", N, [2.0], n_samples=1, n_replicas=M, n_equilibrate=5,
                           n_measure=5, record_every=5, seed=seed, n_threads=nt)
    return r.configs[0, :, -1, 0, :]


@register_section("protocol3", order=50, title="Protocol 3: replica structure")
def protocol3_section(ctx: AnalysisContext) -> None:
    import matplotlib.pyplot as plt

    from .replicas import ReplicaSweep, replica_analysis

    ex = _extra(ctx)
    ens = ctx.ensemble
    M = ens.n_replicas
    if M < 3:
        ctx.report.add_section("Protocol 3: replica structure",
                               f"Needs at least 3 replicas for triangles; the ensemble has {M}.")
        return
    n_null = _opt_int(ex, "p3_null", 39)
    seed = int(ctx.options.get("seed", 0))
    nt = ctx.n_threads
    t0 = time.perf_counter()
    runs = {}
    runs["trained, aligned"] = replica_analysis(ens, kind="weights", aligned="pairwise",
                                                n_null=n_null, seed=seed, n_threads=nt)
    runs["trained, raw"] = replica_analysis(ens, kind="weights", aligned=False,
                                            null=("gaussian",), n_null=n_null, seed=seed,
                                            n_threads=nt)
    energy = None
    if bool(ex.get("p3_reference", True)):
        N = _opt_int(ex, "p3_spins", 128, 8)
        sweeps = _opt_int(ex, "p3_sweeps", 1000)
        M_ref = _opt_int(ex, "p3_ref_replicas", max(M, 24), 3)
        S, energy = _sk_reference(M_ref, N, sweeps, seed, nt)
        runs["SK, T = 0.5"] = replica_analysis(S, distance="1-|q|", null=("gaussian", "shuffle"),
                                               n_null=n_null, seed=seed, n_threads=nt)
        P = _paramagnet(M_ref, N, seed, nt)
        runs["paramagnet, T = 2"] = replica_analysis(P, distance="1-|q|",
                                                     null=("gaussian", "shuffle"),
                                                     n_null=n_null, seed=seed, n_threads=nt)
    sweep = ReplicaSweep(runs)
    a = runs["trained, aligned"]
    d = a.distribution
    text = (f"Overlaps q_ab = cosine of the flat parameter vectors of {M} replicas after "
            f"aligning the hidden units of each pair (pairwise weight matching: the overlap "
            f"modulo the permutation symmetry; aligning all to one reference replica would make "
            f"it a hub and add a spurious peak to P(q)), distances d = 1 - q. "
            f"Aligned overlaps: mean {d.mean:.3f}, q_EA {d.q_ea:.3f}, support "
            f"[{d.q_min:.3f}, {d.q_max:.3f}] (raw, unaligned: mean "
            f"{runs['trained, raw'].distribution.mean:.3f}). Ultrametricity: "
            f"{a.ultrametricity.verdict}.")
    if energy is not None:
        text += (f" Reference pictures with {S.shape[0]} replicas each: SK spin glass "
                 f"(Gaussian couplings, N = {S.shape[1]}, parallel tempering with 12 "
                 f"temperatures 0.5 ... 1.6, {sweeps} + {sweeps} sweeps, T = 0.5, energy "
                 f"per spin {energy:.3f}; large-N ground state -0.763), where replica symmetry "
                 f"breaking gives a broad P(q) and triangles more ultrametric than the null, and "
                 f"a paramagnet (T = 2), whose P(q) is one narrow peak at 0 (spin overlaps "
                 f"measured as 1 - |q|, modulo the global flip). The Gaussian null: random "
                 f"points of the same dimension with matched mean distance.")
    text += ("\n\nSmaller mean K = (d3 - d2)/sigma_d means more ultrametric; p: one-sided "
             "permutation p-value against each null model.\n\n" + sweep.table())
    figs = []
    for label, rs in runs.items():
        f = rs.plot()
        f.suptitle(label, fontsize=10)
        f.tight_layout()
        figs.append((f, f"{label}: P(q), overlap matrix in dendrogram (Parisi) order, "
                        f"distribution of K against the null models."))
    figs.append((sweep.plot(scale="peak"), "P(q) of every system, each scaled to its maximum "
                 "(left), and mean K of the data and of the null models (right)."))
    data: Dict[str, Any] = {k: v.summary() for k, v in runs.items()}
    data["seconds"] = time.perf_counter() - t0
    if energy is not None:
        data["sk_energy_per_spin"] = energy
    try:
        ctx.report.add_section("Protocol 3: replica structure", text, figures=figs, data=data,
                               key="protocol3")
    finally:
        for f, _ in figs:
            plt.close(f)


@register_section("protocol4", order=60, title="Protocol 4: flatness and generalisation")
def protocol4_section(ctx: AnalysisContext) -> None:
    from .flatness_cli import report_section_protocol4

    report_section_protocol4(ctx, max_replicas=8)


@register_section("effective_model", order=70,
                  title="Effective model of binary-synapse weight space (Zou & Huang)")
def effective_model_section(ctx: AnalysisContext) -> None:
    from .effective_model_cli import report_section_effective_model

    report_section_effective_model(ctx)
