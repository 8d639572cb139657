"""Perturbation probes of the loss landscape around one network (Protocol 1).

* :func:`perturbation_direction` - the exact direction ``u_k`` the C++ engine uses.
* :func:`profile` - loss and error against perturbation radius ("local energy"), averaged over
  K random directions, with the basin radius where the mean train loss first exceeds
  ``L0 + delta``.
* :func:`line` and :func:`plane` - 1-D and 2-D slices through parameter space.

Directions are generated inside the C++ kernel from a counter-based generator keyed by
``(seed, k)`` (Philox4x32-10; Gaussian entries by single-precision Box-Muller, tails cut at
|z| = 5.77, vectorised with AVX2 and bit-identical on the portable path; Rademacher entries
from single bits) and never stored as K full copies: each work item (a direction, a block of
radii, and when K is small a chunk of sample tiles) generates its direction into a per-thread
buffer and evaluates it right away. With one radius the perturbed vector is evaluated like a
plain network. With several radii the first layer is evaluated by linearity,
``(W0 + r U0) x + b0 + r u_b0 = Z0 + r (U0 x + u_b0)`` with ``Z0`` shared by all directions
and ``U0 x`` by all radii of a direction, so a profile over R radii costs about one
first-layer product per direction instead of R. All results are bit-identical for any
``n_threads``; at r = 0 they equal the engine's own loss of the unperturbed network exactly.

Reported reference values (``ProfileResult.loss0``, ``acc0``, ``test_loss0``, ``test_acc0``)
come from the one evaluator (``glasslens.nn.evaluate``, = :func:`network_loss`), so they are
bit-identical to every other entry point's loss of the same network. The perturbed curves come
from the fused engine, which agrees with that evaluator to float32 rounding (about 1e-9); so
that a zero perturbation rises by exactly 0, rises and basin radii are measured from the
engine's own unperturbed value ``ProfileResult.engine_loss0``.

Normalisations (``normalization``):

* ``"none"`` - raw Gaussian N(0, 1) or Rademacher (+-1) entries;
* ``"global"`` - ``||u|| = ||theta||``;
* ``"layer"`` - for each layer l, ``||u_l|| = ||theta_l||``;
* ``"filter"`` - for each unit j of each layer (row j of ``W_l``, Li et al. 2018),
  ``||u_lj|| = ||theta_lj||``; this includes the output layer's rows.

Biases (``bias_mode``): ``"include"`` (default) treats the bias ``b_l[j]`` as part of unit j's
filter (and of layer l's block, and of the global vector): it is perturbed and normalised
together with the row ``W_l[j, :]``. ``"zero"`` leaves biases unperturbed (``u`` is 0 on every
bias entry, Goldstein et al.'s ``biasbn`` ignore option) and takes the norms over weights only.

Multiplicative mode perturbs ``theta * (1 + r * u)`` elementwise; it is already scale-aware, so
its directions are not normalised (``normalization`` must be ``"none"``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._lib._deprecation import deprecated_method, renamed_kwargs
from .._lib._results import Result, jsonable, markdown_table
from .._lib._data import Data, as_data, as_xy
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed, require_finite_result
from .._lib._limits import MAX_DIRECTIONS, MAX_GRID_POINTS, MAX_LINE_POINTS, check_alloc
from ..nn._evaluation import mean_loss
from ..nn._network import MLP

__all__ = [
    "perturbation_direction",
    "profile",
    "line",
    "plane",
    "ProfileResult",
    "SliceResult",
    "network_loss",
]

_KINDS = ("gaussian", "rademacher")
_NORMS = ("none", "global", "layer", "filter")
_BIAS = ("include", "zero")
_MODES = ("additive", "multiplicative")


def _check_net(net: Any, name: str = "net") -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"{name} must be a glasslens.MLP (use ensemble[i] for one replica), "
                        f"got {type(net).__name__}")
    theta = net.flat()
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"{name} has NaN or inf parameters")
    return net


def _choice(x: Any, name: str, options: Sequence[str]) -> str:
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}, got {x!r}")
    return x


def _Data(data: Any, net: MLP, need_test: bool = False) -> Data:
    """The data set, through the one data contract, checked against ``net``'s architecture."""
    return as_data(data, need_test=need_test, n_features=net.widths[0], n_classes=net.widths[-1])


