"""Protocol 2 in one call: the permutation-interpolation protocol.

``permutation_interpolation(net_or_ensemble, data)`` answers two questions side by side:

1. *Copies.* A trained network has H! function-preserving copies (hidden units permuted). How
   high is the loss barrier on the straight line between the network and a copy with ``k``
   random disjoint transpositions of hidden units (k = 1, 2, 4, ..., H/2), or with a full random
   permutation (a derangement: every unit moves)? How does the barrier depend on how
   dissimilar the swapped units are (cosine of their incoming weight vectors)?
2. *Replicas.* For pairs of independently trained replicas: the barrier of the raw linear path,
   and after aligning the second replica to the first by weight matching (git-re-basin) or
   activation matching.

The work is done by :func:`glasslens.interpolation.permutation_barrier_scan` (copies) and
:func:`glasslens.interpolation.replica_barriers` (replicas, aligned with
:func:`glasslens.symmetry.match_weights`); every curve is evaluated in batched calls of the
fused evaluator. The result has ``.table()`` (one Markdown table comparing copies at each k, the
full permutation, and replica pairs raw and aligned), ``.plot()`` (one figure) and
``.to_dict()`` (JSON-friendly dict; the per-copy and per-pair values with ``arrays=True``).

Note: k = H/2 disjoint transpositions usually give a *higher* barrier than a full random
permutation. At alpha = 1/2 the two units of a swapped pair become identical (both equal their
average), so the midpoint network has half the effective width; the long cycles of a random
permutation instead average every unit with a different one.

Barrier definitions (``metric``, ``kind``, ``reference``, ``split``) are those of
:func:`glasslens.interpolation.barrier`; the default is Entezari et al.'s (max over the path of
the train loss minus the straight line between the endpoint losses, in nats).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .._lib._alignment import check_matchings
from .._lib._deprecation import deprecated_method, renamed_kwargs, warn_moved
from .._lib._results import Result, jsonable
from .._lib._validate import check_int, check_seed
from .._lib._limits import MAX_GRID_POINTS
from ._interpolation import (
    ReplicaBarriers,
    ScanResult,
    _barrier_values,
    _resolve,
    permutation_barrier_scan,
    replica_barriers,
)
from ..nn._network import MLP, Ensemble
from ._matching import _check_same_arch, hidden_widths

__all__ = ["permutation_interpolation", "PermutationInterpolation", "default_ks"]


def default_ks(h: int) -> List[int]:
    """1, 2, 4, ... up to h // 2 (empty for h < 2)."""
    if h < 2:
        return []
    ks = [1]
    while ks[-1] * 2 <= h // 2:
        ks.append(ks[-1] * 2)
    return ks


def _other(metric: str) -> str:
    return "error" if metric == "loss" else "loss"


