"""Flatness, sharpness and ruggedness of a trained network (Protocol 4 measures).

``measures(net, data, which=...)`` computes, on the training data, any of:

``local_energy``
    Mean loss rise ``E_u[L(theta + r u) - L(theta)]`` over random filter-normalised directions
    ``u`` at relative radius ``r`` (default 0.1), computed by the Protocol 1 engine
    :func:`glasslens.landscape.profile` (``normalization='filter'``, ``bias_mode='include'``:
    each unit's incoming weights and bias, output units included, are scaled to the norm of that
    unit's parameters, Li et al. 2018; Gaussian directions from Philox keyed by (seed, k)). The
    rise is measured from the engine's own unperturbed loss. Nats.
``basin_radius``
    Mean over directions of the smallest radius on a grid at which that direction's loss rises
    by more than ``delta`` (default 0.1 nats; linear interpolation from (0, L0); censored at the
    grid maximum if never, ``basin_radius_censored`` is the censored fraction), from the same
    engine (``ProfileResult.basin_radius_per_direction``). Relative units (fraction of each
    unit's norm).
``eps_sharpness``
    Keskar et al. (2017): ``100 * (max_{delta in C} L(theta + delta) - L) / (1 + L)`` over the box
    ``|delta_i| <= eps (|theta_i| + 1)`` (default eps = 1e-3), maximised by projected
    sign-gradient ascent (``steps`` steps, default 20). Percent.
``hessian_top`` / ``hessian_trace``
    Largest Hessian eigenvalue (Lanczos) and the Hutchinson trace. Nats / param^2.
``ruggedness``
    Free dense random walks ``theta_t = theta + sigma S_t`` (``S_t`` a sum of t independent
    ``N(0, I_P)`` steps; 100 steps, 4 walks; every point evaluated by the one evaluator) at a
    step where the loss actually moves (``definition='scaled'``, the default): ``sigma`` is
    chosen per network so that the walks end, on average, ``rise`` above ``L(theta)`` (default
    0.1 nats, the ``delta`` of ``basin_radius``: the walks climb to the basin's rim; root search
    in ``log sigma`` on the same walks, relative tolerance 1e-3). Then
    ``ruggedness = Var(L_{t+1} - L_t) / m^2`` with ``m = rise / T`` the mean increment (variance
    per walk, ddof = 1, averaged over walks; ``_ruggedness_stats``): dimensionless and made of
    loss differences only, so unchanged by a loss offset (and by a loss scale factor at a given
    step); the increments are about ``rise / T`` = 1e-3 nats, far above the float32 resolution
    of the loss (the raw definition's fixed step gives ~1e-10 nats^2 around a near-zero-loss
    minimum: rounding noise). In a quadratic basin started at its minimum the expected value is
    ``2 T tr(H^2) / tr(H)^2`` whatever sigma: it grows with the anisotropy of the curvature and
    with the walk length, so compare networks at equal ``steps``; the excess over that smooth
    baseline comes from non-quadratic structure (bumps, walls) at the step scale. Larger = more
    rugged (``FLAT_SIGN`` -1). ``corr_length`` = :func:`glasslens.walks.correlation_length` of
    :func:`glasslens.walks.autocorrelation` (pooled over walks) of the linearly detrended loss,
    in units of that step: the lag where it first falls below 1/e, censored at the largest lag
    (half the walk length); short = rugged (``FLAT_SIGN`` +1). Auxiliary values: ``walk_sigma``
    (the absolute step), ``walk_eta`` (``sigma sqrt(P) / ||theta||``), ``mean_increment`` and
    ``increment_scale`` (mean ``|L_{t+1} - L_t|``, nats). ``definition='raw'`` keeps the old
    measure, cheap and for comparison only: free dense walks of the Protocol 1 engine
    :func:`glasslens.walks.random_walk` at the fixed relative step ``eta`` (default 0.01,
    ``sigma = eta ||theta|| / sqrt(P)``), ``ruggedness`` = the variance of the increments in
    nats^2 (``rise`` unused); with 'scaled', ``eta`` is only the start of the step search.
``copy_barrier``
    Protocol 2 engine :func:`glasslens.interpolation.permutation_barrier_scan` at fixed k:
    loss barrier ``max_alpha [L((1-alpha) theta + alpha theta') - ((1-alpha) L(theta) + alpha
    L(theta'))]`` (= ``max_alpha L(theta(alpha)) - L(theta)``, the endpoints being the same
    function) on the straight path to a copy ``theta'`` whose first hidden layer has ``k``
    random disjoint transpositions of units (default k = 2; 21 alpha points; mean over 4
    copies). Nats.

``balance=True`` first moves the network to the balanced point of its ReLU rescaling orbit
(every hidden unit's incoming and outgoing weight norms equal, see :func:`balance`), which
makes every measure invariant under the rescaling ``W1 -> c W1, b1 -> c b1, W2 -> W2 / c``
(per unit, c > 0). Without it the curvature measures are not invariant (a known pitfall).
Every result records the parameters used, including the seed handed to each engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .._lib._deprecation import deprecated_method
from .._lib._results import Result, markdown_table
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed
from ._curvature import HessianOperator, _check_net, _data, hessian_top, hessian_trace
from ..symmetry._interpolation import permutation_barrier_scan
from ..probes._landscape import profile
from ..nn._evaluation import evaluate
from ..nn._network import MLP
from ..probes._walks import autocorrelation, correlation_length, random_walk

__all__ = ["ALL_MEASURES", "FlatnessResult", "measures", "balance", "rescale",
           "random_rescaling", "batch_loss"]

ALL_MEASURES: Tuple[str, ...] = ("local_energy", "basin_radius", "eps_sharpness", "hessian_top",
                                 "hessian_trace", "ruggedness", "copy_barrier")

_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "local_energy": {"radius": 0.1, "n_dirs": 16},
    "basin_radius": {"delta": 0.1, "radii": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0],
                     "n_dirs": 8},
    "eps_sharpness": {"eps": 1e-3, "steps": 20, "step_size": 0.25},
    "hessian_top": {"iters": 40, "tol": 1e-4},
    "hessian_trace": {"n_samples": 30},
    "ruggedness": {"definition": "scaled", "rise": 0.1, "eta": 0.01, "steps": 100,
                   "n_walks": 4},
    "copy_barrier": {"k": 2, "n_alpha": 21, "n_copies": 4},
}

#: direction options of the Protocol 1 engine used by local_energy and basin_radius (recorded)
_PROFILE_OPTS: Dict[str, Any] = {"normalization": "filter", "bias_mode": "include",
                                 "kind": "gaussian", "mode": "additive"}


# ---- evaluation helpers ------------------------------------------------------------------------
def batch_loss(net: MLP, thetas: Any, X: Any, y: Any = None,
               n_threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Mean training loss and accuracy of many parameter vectors ``(K, P)`` of ``net``'s
    architecture on ``(X, y)`` (or a data set in ``X``); float64 ``(K,)`` each, from the one
    evaluator (``glasslens.nn.evaluate``). Bit-identical for any thread count."""
    _check_net(net)
    Xa, ya = _data(X, y, net)
    T = as_array(thetas, "thetas", np.float32, shape=(None, net.n_params))
    return evaluate(T, Xa, ya, widths=net.widths, bias=net.has_bias, n_threads=n_threads)