def _engine_loss(net: MLP, X: np.ndarray, y: np.ndarray, nt: int) -> Tuple[float, float]:
    """Loss and accuracy of ``net`` by the landscape engines' own kernel (what :func:`profile`
    returns at radius 0 and a walk records at step 0); agrees with the one evaluator
    (``nn.evaluate``) to float32 rounding. Private: reported values use ``nn``'s evaluator."""
    loss, acc = _core.probes.full_loss(net.widths, net.has_bias, net.flat(), X, y, nt)
    return float(loss), float(acc)


def perturbation_direction(
    net: MLP,
    seed: int,
    k: int,
    kind: str = "gaussian",
    normalization: str = "filter",
    bias_mode: str = "include",
) -> np.ndarray:
    """The direction ``u_k`` (float32, shape ``(n_params,)``, flat layout of ``net.flat()``)
    that :func:`profile` with the same ``seed``, ``kind``, ``normalization`` and ``bias_mode``
    uses for direction ``k``. The perturbed network at radius r is exactly
    ``net.flat() + np.float32(r) * u`` (additive) or
    ``net.flat() * (np.float32(1) + np.float32(r) * u)`` (multiplicative), in float32."""
    _check_net(net)
    return _core.probes.direction(
        net.widths, net.has_bias, net.flat(), check_seed(seed), check_int(k, "k", 0, 2**63 - 1),
        _choice(kind, "kind", _KINDS), _choice(normalization, "normalization", _NORMS),
        _choice(bias_mode, "bias_mode", _BIAS))


def network_loss(net: MLP, X: Any, y: Any = None,
                 n_threads: Optional[int] = None) -> Tuple[float, float]:
    """Mean cross-entropy loss (nats per sample) and accuracy of ``net`` on ``(X, y)`` (or on
    the training split of a data set ``X`` in any accepted form, ``y`` omitted), from the one
    evaluator ``glasslens.nn.evaluate``: the value :func:`profile` reports as ``loss0``/``acc0``
    and a walk as its start ``loss0``. Bit-identical for any ``n_threads``."""
    _check_net(net)
    if y is None:
        d = _Data(X, net)
    else:
        d = as_xy(X, y, n_features=net.widths[0], n_classes=net.widths[-1])
    return mean_loss(net, d.X_train, d.y_train, n_threads)


def _first_crossing(x: np.ndarray, v: np.ndarray, level: float, x0: float, v0: float) -> float:
    """First x where the piecewise-linear curve (x0, v0), (x[0], v[0]), ... exceeds level."""
    px, pv = x0, v0
    for xi, vi in zip(x, v):
        if vi > level:
            if pv > level or vi == pv:
                return float(px)
            return float(px + (level - pv) * (xi - px) / (vi - pv))
        px, pv = xi, vi
    return float("nan")


