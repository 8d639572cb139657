"""The Protocol 1 section of the report (``glasslens analyze``): the loss-vs-radius profile of
replica 0, what a free random walk shows (the loss rise with distance, next to the profile at
equal radius) and what constrained walks measure (threshold and Metropolis walks: MSD exponent,
acceptance, escape distance, fraction of walkers that stay in the basin). Receives the report's
``AnalysisContext``.

Why not the free walk's MSD exponent: a free walk accepts every move, so its mean squared
displacement is ``t * eta^2 ||theta0||^2`` whatever the landscape (exponent 1 and acceptance 1
by construction). Only walks whose moves the landscape can refuse measure something:

* threshold walk: a move is accepted iff the train loss stays ``<= L0 + delta``;
* Metropolis walk at temperature T: accepted with probability ``min(1, exp(-dL / T))``, with
  ``T = median |dL| / ln(1 / p1_accept)`` over the first moves of a free walk at the same step,
  so that a typical move's loss change is accepted with probability ``p1_accept`` (0.5).

All walks share the step size ``eta`` and the proposal stream (the same seed), so the free walk
is the reference for the others: an MSD exponent < 1 (sub-diffusion) says the landscape confines
the walk at that scale; ~1 with an acceptance < 1 says it slows the walk without confining it;
~1 with acceptance ~1 says the basin is wider than the walk. The default step,
``eta = 2 * basin radius / sqrt(steps)``, lets a free walk travel about twice the profile's
basin radius, so the walks reach the basin's walls.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

import numpy as np

from .._lib._plotting import TRAIN_COLOR, legend_right
from .._lib._plotting import new_figure as _figure
from .._lib._sections import opt_int, put_finding, run_seed, section_settings
from ._landscape import profile
from ._walks import WalkResult, msd_exponent, random_walk
from .plotting import plot_profile

_THR_COLOR = "#2ca02c"
_MET_COLOR = "#d62728"


def _opt_float(extra: Dict[str, Any], key: str, default: Optional[float]) -> Optional[float]:
    """Positive float setting ``key`` of ``extra`` (``default`` when absent)."""
    v = extra.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or not np.isfinite(v) or v <= 0:
        raise ValueError(f"-O {key}= expects a positive number, got {v!r}")
    return float(v)


def _walk_step(basin_radius: float, steps: int, r_max: float = 1.0) -> float:
    """Default relative step: a free walk of ``steps`` moves travels ``eta sqrt(steps)``, twice
    the basin radius (the largest probed radius ``r_max`` when the basin radius is censored)."""
    r = basin_radius if np.isfinite(basin_radius) and basin_radius > 0 else r_max
    return float(2.0 * r / np.sqrt(steps))


def _metropolis_temperature(net: Any, data: Any, eta: float, n_walkers: int, seed: int,
                            accept: float = 0.5, n_moves: int = 10,
                            n_threads: Optional[int] = None) -> float:
    """T such that a typical move (the median ``|dL|`` over the first ``n_moves`` moves of
    ``n_walkers`` free walks at step ``eta``) is accepted with probability ``accept``:
    ``exp(-median|dL| / T) = accept``."""
    if not 0.0 < accept < 1.0:
        raise ValueError(f"accept must lie in (0, 1), got {accept!r}")
    f = random_walk(net, data, n_moves, eta, mode="free", n_walkers=n_walkers, record_every=1,
                    seed=seed, eval_test=False, n_threads=n_threads)
    dl = np.abs(np.diff(f.train_loss.astype(np.float64), axis=1))
    typical = float(np.median(dl))
    if not typical > 0:
        raise ValueError("the loss does not change over a step; raise the step size")
    return typical / float(np.log(1.0 / accept))


def _walk_measures(w: WalkResult) -> Dict[str, float]:
    """The reported measures of a walk: MSD exponent (all records; ``msd_exponent_late`` over
    the second half of the records, where confinement shows but which is noisy with a few
    walkers: data only), mean acceptance rate, mean
    escape distance (relative distance where the loss first exceeds L0 + delta; NaN when no
    walker escapes), the fraction of walkers that stay in the basin (never above L0 + delta at
    a record), the mean final relative distance and train loss."""
    esc = w.escape_distance
    half = w.step.size // 2
    return {"msd_exponent": float(w.msd_exponent),
            "msd_exponent_late": msd_exponent(w.step[half:], w.msd[half:]),
            "acceptance_rate": float(np.mean(w.acceptance_rate)),
            "escape_distance": (float(np.nanmean(esc)) if np.any(np.isfinite(esc))
                                else float("nan")),
            "stayed_fraction": float(np.mean(~np.isfinite(esc))),
            "final_distance": float(np.mean(w.distance[:, -1])),
            "final_train_loss": float(np.mean(w.train_loss[:, -1]))}


def walks(net: Any, data: Any, steps: int, eta: float, delta: float, n_walkers: int,
          seed: int = 0, accept: float = 0.5, record_every: Optional[int] = None,
          n_threads: Optional[int] = None) -> Dict[str, Any]:
    """Free, threshold (``L <= L0 + delta``) and Metropolis (temperature from
    :func:`_metropolis_temperature`) dense walks from ``net`` at relative step ``eta``, sharing
    the proposal stream ``seed``. Returns ``{"free", "threshold", "metropolis"}`` WalkResults,
    their measures (``measures[name]``, :func:`_walk_measures`), ``temperature`` and ``loss0``."""
    rec = record_every or max(1, steps // 50)
    kw = dict(move="dense", n_walkers=n_walkers, record_every=rec, seed=seed, delta=delta,
              n_threads=n_threads)
    free = random_walk(net, data, steps, eta, mode="free", **kw)
    L0 = free.loss0
    thr = random_walk(net, data, steps, eta, mode="threshold", threshold=L0 + delta,
                      eval_test=False, **kw)
    T = _metropolis_temperature(net, data, eta, n_walkers, seed, accept, n_threads=n_threads)
    met = random_walk(net, data, steps, eta, mode="metropolis", temperature=T, eval_test=False,
                      **kw)
    res = {"free": free, "threshold": thr, "metropolis": met}
    return {**res, "measures": {k: _walk_measures(v) for k, v in res.items()},
            "temperature": T, "loss0": L0}


def _plot_loss_distance(pr: Any, wk: Dict[str, Any], delta: float):
    """Train loss against relative distance: free-walk walkers and their mean, the constrained
    walks, and the profile's mean at equal (filter-normalised) radius."""
    fig, (ax,) = _figure(1, size=(7.4, 3.6))
    fr = wk["free"]
    for row_d, row_l in zip(fr.distance, fr.train_loss):
        ax.plot(row_d, row_l, color=TRAIN_COLOR, lw=0.6, alpha=0.35)
    ax.plot(fr.distance.mean(0), fr.train_loss.mean(0), color=TRAIN_COLOR, lw=1.8,
            label="free walk (mean)")
    for name, col in (("threshold", _THR_COLOR), ("metropolis", _MET_COLOR)):
        w = wk[name]
        ax.plot(w.distance.mean(0), w.train_loss.mean(0), color=col, lw=1.4,
                label=f"{name} walk (mean)")
    ax.plot(pr.radii, pr.mean_train_loss, "o--", color="0.25", ms=3, lw=1.2,
            label="profile mean (filter-normalised radius)")
    ax.axhline(wk["loss0"] + delta, color="0.4", ls=":", lw=1, label=f"L0 + {delta:g}")
    ax.set_yscale("log")
    ax.set_xlim(0, max(float(fr.distance.max()), float(pr.radii[-1])) * 1.02)
    ax.set_xlabel("relative distance ||θ-θ0||/||θ0|| (profile: radius r)")
    ax.set_ylabel("train loss (nats)")
    legend_right(ax)
    return fig


