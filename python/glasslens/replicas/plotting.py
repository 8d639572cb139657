"""Report figures of Protocol 3 built on the results' own plots (matplotlib object API).

* :func:`plot_run`: one replica analysis (P(q), Parisi-ordered overlaps, K against the nulls),
  with P(q) zoomed to its support and the full [-1, 1] view as an inset, legends under the axes;
* :func:`plot_sweep`: the sweep figure with its legends outside the data.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._lib._plotting import legend_below, legend_right

__all__ = ["plot_run", "plot_sweep", "zoom_to_support"]


def zoom_to_support(ax: Any, dist: Any, pad: float = 0.3, min_width: float = 0.05,
                    max_width: float = 1.0) -> bool:
    """Zoom the P(q) axes ``ax`` to the support [q_min, q_max] of ``dist`` (padded by ``pad``
    of its width, at least ``min_width`` wide) and add the full [-1, 1] view as an inset in the
    upper-left corner (headroom above the curve keeps it off the data). Does nothing when the
    support is wider than ``max_width``. Returns whether it zoomed."""
    lo, hi = float(dist.q_min), float(dist.q_max)
    w = max(hi - lo, min_width)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > max_width:
        return False
    c = 0.5 * (lo + hi)
    ax.set_xlim(c - 0.5 * w * (1 + 2 * pad), c + 0.5 * w * (1 + 2 * pad))
    lo_x, hi_x = ax.get_xlim()
    # the report's histogram bins span [-1, 1]: redraw it with 25 bins across the zoomed view
    for cont in list(ax.containers):
        for patch in cont:
            patch.remove()
        ax.containers.remove(cont)
    q = np.asarray(dist.q, dtype=np.float64)
    dens, _, _ = ax.hist(q, bins=np.linspace(lo_x, hi_x, 26), density=True, color="0.8",
                         label="histogram", zorder=0)
    ymax = max([float(np.nanmax(d)) for d in (dens, dist.kde) if d is not None
                and np.size(d)] or [1.0])
    ax.set_ylim(0, 1.75 * ymax)
    ins = ax.inset_axes([0.04, 0.6, 0.3, 0.33])
    if dist.kde is not None:
        ins.plot(dist.grid, dist.kde, "k-", lw=0.8)
    else:
        ins.bar(0.5 * (dist.edges[1:] + dist.edges[:-1]), dist.density,
                width=np.diff(dist.edges), color="0.6")
    ins.set_xlim(-1, 1)
    ins.set_yticks([])
    ins.set_xticks([-1, 0, 1])
    ins.tick_params(labelsize=6)
    ins.set_title("full range", fontsize=6, pad=2)
    ins.axvspan(*ax.get_xlim(), color="C1", alpha=0.25, lw=0)
    return True


def plot_run(rs: Any, label: str) -> Any:
    """``rs.plot()`` of a :class:`ReplicaStructure` titled ``label``, P(q) zoomed to its
    support (inset: full range), axis labels with what they measure, legends under the axes."""
    fig = rs.plot()
    ax_q, ax_m = fig.axes[0], fig.axes[1]
    ax_k = fig.axes[3] if len(fig.axes) > 3 else fig.axes[-1]  # axes[2] is the colour bar
    for ax in fig.axes:
        if ax.get_xlabel().startswith("K ="):
            ax_k = ax
    zoom_to_support(ax_q, rs.distribution)
    ax_q.set_xlabel("overlap q (cosine; dimensionless)")
    ax_q.set_ylabel("P(q) (density per unit q)")
    ax_m.set_xlabel("replica (dendrogram order)")
    ax_m.set_ylabel("replica (dendrogram order)")
    ax_k.set_ylabel("density of triangles")
    ax_k.set_xlabel("K = (d3 - d2) / sigma_d (dimensionless)")
    legend_below(ax_q, ncol=3)
    legend_below(ax_k, ncol=2)
    fig.suptitle(label, fontsize=10)
    fig.tight_layout()
    return fig


def plot_sweep(sweep: Any) -> Any:
    """``sweep.plot(scale="peak")`` with both legends to the right of their axes."""
    fig = sweep.plot(scale="peak")
    a0, a1 = fig.axes[:2]
    a0.set_xlabel("overlap q (dimensionless)")
    legend_below(a0, ncol=2)
    legend_right(a1)
    return fig
