"""Figures for Protocol 1: loss against radius, walk traces, 1-D and 2-D slices.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no ``pyplot``, no global backend; PNG output goes through Agg), so they work headless.
Save with ``fig.savefig(path)``.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._lib._plotting import TEST_COLOR, TRAIN_COLOR
from .._lib._plotting import new_figure as _figure

__all__ = ["plot_profile", "plot_walk", "plot_msd", "plot_line", "plot_plane"]


def _band(ax: Any, x: np.ndarray, Y: np.ndarray, color: str, label: str,
          quantiles: Tuple[float, float] = (0.1, 0.9)) -> None:
    m = Y.mean(axis=0)
    sd = Y.std(axis=0)
    lo, hi = np.quantile(Y, quantiles[0], axis=0), np.quantile(Y, quantiles[1], axis=0)
    ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
    ax.fill_between(x, m - sd, m + sd, color=color, alpha=0.25, lw=0)
    ax.plot(x, m, color=color, lw=1.8, label=f"{label} (mean, ±1 sd, {quantiles[0]:g}-"
                                             f"{quantiles[1]:g} q.)")


def plot_profile(res: Any, title: Optional[str] = None):
    """Loss (left) and error (right) against radius for a :class:`~glasslens.landscape.
    ProfileResult`: mean, ±1 std band and 10-90% quantile band over directions; the dashed
    line marks ``loss0 + delta`` and the dotted one the basin radius."""
    fig, (a1, a2) = _figure(2)
    r = np.asarray(res.radii, dtype=np.float64)
    _band(a1, r, res.train_loss, TRAIN_COLOR, "train")
    _band(a2, r, 1.0 - res.train_acc, TRAIN_COLOR, "train")
    if res.test_loss is not None:
        _band(a1, r, res.test_loss, TEST_COLOR, "test")
        _band(a2, r, 1.0 - res.test_acc, TEST_COLOR, "test")
    a1.axhline(res.loss0 + res.delta, color="0.4", ls="--", lw=1,
               label=f"L0 + {res.delta:g}")
    br = res.basin_radius
    if np.isfinite(br):
        a1.axvline(br, color="0.2", ls=":", lw=1, label=f"basin radius {br:.3g}")
    a1.set_xlabel("radius r (relative, filter-normalised)")
    a1.set_ylabel("cross-entropy loss (nats)")
    a2.set_xlabel("radius r (relative, filter-normalised)")
    a2.set_ylabel("error (fraction misclassified)")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    st = res.settings
    fig.suptitle(title or f"loss vs radius: {st.get('directions')} {st.get('kind')} directions, "
                 f"{st.get('normalization')} norm., {st.get('mode')}", fontsize=9)
    return fig


def _traces(ax: Any, x: np.ndarray, Y: np.ndarray, color: str, label: str) -> None:
    Y = np.atleast_2d(Y)
    alpha = max(0.1, min(0.5, 3.0 / Y.shape[0]))
    for row in Y:
        ax.plot(x, row, color=color, lw=0.6, alpha=alpha)
    ax.plot(x, np.nanmean(Y, axis=0), color=color, lw=1.8, label=label)


def plot_walk(res: Any, title: Optional[str] = None):
    """Walk traces of a :class:`~glasslens.walks.WalkResult`: relative distance and overlap,
    train/test loss and acceptance rate against step (thin lines: walkers; thick: mean)."""
    fig, (a1, a2, a3) = _figure(3)
    x = np.asarray(res.step, dtype=np.float64)
    _traces(a1, x, res.distance, TRAIN_COLOR, "distance ||θ-θ0||/||θ0||")
    ax1b = a1.twinx()
    ax1b.plot(x, np.mean(res.overlap, axis=0), color="0.3", ls="--", lw=1.2)
    ax1b.set_ylabel("overlap q (dashed)")
    a1.set_xlabel("step")
    a1.set_ylabel("relative distance ||θ-θ0||/||θ0||")
    _traces(a2, x, res.train_loss, TRAIN_COLOR, "train")
    if np.any(np.isfinite(res.test_loss)):
        _traces(a2, x, res.test_loss, TEST_COLOR, "test")
    a2.axhline(res.loss0 + res.delta, color="0.4", ls="--", lw=1, label=f"L0 + {res.delta:g}")
    a2.set_xlabel("step")
    a2.set_ylabel("loss (nats)")
    a2.legend(fontsize=7)
    if x.size > 1:
        _traces(a3, x[1:], res.acceptance[:, 1:], "#2ca02c", "acceptance")
    a3.set_ylim(-0.02, 1.02)
    a3.set_xlabel("step")
    a3.set_ylabel("acceptance rate (per record)")
    st = res.settings
    fig.suptitle(title or f"{st.get('mode')} walk, {st.get('move')} moves, "
                 f"{st.get('walkers')} walkers, step size {st.get('step_size'):g}", fontsize=9)
    return fig


def plot_msd(res: Any):
    """Mean squared displacement against step (log-log) with the fitted exponent."""
    fig, (ax,) = _figure(1)
    s = np.asarray(res.step, dtype=np.float64)
    m = res.msd
    ok = (s > 0) & (m > 0)
    ax.loglog(s[ok], m[ok], "o-", color=TRAIN_COLOR, ms=3, label="MSD")
    a = res.msd_exponent
    if np.isfinite(a) and ok.sum() >= 2:
        c = np.exp(np.mean(np.log(m[ok]) - a * np.log(s[ok])))
        ax.loglog(s[ok], c * s[ok] ** a, "--", color="0.3", label=f"fit: exponent {a:.2f}")
    ax.set_xlabel("step")
    ax.set_ylabel("<||θ_t - θ0||²>")
    ax.legend(fontsize=7)
    return fig


def plot_line(res: Any, xlabel: str = "t", title: Optional[str] = None):
    """Loss (left) and error (right) along a 1-D slice (:func:`glasslens.landscape.line`)."""
    fig, (a1, a2) = _figure(2)
    t = res.coords[0]
    a1.plot(t, res.train_loss, color=TRAIN_COLOR, label="train")
    a2.plot(t, 1.0 - res.train_acc, color=TRAIN_COLOR, label="train")
    if res.test_loss is not None:
        a1.plot(t, res.test_loss, color=TEST_COLOR, label="test")
        a2.plot(t, 1.0 - res.test_acc, color=TEST_COLOR, label="test")
    for a, lab in ((a1, "loss"), (a2, "error")):
        a.set_xlabel(xlabel)
        a.set_ylabel(lab)
        a.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_plane(res: Any, which: str = "train_loss", levels: int = 20,
               title: Optional[str] = None):
    """Filled contour map of ``which`` ('train_loss', 'test_loss', 'train_acc', 'test_acc') on
    a 2-D slice (:func:`glasslens.landscape.plane`); the start point is marked at (0, 0)."""
    Z = getattr(res, which)
    if Z is None:
        raise ValueError(f"{which} is not available (no test set)")
    fig, (ax,) = _figure(1, size=(4.6, 3.8))
    a, b = res.coords
    cs = ax.contourf(a, b, np.asarray(Z).T, levels=levels, cmap="viridis")
    ax.contour(a, b, np.asarray(Z).T, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
    fig.colorbar(cs, ax=ax, label=which.replace("_", " "))
    ax.plot([0], [0], "r*", ms=8)
    ax.set_xlabel("d1 coefficient")
    ax.set_ylabel("d2 coefficient")
    if title:
        ax.set_title(title, fontsize=9)
    return fig