def _plot_constrained(wk: Dict[str, Any]):
    """MSD against step (log-log, free walk as the exponent-1 reference) and the acceptance
    rate per record of the constrained walks."""
    fig, (a1, a2) = _figure(2)
    for name, col in (("free", TRAIN_COLOR), ("threshold", _THR_COLOR),
                      ("metropolis", _MET_COLOR)):
        w = wk[name]
        s = np.asarray(w.step, dtype=np.float64)
        m = w.msd
        ok = (s > 0) & (m > 0)
        a1.loglog(s[ok], m[ok], "o-", color=col, ms=2.5, lw=1.2,
                  label=f"{name}: exponent {w.msd_exponent:.2f}")
        if name != "free" and s.size > 1:
            a2.plot(s[1:], np.nanmean(w.acceptance[:, 1:], axis=0), color=col, lw=1.4,
                    label=f"{name}: overall {np.mean(w.acceptance_rate):.2f}")
    a1.set_xlabel("step (moves)")
    a1.set_ylabel("<||θ_t - θ0||²>")
    a1.legend(fontsize=7)
    a2.set_ylim(-0.02, 1.02)
    a2.set_xlabel("step (moves)")
    a2.set_ylabel("acceptance rate (per record)")
    a2.legend(fontsize=7)
    return fig