@dataclass
class ProfileResult(Result):
    """Output of :func:`profile`. Arrays of per-direction curves have shape ``(K, R)``.

    ``to_dict()``: loss0, basin radius, the radii and per radius the mean, std and quantiles
    over directions (``arrays=True`` adds the per-direction curves); ``table()``: one row per
    radius; ``plot()``: :func:`glasslens.probes.plotting.plot_profile`."""

    radii: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: Optional[np.ndarray]
    test_acc: Optional[np.ndarray]
    loss0: float
    acc0: float
    test_loss0: Optional[float]
    test_acc0: Optional[float]
    delta: float
    quantile_levels: Tuple[float, ...]
    settings: Dict[str, Any] = field(default_factory=dict)
    #: the engine's own unperturbed train loss / accuracy (the curves' r = 0 value); rises and
    #: basin radii are measured from it. None: same as loss0 / acc0.
    engine_loss0: Optional[float] = None
    engine_acc0: Optional[float] = None

    @property
    def _ref_loss0(self) -> float:
        return self.loss0 if self.engine_loss0 is None else self.engine_loss0

    @property
    def _ref_acc0(self) -> float:
        return self.acc0 if self.engine_acc0 is None else self.engine_acc0

    @deprecated_method("summary", "curve_stats")
    def summary(self, which: str = "train_loss") -> Dict[str, np.ndarray]:
        """Deprecated: use :meth:`curve_stats` (or :meth:`to_dict`)."""
        return self.curve_stats(which)

    def curve_stats(self, which: str = "train_loss") -> Dict[str, np.ndarray]:
        """Mean, std and quantiles over directions of ``which`` ('train_loss', 'train_error',
        'test_loss', 'test_error', 'train_acc', 'test_acc') against radius."""
        if which.endswith("_error"):
            base = getattr(self, which.replace("_error", "_acc"))
            a = None if base is None else 1.0 - base
        else:
            a = getattr(self, which)
        if a is None:
            raise ValueError(f"{which} is not available (no test set)")
        out = {"mean": a.mean(axis=0), "std": a.std(axis=0, ddof=1) if a.shape[0] > 1
               else np.zeros(a.shape[1])}
        for q in self.quantile_levels:
            out[f"q{q:g}"] = np.quantile(a, q, axis=0)
        return out

    @property
    def mean_train_loss(self) -> np.ndarray:
        return self.train_loss.mean(axis=0)

    @property
    def basin_radius(self) -> float:
        """Radius where the mean train loss first exceeds ``loss0 + delta`` (linear interpolation
        between radii, starting from (0, loss0); loss0 here is the engine's ``engine_loss0``);
        NaN if it never does."""
        l0 = self._ref_loss0
        return _first_crossing(self.radii, self.mean_train_loss, l0 + self.delta, 0.0, l0)

    def basin_radius_error(self, drop: float = 0.01) -> float:
        """Radius where the mean train accuracy first falls more than ``drop`` below ``acc0``
        (the protocol's alternative criterion, default one point), interpolated; NaN if never."""
        drop = check_float(drop, "drop", 0.0, low_open=True)
        err = 1.0 - self.train_acc.mean(axis=0)
        a0 = self._ref_acc0
        return _first_crossing(self.radii, err, (1.0 - a0) + drop, 0.0, 1.0 - a0)

    @property
    def basin_radius_per_direction(self) -> np.ndarray:
        """Basin radius of each direction's curve, ``(K,)`` (NaN where never exceeded)."""
        l0 = self._ref_loss0
        lvl = l0 + self.delta
        return np.array([_first_crossing(self.radii, c, lvl, 0.0, l0) for c in self.train_loss])

    @deprecated_method("as_dict", "to_dict")
    def as_dict(self) -> Dict[str, Any]:
        """Deprecated: use :meth:`to_dict` (JSON types instead of arrays)."""
        return self._stats_dict()

    def _stats_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"radii": self.radii, "loss0": self.loss0, "acc0": self.acc0,
                             "basin_radius": self.basin_radius, "delta": self.delta}
        for w in ("train_loss", "train_error", "test_loss", "test_error"):
            try:
                for k, v in self.curve_stats(w).items():
                    d[f"{w}_{k}"] = v
            except ValueError:
                pass
        return d

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """loss0, acc0, basin radius, delta, settings, the radii and per radius the statistics
        over directions (``{which}_{mean,std,q..}``); with ``arrays=True`` also the
        per-direction curves."""
        d = self._stats_dict()
        d["settings"] = dict(self.settings)
        if arrays:
            for w in ("train_loss", "train_acc", "test_loss", "test_acc"):
                d[w] = getattr(self, w)
        return jsonable(d)

    def table(self) -> str:
        """Markdown table: per radius the mean train (and test) loss and error."""
        rows = []
        tr_e = 1.0 - self.train_acc.mean(axis=0)
        for i, r in enumerate(self.radii):
            row: Dict[str, Any] = {"radius": float(r),
                                   "train loss": float(self.train_loss[:, i].mean()),
                                   "train error": float(tr_e[i])}
            if self.test_loss is not None:
                row["test loss"] = float(self.test_loss[:, i].mean())
                row["test error"] = float(1.0 - self.test_acc[:, i].mean())
            rows.append(row)
        return markdown_table(rows)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Loss and error against radius (:func:`glasslens.probes.plotting.plot_profile`;
        always a new Figure, ``ax_or_fig`` must be None)."""
        from .plotting import plot_profile

        _new_figure_only(self, ax_or_fig)
        return plot_profile(self)


def _new_figure_only(obj: Any, ax_or_fig: Any) -> None:
    if ax_or_fig is not None:
        raise TypeError(f"{type(obj).__name__}.plot draws a new Figure; ax_or_fig must be None")


def _check_radii(radii: Any) -> np.ndarray:
    r = as_array(radii, "radii", np.float64)
    if r.ndim == 0:
        r = r.reshape(1)
    if r.ndim != 1:
        raise ValueError(f"radii must be a 1-D sequence, got shape {r.shape}")
    if np.any(r < 0):
        raise ValueError(f"radii must be >= 0, got {r[r < 0][0]}")
    if np.any(np.diff(r) < 0):
        raise ValueError("radii must be sorted in increasing order")
    return r


@renamed_kwargs(directions="n_directions")
def profile(
    net: MLP,
    data: Any,
    radii: Any,
    n_directions: int = 32,
    normalization: Optional[str] = None,
    kind: str = "gaussian",
    mode: str = "additive",
    seed: int = 0,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    delta: float = 0.1,
    bias_mode: str = "include",
    n_threads: Optional[int] = None,
) -> ProfileResult:
    """Loss and error against perturbation radius around ``net``.

    Parameters
    ----------
    net : MLP
    data : a ``Dataset``, an object with ``X_train (n, d)``, ``y_train (n,)`` and optionally
        ``X_test``, ``y_test``, a tuple ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a
        mapping with those keys.
    radii : increasing sequence of radii r >= 0 (units of the normalised direction: with
        'filter'/'layer'/'global' normalisation r = 1 moves every filter by its own norm).
    n_directions : number K of random directions (the keyword was ``directions``, deprecated).
    normalization : 'none', 'global', 'layer' or 'filter'; default 'filter' (additive) or
        'none' (multiplicative, the only choice there).
    kind : 'gaussian' or 'rademacher'.
    mode : 'additive' (theta + r u) or 'multiplicative' (theta * (1 + r u)).
    seed : direction k is generated from Philox keyed by (seed, k).
    quantiles : quantile levels reported by :meth:`ProfileResult.summary`.
    delta : loss rise defining the basin radius.
    bias_mode : 'include' or 'zero' (see the module docstring).

    Returns
    -------
    ProfileResult with per-direction curves ``(K, R)`` for train (and test) loss and accuracy.
    """
    _check_net(net)
    d = _Data(data, net)
    r = _check_radii(radii)
    K = check_int(n_directions, "n_directions", 1, MAX_DIRECTIONS)
    # K x R float64 curves (train / test loss and accuracy) and their summaries
    check_alloc(64.0 * K * r.size, f"n_directions={K:,} x {r.size:,} radii")
    mode = _choice(mode, "mode", _MODES)
    if normalization is None:
        normalization = "filter" if mode == "additive" else "none"
    normalization = _choice(normalization, "normalization", _NORMS)
    if mode == "multiplicative" and normalization != "none":
        raise ValueError("normalization must be 'none' in multiplicative mode (theta * (1 + r u) "
                         "is already relative to each weight)")
    kind = _choice(kind, "kind", _KINDS)
    bias_mode = _choice(bias_mode, "bias_mode", _BIAS)
    delta = check_float(delta, "delta", 0.0, low_open=True)
    qs = tuple(check_float(q, "quantiles", 0.0, 1.0) for q in quantiles)
    seed = check_seed(seed)
    nt = resolve_threads(n_threads)
    theta = net.flat()
    args = (net.widths, net.has_bias, theta, seed, K, r, kind, normalization, bias_mode, mode)
    trl, tra, el0, ea0 = _core.probes.perturbed_eval(*args, d.X_train, d.y_train, nt)
    l0, a0 = mean_loss(net, d.X_train, d.y_train, nt)  # the reported reference: one evaluator
    tel = tea = None
    tl0 = ta0 = None
    if d.has_test:
        tel, tea, _, _ = _core.probes.perturbed_eval(*args, d.X_test, d.y_test, nt)
        tl0, ta0 = mean_loss(net, d.X_test, d.y_test, nt)
    require_finite_result("profile", "the perturbed losses", [trl, tel],
                          f"the radii (up to {float(np.max(r)):.3g}) overflow float32: use "
                          f"smaller radii")
    return ProfileResult(
        radii=r, train_loss=trl, train_acc=tra, test_loss=tel, test_acc=tea, loss0=l0,
        acc0=a0, test_loss0=tl0, test_acc0=ta0, delta=delta, quantile_levels=qs,
        settings={"directions": K, "normalization": normalization, "kind": kind, "mode": mode,
                  "seed": seed, "bias_mode": bias_mode},
        engine_loss0=float(el0), engine_acc0=float(ea0))


@dataclass
class SliceResult(Result):
    """Output of :func:`line` (1-D: arrays ``(n,)``) and :func:`plane` (2-D: arrays
    ``(n1, n2)``, first axis along ``d1``). ``plot()``: ``plot_line`` or ``plot_plane``."""

    coords: Tuple[np.ndarray, ...]
    directions: np.ndarray  # (m, P) float32
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: Optional[np.ndarray]
    test_acc: Optional[np.ndarray]

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Dimension, grid shape and spans, the loss at the start point and the minimum and
        maximum train loss (coordinates and values with ``arrays=True``)."""
        d: Dict[str, Any] = {
            "ndim": len(self.coords), "shape": list(np.shape(self.train_loss)),
            "spans": [[float(c[0]), float(c[-1])] for c in self.coords],
            "train_loss_min": float(np.min(self.train_loss)),
            "train_loss_max": float(np.max(self.train_loss)),
            "train_error_min": float(1.0 - np.max(self.train_acc))}
        if self.test_loss is not None:
            d["test_loss_min"] = float(np.min(self.test_loss))
        if arrays:
            d["coords"] = [c for c in self.coords]
            for w in ("train_loss", "train_acc", "test_loss", "test_acc"):
                d[w] = getattr(self, w)
        return jsonable(d)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """``plot_line`` (1-D) or the train-loss contour map ``plot_plane`` (2-D); always a new
        Figure, ``ax_or_fig`` must be None."""
        from .plotting import plot_line, plot_plane

        _new_figure_only(self, ax_or_fig)
        return plot_line(self) if len(self.coords) == 1 else plot_plane(self)