# ---- rescaling symmetry ------------------------------------------------------------------------
def rescale(net: MLP, scales: Sequence[Any]) -> MLP:
    """Apply per-unit rescalings: for hidden layer l (0-based) and unit j, ``W_l[j] *= c``,
    ``b_l[j] *= c``, ``W_{l+1}[:, j] /= c``. ``scales[l]`` has shape ``(width_{l+1},)``, c > 0.
    The function computed by the network is unchanged (ReLU is positively homogeneous)."""
    _check_net(net)
    L = net.depth
    if len(scales) != L - 1:
        raise ValueError(f"scales must hold {L - 1} arrays (one per hidden layer), got {len(scales)}")
    out = net.copy()
    for l, c in enumerate(scales):
        ca = as_array(c, f"scales[{l}]", np.float64, shape=(net.widths[l + 1],))
        if np.any(ca <= 0):
            raise ValueError(f"scales[{l}] must be positive")
        out.weights[l] = (out.weights[l] * ca[:, None]).astype(np.float32)
        if out.biases is not None:
            out.biases[l] = (out.biases[l] * ca).astype(np.float32)
        out.weights[l + 1] = (out.weights[l + 1] / ca[None, :]).astype(np.float32)
    return out


def random_rescaling(net: MLP, seed: int = 0, sigma: float = 1.0) -> MLP:
    """A random function-preserving rescaling, ``log c ~ N(0, sigma^2)`` per hidden unit."""
    rng = np.random.default_rng(check_seed(seed))
    sg = check_float(sigma, "sigma", 0.0)
    return rescale(net, [np.exp(sg * rng.standard_normal(w)) for w in net.widths[1:-1]])


