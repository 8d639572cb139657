"""The Protocol 3 section of the report: replica analysis of the trained ensemble (aligned and
raw) next to SK and paramagnet reference systems. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
from typing import Any, Dict

from .._lib._sections import opt_int, put_finding, run_seed, section_settings
from ..spinmodels import geometric_temperatures, parallel_tempering
from ._replicas import ReplicaSweep, replica_analysis
from .plotting import plot_run, plot_sweep


def _sk_reference(M: int, N: int, sweeps: int, seed: int, nt: int):
    r = parallel_tempering("sk", N, geometric_temperatures(0.5, 1.6, 12), n_samples=1,
                           n_replicas=M, n_equilibrate=sweeps, n_measure=sweeps,
                           record_every=sweeps, seed=seed, n_threads=nt)
    return r.configs[0, :, -1, 0, :], float(r.energy[0, :, 0].mean())


def _paramagnet(M: int, N: int, seed: int, nt: int):
    r = parallel_tempering("paramagnet", N, [2.0], n_samples=1, n_replicas=M, n_equilibrate=5,
                           n_measure=5, record_every=5, seed=seed, n_threads=nt)
    return r.configs[0, :, -1, 0, :]


def _null_text(u: Any) -> str:
    """The nulls and their known-answer calibration, stated beside the verdict."""
    from ._nulls import CALIBRATION

    txt = ("Null models (each goes through exactly the data's pipeline): for the networks, "
           "null networks whose flat parameters are the replicas' rotated at random in "
           "replica space (mean and covariance across replicas kept exactly), then aligned, "
           "overlapped and turned into distances with the same settings as the data, so the "
           "structure that an alignment creates (a reference replica as a hub) is in the null "
           "too; for the spin systems, the covariance-matched Gaussian null (the replicas' "
           "centred configurations rotated in replica space: mean, covariance spectrum and "
           "effective dimension kept, which replicas are near which destroyed).")
    cal = []
    for key, label in (("network", "null networks"), ("covariance", "covariance-matched")):
        c = CALIBRATION.get(key)
        if c:
            cal.append(f"{label}: p < 0.05 in {c['false_positive_rate']:.3g} of "
                       f"{c['n_datasets']} {c['null_datasets']}"
                       + (f"; {c['detected']}" if c.get("detected") else ""))
    if cal:
        txt += (" Calibration with known answers (bench/python/calibrate_ultrametricity.py, "
                "bench/results/replicas.md): " + "; ".join(cal) + ".")
    return txt


def section(ctx: Any) -> None:
    """Protocol 3 report section (settings ``p3_null``, ``p3_reference``, ``p3_spins``,
    ``p3_sweeps``, ``p3_ref_replicas``)."""
    ex = section_settings(ctx)
    ens = ctx.ensemble
    M = ens.n_replicas
    if M < 3:
        ctx.report.add_section("Protocol 3: replica structure",
                               f"Needs at least 3 replicas for triangles; the ensemble has {M}.")
        return
    n_null = opt_int(ex, "p3_null", 39)
    seed = run_seed(ctx)
    nt = ctx.n_threads
    t0 = time.perf_counter()
    runs = {}
    runs["trained, aligned"] = replica_analysis(ens, kind="weights", alignment="pairwise",
                                                n_null=n_null, seed=seed, n_threads=nt)
    runs["trained, raw"] = replica_analysis(ens, kind="weights", alignment="none",
                                            n_null=n_null, seed=seed, n_threads=nt)
    energy = None
    if bool(ex.get("p3_reference", True)):
        N = opt_int(ex, "p3_spins", 128, 8)
        sweeps = opt_int(ex, "p3_sweeps", 1000)
        M_ref = opt_int(ex, "p3_ref_replicas", max(M, 24), 3)
        S, energy = _sk_reference(M_ref, N, sweeps, seed, nt)
        runs["SK, T = 0.5"] = replica_analysis(S, distance="1-|q|", n_null=n_null, seed=seed,
                                               n_threads=nt)
        P = _paramagnet(M_ref, N, seed, nt)
        runs["paramagnet, T = 2"] = replica_analysis(P, distance="1-|q|", n_null=n_null,
                                                     seed=seed, n_threads=nt)
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
                 f"measured as 1 - |q|, modulo the global flip).")
    text += " " + _null_text(a.ultrametricity)
    text += ("\n\nSmaller mean K = (d3 - d2)/sigma_d means more ultrametric; p: one-sided "
             "permutation p-value against each null model.\n\n" + sweep.table())
    figs = []
    for label, rs in runs.items():
        figs.append((plot_run(rs, label), f"{label}: P(q) (zoomed to its support when narrow; "
                     f"inset: the full range [-1, 1]), the overlap matrix in dendrogram (Parisi) "
                     f"order - blocks on the diagonal mean clusters of replicas - and the "
                     f"distribution of K: data left of the null's mean = more ultrametric."))
    figs.append((plot_sweep(sweep), "P(q) of every system, each scaled to its maximum (left): "
                 "compare the trained networks' width with the broad SK and the narrow "
                 "paramagnet; mean K of the data and of the null models (right): data below its "
                 "null = more ultrametric."))
    data: Dict[str, Any] = {k: v.to_dict() for k, v in runs.items()}
    data["seconds"] = time.perf_counter() - t0
    if energy is not None:
        data["sk_energy_per_spin"] = energy
    ctx.report.add_section("Protocol 3: replica structure", text, figures=figs, data=data,
                           key="protocol3")
    _finding(ctx, runs)


def _pq_shape(d: Any) -> str:
    w = d.q_max - d.q_min
    kind = "one narrow peak" if w < 0.25 else ("a broad distribution" if w > 0.8 else
                                               "a peak of moderate width")
    return (f"{kind} (q_EA {d.q_ea:.3f}, support [{d.q_min:.3f}, {d.q_max:.3f}], width "
            f"{w:.3f})")


def _beaten(u: Any) -> str:
    """'more ultrametric than the X null (p = ...)' / 'not ...' for every null of ``u``."""
    parts = []
    for n, c in u.nulls.items():
        parts.append(f"{'more' if c.more_ultrametric else 'not more'} ultrametric than the {n} null "
                     f"(p = {c.p_value:.3g}; mean K {u.mean_K:.3f} vs null "
                     f"{float(c.mean_K.mean()):.3f})")
    return "; ".join(parts) or "no null model"


def _detected(u: Any) -> bool:
    """More ultrametric than every null of ``u`` (each null's own verdict)."""
    return bool(u.nulls) and all(c.more_ultrametric for c in u.nulls.values())


def _finding(ctx: Any, runs: Dict[str, Any]) -> None:
    """The Protocol 3 line: P(q) shape and the ultrametricity verdict of the aligned replicas
    against the null networks; calibration from the SK / paramagnet references of this run and
    the nulls' known false-positive rate."""
    from ._nulls import CALIBRATION

    a = runs["trained, aligned"]
    u = a.ultrametricity
    verdict = (f"P(q) of the aligned replicas is {_pq_shape(a.distribution)}; raw (unaligned) "
               f"mean q {runs['trained, raw'].distribution.mean:.3f}. Ultrametricity: "
               f"{_beaten(u)}.")
    numbers: Dict[str, Any] = {
        "q_ea": a.distribution.q_ea, "q_min": a.distribution.q_min,
        "q_max": a.distribution.q_max, "mean_K": u.mean_K,
        "ultrametric": _detected(u),
        **{f"null_{n}_p": c.p_value for n, c in u.nulls.items()},
        **{f"null_{n}_mean_K": float(c.mean_K.mean()) for n, c in u.nulls.items()}}
    cal_parts, ok = [], True
    net = CALIBRATION.get("network")
    if net:
        cal_parts.append(f"null networks: p < 0.05 in {net['false_positive_rate']:.3g} of "
                         f"{net['n_datasets']} untrained ensembles (bench, known answer 0.05)")
    sk, pm = runs.get("SK, T = 0.5"), runs.get("paramagnet, T = 2")
    if sk is not None and pm is not None:
        sw = sk.distribution.q_max - sk.distribution.q_min
        pw = pm.distribution.q_max - pm.distribution.q_min
        sk_det, pm_det = _detected(sk.ultrametricity), _detected(pm.ultrametricity)
        sk_ok = sw > 0.8 and sk_det
        pm_ok = pw < sw and not pm_det
        ok = sk_ok and pm_ok
        cal_parts.insert(0, (
            f"SK reference at T = 0.5 gives {'a broad' if sw > 0.8 else 'a NARROW'} P(q) "
            f"(width {sw:.2f}) and is {'more' if sk_det else 'NOT more'} "
            f"ultrametric than its null (p = "
            f"{min(c.p_value for c in sk.ultrametricity.nulls.values()):.3g}); paramagnet "
            f"(T = 2): width {pw:.2f}, "
            f"{'not ' if not pm_det else ''}more ultrametric (p = "
            f"{min(c.p_value for c in pm.ultrametricity.nulls.values()):.3g})"))
        cal_parts.append("instrument OK" if ok else "a reference disagrees with its known "
                         "answer: read the verdict with care")
        numbers.update(sk_pq_width=sw, paramagnet_pq_width=pw)
        status = "ok" if ok else "warning"
    else:
        cal_parts.insert(0, "SK / paramagnet references not run in this run (p3_reference)")
        status = "ok" if net else "not calibrated"
    put_finding(ctx, "replicas", verdict=verdict, numbers=numbers,
                calibration="; ".join(cal_parts), calibration_status=status)