def _fmt(x: float, spec: str = ".3g") -> str:
    return "none" if not np.isfinite(x) else format(x, spec)


def section(ctx: Any) -> None:
    """Protocol 1 report section: loss-vs-radius profile of replica 0, the free walk's loss
    rise with distance, and constrained (threshold, Metropolis) walks.

    ``ctx`` needs ``dataset`` (X_train, y_train, X_test, y_test), ``ensemble`` and ``report``
    (``add_section(title, text, figures, data)``); optional ``n_threads`` and ``options`` (dict;
    ``options['extra']`` may set ``p1_directions`` (16), ``p1_steps`` (500), ``p1_walkers``
    (4), ``p1_eta`` (relative step; default 2 x basin radius / sqrt(p1_steps)), ``p1_delta``
    (0.1 nats: basin radius, threshold and escape level) and ``p1_accept`` (0.5: acceptance
    probability of a typical move at the Metropolis temperature)). Kept small: about a second
    on digits."""
    extra = section_settings(ctx)
    nt = getattr(ctx, "n_threads", None)
    K = opt_int(extra, "p1_directions", 16)
    steps = opt_int(extra, "p1_steps", 500)
    W = opt_int(extra, "p1_walkers", 4)
    delta = _opt_float(extra, "p1_delta", 0.1)
    accept = _opt_float(extra, "p1_accept", 0.5)
    seed = run_seed(ctx)
    net = ctx.ensemble[0]
    t0 = time.perf_counter()
    radii = np.linspace(0.0, 1.0, 11)
    pr = profile(net, ctx.dataset, radii, n_directions=K, normalization="filter", delta=delta,
                 seed=seed, n_threads=nt)
    rb = pr.basin_radius
    eta_opt = _opt_float(extra, "p1_eta", None)
    eta = eta_opt if eta_opt is not None else _walk_step(rb, steps, float(radii[-1]))
    wk = walks(net, ctx.dataset, steps, eta, delta, W, seed=seed, accept=accept, n_threads=nt)
    fr, ms = wk["free"], wk["measures"]
    # free walk: loss against distance, next to the profile at equal radius
    d_free = fr.distance.mean(0)
    l_free = fr.train_loss.mean(0)
    inside = d_free <= radii[-1]
    l_prof = np.where(inside, np.interp(d_free, pr.radii, pr.mean_train_loss), np.nan)
    i_cmp = int(np.flatnonzero(inside)[-1]) if inside.any() else 0
    L0 = wk["loss0"]
    mt, mm = ms["threshold"], ms["metropolis"]
    text = (
        f"Replica 0 probed with {K} filter-normalised Gaussian directions at 11 radii in [0, 1]: "
        f"train loss {pr.loss0:.4f} at r = 0, mean {pr.mean_train_loss[-1]:.4f} at r = 1; basin "
        f"radius (mean loss > L0 + {delta:g}) = {_fmt(rb)}.\n\n"
        f"{W} walkers of {steps} dense Gaussian moves of relative size eta = {eta:.3g}"
        + ("" if eta_opt is not None else " (chosen so that a free walk travels twice the basin "
           "radius)") + ", the same proposals for every walk type. "
        f"A free walk accepts every move, so its mean squared displacement grows linearly with "
        f"the step count whatever the landscape (MSD exponent {ms['free']['msd_exponent']:.2f} "
        f"and acceptance 1 by construction; not a finding). What it does show is the loss rise "
        f"with distance: at relative distance {d_free[i_cmp]:.3g} its mean train loss is "
        f"{l_free[i_cmp]:.4g}, against {_fmt(l_prof[i_cmp], '.4g')} for the profile at that "
        f"radius (L0 = {L0:.4g}); isotropic moves and filter-normalised directions of equal norm "
        f"need not agree. After {steps} moves the free walkers are at distance "
        f"{ms['free']['final_distance']:.3g} with loss {ms['free']['final_train_loss']:.4g}; "
        f"{100 * (1 - ms['free']['stayed_fraction']):.0f}% of them rose above L0 + {delta:g}, "
        f"at mean distance {_fmt(ms['free']['escape_distance'])} (the profile's basin radius: "
        f"{_fmt(rb)}).\n\n"
        f"Constrained walks, where the landscape decides: the threshold walk (loss <= L0 + "
        f"{delta:g}) has MSD exponent {mt['msd_exponent']:.2f} (free walk on the same "
        f"proposals: {ms['free']['msd_exponent']:.2f}), acceptance "
        f"{mt['acceptance_rate']:.2f} and ends at distance {mt['final_distance']:.3g} "
        f"({_fmt(mt['final_distance'] / rb if np.isfinite(rb) else float('nan'), '.2g')} basin "
        f"radii). The Metropolis walk at T = {wk['temperature']:.3g} (a typical move's loss "
        f"change accepted with probability {accept:g}) has MSD exponent "
        f"{mm['msd_exponent']:.2f}, acceptance "
        f"{mm['acceptance_rate']:.2f}, escape distance "
        f"(loss first above L0 + {delta:g}) {_fmt(mm['escape_distance'])}, and "
        f"{100 * mm['stayed_fraction']:.0f}% of its walkers stayed in the basin; its mean loss "
        f"ends at {mm['final_train_loss']:.4g}. An exponent clearly below the free walk's "
        f"(sub-diffusion) means the landscape confines the walk at this scale; an exponent ~1 "
        f"with an acceptance below 1 means it slows the walk (fewer moves) without confining "
        f"it; ~1 with acceptance ~1 means the basin is wider than the walk.")
    data = {"profile": pr.to_dict(),
            "walk": {k: v for k, v in fr.to_dict().items() if k != "settings"},
            "walk_settings": fr.settings,
            "eta": eta, "delta": delta, "temperature": wk["temperature"], "accept": accept,
            "measures": ms,
            "threshold_walk_settings": wk["threshold"].settings,
            "metropolis_walk_settings": wk["metropolis"].settings,
            "free_walk_loss_vs_distance": {"distance": d_free.tolist(),
                                           "train_loss": l_free.tolist(),
                                           "profile_train_loss": l_prof.tolist()},
            "seconds": time.perf_counter() - t0}
    ctx.report.add_section(
        "Protocol 1: perturbation probes and random walks", text,
        figures=[(plot_profile(pr), "loss and error against filter-normalised radius"),
                 (_plot_loss_distance(pr, wk, delta),
                  "train loss against distance: free and constrained walks, and the profile"),
                 (_plot_constrained(wk), "constrained walks: mean squared displacement (free "
                  "walk as the exponent-1 reference) and acceptance rate")],
        data=data, key="protocol1")
    _finding(ctx, rb, delta, ms)