def balance(net: MLP, tol: float = 1e-7, max_sweeps: int = 500) -> MLP:
    """The balanced representative of ``net``'s rescaling orbit: every hidden unit's incoming
    norm ``||(W_l[j], b_l[j])||`` equals its outgoing norm ``||W_{l+1}[:, j]||``.

    It minimises the total squared weight norm over the orbit (a strictly convex problem in the
    log-scales), so it is unique: any rescaled copy of ``net`` balances to the same network up
    to rounding. One hidden layer: exact in one sweep; deeper: block-coordinate sweeps until the
    largest log-scale update is below ``tol``. Units with zero incoming or outgoing weights are
    left as they are. Computed in float64, returned as float32."""
    _check_net(net)
    tol = check_float(tol, "tol", 0.0)
    Ws = [W.astype(np.float64) for W in net.weights]
    bs = None if net.biases is None else [b.astype(np.float64) for b in net.biases]
    L = net.depth
    for _ in range(check_int(max_sweeps, "max_sweeps", 1)):
        worst = 0.0
        for l in range(L - 1):
            inn = (Ws[l] ** 2).sum(1)
            if bs is not None:
                inn = inn + bs[l] ** 2
            out = (Ws[l + 1] ** 2).sum(0)
            ok = (inn > 0) & (out > 0)
            c = np.ones_like(inn)
            c[ok] = (out[ok] / inn[ok]) ** 0.25
            Ws[l] *= c[:, None]
            if bs is not None:
                bs[l] *= c
            Ws[l + 1] /= c[None, :]
            worst = max(worst, float(np.abs(np.log(c)).max()) if c.size else 0.0)
        if worst <= tol or L == 2:
            break
    return MLP([W.astype(np.float32) for W in Ws],
               None if bs is None else [b.astype(np.float32) for b in bs])


_balance_network = balance


# ---- individual measures (thin adapters over the Protocol 1 and 2 engines) --------------------
def _engine_seed(rng: np.random.Generator) -> int:
    """The integer seed handed to a C++ engine, drawn from the measure's own stream."""
    return int(rng.integers(2**63))


def _local_energy(net, X, y, L0, p, rng, nt):
    """Protocol 1 engine (``landscape.profile``) at the single radius ``p['radius']``."""
    p["seed"] = _engine_seed(rng)
    prof = profile(net, (X, y), [p["radius"]], n_directions=p["n_dirs"], seed=p["seed"],
                   **_PROFILE_OPTS, n_threads=nt)
    rise = prof.train_loss[:, 0] - prof._ref_loss0  # from the engine's own unperturbed loss
    return {"local_energy": float(rise.mean()),
            "local_energy_stderr": float(rise.std(ddof=1) / np.sqrt(len(rise))) if len(rise) > 1 else 0.0}