def _resolve_direction(net: MLP, d: Any, name: str, seed: int, k: int, normalization: str,
                       kind: str, bias_mode: str) -> np.ndarray:
    theta = net.flat()
    if isinstance(d, str):
        if d != "random":
            raise ValueError(f"{name} must be an array, an MLP or 'random', got {d!r}")
        return perturbation_direction(net, seed, k, kind, normalization, bias_mode)
    if isinstance(d, MLP):
        _check_net(d, name)
        if d.widths != net.widths or d.has_bias != net.has_bias:
            raise ValueError(f"{name} has widths {d.widths} (bias={d.has_bias}), net has "
                             f"{net.widths} (bias={net.has_bias})")
        return (d.flat() - theta).astype(np.float32)
    return as_array(d, name, np.float32, shape=(theta.shape[0],))


def _span(span: Any, name: str) -> Tuple[float, float]:
    try:
        a, b = span
    except Exception as exc:
        raise ValueError(f"{name} must be a pair (start, stop), got {span!r}") from exc
    a = check_float(a, name)
    b = check_float(b, name)
    if not a < b:
        raise ValueError(f"{name} must satisfy start < stop, got {span!r}")
    return a, b


def _eval_grid(net: MLP, d: Data, D: np.ndarray, coeffs: np.ndarray, nt: int):
    theta = net.flat()
    trl, tra = _core.probes.affine_eval(net.widths, net.has_bias, theta, D, coeffs,
                                           d.X_train, d.y_train, nt)
    tel = tea = None
    if d.has_test:
        tel, tea = _core.probes.affine_eval(net.widths, net.has_bias, theta, D, coeffs,
                                               d.X_test, d.y_test, nt)
    return trl, tra, tel, tea


