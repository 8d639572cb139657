"""Matplotlib helpers for glasslens reports.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no ``pyplot``, no global backend switch, no display needed), so they work on headless machines
and inside notebooks alike. Save with :func:`save` (PNG) or ``fig.savefig``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

__all__ = ["new_figure", "save", "histogram"]

TRAIN_COLOR = "#1f77b4"
TEST_COLOR = "#d62728"


def new_figure(ncols: int = 1, nrows: int = 1, size: Tuple[float, float] = (4.2, 3.2)):
    """A Figure with an ``nrows x ncols`` grid of axes; returns ``(fig, axes)`` (axes flat)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    return fig, axes


def save(fig: Any, path: Union[str, Path], dpi: int = 110) -> Path:
    """Write ``fig`` as PNG to ``path`` (parent directories are created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=dpi, format="png")
    return p


def curves(ax: Any, x: np.ndarray, Y: np.ndarray, color: str, label: str) -> None:
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    alpha = max(0.08, min(0.5, 3.0 / max(1, Y.shape[0])))
    for row in Y:
        ax.plot(x, row, color=color, alpha=alpha, lw=0.8)
    ax.plot(x, np.median(Y, axis=0), color=color, lw=2.0, label=f"{label} (median)")


def histogram(values: Any, xlabel: str, title: Optional[str] = None, bins: Any = "auto",
              ax_label: str = "count"):
    """A single histogram of ``values`` (non-finite values are dropped)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    fig, (ax,) = new_figure(1)
    if v.size:
        ax.hist(v, bins=bins, color=TRAIN_COLOR, alpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ax_label)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig




def _move_legend(ax: Any, fontsize: float, **where: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    if old is not None:
        old.remove()
    if handles:
        ax.legend(handles, labels, fontsize=fontsize, frameon=False, **where)


def legend_below(ax: Any, ncol: int = 2, fontsize: float = 7, **kw: Any) -> None:
    """Move ``ax``'s legend (if any) under the axes, outside the data (a constrained-layout
    figure makes room for it); ``kw`` go to ``ax.legend`` (e.g. ``title``)."""
    _move_legend(ax, fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, **kw)


def legend_right(ax: Any, fontsize: float = 7, **kw: Any) -> None:
    """Move ``ax``'s legend (if any) to the right of the axes, outside the data; ``kw`` go to
    ``ax.legend``."""
    _move_legend(ax, fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                 **kw)