def _basin_radius(net, X, y, L0, p, rng, nt):
    """Per-direction basin radius from a ``landscape.profile`` over ``p['radii']``: the first
    radius where that direction's loss exceeds ``loss0 + delta`` (linear interpolation from
    (0, loss0)), censored at the largest radius; the mean over directions."""
    radii = np.asarray(sorted(float(r) for r in p["radii"]))
    p["radii"] = radii.tolist()
    p["seed"] = _engine_seed(rng)
    prof = profile(net, (X, y), radii, n_directions=p["n_dirs"], seed=p["seed"], delta=p["delta"],
                   **_PROFILE_OPTS, n_threads=nt)
    per_dir = prof.basin_radius_per_direction
    never = ~np.isfinite(per_dir)
    return {"basin_radius": float(np.where(never, radii[-1], per_dir).mean()),
            "basin_radius_censored": float(never.mean())}


def _eps_sharpness(net, X, y, L0, p, rng, nt):
    th = net.flat().astype(np.float64)
    box = p["eps"] * (np.abs(th) + 1.0)
    delta = np.zeros_like(th)
    best = L0
    for _ in range(p["steps"]):
        H = HessianOperator(MLP.from_flat(net.widths, (th + delta).astype(np.float32),
                                          net.has_bias), X, y, nt)
        best = max(best, H._engine_loss)
        g = H.grad().astype(np.float64)
        delta = np.clip(delta + p["step_size"] * box * np.sign(g), -box, box)
    loss, _ = batch_loss(net, (th + delta)[None, :], X, y, nt)
    best = max(best, float(loss[0]))
    return {"eps_sharpness": float(100.0 * (best - L0) / (1.0 + L0)),
            "eps_loss_rise": float(best - L0)}


class _WalkPaths:
    """Free-walk displacements ``S[w, t]`` (sums of t N(0, I_P) steps; walker w from the stream
    (seed, w)), regenerated per walker so that only one path is held at a time."""

    def __init__(self, seed: int, n_walks: int, steps: int, n_params: int):
        self.seed, self.W, self.T, self.P = seed, n_walks, steps, n_params
        self.ends = np.stack([self.path(w)[-1] for w in range(n_walks)])

    def path(self, w: int) -> np.ndarray:
        xi = np.random.default_rng([self.seed, w]).standard_normal((self.T + 1, self.P))
        xi[0] = 0.0
        return np.cumsum(xi, axis=0, out=xi)


def _walk_losses(net, X, y, sigma, S, nt, ends_only=False):
    """Train loss (one evaluator) along the free walks ``theta + sigma S[w, t]``, ``(W, T + 1)``,
    or at their ends only, ``(W,)``."""
    th = net.flat().astype(np.float64)
    if ends_only:
        loss, _ = batch_loss(net, (th[None, :] + sigma * S.ends).astype(np.float32), X, y, nt)
        return loss
    out = np.empty((S.W, S.T + 1))
    for w in range(S.W):
        out[w], _ = batch_loss(net, (th[None, :] + sigma * S.path(w)).astype(np.float32), X, y, nt)
    return out


def _ruggedness_stats(loss: Any) -> Dict[str, float]:
    """Ruggedness statistics of loss traces ``(W, T + 1)`` along walks (``T >= 3``):
    ``ratio`` = per walk ``Var(L_{t+1} - L_t)`` (ddof = 1), averaged over walks, divided by the
    square of the pooled mean increment ``(mean_w L_T - mean_w L_0) / T`` (NaN when that mean
    is not positive); ``variance`` (nats^2) and ``mean_increment``; ``corr_length`` of the
    pooled autocorrelation of the linearly detrended traces (in steps, censored at half the
    walk) and ``increment_scale`` = mean ``|L_{t+1} - L_t|``. Built from differences only, so
    unchanged by a loss offset; ``ratio`` and ``corr_length`` are also unchanged by a loss
    scale factor."""
    L = as_array(loss, "loss", np.float64, ndim=2)
    W, T1 = L.shape
    if T1 < 4:
        raise ValueError(f"loss needs at least 4 points per walk, got {T1}")
    T = T1 - 1
    inc = np.diff(L, axis=1)
    var = float(inc.var(axis=1, ddof=1).mean())
    mean_inc = float((L[:, -1] - L[:, 0]).mean() / T)
    t = np.arange(T1, dtype=np.float64)
    slope, icpt = np.polyfit(t, L.T, 1)
    acf = autocorrelation(L - (slope[:, None] * t[None, :] + icpt[:, None]))
    cl = correlation_length(acf)
    return {"ratio": var / mean_inc ** 2 if mean_inc > 0 else float("nan"), "variance": var,
            "mean_increment": mean_inc,
            "corr_length": float(cl) if np.isfinite(cl) else float(len(acf) - 1),
            "increment_scale": float(np.abs(inc).mean())}


