"""The Protocol 3 section of the report: replica analysis of the trained ensemble (aligned and
raw) next to SK and paramagnet reference systems. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
from typing import Any, Dict

from .._lib._sections import opt_int, run_seed, section_settings
from ..spinmodels import geometric_temperatures, parallel_tempering
from ._replicas import ReplicaSweep, replica_analysis


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
        f = rs.plot()
        f.suptitle(label, fontsize=10)
        f.tight_layout()
        figs.append((f, f"{label}: P(q), overlap matrix in dendrogram (Parisi) order, "
                        f"distribution of K against the null models."))
    figs.append((sweep.plot(scale="peak"), "P(q) of every system, each scaled to its maximum "
                 "(left), and mean K of the data and of the null models (right)."))
    data: Dict[str, Any] = {k: v.to_dict() for k, v in runs.items()}
    data["seconds"] = time.perf_counter() - t0
    if energy is not None:
        data["sk_energy_per_spin"] = energy
    ctx.report.add_section("Protocol 3: replica structure", text, figures=figs, data=data,
                           key="protocol3")
