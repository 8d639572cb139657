"""Random walks in parameter space from a trained network (Protocol 1).

:func:`random_walk` runs W independent walkers in C++ (OpenMP over walkers; the random stream of
walker w is keyed by (seed, w), so results are identical for any ``n_threads``).

Moves (``move``):

* ``"dense"`` - every parameter moves: ``theta' = theta + sigma * xi``, ``xi ~ N(0, I_N)``;
  each proposal costs a full forward pass on the train set.
* ``"weight"`` - one parameter (weight or bias, uniform over all N) moves by ``sigma * N(0,1)``.
* ``"unit"`` - one hidden unit (uniform over all hidden units) moves: its incoming weights, bias
  and outgoing weights, each by ``sigma * N(0, 1)``.

Sparse moves update the stored pre-activations incrementally (a first-layer weight w_jk changes
z_j by dw * x_k on every sample, then only the samples whose ReLU output changes get new logits;
deeper layers are updated the same way, re-running the layers above the changed unit for the
affected samples only): O(n_samples) work per single-weight move instead of a full forward pass.
Float rounding makes the stored state drift slowly; it is recomputed from theta every
``refresh_every`` steps (``max_drift`` reports the largest gap seen at a refresh).

Step size: ``sigma = step_size * ||theta0|| / sqrt(N)`` (``step_scale='relative'``, the
protocol's eta), ``sigma = step_size`` (``step_scale='absolute'``), or per layer
``sigma_l = step_size * ||theta0_l|| / sqrt(N_l)`` for the coordinates of layer l's block
``[W_l, b_l]`` (``step_scale='layer'``, the protocol's per-layer variant). In every case a
dense step has ``E ||d theta||^2 = sum_l N_l sigma_l^2`` (``= step_size^2 ||theta0||^2`` for
'relative' and 'layer').

Acceptance (``mode``): ``"free"`` accepts every move; ``"threshold"`` accepts a move iff the
new mean train loss (or error, ``threshold_on='error'``) is ``<= threshold``; ``"metropolis"``
accepts with probability ``min(1, exp(-dL / T))`` on the mean train loss.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np

from .. import _core
from .._lib._deprecation import deprecated_method, renamed_kwargs
from .._lib._results import Result, jsonable
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed, require_finite_result
from .._lib._data import Data
from .._lib._limits import MAX_KEPT_POINT_BYTES, MAX_WALKERS, MAX_WALK_RECORDS, check_alloc
from ..nn._evaluation import mean_loss
from ._landscape import _check_net, _choice, _Data, _first_crossing
from ..nn._network import MLP, Ensemble

__all__ = [
    "random_walk",
    "WalkResult",
    "autocorrelation",
    "correlation_length",
    "msd_exponent",
]


def autocorrelation(x: Any, max_lag: Optional[int] = None) -> np.ndarray:
    """Normalised autocorrelation function of a series, ``acf[0] = 1``.

    ``x``: ``(T,)`` or ``(W, T)`` (W independent series, e.g. walkers; each is centred by its own
    mean, the autocovariances are averaged over series and divided by the lag-0 value).
    ``max_lag`` defaults to ``T // 2``. Returns ``(max_lag + 1,)``; NaN if the series is
    constant."""
    a = as_array(x, "x", np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"x must be 1-D or 2-D, got shape {a.shape}")
    T = a.shape[1]
    if T < 2:
        raise ValueError(f"x needs at least 2 points, got {T}")
    m = T // 2 if max_lag is None else check_int(max_lag, "max_lag", 0, T - 1)
    c = a - a.mean(axis=1, keepdims=True)
    cov = np.array([np.mean(c[:, : T - k] * c[:, k:]) for k in range(m + 1)])
    if cov[0] <= 0:
        return np.full(m + 1, np.nan)
    return cov / cov[0]


def correlation_length(acf: Any, dt: float = 1.0, level: float = float(np.exp(-1.0))) -> float:
    """First lag (times ``dt``) where ``acf`` drops below ``level`` (default 1/e), linearly
    interpolated; NaN if it never does. A short correlation length means a rugged landscape."""
    a = as_array(acf, "acf", np.float64, ndim=1, finite=False)
    dt = check_float(dt, "dt", 0.0, low_open=True)
    if not np.all(np.isfinite(a)):
        return float("nan")
    x = np.arange(a.size, dtype=np.float64) * dt
    # crossing of -acf above -level
    return _first_crossing(x[1:], -a[1:], -level, 0.0, -a[0])


def msd_exponent(steps: Any, msd: Any) -> float:
    """Exponent alpha of ``msd ~ steps**alpha`` by a least-squares fit in log-log (points with
    step > 0 and msd > 0). alpha = 1 is free diffusion; alpha < 1 means confinement."""
    s = as_array(steps, "steps", np.float64, ndim=1)
    m = as_array(msd, "msd", np.float64, ndim=1)
    ok = (s > 0) & (m > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(s[ok]), np.log(m[ok]), 1)[0])


@dataclass
class WalkResult(Result):
    """Records of :func:`random_walk`: ``step`` is ``(n_records,)``, every other trace
    ``(walkers, n_records)``. ``distance`` is relative, ``||theta_t - theta0|| / ||theta0||``;
    ``overlap`` is ``<theta0, theta_t> / (||theta0|| ||theta_t||)``; ``acceptance`` is the
    fraction of moves accepted since the previous record (NaN at step 0). Test traces are NaN
    without a test set.

    The traces are the walk engine's (its own full pass at step 0 and at refreshes, incremental
    updates in between); ``loss0`` / ``acc0``, the reported start of the walk, come from the one
    evaluator (``glasslens.nn.evaluate``) and agree with ``train_loss[:, 0]`` to float32
    rounding. Escape distances are measured from the engine's record at step 0.

    ``to_dict()``: the scalar statistics and the settings (traces with ``arrays=True``);
    ``plot()``: :func:`glasslens.probes.plotting.plot_walk`."""

    step: np.ndarray
    distance: np.ndarray
    overlap: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    acceptance: np.ndarray
    final_theta: np.ndarray
    n_accepted: np.ndarray
    max_drift: np.ndarray
    theta0_norm: float
    sigma: float
    delta: float
    widths: list
    bias: bool
    layer_sigma: Optional[np.ndarray] = None  # step_scale='layer': sigma per layer
    thetas: Optional[np.ndarray] = None
    quench: Optional[Dict[str, Any]] = None
    settings: Dict[str, Any] = field(default_factory=dict)
    #: train loss / accuracy of the start network from the one evaluator (None: the record)
    start_loss: Optional[float] = None
    start_acc: Optional[float] = None

    @property
    def loss0(self) -> float:
        """Train loss of the start network (the one evaluator, ``glasslens.nn.evaluate``)."""
        return float(self.train_loss[0, 0]) if self.start_loss is None else self.start_loss

    @property
    def acc0(self) -> float:
        """Train accuracy of the start network (the one evaluator)."""
        return float(self.train_acc[0, 0]) if self.start_acc is None else self.start_acc

    @property
    def acceptance_rate(self) -> np.ndarray:
        """Overall acceptance rate per walker."""
        steps = max(int(self.settings.get("steps", 0)), 1)
        return self.n_accepted / steps

    @property
    def msd(self) -> np.ndarray:
        """Mean squared displacement ``<||theta_t - theta0||^2>`` over walkers, ``(n_records,)``
        (absolute units)."""
        return np.mean((self.distance * self.theta0_norm) ** 2, axis=0)

    @property
    def msd_exponent(self) -> float:
        return msd_exponent(self.step, self.msd)

    @property
    def escape_distance(self) -> np.ndarray:
        """Per walker, the relative distance at which the train loss first exceeds
        ``loss0 + delta`` (linear interpolation between records; NaN if never)."""
        lvl = float(self.train_loss[0, 0]) + self.delta
        return np.array([_first_crossing(self.distance[w, 1:], self.train_loss[w, 1:], lvl,
                                         self.distance[w, 0], self.train_loss[w, 0])
                         for w in range(self.distance.shape[0])])

    def loss_autocorrelation(self, max_lag: Optional[int] = None) -> np.ndarray:
        """Autocorrelation of the train loss along the walks (lags in records)."""
        return autocorrelation(self.train_loss, max_lag)

    @property
    def correlation_length(self) -> float:
        """Correlation length of the train loss along the walks, in steps."""
        if self.train_loss.shape[1] < 3:
            return float("nan")
        return correlation_length(self.loss_autocorrelation(),
                                  dt=float(self.settings.get("record_every", 1)))

    @deprecated_method("summary", "to_dict")
    def summary(self) -> Dict[str, Any]:
        """Deprecated: use :meth:`to_dict` (which adds ``settings``)."""
        return self._scalars()

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Scalar statistics (loss0, final loss and distance, acceptance, MSD exponent, escape
        distance, correlation length, drift) and ``settings``; with ``arrays=True`` also the
        traces (step, distance, overlap, losses, accuracies, acceptance)."""
        d: Dict[str, Any] = {**self._scalars(), "settings": dict(self.settings)}
        if arrays:
            for k in ("step", "distance", "overlap", "train_loss", "train_acc", "test_loss",
                      "test_acc", "acceptance", "n_accepted"):
                d[k] = getattr(self, k)
        return jsonable(d)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Distance, loss and acceptance along the walks (:func:`plotting.plot_walk`; always a
        new Figure, ``ax_or_fig`` must be None)."""
        from .plotting import plot_walk

        if ax_or_fig is not None:
            raise TypeError("WalkResult.plot draws a new Figure; ax_or_fig must be None")
        return plot_walk(self)

    def _scalars(self) -> Dict[str, Any]:
        esc = self.escape_distance
        return {
            "loss0": self.loss0,
            "final_train_loss_mean": float(np.mean(self.train_loss[:, -1])),
            "final_distance_mean": float(np.mean(self.distance[:, -1])),
            "acceptance_rate_mean": float(np.mean(self.acceptance_rate)),
            "msd_exponent": self.msd_exponent,
            "escape_distance_mean": float(np.nanmean(esc)) if np.any(np.isfinite(esc)) else float("nan"),
            "escaped_fraction": float(np.mean(np.isfinite(esc))),
            "correlation_length_steps": self.correlation_length,
            "max_drift": float(np.max(self.max_drift)),
        }


@renamed_kwargs(steps="n_steps", walkers="n_walkers")
def random_walk(
    net: MLP,
    data: Any,
    n_steps: int,
    step_size: float = 1e-2,
    mode: str = "free",
    threshold: Optional[float] = None,
    temperature: Optional[float] = None,
    move: str = "dense",
    n_walkers: int = 8,
    record_every: int = 10,
    seed: int = 0,
    refresh_every: int = 1000,
    quench: Optional[Dict[str, Any]] = None,
    threshold_on: str = "loss",
    step_scale: str = "relative",
    eval_test: bool = True,
    keep_points: bool = False,
    delta: float = 0.1,
    n_threads: Optional[int] = None,
) -> WalkResult:
    """Run ``n_walkers`` random walks of ``n_steps`` moves from ``net``.

    Parameters
    ----------
    net : MLP (start point theta0)
    data : a ``Dataset``, an object with ``X_train``, ``y_train`` (and optionally ``X_test``,
        ``y_test``), a tuple ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a mapping
    n_steps : number of proposed moves per walker (the keyword was ``steps``, deprecated)
    step_size : eta (``step_scale='relative'`` or ``'layer'``, see the module docstring) or
        sigma (``step_scale='absolute'``)
    mode : 'free', 'threshold' (needs ``threshold``) or 'metropolis' (needs ``temperature > 0``)
    threshold : level on the mean train loss (``threshold_on='loss'``) or on the train error
        (``'error'``, a fraction in [0, 1]); the start point must satisfy it
    temperature : Metropolis temperature T (in loss units)
    move : 'dense', 'weight' or 'unit'
    n_walkers : number of independent walkers W (the keyword was ``walkers``, deprecated)
    record_every : record every this many steps (records at 0, k, 2k, ...)
    seed : walker w uses the Philox stream (seed, w)
    refresh_every : sparse moves: recompute the stored state from theta every this many steps
        (0 = never; the drift is then unbounded but small)
    quench : optional dict ``{"epochs": int (default 5), "lr": float, "batch_size": int,
        "momentum": float, "seed": int, "every": int}``: runs SGD (``glasslens.train_ensemble``,
        family 'order') from every ``every``-th recorded point (default: the last) of every
        walker; ``result.quench`` holds 'walker', 'record', 'step' (arrays, one entry per start
        point), 'minima' (an Ensemble) and its final 'train_loss', 'test_loss'.
    eval_test : evaluate the test set at each record (a full forward pass per record)
    keep_points : keep theta at every record in ``result.thetas`` ``(W, n_records, N)``
    delta : loss rise defining the escape distance

    Returns
    -------
    WalkResult
    """
    _check_net(net)
    d = _Data(data, net)
    steps = check_int(n_steps, "n_steps", 0, 10**12)
    mode = _choice(mode, "mode", ("free", "threshold", "metropolis"))
    move = _choice(move, "move", ("dense", "weight", "unit"))
    threshold_on = _choice(threshold_on, "threshold_on", ("loss", "error"))
    step_scale = _choice(step_scale, "step_scale", ("relative", "absolute", "layer"))
    W = check_int(n_walkers, "n_walkers", 1, MAX_WALKERS)
    rec = check_int(record_every, "record_every", 1)
    refresh = check_int(refresh_every, "refresh_every", 0)
    seed = check_seed(seed)
    delta = check_float(delta, "delta", 0.0, low_open=True)
    eta = check_float(step_size, "step_size", 0.0)
    if move == "unit" and net.depth < 2:
        raise ValueError("move='unit' needs a network with at least one hidden layer")
    theta = net.flat()
    N = theta.size
    # every walker's final parameters, plus per running walker (one per thread) its working
    # copies and, for sparse moves, the stored pre-activations of every training sample
    n_tr = d.X_train.shape[0]
    nt = resolve_threads(n_threads)
    running = 3.0 * N + (n_tr * sum(net.widths[1:]) if move != "dense" else 0)
    check_alloc(4.0 * (W * N + min(W, nt) * running),
                f"walkers={W:,} of {N:,} parameters on {n_tr:,} samples")
    n0 = float(np.linalg.norm(theta.astype(np.float64)))
    sigma = eta * n0 / np.sqrt(N) if step_scale == "relative" else eta
    layer_sigma = None
    if step_scale == "layer":
        from ..nn._network import layer_slices

        layer_sigma = []
        t64 = theta.astype(np.float64)
        for sl in layer_slices(net.widths, net.has_bias):
            block = np.concatenate([t64[v] for v in sl.values()])
            layer_sigma.append(eta * float(np.linalg.norm(block)) / np.sqrt(block.size))
        sigma = float("nan")
    thr = 0.0
    T = 1.0
    if mode == "threshold":
        if threshold is None:
            raise ValueError("mode='threshold' needs threshold")
        thr = check_float(threshold, "threshold")
        l0, a0 = mean_loss(net, d.X_train, d.y_train, nt)
        start = l0 if threshold_on == "loss" else 1.0 - a0
        if start > thr:
            raise ValueError(f"the start point violates the threshold: train {threshold_on} "
                             f"{start:.6g} > threshold {thr:.6g}")
    elif threshold is not None:
        raise ValueError(f"threshold is only used with mode='threshold' (mode={mode!r})")
    if mode == "metropolis":
        if temperature is None:
            raise ValueError("mode='metropolis' needs temperature")
        T = check_float(temperature, "temperature", 0.0, low_open=True)
    elif temperature is not None:
        raise ValueError(f"temperature is only used with mode='metropolis' (mode={mode!r})")
    n_rec = steps // rec + 1
    if W * n_rec > MAX_WALK_RECORDS:
        raise ValueError(f"walkers x records = {W} x {n_rec} is too large to store; raise "
                         f"record_every (now {rec})")
    if keep_points and W * n_rec * N > MAX_KEPT_POINT_BYTES // 4:
        raise ValueError("keep_points would store more than 2 GB of parameters; raise "
                         "record_every or lower walkers")
    quench_cfg = None
    if quench is not None:
        if not isinstance(quench, dict):
            raise TypeError(f"quench must be a dict or None, got {type(quench).__name__}")
        unknown = set(quench) - {"epochs", "lr", "batch_size", "every", "momentum", "seed"}
        if unknown:
            raise ValueError(f"quench has unknown keys {sorted(unknown)}")
        quench_cfg = dict(quench)
        check_int(quench_cfg.setdefault("every", max(1, n_rec - 1)), "quench['every']", 1)
        check_int(quench_cfg.setdefault("epochs", 5), "quench['epochs']", 0)
    start_l, start_a = mean_loss(net, d.X_train, d.y_train, nt)  # the reported start
    out = _core.probes.random_walk(
        net.widths, net.has_bias, theta, d.X_train, d.y_train,
        d.X_test if (eval_test and d.has_test) else None,
        d.y_test if (eval_test and d.has_test) else None,
        _core.probes.WalkParams(
            steps=steps, sigma=float(sigma) if layer_sigma is None else 0.0, mode=mode,
            threshold=float(thr), threshold_on_error=threshold_on == "error",
            temperature=float(T), move=move, walkers=W, record_every=rec, seed=seed,
            refresh_every=refresh, store_theta=bool(keep_points or quench_cfg is not None),
            layer_sigma=layer_sigma), nt)
    require_finite_result("random_walk", "the recorded losses",
                          [out["train_loss"],
                           out["test_loss"] if (eval_test and d.has_test) else None],
                          f"the step (step_size={eta:g}) overflows float32: use a smaller "
                          f"step_size")
    res = WalkResult(
        step=out["step"], distance=out["distance"], overlap=out["overlap"],
        train_loss=out["train_loss"], train_acc=out["train_acc"], test_loss=out["test_loss"],
        test_acc=out["test_acc"], acceptance=out["acceptance"], final_theta=out["final_theta"],
        n_accepted=out["n_accepted"], max_drift=out["max_drift"], theta0_norm=n0,
        sigma=float(sigma), delta=delta, widths=net.widths, bias=net.has_bias,
        layer_sigma=None if layer_sigma is None else np.asarray(layer_sigma),
        thetas=out.get("thetas") if keep_points else None,
        settings={"steps": steps, "step_size": eta, "step_scale": step_scale, "mode": mode,
                  "move": move, "walkers": W, "record_every": rec, "seed": seed,
                  "refresh_every": refresh, "threshold": threshold, "threshold_on": threshold_on,
                  "temperature": temperature},
        start_loss=start_l, start_acc=start_a)
    if quench_cfg is not None:
        res.quench = _quench(net, d, out["thetas"], quench_cfg, nt)
        res.quench["step"] = res.step[res.quench["record"]]
    return res


def _quench(net: MLP, d: Data, thetas: np.ndarray, cfg: Dict[str, Any], nt: int) -> Dict[str, Any]:
    """SGD (glasslens.train_ensemble) from every ``every``-th record of every walker."""
    from types import SimpleNamespace

    from ..nn._training import train_ensemble

    every = int(cfg["every"])
    W, NR, P = thetas.shape
    idx = np.arange(every, NR, every) if NR > 1 else np.array([0])
    if idx.size == 0:
        idx = np.array([NR - 1])
    starts = thetas[:, idx, :].reshape(-1, P)
    init = Ensemble.from_flat(net.widths, starts, net.has_bias)
    ds = SimpleNamespace(X_train=d.X_train, y_train=d.y_train,
                         X_test=d.X_test if d.has_test else d.X_train[:1],
                         y_test=d.y_test if d.has_test else d.y_train[:1],
                         n_classes=net.widths[-1])
    kw = {k: cfg[k] for k in ("epochs", "lr", "batch_size", "momentum", "seed") if k in cfg}
    kw.setdefault("epochs", 5)
    ens = train_ensemble(ds, hidden=tuple(net.widths[1:-1]), replicas=starts.shape[0],
                         family="order", bias=net.has_bias, init=init, n_threads=nt, **kw)
    return {"walker": np.repeat(np.arange(W), idx.size), "record": np.tile(idx, W),
            "minima": ens,
            "train_loss": np.asarray(ens.metrics.get("train_loss")),
            "test_loss": np.asarray(ens.metrics.get("test_loss"))}