@dataclass
class PermutationInterpolation(Result):
    """Result of :func:`permutation_interpolation`.

    copies : ScanResult of the network against its permuted copies (rows = (k, trial); k = -1
        is the full random permutation)
    replicas : ReplicaBarriers of replica pairs (columns = ``aligns``; None = raw), or None when
        no ensemble with at least 2 replicas was given
    other_copies, other_replicas : the barrier of the other metric (error if the main metric is
        loss, and vice versa) with the same kind, reference and split
    replica : index of the replica used for the copies (None if a single MLP was given)
    options : the barrier definition and the settings
    """

    copies: ScanResult
    replicas: Optional[ReplicaBarriers]
    other_copies: np.ndarray
    other_replicas: Optional[np.ndarray]
    width: int
    replica: Optional[int]
    options: Dict[str, Any] = field(default_factory=dict)

    # ---- derived --------------------------------------------------------------------------------
    @property
    def definition(self) -> str:
        return self.copies.definition

    @deprecated_method("rows", "to_dict()['rows']")
    def rows(self) -> List[Dict[str, Any]]:
        """Deprecated: use ``to_dict()["rows"]``."""
        return self._rows()

    def _rows(self) -> List[Dict[str, Any]]:
        """One dict per table row (copies at each k, full permutation, replicas per alignment)."""
        c = self.copies
        out: List[Dict[str, Any]] = []
        ks = [k for k in np.unique(c.k) if k >= 0] + ([-1] if np.any(c.k == -1) else [])
        for k in ks:
            sel = c.k == k
            b = c.barrier[sel]
            out.append({
                "path": "copy, full permutation" if k == -1 else f"copy, k = {int(k)}",
                "k": int(k), "units_moved": int(c.m[sel][0]), "n": int(sel.sum()),
                "cosine": float(np.nanmean(c.cosine[sel])) if np.any(np.isfinite(c.cosine[sel]))
                else float("nan"),
                "distance": float(c.distance[sel].mean()),
                "barrier_mean": float(b.mean()), "barrier_std": float(b.std()),
                "barrier_max": float(b.max()),
                "other_mean": float(self.other_copies[sel].mean()),
            })
        r = self.replicas
        if r is not None:
            for j, al in enumerate(r.aligns):
                b = r.barrier[:, j]
                out.append({
                    "path": "replica pairs, raw" if al is None else f"replica pairs, {al}-aligned",
                    "k": None, "units_moved": None, "n": int(len(b)),
                    "cosine": float(r.cosine[:, j].mean()),
                    "distance": float(r.distance[:, j].mean()),
                    "barrier_mean": float(b.mean()), "barrier_std": float(b.std()),
                    "barrier_max": float(b.max()),
                    "other_mean": float(self.other_replicas[:, j].mean()),
                })
        return out

    def table(self) -> str:
        """One Markdown table: copies at each k, the full permutation, replica pairs raw and
        aligned. ``cosine``: for copies, mean cosine between the incoming weight vectors of
        swapped units; for replicas, cosine of the whole parameter vectors (after alignment)."""
        m = self.options["metric"]
        o = _other(m)
        unit = "nats" if m == "loss" else "fraction"
        lines = [f"| path | units moved | n | cosine | distance | {m} barrier ({unit}) mean +- std "
                 f"| max | {o} barrier mean |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self._rows():
            um = "-" if r["units_moved"] is None else str(r["units_moved"])
            cos = "-" if not np.isfinite(r["cosine"]) else f"{r['cosine']:.3f}"
            lines.append(f"| {r['path']} | {um} | {r['n']} | {cos} | {r['distance']:.3g} | "
                         f"{r['barrier_mean']:.4g} +- {r['barrier_std']:.2g} | "
                         f"{r['barrier_max']:.4g} | {r['other_mean']:.4g} |")
        return "\n".join(lines)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """JSON-able dict: definition, width, options and the table rows; with ``arrays=True``
        also the per-copy and per-pair values (``copies``, ``replicas``)."""
        out = {"definition": self.definition, "width": self.width, "replica": self.replica,
               "options": dict(self.options), "rows": self._rows()}
        if arrays:
            full = self._summary()
            out["copies"] = full["copies"]
            if "replicas" in full:
                out["replicas"] = full["replicas"]
        return jsonable(out)

    @deprecated_method("summary", "to_dict(arrays=True)")
    def summary(self) -> Dict[str, Any]:
        """Deprecated: use ``to_dict(arrays=True)``."""
        return self._summary()

    def _summary(self) -> Dict[str, Any]:
        c = self.copies
        out: Dict[str, Any] = {"definition": self.definition, "width": self.width,
                               "replica": self.replica, "options": dict(self.options),
                               "rows": self._rows(),
                               "copies": {"k": c.k, "units_moved": c.m, "trial": c.trial,
                                          "cosine": c.cosine, "distance": c.distance,
                                          "barrier": c.barrier, "other": self.other_copies}}
        if self.replicas is not None:
            r = self.replicas
            out["replicas"] = {"pairs": r.pairs, "aligns": [str(a) for a in r.aligns],
                               "barrier": r.barrier, "cosine": r.cosine, "distance": r.distance,
                               "other": self.other_replicas}
        return out

    def plot(self, ax_or_fig: Any = None, *, fig: Any = None) -> Any:
        """One figure, three panels: barrier against k (copies; replica pairs raw and aligned as
        bands), barrier against the dissimilarity 1 - cosine of the swapped units, and the mean
        curves along the path. Returns a matplotlib Figure (headless, no pyplot)."""
        import matplotlib

        from .._lib._plotting import new_figure

        fig = fig if fig is not None else ax_or_fig
        if fig is None:
            fig, axes = new_figure(3, size=(4.4, 3.4))
        else:
            axes = fig.subplots(1, 3).ravel()
        m = self.options["metric"]
        split = self.options["split"]
        c = self.copies
        ks = [int(k) for k in np.unique(c.k) if k >= 0]
        has_full = bool(np.any(c.k == -1))
        labels = [str(k) for k in ks] + (["full"] if has_full else [])
        xs = np.arange(len(labels), dtype=np.float64)
        order = ks + ([-1] if has_full else [])
        ax = axes[0]
        rng = np.random.default_rng(0)
        for x, k in zip(xs, order):
            b = c.barrier[c.k == k]
            ax.plot(x + rng.uniform(-0.12, 0.12, b.size), b, "o", ms=3, color="0.6", zorder=1)
            ax.errorbar(x, b.mean(), yerr=b.std(), fmt="s", color="k", ms=5, capsize=3, zorder=2)
        r = self.replicas
        colors = {None: "C3", "weights": "C2", "activations": "C4"}
        if r is not None:
            for j, al in enumerate(r.aligns):
                b = r.barrier[:, j]
                col = colors.get(al, f"C{5 + j}")
                lab = "replicas, raw" if al is None else f"replicas, {al}-aligned"
                ax.axhline(b.mean(), color=col, lw=1.5, label=f"{lab} (mean)")
                ax.axhspan(b.mean() - b.std(), b.mean() + b.std(), color=col, alpha=0.12)
            ax.legend(fontsize=7, loc="best")
        ax.set_xticks(xs)
        ax.set_xticklabels(labels)
        ax.set_xlabel("k disjoint transpositions (copies)")
        ax.set_ylabel(f"{split} {m} barrier")
        ax.set_title(f"barrier to permuted copies (H = {self.width})", fontsize=9)
        ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)

        ax = axes[1]
        cmap = matplotlib.colormaps["viridis"]
        for i, k in enumerate(order):
            sel = c.k == k
            col = cmap(i / max(1, len(order) - 1))
            ax.plot(1.0 - c.cosine[sel], c.barrier[sel], "o", ms=4, color=col,
                    label=labels[i])
        ax.set_xlabel("1 - cosine of swapped units (incoming weights)")
        ax.set_ylabel(f"{split} {m} barrier")
        ax.set_title("barrier vs dissimilarity of swapped units", fontsize=9)
        ax.legend(fontsize=7, title="k", title_fontsize=7, ncol=2)

        ax = axes[2]
        curves = c.train_loss if m == "loss" else c.train_error
        if split == "test" and c.test_loss is not None:
            curves = c.test_loss if m == "loss" else c.test_error
        for i, k in enumerate(order):
            col = cmap(i / max(1, len(order) - 1))
            ax.plot(c.alphas, curves[c.k == k].mean(axis=0), color=col, lw=1.2,
                    label=f"copy k={labels[i]}")
        if r is not None:
            rc = r.train_loss if m == "loss" else r.train_error
            if split == "test" and r.test_loss is not None:
                rc = r.test_loss if m == "loss" else r.test_error
            for j, al in enumerate(r.aligns):
                ax.plot(r.alphas, rc[:, j].mean(axis=0), color=colors.get(al, f"C{5 + j}"),
                        lw=2.0, ls="-" if al is None else "--",
                        label="replicas raw" if al is None else f"replicas {al}")
        ax.set_xlabel("alpha (0 = network, 1 = copy / other replica)")
        ax.set_ylabel(f"{split} {m} (mean over paths)")
        ax.set_title("interpolation curves", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
        return fig


_UNSET: Any = object()


@renamed_kwargs(trials="n_trials", replica_pairs="n_replica_pairs")
def permutation_interpolation(
    net_or_ensemble: Union[MLP, Ensemble],
    data: Any,
    ks: Optional[Sequence[int]] = None,
    full: bool = True,
    n_trials: int = 3,
    n_points: int = 41,
    n_replica_pairs: Union[int, Any, None] = 10,
    matching: Union[str, Sequence[str]] = "weights",
    replicas: Optional[Ensemble] = None,
    replica: int = 0,
    layer: int = 0,
    metric: str = "loss",
    kind: str = "max",
    reference: str = "interpolated",
    split: str = "train",
    seed: int = 0,
    n_threads: Optional[int] = None,
    *,
    align: Any = _UNSET,
) -> PermutationInterpolation:
    """The permutation-interpolation protocol (Protocol 2) in one call.

    Parameters
    ----------
    net_or_ensemble : MLP, or Ensemble (replica ``replica`` gives the copies; the ensemble's
        replica pairs give the comparison arm)
    data : a ``Dataset``, an object with ``X_train, y_train[, X_test, y_test]``, a tuple
        ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a mapping with those keys
    ks : numbers of disjoint transpositions, each in [0, H/2] (H = width of hidden layer
        ``layer``); default 1, 2, 4, ..., H/2. k = 0 is the network itself (zero barrier).
    full : also a full random permutation (a derangement, every unit moves)
    n_trials : random copies per k (seeded by (seed, k, trial))
    n_points : points on each path (alpha = linspace(0, 1, n_points)), >= 2
    n_replica_pairs : an int (number of replica pairs, drawn with ``seed`` when the ensemble
        has more; 0 skips the replica arm), or an ``(n_pairs, 2)`` array of replica indices, or
        None (all pairs)
    matching : criterion (or tuple of criteria) of the pairwise-aligned replica paths compared
        with the raw path: "weights" (weight matching, :func:`glasslens.match_weights`) and/or
        "activations"
    replicas : an Ensemble of independently trained replicas for the comparison arm (default:
        ``net_or_ensemble`` when it is an Ensemble); must have the same architecture
    replica : index of the replica whose copies are studied when an Ensemble is given
    layer : hidden layer whose units are permuted for the copies
    metric, kind, reference, split : barrier definition (see :func:`glasslens.barrier`)
    seed : int >= 0
    n_threads : threads of the evaluator

    Deprecated keywords: ``trials`` (``n_trials``), ``replica_pairs`` (``n_replica_pairs``),
    ``align`` (``matching``, same values).

    Returns
    -------
    PermutationInterpolation with ``.table()``, ``.plot()`` and ``.to_dict()``.
    """
    trials, replica_pairs = n_trials, n_replica_pairs
    if align is not _UNSET:
        warn_moved("the keyword align= of permutation_interpolation()",
                   "matching= ('weights' and/or 'activations')")
        matching = align
    metric, kind, reference = _resolve(metric, kind, reference, None)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if isinstance(net_or_ensemble, Ensemble):
        ens: Optional[Ensemble] = net_or_ensemble
        replica = check_int(replica, "replica", 0, net_or_ensemble.n_replicas - 1)
        net = net_or_ensemble[replica]
        rep_idx: Optional[int] = replica
    elif isinstance(net_or_ensemble, MLP):
        ens, net, rep_idx = None, net_or_ensemble, None
    else:
        raise TypeError(f"net_or_ensemble must be an MLP or an Ensemble, got "
                        f"{type(net_or_ensemble).__name__}")
    if replicas is not None:
        if not isinstance(replicas, Ensemble):
            raise TypeError(f"replicas must be an Ensemble, got {type(replicas).__name__}")
        _check_same_arch(net, replicas, "net_or_ensemble", "replicas")
        ens = replicas
    H = hidden_widths(net)
    if not H:
        raise ValueError("the network has no hidden layer to permute")
    layer = check_int(layer, "layer", 0, len(H) - 1)
    h = H[layer]
    if h < 2:
        raise ValueError(f"hidden layer {layer} has width {h}; permuting needs at least 2 units")
    n_points = check_int(n_points, "n_points", 2, MAX_GRID_POINTS)
    trials = check_int(trials, "n_trials", 1, 10_000)
    seed = check_seed(seed)
    if ks is None:
        ks_l = default_ks(h)
    else:
        if isinstance(ks, (int, np.integer)):
            ks = [ks]
        ks_l = []
        for k in ks:
            kk = check_int(k, "ks entry", 0)
            if 2 * kk > h:
                raise ValueError(f"ks entry {kk} is more than H/2 = {h // 2} transpositions "
                                 f"(hidden layer {layer} has {h} units)")
            ks_l.append(kk)
        ks_l = sorted(set(ks_l))
    if not ks_l and not full:
        raise ValueError("nothing to do: ks is empty and full=False")
    aligns_in = list(check_matchings(matching)) if (
        isinstance(matching, str) or len(list(matching or [])) > 0) else []

    copies = permutation_barrier_scan(net, data, ks=ks_l, n_trials=trials, seed=seed,
                                      n_points=n_points, layer=layer, full=full, metric=metric,
                                      kind=kind, reference=reference, split=split,
                                      n_threads=n_threads)
    o = _other(metric)
    oc = {("train", "loss"): copies.train_loss, ("train", "error"): copies.train_error,
          ("test", "loss"): copies.test_loss, ("test", "error"): copies.test_error}[(split, o)]
    other_copies = np.asarray(_barrier_values(copies.alphas, oc, kind, reference)[0],
                              dtype=np.float64)

    rb, other_rep = None, None
    n_pairs_opt: Any = replica_pairs
    if ens is not None and ens.n_replicas >= 2 and not (
            isinstance(replica_pairs, (int, np.integer)) and not isinstance(replica_pairs, bool)
            and int(replica_pairs) == 0):
        if replica_pairs is None:
            pairs, mp = None, 10 ** 9
        elif isinstance(replica_pairs, (int, np.integer)) and not isinstance(replica_pairs, bool):
            pairs, mp = None, check_int(replica_pairs, "n_replica_pairs", 0)
        else:
            pairs, mp = replica_pairs, 45
            n_pairs_opt = "given"
        rb = replica_barriers(ens, data, pairs=pairs,
                              alignment=("none", "pairwise") if aligns_in else "none",
                              matching=aligns_in or "weights", n_points=n_points, metric=metric, kind=kind, reference=reference,
                              split=split, max_pairs=mp, seed=seed, n_threads=n_threads)
        orc = {("train", "loss"): rb.train_loss, ("train", "error"): rb.train_error,
               ("test", "loss"): rb.test_loss, ("test", "error"): rb.test_error}[(split, o)]
        other_rep = np.asarray(_barrier_values(rb.alphas, orc, kind, reference)[0],
                               dtype=np.float64)
    elif isinstance(replica_pairs, (int, np.integer)) and not isinstance(replica_pairs, bool):
        check_int(replica_pairs, "n_replica_pairs", 0)
    opts = {"metric": metric, "kind": kind, "reference": reference, "split": split,
            "ks": ks_l, "full": bool(full), "n_trials": trials, "n_points": n_points,
            "layer": layer, "matching": aligns_in, "n_replica_pairs": n_pairs_opt,
            "seed": seed}
    return PermutationInterpolation(copies=copies, replicas=rb, other_copies=other_copies,
                                    other_replicas=other_rep, width=h, replica=rep_idx,
                                    options=opts)