def _calibrate_step(rise_of, target, sigma0, rtol=1e-3, max_iter=60):
    """``sigma`` with ``rise_of(sigma) = target`` (``rise_of`` increasing in sigma, ~sigma^2
    near a minimum): secant steps in (log sigma, log rise), bracketed, with bisection when a
    step leaves the bracket. Returns ``(sigma, rise, n_evaluations)``; raises if no sigma in
    [sigma0 * 1e-8, sigma0 * 1e8] reaches the target."""
    x = float(np.log(sigma0))
    xmin, xmax = x - np.log(1e8), x + np.log(1e8)
    lo = hi = None  # (x, f) with f < 0 / f > 0, f = log(rise / target)
    best = None
    for it in range(1, max_iter + 1):
        r = rise_of(float(np.exp(x)))
        f = float(np.log(r / target)) if r > 0 else -np.inf
        if best is None or abs(f) < abs(best[1]):
            best = (x, f, r)
        if abs(f) <= np.log1p(rtol):
            return float(np.exp(x)), r, it
        if f < 0:
            lo = (x, f)
        else:
            hi = (x, f)
        if lo is not None and hi is not None:
            if np.isfinite(lo[1]):
                nx = lo[0] - lo[1] * (hi[0] - lo[0]) / (hi[1] - lo[1])
            else:
                nx = 0.5 * (lo[0] + hi[0])
            a, b = sorted((lo[0], hi[0]))
            if not (a + 0.05 * (b - a) < nx < b - 0.05 * (b - a)):
                nx = 0.5 * (a + b)
            if b - a < 1e-12:
                break
        elif np.isfinite(f):
            nx = x - f / 2.0  # quadratic scaling: rise ~ sigma^2
            nx = min(max(nx, x - np.log(100.0)), x + np.log(100.0))
        else:
            nx = x + np.log(4.0)
        if not xmin <= nx <= xmax:
            break
        x = nx
    if best is not None and abs(best[1]) <= np.log1p(0.05):
        return float(np.exp(best[0])), best[2], it
    raise ValueError(f"ruggedness: no step size gives a mean one-step loss rise of {target:g} "
                     f"(closest: {best[2] if best else float('nan'):.3g})")


def _ruggedness(net, X, y, L0, p, rng, nt):
    """'scaled': free dense walks ``theta + sigma S_t`` (``S_t`` = cumulative sums of N(0, I_P)
    steps from the measure's stream), sigma calibrated so that the mean loss at the walks' ends
    is ``rise`` above L(theta), every point evaluated by the one evaluator; 'raw': free dense
    walks of the Protocol 1 engine (``walks.random_walk``, relative step ``eta``). Statistics
    by :func:`_ruggedness_stats`."""
    p["seed"] = _engine_seed(rng)
    T = p["steps"]
    th = net.flat().astype(np.float64)
    P = th.size
    n0 = float(np.linalg.norm(th))
    out: Dict[str, float] = {}
    if p["definition"] == "scaled":
        S = _WalkPaths(p["seed"], p["n_walks"], T, P)
        l0, _ = batch_loss(net, th[None, :].astype(np.float32), X, y, nt)
        sigma0 = p["eta"] * n0 / np.sqrt(P) if n0 > 0 else 1e-2
        sigma, rise, n_eval = _calibrate_step(
            lambda s: float(_walk_losses(net, X, y, s, S, nt, ends_only=True).mean() - l0[0]),
            p["rise"], sigma0)
        p["calibration_evaluations"] = n_eval
        loss = _walk_losses(net, X, y, sigma, S, nt)
        st = _ruggedness_stats(loss)
        out["ruggedness"] = st["ratio"]
    else:
        wr = random_walk(net, (X, y), T, step_size=p["eta"], mode="free", move="dense",
                         n_walkers=p["n_walks"], record_every=1, seed=p["seed"],
                         step_scale="relative", eval_test=False, n_threads=nt)
        sigma = float(wr.sigma)
        st = _ruggedness_stats(wr.train_loss)
        out["ruggedness"] = st["variance"]
    out["corr_length"] = st["corr_length"]
    out["walk_sigma"] = float(sigma)
    out["walk_eta"] = float(sigma * np.sqrt(P) / n0) if n0 > 0 else float("nan")
    out["increment_scale"] = st["increment_scale"]
    out["mean_increment"] = st["mean_increment"]
    return out