def _walk_verdict(m: Dict[str, float], free_exponent: float) -> str:
    """The section's rule: exponent clearly below the free walk's (by > 0.1) confines; ~ the
    free walk's with acceptance < 0.9 slows without confining; else the basin is wider."""
    if m["msd_exponent"] < free_exponent - 0.1:
        return "confined (sub-diffusive)"
    if m["acceptance_rate"] < 0.9:
        return "slowed, not confined"
    return "free (basin wider than the walk)"


def _finding(ctx: Any, rb: float, delta: float, ms: Dict[str, Dict[str, float]]) -> None:
    """The Protocol 1 line of the findings panel; calibration: the free walk on the same
    proposals must give the known MSD exponent 1 (acceptance 1)."""
    fe = ms["free"]["msd_exponent"]
    mt, mm = ms["threshold"], ms["metropolis"]
    vt, vm = _walk_verdict(mt, fe), _walk_verdict(mm, fe)
    verdict = (f"Basin radius {_fmt(rb)} (relative distance where the mean loss of filter-"
               f"normalised directions rises {delta:g} nats). Threshold walk: MSD exponent "
               f"{mt['msd_exponent']:.2f}, acceptance {mt['acceptance_rate']:.2f}: {vt}. "
               f"Metropolis walk: exponent {mm['msd_exponent']:.2f}, acceptance "
               f"{mm['acceptance_rate']:.2f}, {100 * mm['stayed_fraction']:.0f}% of walkers "
               f"stayed below L0 + {delta:g}: {vm}.")
    ok = abs(fe - 1.0) < 0.1
    put_finding(
        ctx, "probes", verdict=verdict,
        numbers={"basin_radius": rb, "delta_nats": delta,
                 "threshold_msd_exponent": mt["msd_exponent"],
                 "threshold_acceptance": mt["acceptance_rate"],
                 "metropolis_msd_exponent": mm["msd_exponent"],
                 "metropolis_acceptance": mm["acceptance_rate"],
                 "metropolis_stayed_fraction": mm["stayed_fraction"],
                 "free_msd_exponent": fe},
        calibration=(f"free walk on the same proposals (known answer: exponent 1, acceptance "
                     f"1): exponent {fe:.2f}, acceptance "
                     f"{ms['free']['acceptance_rate']:.2f}: "
                     + ("instrument OK" if ok else "off by more than 0.1: too few records or "
                        "walkers to read exponents")),
        calibration_status="ok" if ok else "warning")
