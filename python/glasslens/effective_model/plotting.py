"""Figures of the effective model (matplotlib, Agg canvas; no pyplot global state).

* :func:`plot_entropy_landscapes`: s(d) of every block and reference with the bound H2(d);
* :func:`plot_tap_histograms`: histograms of the TAP free energies from random starts;
* :func:`plot_liquid_solid`: per-block liquid/solid indicators as bars (as drawn vs aligned).

Every function takes a :class:`glasslens.effective_model.BlockAnalysis` (or an
``EffectiveModelResult``) and returns a ``matplotlib.figure.Figure``.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .._lib._plotting import legend_right

__all__ = ["plot_entropy_landscapes", "plot_tap_histograms", "plot_liquid_solid"]

_LEVEL_COLOURS = {"low": "tab:blue", "medium": "tab:green", "high": "tab:red"}


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _analysis(obj: Any):
    from ._pipeline import BlockAnalysis, EffectiveModelResult

    if isinstance(obj, EffectiveModelResult):
        v = obj.variants()
        if not v:
            raise ValueError("the result holds no analysis")
        return next(iter(v.values()))
    if isinstance(obj, BlockAnalysis):
        return obj
    raise TypeError(f"expected an EffectiveModelResult or a BlockAnalysis, got {type(obj).__name__}")


def plot_entropy_landscapes(analysis: Any, title: str = ""):
    """One panel per block: entropy density s (nats per weight) against the distance d from
    each reference (colour: low / medium / high energy reference; solid: first branch, dashed:
    second branch of the sweep), the bound H2(d) in black; jumps marked by crosses."""
    an = _analysis(analysis)
    blocks = list(an.landscapes)
    if not blocks:
        raise ValueError("no landscapes to plot (run with landscape=True and n_references > 0)")
    fig = _figure(3.6 * len(blocks), 3.4)
    axes = fig.subplots(1, len(blocks), squeeze=False)[0]
    dd = np.linspace(0, 1, 201)
    from ..maxent import binary_entropy

    for ax, b in zip(axes, blocks):
        not_conv_label = jump_label = True
        ax.plot(dd, binary_entropy(dd), color="k", lw=1.2, label="H2(d)")
        for level, Ls in an.landscapes[b].items():
            c = _LEVEL_COLOURS.get(level, None)
            for k, L in enumerate(Ls):
                for i, br in enumerate(L.branches.values()):
                    ok = np.asarray(br.converged, dtype=bool)
                    d, s_ = np.asarray(br.d), np.asarray(br.entropy)
                    ax.plot(d[ok], s_[ok], ls="-" if i == 0 else "--", marker="o", ms=3.5,
                            color=c, lw=1, label=level if (k == 0 and i == 0) else None)
                    if np.any(~ok):  # shown, not hidden: open circles (BP did not converge)
                        ax.plot(d[~ok], s_[~ok], ls="none", marker="o", ms=5, mfc="none",
                                color=c, label="BP not converged" if not_conv_label else None)
                        not_conv_label = False
                for j in L.jumps:
                    ax.plot([j["d_from"], j["d_to"]], [j["s_from"], j["s_to"]], ":", color=c,
                            lw=1, marker="x", ms=5,
                            label="jump (first order)" if jump_label else None)
                    jump_label = False
        s = an.summaries.get(b, {})
        sub = f"{b} (N={int(s.get('n', 0))})"
        if "s_over_H2_mean" in s and np.isfinite(s["s_over_H2_mean"]):
            sub += f"\ns/H2 mean {s['s_over_H2_mean']:.2f}, jumps {int(s.get('n_jumps', 0))}"
        ax.set_title(sub, fontsize=9)
        ax.set_xlabel("distance d from reference (fraction of weights)")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    axes[0].set_ylabel("entropy s(d) (nats / weight)")
    legend_right(axes[-1])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.set_size_inches(fig.get_size_inches()[0] + 1.6, fig.get_size_inches()[1])
    fig.tight_layout()
    return fig


def plot_tap_histograms(analysis: Any, title: str = "", bins: int = 40):
    """One panel per block: histogram of the TAP free energy per weight of the converged
    solutions from random starts; the number of distinct states is in the title."""
    an = _analysis(analysis)
    blocks = list(an.tap)
    if not blocks:
        raise ValueError("no TAP results to plot (run with tap_starts > 0)")
    fig = _figure(3.2 * len(blocks), 2.9)
    axes = fig.subplots(1, len(blocks), squeeze=False)[0]
    for ax, b in zip(axes, blocks):
        t = an.tap[b]
        F = np.asarray(t["free_energy"], dtype=np.float64)
        if F.size:
            span = float(np.ptp(F))
            if span < 1e-9:  # a single state: a narrow bar around it
                ax.hist(F, bins=1, range=(F[0] - 1e-3, F[0] + 1e-3), color="tab:purple")
            else:
                ax.hist(F, bins=bins, color="tab:purple")
        ax.set_title(f"{b}: {t['n_states']} state(s), {t['n_converged']}/{t['n_starts']} conv.",
                     fontsize=9)
        ax.set_xlabel("TAP free energy per weight")
        ax.ticklabel_format(axis="x", useOffset=False)
        for lab in ax.get_xticklabels():
            lab.set_rotation(30)
    axes[0].set_ylabel("random starts")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


_BARS = (("J_std", "std of couplings J"), ("mean_abs_conn_C", "mean |connected C|"),
         ("mean_abs_m", "mean |m|"), ("s_over_H2_mean", "liquid-like score\nmean s(d)/H2(d)"))


def plot_liquid_solid(variants: Any, title: str = ""):
    """Per-block liquid/solid indicators as grouped bars: coupling spread, mean |connected
    correlation|, mean |magnetisation| and the mean s(d)/H2(d) (liquid-like score).

    ``variants``: an ``EffectiveModelResult`` (its raw and aligned analyses), one
    ``BlockAnalysis``, or a dict name -> BlockAnalysis / name -> {block: summary dict}."""
    from ._pipeline import BlockAnalysis, EffectiveModelResult

    if isinstance(variants, EffectiveModelResult):
        sets: Dict[str, Dict[str, Dict[str, float]]] = {
            k: v.summaries for k, v in variants.variants().items()}
    elif isinstance(variants, BlockAnalysis):
        sets = {"": variants.summaries}
    elif isinstance(variants, dict):
        sets = {k: (v.summaries if isinstance(v, BlockAnalysis) else v) for k, v in variants.items()}
    else:
        raise TypeError("variants must be an EffectiveModelResult, a BlockAnalysis or a dict")
    if not sets or not any(sets.values()):
        raise ValueError("nothing to plot")
    blocks = list(next(iter(sets.values())))
    keys = [(k, lab) for k, lab in _BARS
            if any(k in s.get(b, {}) for s in sets.values() for b in blocks)]
    fig = _figure(2.8 * len(keys), 2.9)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    width = 0.8 / len(sets)
    colours = ["tab:gray", "tab:orange", "tab:cyan", "tab:olive"]
    x = np.arange(len(blocks))
    for ax, (k, lab) in zip(axes, keys):
        for i, (name, summ) in enumerate(sets.items()):
            vals = [float(summ.get(b, {}).get(k, np.nan)) for b in blocks]
            ax.bar(x + (i - (len(sets) - 1) / 2) * width, vals, width,
                   color=colours[i % len(colours)], label=name or None)
        ax.set_xticks(x)
        ax.set_xticklabels(blocks)
        ax.set_title(lab, fontsize=9)
        if k == "s_over_H2_mean":
            ax.axhline(1.0, color="k", lw=0.8, ls=":")
            ax.set_ylim(0, 1.05)
    if len(sets) > 1 or next(iter(sets)):
        axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