def _copy_barrier(net, X, y, L0, p, rng, nt):
    """Protocol 2 engine (``interpolation.permutation_barrier_scan``): copies of ``net`` with
    ``k`` disjoint transpositions of first-hidden-layer units, barrier along the straight path
    (``barrier``'s default definition), mean over the copies."""
    if net.depth < 2:
        raise ValueError("copy_barrier needs at least one hidden layer")
    k = min(int(p["k"]), net.widths[1] // 2)
    if k < 1:
        raise ValueError("copy_barrier needs a hidden layer with at least 2 units")
    p["seed"] = _engine_seed(rng)
    scan = permutation_barrier_scan(net, (X, y), ks=[k], n_trials=int(p["n_copies"]),
                                    seed=p["seed"], n_points=int(p["n_alpha"]), layer=0,
                                    full=False, n_threads=nt)
    p["definition"] = scan.definition
    return {"copy_barrier": float(scan.barrier.mean()), "copy_barrier_k": float(k)}


# ---- the public entry point -----------------------------------------------------------------------
@dataclass
class FlatnessResult(Result):
    """Values of the requested measures (``values``: name -> float, including auxiliary
    quantities such as standard errors) and the parameters each was computed with.
    ``to_dict()``, ``table()`` (measure | value); no ``plot()`` (the measures have different
    units; compare networks with ``glasslens.flatness.generalization_study(...).plot()``)."""

    _plot_unavailable = ("the measures have different units, so one figure of one network "
                         "would mislead; compare networks with "
                         "glasslens.flatness.generalization_study(...).plot()")

    values: Dict[str, float]
    params: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    loss: float = float("nan")
    accuracy: float = float("nan")
    balanced: bool = False

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    @deprecated_method("as_dict", "to_dict")
    def as_dict(self) -> Dict[str, Any]:
        """Deprecated: use :meth:`to_dict`."""
        return {"values": dict(self.values), "params": self.params, "loss": self.loss,
                "accuracy": self.accuracy, "balanced": self.balanced}

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """values, params, loss, accuracy, balanced (JSON types; non-finite values -> None)."""
        from .._lib._results import jsonable

        return jsonable({"values": dict(self.values), "params": self.params, "loss": self.loss,
                         "accuracy": self.accuracy, "balanced": self.balanced})

    def table(self) -> str:
        """Markdown table: measure | value."""
        return markdown_table([{"measure": k, "value": float(v)} for k, v in self.values.items()],
                              ["measure", "value"])


def measures(net: MLP, data: Any, y: Any = None, which: Sequence[str] = ALL_MEASURES, *,
             balance: bool = False, params: Optional[Dict[str, Dict[str, Any]]] = None,
             seed: int = 0, n_threads: Optional[int] = None) -> FlatnessResult:
    """Compute flatness/sharpness/ruggedness measures of ``net`` on its training data.

    Parameters
    ----------
    net : the trained network
    data : ``(X, y)``, a Dataset (its training split is used), or ``X`` with ``y`` given
    which : names from ``ALL_MEASURES``
    balance : balance every hidden unit's incoming/outgoing norms first (rescaling invariance)
    params : per-measure overrides of the defaults, e.g. ``{"local_energy": {"radius": 0.2}}``
    seed : all random directions, walks and probes derive from it (each measure gets its own
        stream, so adding a measure does not change the others)
    """
    _check_net(net)
    if isinstance(which, str):
        which = (which,)
    which = list(which)
    for w in which:
        if w not in ALL_MEASURES:
            raise ValueError(f"unknown measure {w!r}; choose from {ALL_MEASURES}")
    params = dict(params or {})
    for k in params:
        if k not in ALL_MEASURES:
            raise ValueError(f"params has an unknown measure {k!r}")
    s = check_seed(seed)
    nt = resolve_threads(n_threads)
    X, yy = _data(data, y, net)
    target = _balance_network(net) if balance else net
    H0 = HessianOperator(target, X, yy, nt)
    L0 = H0.loss
    values: Dict[str, float] = {}
    used: Dict[str, Dict[str, Any]] = {}
    for idx, w in enumerate(ALL_MEASURES):
        if w not in which:
            continue
        p = dict(_DEFAULTS[w])
        for key, val in params.get(w, {}).items():
            if key not in p:
                raise ValueError(f"unknown parameter {key!r} for measure {w!r}; known: {sorted(p)}")
            p[key] = val
        rng = np.random.default_rng([s, idx])
        if w == "local_energy":
            p["radius"] = check_float(p["radius"], "radius", 0.0, low_open=True)
            p["n_dirs"] = check_int(p["n_dirs"], "n_dirs", 2)
            p.update(_PROFILE_OPTS)
            out = _local_energy(target, X, yy, L0, p, rng, nt)
        elif w == "basin_radius":
            p["n_dirs"] = check_int(p["n_dirs"], "n_dirs", 1)
            p["delta"] = check_float(p["delta"], "delta", 0.0, low_open=True)
            p.update(_PROFILE_OPTS)
            out = _basin_radius(target, X, yy, L0, p, rng, nt)
        elif w == "eps_sharpness":
            p["eps"] = check_float(p["eps"], "eps", 0.0, low_open=True)
            p["steps"] = check_int(p["steps"], "steps", 1)
            # the rise is measured within the operator's own kernel (as before)
            out = _eps_sharpness(target, X, yy, H0._engine_loss, p, rng, nt)
        elif w == "hessian_top":
            p["seed"] = int(rng.integers(2**31))
            r = hessian_top(target, H0, k=1, max_iter=check_int(p["iters"], "iters", 1),
                            tol=p["tol"], seed=p["seed"])
            out = {"hessian_top": float(r.values[0])}
        elif w == "hessian_trace":
            p["seed"] = int(rng.integers(2**31))
            r = hessian_trace(target, H0, n_samples=check_int(p["n_samples"], "n_samples", 2),
                              seed=p["seed"])
            out = {"hessian_trace": r.value, "hessian_trace_stderr": r.stderr}
        elif w == "ruggedness":
            p["steps"] = check_int(p["steps"], "steps", 4)
            p["n_walks"] = check_int(p["n_walks"], "n_walks", 1)
            if p["definition"] not in ("scaled", "raw"):
                raise ValueError("ruggedness definition must be 'scaled' or 'raw', got "
                                 f"{p['definition']!r}")
            p["eta"] = check_float(p["eta"], "eta", 0.0, low_open=True)
            p["rise"] = check_float(p["rise"], "rise", 0.0, low_open=True)
            p.update(move="dense", mode="free")
            out = _ruggedness(target, X, yy, L0, p, rng, nt)
        else:
            p["layer"] = 0
            out = _copy_barrier(target, X, yy, L0, p, rng, nt)
        p["seed_stream"] = [s, idx]
        values.update(out)
        used[w] = p
    return FlatnessResult(values=values, params=used, loss=L0, accuracy=H0.accuracy,
                          balanced=bool(balance))
