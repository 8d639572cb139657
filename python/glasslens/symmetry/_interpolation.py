"""Linear interpolation between networks, loss/error barriers, and the permutation scan.

``interpolate(a, b, data)`` evaluates train (and test) loss and error along
``theta(alpha) = (1 - alpha) theta_a + alpha theta_b`` for a uniform alpha grid; all points are
evaluated in one batched call of the fused evaluator (``glasslens.evaluate``). ``b`` can first be
aligned to ``a`` (``alignment="pairwise"`` with ``matching="weights"`` or ``"activations"``; see
``glasslens._lib._alignment`` for the vocabulary).

``barrier(curve, ...)`` exposes every choice peers make differently, and the returned
``Barrier`` states the one used:

==============  ========  =========  ==========================================================
preset          metric    kind       reference
==============  ========  =========  ==========================================================
``entezari``    loss      max        interpolated endpoints ``(1-a) f(0) + a f(1)`` (paper)
``ainsworth``   loss      max        mean of the endpoints ``(f(0) + f(1)) / 2`` (git-re-basin)
``frankle``     error     max        mean of the endpoints (instability, Frankle et al. 2020)
==============  ========  =========  ==========================================================

(Entezari et al.'s code instead uses the error at the midpoint minus the endpoint mean:
``barrier(curve, metric="error", kind="midpoint", reference="mean")``.) The split (train or
test) and the grid size are further options; the grid is part of the curve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lib._alignment import check_alignment, check_alignments, check_matching, check_matchings
from .._lib._deprecation import deprecated_method, renamed_kwargs, warn_moved
from .._lib._results import Result, figure_axes, markdown_table
from .._lib._data import as_data
from .._lib._threads import resolve_threads
from .._lib._validate import check_int, check_seed
from .._lib._limits import MAX_GRID_POINTS
from ..nn._evaluation import evaluate
from ..nn._network import MLP
from ._matching import (
    _check_same_arch,
    hidden_widths,
    match_activations,
    match_weights,
    permute,
    random_permutation,
)

__all__ = ["interpolate", "barrier", "permutation_barrier_scan", "replica_barriers", "Curve",
           "Barrier", "ScanResult", "ReplicaBarriers"]


_UNSET: Any = object()
_OLD_ALIGN = (None, "weights", "activations")


def _legacy_align(align: Any, func: str, keyword: str = "align") -> Tuple[str, str]:
    """(alignment, matching) of an old ``align`` value: None -> ("none", "weights"),
    "weights"/"activations" -> ("pairwise", that criterion)."""
    warn_moved(f"the keyword {keyword}= of {func}()",
               "alignment= ('none' or 'pairwise') and matching= ('weights' or 'activations')")
    if align is None:
        return "none", "weights"
    if align in ("weights", "activations"):
        return "pairwise", align
    raise ValueError(f"{keyword} must be None, 'weights' or 'activations', got {align!r}")


def _arms(alignment: Any, matching: Any) -> List[Optional[str]]:
    """The compared paths: None for "none", one entry per matching criterion for "pairwise"."""
    al = check_alignments(alignment, ("none", "pairwise"))
    mt = check_matchings(matching)
    out: List[Optional[str]] = []
    for a in al:
        out += [None] if a == "none" else list(mt)
    return out


# ---- data ---------------------------------------------------------------------------------------
def _data(data: Any, d_in: int, n_classes: int):
    """(X_train, y_train, X_test or None, y_test or None) through the one data contract."""
    d = as_data(data, n_features=d_in, n_classes=n_classes)
    return d.X_train, d.y_train, d.X_test, d.y_test


# ---- curves -------------------------------------------------------------------------------------
@dataclass
class Curve(Result):
    """Loss and error along a linear path (float64 arrays of length n_points).

    alphas : the grid; train_loss / train_error (error = 1 - accuracy); test_* (None without
    test data). align : None, "weights" or "activations"; perms : the permutations applied to
    b (None if not aligned); distance : ||theta_a - theta_b|| after alignment; cosine : cosine
    of theta_a and theta_b after alignment.
    """

    alphas: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_loss: Optional[np.ndarray] = None
    test_error: Optional[np.ndarray] = None
    align: Optional[str] = None
    perms: Optional[List[np.ndarray]] = None
    distance: float = 0.0
    cosine: float = 1.0

    def get(self, metric: str, split: str) -> np.ndarray:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if metric not in ("loss", "error"):
            raise ValueError(f"metric must be 'loss' or 'error', got {metric!r}")
        v = getattr(self, f"{split}_{metric}")
        if v is None:
            raise ValueError(f"the curve has no {split} values (no {split} data were given)")
        return np.asarray(v, dtype=np.float64)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Matching used, distance, cosine, the endpoint and maximum values (the curves with
        ``arrays=True``)."""
        out: Dict[str, Any] = {"align": self.align, "n_points": int(len(self.alphas)),
                               "distance": float(self.distance), "cosine": float(self.cosine)}
        for name in ("train_loss", "train_error", "test_loss", "test_error"):
            v = getattr(self, name)
            if v is not None:
                out[f"{name}_max"] = float(np.max(v))
                out[f"{name}_endpoints"] = [float(v[0]), float(v[-1])]
                if arrays:
                    out[name] = np.asarray(v).tolist()
        if arrays:
            out["alphas"] = self.alphas.tolist()
        return out

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Loss (left) and error (right) along the path, train and test."""
        fig, axes = figure_axes(ax_or_fig, 2)
        for ax, m in zip(axes, ("loss", "error")):
            for split, c in (("train", "C0"), ("test", "C3")):
                v = getattr(self, f"{split}_{m}")
                if v is not None:
                    ax.plot(self.alphas, v, color=c, label=split)
            ax.set_xlabel("alpha")
            ax.set_ylabel(m)
            ax.legend(fontsize=8)
        axes[0].set_title("raw path" if self.align is None else f"{self.align}-matched path",
                          fontsize=9)
        return fig


def _path(ta: np.ndarray, tb: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    a64, b64 = ta.astype(np.float64), tb.astype(np.float64)
    return ((1.0 - alphas)[:, None] * a64[None, :] + alphas[:, None] * b64[None, :]).astype(
        np.float32)


_MAX_BATCH_BYTES = 1 << 28  # evaluate at most 256 MB of parameter vectors per call


def _eval_many(theta: np.ndarray, widths, bias, Xtr, ytr, Xte, yte, nt):
    """Loss and error of every row of theta (K, P) on train (and test) data, batched."""
    step = max(1, _MAX_BATCH_BYTES // max(1, theta.shape[1] * 4))
    out = []
    for X, y in ((Xtr, ytr), (Xte, yte)):
        if X is None:
            out += [None, None]
            continue
        ls, accs = [], []
        for s in range(0, theta.shape[0], step):
            l, acc = evaluate(theta[s:s + step], X, y, widths=widths, bias=bias, n_threads=nt)
            ls.append(l)
            accs.append(acc)
        out += [np.concatenate(ls), 1.0 - np.concatenate(accs)]
    return tuple(out)


@renamed_kwargs(align_samples="n_match_samples")
def interpolate(
    a: MLP,
    b: MLP,
    data: Any,
    n_points: int = 41,
    alignment: Optional[str] = "none",
    n_threads: Optional[int] = None,
    n_match_samples: int = 2000,
    *,
    matching: str = "weights",
    align: Any = _UNSET,
) -> Curve:
    """Train/test loss and error along the linear path from ``a`` to ``b``.

    Parameters
    ----------
    a, b : MLP of the same architecture
    data : a ``Dataset``, an object with ``X_train, y_train[, X_test, y_test]``, a tuple
        ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a mapping with those keys
    n_points : grid size (alpha = linspace(0, 1, n_points)); odd sizes contain alpha = 1/2
    alignment : "none" (raw, default) or "pairwise" (b is permuted onto a before
        interpolating; the endpoint b is the same function)
    matching : with alignment="pairwise", "weights" (``match_weights(a, b)``, default) or
        "activations" (``match_activations`` on the first ``n_match_samples`` training inputs)
    n_threads : threads of the evaluator

    Deprecated: ``align=None`` is alignment="none", ``align="weights"`` / ``"activations"`` is
    alignment="pairwise" with that matching; ``align_samples`` is ``n_match_samples``.

    Returns
    -------
    Curve. Loss is the mean cross-entropy in nats; error = 1 - accuracy.
    """
    for name, n in (("a", a), ("b", b)):
        if not isinstance(n, MLP):
            raise TypeError(f"{name} must be an MLP, got {type(n).__name__}")
    _check_same_arch(a, b)
    if align is not _UNSET:
        alignment, matching = _legacy_align(align, "interpolate")
    elif alignment is None or alignment in ("weights", "activations"):  # an old positional align
        alignment, matching = _legacy_align(alignment, "interpolate")
    alignment = check_alignment(alignment, ("none", "pairwise"))
    matching = check_matching(matching)
    n_points = check_int(n_points, "n_points", 2, MAX_GRID_POINTS)
    nt = resolve_threads(n_threads)
    Xtr, ytr, Xte, yte = _data(data, a.widths[0], a.widths[-1])
    perms = None
    align = None
    if alignment == "pairwise":
        align = matching
        if matching == "weights":
            perms = match_weights(a, b).perms
        else:
            k = check_int(n_match_samples, "n_match_samples", 2)
            perms = match_activations(a, b, Xtr[:k]).perms
        b = permute(b, perms)
    alphas = np.linspace(0.0, 1.0, n_points)
    ta, tb = a.flat(), b.flat()
    theta = _path(ta, tb, alphas)
    ltr, etr, lte, ete = _eval_many(theta, a.widths, a.has_bias, Xtr, ytr, Xte, yte, nt)
    fa, fb = ta.astype(np.float64), tb.astype(np.float64)
    den = np.linalg.norm(fa) * np.linalg.norm(fb)
    return Curve(alphas, ltr, etr, lte, ete, align, perms, float(np.linalg.norm(fa - fb)),
                 float(fa @ fb / den) if den > 0 else 0.0)


# ---- barriers -----------------------------------------------------------------------------------
_PRESETS = {
    "entezari": ("loss", "max", "interpolated"),
    "ainsworth": ("loss", "max", "mean"),
    "frankle": ("error", "max", "mean"),
}
_REF_ALIASES = {"interpolated": "interpolated", "linear": "interpolated", "mean": "mean"}
_KIND_ALIASES = {"max": "max", "midpoint": "midpoint", "mid": "midpoint"}


@dataclass
class Barrier(Result):
    """A barrier value with the definition that produced it.

    value : the barrier (same unit as the metric: nats or error fraction); alpha : where it is
    attained (0.5 for the midpoint kind); metric, kind, reference, split : the options used;
    definition : a one-line formula.
    """

    value: float
    alpha: float
    metric: str
    kind: str
    reference: str
    split: str
    definition: str

    _plot_unavailable = "a barrier is one number; plot the Curve it was computed from"

    def __float__(self) -> float:
        return float(self.value)


def _barrier_values(alphas: np.ndarray, f: np.ndarray, kind: str, reference: str):
    """Barrier along the last axis of f (..., n_points). Returns (values, alpha_at)."""
    f0, f1 = f[..., :1], f[..., -1:]
    if reference == "interpolated":
        ref = (1.0 - alphas) * f0 + alphas * f1
    else:
        ref = np.broadcast_to(0.5 * (f0 + f1), f.shape)
    gap = f - ref
    if kind == "max":
        i = np.argmax(gap, axis=-1)
        return np.take_along_axis(gap, i[..., None], axis=-1)[..., 0], alphas[i]
    # midpoint: linear interpolation of the curve at alpha = 1/2 (exact for odd grids)
    j = np.searchsorted(alphas, 0.5)
    if j < len(alphas) and alphas[j] == 0.5:
        mid = gap[..., j]
    else:
        w = (0.5 - alphas[j - 1]) / (alphas[j] - alphas[j - 1])
        mid = (1 - w) * gap[..., j - 1] + w * gap[..., j]
    return mid, np.full(np.shape(mid), 0.5)


def _resolve(metric, kind, reference, preset):
    if preset is not None:
        if preset not in _PRESETS:
            raise ValueError(f"preset must be one of {sorted(_PRESETS)}, got {preset!r}")
        metric, kind, reference = _PRESETS[preset]
    if metric not in ("loss", "error"):
        raise ValueError(f"metric must be 'loss' or 'error', got {metric!r}")
    if kind not in _KIND_ALIASES:
        raise ValueError(f"kind must be 'max' or 'midpoint', got {kind!r}")
    if reference not in _REF_ALIASES:
        raise ValueError(f"reference must be 'interpolated' or 'mean', got {reference!r}")
    return metric, _KIND_ALIASES[kind], _REF_ALIASES[reference]


def _definition(metric, kind, reference, split):
    f = f"{split}_{metric}"
    ref = ("((1-a) {f}(0) + a {f}(1))" if reference == "interpolated"
           else "({f}(0) + {f}(1))/2").format(f=f)
    at = "max_a [" if kind == "max" else "at a=1/2: ["
    return f"{at}{f}(a) - {ref}]"


def barrier(
    curve: Curve,
    metric: str = "loss",
    kind: str = "max",
    reference: str = "interpolated",
    split: str = "train",
    preset: Optional[str] = None,
) -> Barrier:
    """Height of the barrier along an interpolation curve.

    Parameters
    ----------
    curve : Curve from ``interpolate``
    metric : "loss" (nats) or "error" (fraction)
    kind : "max" (largest excess over the grid) or "midpoint" (excess at alpha = 1/2)
    reference : "interpolated" (Entezari et al.: the straight line between the endpoint
        values; "linear" is an alias) or "mean" (Ainsworth et al., Frankle et al.: the mean of
        the endpoint values)
    split : "train" or "test"
    preset : "entezari", "ainsworth" or "frankle" sets metric, kind and reference (module
        docstring)

    Returns
    -------
    Barrier (``float(b)`` gives the value; ``b.definition`` states the formula used).
    """
    if not isinstance(curve, Curve):
        raise TypeError(f"curve must be a Curve (from interpolate), got {type(curve).__name__}")
    metric, kind, reference = _resolve(metric, kind, reference, preset)
    f = curve.get(metric, split)
    v, at = _barrier_values(np.asarray(curve.alphas, dtype=np.float64), f, kind, reference)
    return Barrier(float(v), float(at), metric, kind, reference, split,
                   _definition(metric, kind, reference, split))


# ---- permutation scan ---------------------------------------------------------------------------
@dataclass
class ScanResult(Result):
    """Barriers between a network and function-preserving permuted copies of itself.

    One row per (k, trial): k (number of disjoint transpositions; -1 for a full random
    derangement), m (units moved), trial, cosine (mean cosine between the incoming weight
    vectors [W row, bias] of the swapped units; for a derangement, between each unit and the
    unit that takes its place), distance ||theta - theta'||, barrier (value of the chosen
    definition), plus every curve (rows x n_points) and the definition used.
    """

    k: np.ndarray
    m: np.ndarray
    trial: np.ndarray
    cosine: np.ndarray
    distance: np.ndarray
    barrier: np.ndarray
    alphas: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_loss: Optional[np.ndarray]
    test_error: Optional[np.ndarray]
    layer: int
    definition: str
    options: Dict[str, str] = field(default_factory=dict)

    def curve(self, row: int) -> Curve:
        return Curve(self.alphas, self.train_loss[row], self.train_error[row],
                     None if self.test_loss is None else self.test_loss[row],
                     None if self.test_error is None else self.test_error[row])

    def barrier_by_k(self) -> Dict[int, Tuple[float, float]]:
        """{k: (mean barrier, std barrier)} over trials (k = -1: full permutation)."""
        return {int(k): (float(self.barrier[self.k == k].mean()),
                         float(self.barrier[self.k == k].std())) for k in np.unique(self.k)}

    @deprecated_method("summary", "barrier_by_k")
    def summary(self) -> Dict[int, Tuple[float, float]]:
        """Deprecated: use :meth:`barrier_by_k` (or :meth:`to_dict`)."""
        return self.barrier_by_k()

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Definition, layer, options and per k the mean/std barrier over trials (rows and
        curves with ``arrays=True``)."""
        out: Dict[str, Any] = {"definition": self.definition, "layer": int(self.layer),
                               "options": dict(self.options),
                               "by_k": {str(k): {"mean": m, "std": sd, "n": int(np.sum(self.k == k))}
                                        for k, (m, sd) in self.barrier_by_k().items()}}
        if arrays:
            for name in ("k", "m", "trial", "cosine", "distance", "barrier", "alphas",
                         "train_loss", "train_error", "test_loss", "test_error"):
                v = getattr(self, name)
                out[name] = None if v is None else np.asarray(v).tolist()
        return out

    def table(self) -> str:
        """Markdown table: per k, the number of copies and the mean +- std barrier."""
        rows = [{"k": "full" if k < 0 else k, "copies": int(np.sum(self.k == k)),
                 "barrier mean": m, "barrier std": sd}
                for k, (m, sd) in self.barrier_by_k().items()]
        return markdown_table(rows)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Barrier against the number of transpositions k (points: copies; line: mean)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ks = self.k.astype(np.float64)
        kmax = float(ks.max()) if len(ks) else 0.0
        x = np.where(ks < 0, kmax + 1, ks)
        ax.plot(x, self.barrier, "o", ms=3, color="C0", alpha=0.6)
        bk = self.barrier_by_k()
        xs = [kmax + 1 if k < 0 else k for k in bk]
        ax.plot(xs, [v[0] for v in bk.values()], "k-", lw=1)
        ax.set_xlabel("k transpositions (rightmost: full permutation)")
        ax.set_ylabel("barrier")
        ax.set_title(self.definition, fontsize=8)
        return fig


