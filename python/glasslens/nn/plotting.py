"""Figures of trained ensembles: training curves, final metrics and layer norms (matplotlib
Figure objects; no pyplot, no backend switch)."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from .._lib._plotting import TEST_COLOR, TRAIN_COLOR, curves, new_figure

__all__ = ["training_curves", "final_metrics", "layer_norms"]


def training_curves(history: Mapping[str, Any], title: Optional[str] = None):
    """Loss and accuracy against epoch for every replica (thin) and their median (bold).

    ``history`` holds ``"epoch"`` ``(n_records,)`` and any of ``"train_loss"``, ``"test_loss"``,
    ``"train_acc"``, ``"test_acc"`` of shape ``(R, n_records)``.
    """
    if "epoch" not in history:
        raise ValueError("history needs an 'epoch' entry")
    x = np.asarray(history["epoch"], dtype=np.float64)
    fig, (ax_l, ax_a) = new_figure(2)
    for key, ax in (("loss", ax_l), ("acc", ax_a)):
        for split, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR)):
            k = f"{split}_{key}"
            if k in history and np.size(history[k]):
                curves(ax, x, history[k], color, split)
        ax.set_xlabel("epoch (passes over the training set)")
        ax.grid(alpha=0.3)
    ax_l.set_ylabel("cross-entropy loss (nats)")
    ax_a.set_ylabel("accuracy")
    loss_vals = np.concatenate([np.ravel(history[k]) for k in ("train_loss", "test_loss")
                                if k in history])
    if loss_vals.size and np.all(loss_vals[np.isfinite(loss_vals)] > 0):
        ax_l.set_yscale("log")
    if ax_l.lines:
        ax_l.legend(fontsize=8)
    if ax_a.lines:
        ax_a.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    return fig


def final_metrics(metrics: Mapping[str, Any], title: Optional[str] = None, seed: int = 0):
    """Final train/test loss and accuracy across replicas: one dot per replica plus a box."""
    fig, (ax_l, ax_a) = new_figure(2)
    rng = np.random.default_rng(seed)
    for key, ax, label in (("loss", ax_l, "final cross-entropy loss"),
                           ("acc", ax_a, "final accuracy")):
        data, names = [], []
        for split in ("train", "test"):
            k = f"{split}_{key}"
            if k in metrics:
                data.append(np.asarray(metrics[k], dtype=np.float64).ravel())
                names.append(split)
        if not data:
            continue
        ax.boxplot(data, widths=0.5, showfliers=False)
        ax.set_xticks(range(1, len(names) + 1), names)
        for i, (d, n) in enumerate(zip(data, names)):
            jitter = rng.uniform(-0.12, 0.12, size=d.size)
            ax.scatter(np.full(d.size, i + 1.0) + jitter, d, s=14, alpha=0.7,
                       color=TRAIN_COLOR if n == "train" else TEST_COLOR, zorder=3)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title)
    return fig


def layer_norms(norms: Mapping[str, Sequence[float]], title: Optional[str] = None):
    """Frobenius norm of each layer's weights across replicas (one dot per replica)."""
    fig, (ax,) = new_figure(1, size=(max(4.2, 1.2 * len(norms) + 1.5), 3.2))
    rng = np.random.default_rng(0)
    for i, (name, vals) in enumerate(norms.items()):
        v = np.asarray(vals, dtype=np.float64)
        ax.scatter(i + rng.uniform(-0.12, 0.12, size=v.size), v, s=14, color=TRAIN_COLOR,
                   alpha=0.7)
    ax.set_xticks(range(len(norms)), list(norms))
    ax.set_ylabel("weight norm ||W||_F")
    ax.grid(alpha=0.3, axis="y")
    if title:
        ax.set_title(title)
    return fig
