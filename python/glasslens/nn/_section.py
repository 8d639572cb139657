"""The training and weights sections of the report: training curves, final metrics and layer
norms of the trained replicas. Receive the report's ``AnalysisContext``."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .._lib._plotting import histogram
from .._lib._sections import stats
from .plotting import final_metrics, layer_norms, training_curves


def training_section(ctx: Any) -> None:
    """Training curves and final metrics of the replicas."""
    e = ctx.ensemble
    figs = []
    h = {k: np.asarray(v) for k, v in e.history.items()}
    if "epoch" in h and any(k in h for k in ("train_loss", "test_loss")):
        figs.append((training_curves(h), "Loss and accuracy during training: one thin "
                     "line per replica, bold = median; blue = train, red = test."))
    if e.metrics:
        figs.append((final_metrics(e.metrics), "Final train and test loss and accuracy "
                     "across replicas (one dot per replica)."))
    m = {k: np.asarray(v, dtype=np.float64) for k, v in e.metrics.items()}
    summary = {k: stats(v) for k, v in m.items()}
    text = ""
    if "train_acc" in m and "test_acc" in m:
        gap = m["train_acc"] - m["test_acc"]
        summary["generalization_gap_acc"] = stats(gap)
        text = (f"Final training accuracy {m['train_acc'].mean():.4f} +- "
                f"{m['train_acc'].std():.4f}, test accuracy {m['test_acc'].mean():.4f} +- "
                f"{m['test_acc'].std():.4f} (mean +- std over {e.n_replicas} replicas).")
    if "train_loss" in m and "test_loss" in m:
        text += (f" Final training loss {m['train_loss'].mean():.4g}, test loss "
                 f"{m['test_loss'].mean():.4g}.")
    diverged = _diverged(h, m)
    if diverged:
        text += (f" Warning: {len(diverged)} of {e.n_replicas} replicas diverged (final training "
                 f"loss above the initial one, or not finite): lower the learning rate "
                 f"(--lr, now {ctx.options.get('lr')}).")
    data: Dict[str, Any] = {"summary": summary, "per_replica": m, "diverged": diverged}
    if "epoch" in h:
        data["curves_median"] = {"epoch": h["epoch"], **{
            k: np.median(v, axis=0) for k, v in h.items() if k != "epoch" and v.ndim == 2}}
    ctx.report.add_section("Training", text, figures=figs, data=data, key="training")


def _diverged(h: Dict[str, np.ndarray], m: Dict[str, np.ndarray]) -> List[int]:
    """Replicas whose final training loss is not finite or exceeds their initial loss."""
    if "train_loss" not in m:
        return []
    final = m["train_loss"]
    bad = ~np.isfinite(final)
    if "train_loss" in h and h["train_loss"].ndim == 2 and h["train_loss"].shape[1] > 1:
        first = h["train_loss"][:, 0]
        bad |= np.isfinite(first) & (final > first)
    return [int(i) for i in np.flatnonzero(bad)]


def weights_section(ctx: Any) -> None:
    """Per-layer weight norms and raw (unaligned) overlaps of the replicas."""
    e = ctx.ensemble
    norms = {f"W{i}": np.linalg.norm(W.reshape(W.shape[0], -1).astype(np.float64), axis=1)
             for i, W in enumerate(e.weights)}
    theta = e.flat().astype(np.float64)
    unit = theta / np.maximum(np.linalg.norm(theta, axis=1, keepdims=True), 1e-300)
    iu = np.triu_indices(e.n_replicas, 1)
    cos = (unit @ unit.T)[iu]
    figs = [(layer_norms(norms), "Frobenius norm of each layer's weight matrix, one dot "
             "per replica.")]
    text = (f"Per-layer weight norms across replicas. The cosine similarity of the flat weight "
            f"vectors of two replicas, before any alignment of hidden units, averages "
            f"{cos.mean():.3f}" if cos.size else "Per-layer weight norms across replicas.")
    if cos.size:
        text += (" over all pairs; the permutation symmetry of hidden units makes this raw "
                 "overlap an underestimate of how similar the solutions are.")
        figs.append((histogram(cos, "cosine similarity of flat weight vectors",
                                     title="raw (unaligned) replica overlaps"),
                     "Raw overlaps between pairs of replicas (no permutation alignment)."))
    data = {"layer_norms": {k: stats(v) for k, v in norms.items()},
            "raw_overlap": stats(cos) if cos.size else None}
    ctx.report.add_section("Weights", text, figures=figs, data=data, key="weights")