@renamed_kwargs(n="n_points")
def line(
    net: MLP,
    data: Any,
    direction: Any = "random",
    span: Tuple[float, float] = (-1.0, 1.0),
    n_points: int = 51,
    normalization: str = "filter",
    kind: str = "gaussian",
    bias_mode: str = "include",
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> SliceResult:
    """Loss along ``theta + t * d`` for ``n_points`` values of t evenly spaced in ``span``
    (the keyword was ``n``, deprecated).

    ``direction``: a flat vector ``(n_params,)``, another ``MLP`` (then ``d = other - net``, so
    t = 0 is ``net`` and t = 1 is the other network: linear interpolation), or ``'random'``
    (``perturbation_direction(net, seed, 0, kind, normalization, bias_mode)``).
    All grid points are evaluated in one batched call."""
    _check_net(net)
    dd = _Data(data, net)
    a, b = _span(span, "span")
    n_points = check_int(n_points, "n_points", 2, MAX_LINE_POINTS)
    D = _resolve_direction(net, direction, "direction", check_seed(seed), 0,
                           _choice(normalization, "normalization", _NORMS),
                           _choice(kind, "kind", _KINDS), _choice(bias_mode, "bias_mode", _BIAS))
    t = np.linspace(a, b, n_points)
    trl, tra, tel, tea = _eval_grid(net, dd, D[None, :], t[:, None].copy(), resolve_threads(n_threads))
    return SliceResult((t,), D[None, :], trl, tra, tel, tea)


@renamed_kwargs(n="n_points")
def plane(
    net: MLP,
    data: Any,
    d1: Any = "random",
    d2: Any = "random",
    span: Any = (-1.0, 1.0),
    n_points: Union[int, Tuple[int, int]] = 21,
    normalization: str = "filter",
    kind: str = "gaussian",
    bias_mode: str = "include",
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> SliceResult:
    """Loss on the plane ``theta + a * d1 + b * d2``, ``a`` and ``b`` on regular grids.

    ``span`` is one pair for both axes or a pair of pairs; ``n_points`` one int or a pair
    (the keyword was ``n``, deprecated). ``d1``/``d2``
    accept the same forms as :func:`line`'s ``direction`` ('random' uses directions k = 0 and
    k = 1). Arrays have shape ``(n1, n2)`` with the first axis along ``d1``."""
    _check_net(net)
    dd = _Data(data, net)
    if isinstance(span, (tuple, list)) and len(span) == 2 and all(
            isinstance(s, (tuple, list, np.ndarray)) for s in span):
        s1, s2 = _span(span[0], "span[0]"), _span(span[1], "span[1]")
    else:
        s1 = s2 = _span(span, "span")
    if isinstance(n_points, (tuple, list)):
        if len(n_points) != 2:
            raise ValueError(f"n_points must be an int or a pair of ints, got {n_points!r}")
        n1, n2 = (check_int(n_points[0], "n_points[0]", 2, MAX_GRID_POINTS),
                  check_int(n_points[1], "n_points[1]", 2, MAX_GRID_POINTS))
    else:
        n1 = n2 = check_int(n_points, "n_points", 2, MAX_GRID_POINTS)
    seed = check_seed(seed)
    norm = _choice(normalization, "normalization", _NORMS)
    kind = _choice(kind, "kind", _KINDS)
    bm = _choice(bias_mode, "bias_mode", _BIAS)
    D1 = _resolve_direction(net, d1, "d1", seed, 0, norm, kind, bm)
    D2 = _resolve_direction(net, d2, "d2", seed, 1, norm, kind, bm)
    a = np.linspace(*s1, n1)
    b = np.linspace(*s2, n2)
    A, B = np.meshgrid(a, b, indexing="ij")
    coeffs = np.stack([A.ravel(), B.ravel()], axis=1)
    trl, tra, tel, tea = _eval_grid(net, dd, np.stack([D1, D2]), coeffs, resolve_threads(n_threads))
    shp = (n1, n2)
    return SliceResult((a, b), np.stack([D1, D2]), trl.reshape(shp), tra.reshape(shp),
                       None if tel is None else tel.reshape(shp),
                       None if tea is None else tea.reshape(shp))