@renamed_kwargs(trials="n_trials")
def permutation_barrier_scan(
    net: MLP,
    data: Any,
    ks: Optional[Sequence[int]] = None,
    n_trials: int = 3,
    seed: int = 0,
    n_points: int = 41,
    layer: int = 0,
    full: bool = True,
    metric: str = "loss",
    kind: str = "max",
    reference: str = "interpolated",
    split: str = "train",
    n_threads: Optional[int] = None,
) -> ScanResult:
    """Barrier between ``net`` and copies with k random disjoint transpositions of hidden units.

    For every k in ``ks`` (default 1, 2, 4, ..., H/2; k = 0 is the network itself, cosine NaN)
    and trial (``n_trials`` per k; the keyword was ``trials``, deprecated), hidden layer
    ``layer`` is
    permuted by k disjoint random transpositions (keyed by (seed, k, trial)); with ``full``
    also by a random derangement (k = -1). The copies compute the same function; the curve
    net -> copy is evaluated for all copies in one batched evaluator call per split, and the
    barrier of the chosen definition (see ``barrier``) is reported against the number of moved
    units m = 2k and against the similarity of the swapped units' incoming weights.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {type(net).__name__}")
    H = hidden_widths(net)
    if not H:
        raise ValueError("net has no hidden layer to permute")
    layer = check_int(layer, "layer", 0, len(H) - 1)
    h = H[layer]
    trials = check_int(n_trials, "n_trials", 1)
    seed = check_seed(seed)
    n_points = check_int(n_points, "n_points", 2, MAX_GRID_POINTS)
    metric, kind, reference = _resolve(metric, kind, reference, None)
    if ks is None:
        ks_l = [1]
        while ks_l[-1] * 2 <= h // 2:
            ks_l.append(ks_l[-1] * 2)
        if h < 2:
            ks_l = []
    else:
        ks_l = [check_int(k, "ks entry", 0, h // 2) for k in ks]
    configs = [(k, t) for k in ks_l for t in range(trials)]
    if full and h >= 2:
        configs += [(-1, t) for t in range(trials)]
    if not configs:
        raise ValueError(f"nothing to scan: layer {layer} has width {h}")
    nt = resolve_threads(n_threads)
    Xtr, ytr, Xte, yte = _data(data, net.widths[0], net.widths[-1])
    W = net.weights[layer].astype(np.float64)
    if net.biases is not None:
        W = np.concatenate([W, net.biases[layer].astype(np.float64)[:, None]], axis=1)
    nrm = np.linalg.norm(W, axis=1)
    alphas = np.linspace(0.0, 1.0, n_points)
    ta = net.flat()
    rows = []
    for k, t in configs:
        s = int(np.random.SeedSequence([seed, k + 1, t]).generate_state(1)[0])
        if k >= 0:
            p = random_permutation(h, n_transpositions=k, seed=s)
        else:
            p = random_permutation(h, kind="derangement", seed=s)
        moved = np.flatnonzero(p != np.arange(h))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.sum(W[moved] * W[p[moved]], axis=1) / (nrm[moved] * nrm[p[moved]])
        perms = [np.arange(w) for w in H]
        perms[layer] = p
        tb = permute(net, perms).flat()
        rows.append((k, len(moved), t, float(np.nan_to_num(c).mean()) if moved.size else np.nan,
                     float(np.linalg.norm(ta.astype(np.float64) - tb.astype(np.float64))), tb))
    theta = np.concatenate([_path(ta, r[5], alphas) for r in rows], axis=0)
    ltr, etr, lte, ete = _eval_many(theta, net.widths, net.has_bias, Xtr, ytr, Xte, yte, nt)
    R = len(rows)
    ltr, etr = ltr.reshape(R, n_points), etr.reshape(R, n_points)
    lte = None if lte is None else lte.reshape(R, n_points)
    ete = None if ete is None else ete.reshape(R, n_points)
    curves = {("train", "loss"): ltr, ("train", "error"): etr,
              ("test", "loss"): lte, ("test", "error"): ete}
    f = curves[(split, metric)]
    if f is None:
        raise ValueError(f"split={split!r} needs {split} data")
    bvals, _ = _barrier_values(alphas, f, kind, reference)
    return ScanResult(
        k=np.array([r[0] for r in rows]), m=np.array([r[1] for r in rows]),
        trial=np.array([r[2] for r in rows]), cosine=np.array([r[3] for r in rows]),
        distance=np.array([r[4] for r in rows]), barrier=np.asarray(bvals, dtype=np.float64),
        alphas=alphas, train_loss=ltr, train_error=etr, test_loss=lte, test_error=ete,
        layer=layer, definition=_definition(metric, kind, reference, split),
        options={"metric": metric, "kind": kind, "reference": reference, "split": split})


# ---- independent replicas: raw vs aligned -------------------------------------------------------
@dataclass
class ReplicaBarriers(Result):
    """Barriers between pairs of replicas, raw and after alignment (the comparison arm).

    pairs : ``(n_pairs, 2)`` replica indices; aligns : the alignment of each column (None =
    raw); barrier, cosine, distance : ``(n_pairs, n_aligns)``; train_loss, train_error (and
    test_*) : ``(n_pairs, n_aligns, n_points)``; definition : the barrier formula used.
    """

    pairs: np.ndarray
    aligns: List[Optional[str]]
    barrier: np.ndarray
    cosine: np.ndarray
    distance: np.ndarray
    alphas: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_loss: Optional[np.ndarray]
    test_error: Optional[np.ndarray]
    definition: str
    options: Dict[str, str] = field(default_factory=dict)

    def _label(self, al: Optional[str]) -> str:
        return "raw" if al is None else f"{al}-aligned"

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Definition, options and per compared path (raw, weights-aligned, ...) the mean/std
        barrier and mean cosine over pairs (all arrays with ``arrays=True``)."""
        out: Dict[str, Any] = {"definition": self.definition, "options": dict(self.options),
                               "n_pairs": int(len(self.pairs)), "aligns": list(self.aligns),
                               "paths": {}}
        for j, al in enumerate(self.aligns):
            out["paths"][self._label(al)] = {
                "barrier_mean": float(np.mean(self.barrier[:, j])),
                "barrier_std": float(np.std(self.barrier[:, j])),
                "cosine_mean": float(np.mean(self.cosine[:, j])),
                "distance_mean": float(np.mean(self.distance[:, j]))}
        if arrays:
            for name in ("pairs", "barrier", "cosine", "distance", "alphas", "train_loss",
                         "train_error", "test_loss", "test_error"):
                v = getattr(self, name)
                out[name] = None if v is None else np.asarray(v).tolist()
        return _jsonable_dict(out)

    def table(self) -> str:
        """Markdown table: one row per compared path."""
        rows = [{"path": k, **v} for k, v in self.to_dict()["paths"].items()]
        return markdown_table(rows)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Mean train loss (or error) along the paths, one line per alignment."""
        fig, (ax,) = figure_axes(ax_or_fig)
        m = self.options.get("metric", "loss")
        curves = self.train_loss if m == "loss" else self.train_error
        for j, al in enumerate(self.aligns):
            ax.plot(self.alphas, curves[:, j].mean(axis=0), label=self._label(al))
        ax.set_xlabel("alpha")
        ax.set_ylabel(f"train {m} (mean over pairs)")
        ax.legend(fontsize=8)
        return fig


def _jsonable_dict(d: Dict[str, Any]) -> Dict[str, Any]:
    from .._lib._results import jsonable

    return jsonable(d)


def replica_barriers(
    ensemble: Any,
    data: Any,
    pairs: Optional[Any] = None,
    alignment: Any = ("none", "pairwise"),
    n_points: int = 41,
    metric: str = "loss",
    kind: str = "max",
    reference: str = "interpolated",
    split: str = "train",
    max_pairs: int = 45,
    seed: int = 0,
    n_threads: Optional[int] = None,
    *,
    matching: Any = "weights",
    aligns: Any = _UNSET,
) -> ReplicaBarriers:
    """Interpolation barriers between independently trained replicas, raw and aligned.

    Parameters
    ----------
    ensemble : Ensemble
    data : as for ``interpolate``
    pairs : ``(n_pairs, 2)`` replica indices; default: all pairs, or ``max_pairs`` of them drawn
        with ``seed`` when there are more
    alignment : the paths compared: "none" (raw) and/or "pairwise" (b matched onto a); a
        string or a tuple (default ``("none", "pairwise")``)
    matching : the criterion of the pairwise paths, "weights" (default) and/or "activations"
        (one path per criterion)
    n_points, metric, kind, reference, split : curve grid and barrier definition (``barrier``)

    The result's ``aligns`` lists the paths in order: None (raw), "weights", "activations".
    Deprecated: ``aligns=(None, "weights", ...)`` (that list of paths, kept as given).

    All curves (pairs x aligns x n_points networks) are evaluated in batched evaluator calls.
    """
    from ..nn._network import Ensemble

    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    R = ensemble.n_replicas
    if R < 2:
        raise ValueError("ensemble needs at least 2 replicas")
    metric, kind, reference = _resolve(metric, kind, reference, None)
    n_points = check_int(n_points, "n_points", 2, MAX_GRID_POINTS)
    if aligns is _UNSET and not isinstance(alignment, str) and any(
            a in _OLD_ALIGN for a in alignment):  # an old positional aligns list
        aligns = alignment
    if aligns is not _UNSET:
        warn_moved("the keyword aligns= of replica_barriers()",
                   "alignment= ('none' and/or 'pairwise') and matching= ('weights' and/or "
                   "'activations')")
        aligns = list(aligns)
        for al in aligns:
            if al not in _OLD_ALIGN:
                raise ValueError(f"aligns entries must be None, 'weights' or 'activations', "
                                 f"got {al!r}")
    else:
        aligns = _arms(alignment, matching)
    if pairs is None:
        allp = np.array([(a, b) for a in range(R) for b in range(a + 1, R)], dtype=np.int64)
        mp = check_int(max_pairs, "max_pairs", 1)
        if len(allp) > mp:
            rng = np.random.default_rng(check_seed(seed))
            allp = allp[np.sort(rng.choice(len(allp), size=mp, replace=False))]
        pr = allp
    else:
        pr = np.asarray(pairs)
        if pr.ndim != 2 or pr.shape[1] != 2 or pr.dtype.kind not in "iu":
            raise ValueError(f"pairs must be an integer array (n_pairs, 2), got {pr.shape} {pr.dtype}")
        if pr.size == 0 or pr.min() < 0 or pr.max() >= R:
            raise ValueError(f"pairs must hold replica indices in [0, {R})")
        pr = pr.astype(np.int64)
    nt = resolve_threads(n_threads)
    Xtr, ytr, Xte, yte = _data(data, ensemble.widths[0], ensemble.widths[-1])
    alphas = np.linspace(0.0, 1.0, n_points)
    thetas, cos, dist = [], np.zeros((len(pr), len(aligns))), np.zeros((len(pr), len(aligns)))
    for i, (a_i, b_i) in enumerate(pr):
        a, b = ensemble[int(a_i)], ensemble[int(b_i)]
        for j, al in enumerate(aligns):
            bb = b
            if al == "weights":
                bb = permute(b, match_weights(a, b).perms)
            elif al == "activations":
                bb = permute(b, match_activations(a, b, Xtr[:2000]).perms)
            ta, tb = a.flat(), bb.flat()
            fa, fb = ta.astype(np.float64), tb.astype(np.float64)
            den = np.linalg.norm(fa) * np.linalg.norm(fb)
            cos[i, j] = fa @ fb / den if den > 0 else 0.0
            dist[i, j] = np.linalg.norm(fa - fb)
            thetas.append(_path(ta, tb, alphas))
    theta = np.concatenate(thetas, axis=0)
    ltr, etr, lte, ete = _eval_many(theta, ensemble.widths, ensemble.has_bias, Xtr, ytr, Xte,
                                    yte, nt)
    shape = (len(pr), len(aligns), n_points)
    ltr, etr = ltr.reshape(shape), etr.reshape(shape)
    lte = None if lte is None else lte.reshape(shape)
    ete = None if ete is None else ete.reshape(shape)
    f = {("train", "loss"): ltr, ("train", "error"): etr, ("test", "loss"): lte,
         ("test", "error"): ete}[(split, metric)]
    if f is None:
        raise ValueError(f"split={split!r} needs {split} data")
    bv, _ = _barrier_values(alphas, f, kind, reference)
    return ReplicaBarriers(pr, list(aligns), np.asarray(bv, dtype=np.float64), cos, dist, alphas,
                           ltr, etr, lte, ete, _definition(metric, kind, reference, split),
                           {"metric": metric, "kind": kind, "reference": reference,
                            "split": split})
