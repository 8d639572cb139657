"""Curvature of the training loss: exact Hessian-vector products, top eigenvalues, trace and
spectral density of the Hessian of the mean softmax cross-entropy of an ``MLP``.

The Hessian-vector products are computed in C++ by forward-over-backward differentiation
(Pearlmutter's R-operator) on a forward pass cached at theta: exact up to float32 rounding (the
loss, the softmax and the sums over samples are accumulated in double), parallel over fixed
tiles of samples and bit-identical for any thread count. ReLU networks are piecewise smooth;
the Hessian is that of the smooth piece containing theta (the ReLU second derivative is 0).

Data arguments: either ``X`` (n, d_in) and ``y`` (n,) integer labels, or a data set in any
accepted form (``Dataset``, object with ``X_train``/``y_train``, ``(X, y)``,
``(X_train, y_train, X_test, y_test)``, mapping) in ``X`` with ``y=None`` (its training split).
Reported losses (``HessianOperator.loss``/``accuracy``, :func:`loss_and_gradient`) come from the
one evaluator ``glasslens.nn.evaluate``; the operator's cached forward pass agrees with it to
float32 rounding (exactly on the dense-input path).
Eigenvalues and traces are in units of loss per squared parameter (nats / param^2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _core
from .._lib._deprecation import renamed_kwargs
from .._lib._results import Result, figure_axes
from .._lib._data import as_data_or_xy
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed, require_finite_result
from ..nn._evaluation import mean_loss
from ..nn._network import MLP

__all__ = [
    "HessianOperator",
    "loss_and_gradient",
    "hvp",
    "hessian_top",
    "hessian_trace",
    "hessian_density",
    "hessian_explicit",
    "TopEigen",
    "TraceEstimate",
    "SpectralDensity",
]


def _check_net(net: Any) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a glasslens.MLP, got {type(net).__name__}")
    return net


def _data(X: Any, y: Any, net: MLP) -> Tuple[np.ndarray, np.ndarray]:
    """Validated float32 X (n, d_in) and int32 y (n,) through the one data contract: a data set
    in any accepted form in ``X`` (its training split) with ``y=None``, or inputs ``X`` with
    labels ``y``."""
    d = as_data_or_xy(X, y, n_features=net.widths[0], n_classes=net.widths[-1])
    return d.X_train, d.y_train


class HessianOperator:
    """The Hessian of the mean training loss of ``net`` on ``(X, y)``, as a linear operator.

    Construction runs one forward pass and the backward pass of the per-sample output
    gradients (cached); ``matvec``/``matmat`` then cost about two passes each. Also gives the
    loss, accuracy and (computed on first request) the gradient at theta.
    ``as_linear_operator()`` returns a ``scipy.sparse.linalg.LinearOperator`` (float64 in/out).

    ``sparse_input``: the input layer skips zero inputs when True (fast only for very sparse inputs),
    uses dense GEMM when False; None decides from the fraction of nonzeros in X (< 10%: below
    that the zero-skipping path wins, measured on 784-128-10; above it the dense GEMM does).
    """

    def __init__(self, net: MLP, X: Any, y: Any = None, n_threads: Optional[int] = None,
                 sparse_input: Optional[bool] = None, *, _borrow: bool = False):
        # _borrow (internal): the C++ operator reads self.X in place instead of copying it; only
        # for operators that live inside one library call (X cannot change meanwhile).
        self.net = _check_net(net)
        self.X, self.y = _data(X, y, net)
        self.n_threads = resolve_threads(n_threads)
        sp = -1 if sparse_input is None else int(bool(sparse_input))
        self._op = _core.flatness.HessianOperator(net.widths, net.has_bias, net.flat(), self.X,
                                                  self.y, self.n_threads, sp, bool(_borrow))
        self.n_matvec = 0
        self._reported: Optional[Tuple[float, float]] = None

    def _evaluated(self) -> Tuple[float, float]:
        if self._reported is None:
            self._reported = mean_loss(self.net, self.X, self.y, self.n_threads)
        return self._reported

    @property
    def _engine_loss(self) -> float:
        """The loss of the operator's own cached forward pass (for perturbed-point searches)."""
        return float(self._op.loss)

    @property
    def sparse_input(self) -> bool:
        return bool(self._op.sparse_input)

    @property
    def n_params(self) -> int:
        return int(self._op.n_params)

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.n_params, self.n_params)

    @property
    def loss(self) -> float:
        """Mean cross-entropy (nats) at theta, from the one evaluator (``nn.evaluate``)."""
        return self._evaluated()[0]

    @property
    def accuracy(self) -> float:
        """Accuracy at theta, from the one evaluator (``nn.evaluate``)."""
        return self._evaluated()[1]

    def grad(self) -> np.ndarray:
        """Gradient of the mean loss at theta, float32 ``(P,)``."""
        return np.asarray(self._op.grad(self.n_threads))

    def matvec(self, v: Any) -> np.ndarray:
        """``H v`` for ``v`` of shape ``(P,)``; float32 result."""
        va = as_array(v, "v", np.float32, shape=(self.n_params,), finite=False)  # checked in C++
        self.n_matvec += 1
        return np.asarray(self._op.apply(va, self.n_threads))

    def matmat(self, V: Any) -> np.ndarray:
        """``H V^T`` row by row: ``V`` of shape ``(k, P)`` -> ``(k, P)`` float32."""
        Va = as_array(V, "V", np.float32, shape=(None, self.n_params))
        self.n_matvec += Va.shape[0]
        return np.asarray(self._op.apply(Va, self.n_threads))

    def _mv64(self, v: np.ndarray) -> np.ndarray:
        self.n_matvec += 1
        return np.asarray(self._op.apply(np.ascontiguousarray(v, dtype=np.float32),
                                         self.n_threads), dtype=np.float64)

    def as_linear_operator(self) -> Any:
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(self.shape, matvec=self._mv64, dtype=np.float64)


def loss_and_gradient(net: MLP, X: Any, y: Any = None,
                      n_threads: Optional[int] = None) -> Tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient (float32 ``(P,)``) at the parameters of ``net``."""
    H = HessianOperator(net, X, y, n_threads, _borrow=True)
    return H.loss, H.grad()


def hvp(net: MLP, X: Any, y: Any, v: Any, n_threads: Optional[int] = None) -> np.ndarray:
    """Exact Hessian-vector product(s) of the mean training loss.

    ``v``: ``(P,)`` or ``(k, P)`` in the flat parameter layout of ``MLP.flat()``. Returns float32
    of the same shape. For repeated products at one theta build a ``HessianOperator`` once.
    """
    H = HessianOperator(net, X, y, n_threads, _borrow=True)
    va = as_array(v, "v", np.float32, finite=False)  # finiteness checked in C++
    if va.ndim not in (1, 2) or va.shape[-1] != H.n_params:
        raise ValueError(f"v must have shape ({H.n_params},) or (k, {H.n_params}), got {va.shape}")
    out = np.asarray(H._op.apply(va, H.n_threads))
    require_finite_result("hvp", "the product", out,
                          f"v (max |v| = {float(np.max(np.abs(va))):.3g}) overflows float32: "
                          f"scale v down (the product is linear in v)")
    return out


@dataclass
class TopEigen(Result):
    """Top Hessian eigenvalues by Lanczos (descending), with convergence information."""

    values: np.ndarray
    vectors: Optional[np.ndarray]
    residuals: np.ndarray
    converged: bool
    n_iter: int
    n_matvec: int
    params: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Eigenvalues, residuals, convergence, counts and parameters (the eigenvectors with
        ``arrays=True``)."""
        from .._lib._results import jsonable

        d = {"values": self.values, "residuals": self.residuals, "converged": self.converged,
             "n_iter": self.n_iter, "n_matvec": self.n_matvec, "params": dict(self.params)}
        if arrays and self.vectors is not None:
            d["vectors"] = self.vectors
        return jsonable(d)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """The top eigenvalues against their rank (log scale when all are positive)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        v = np.asarray(self.values, dtype=np.float64)
        ax.plot(np.arange(1, len(v) + 1), v, "o-", color="C0")
        if v.size and np.all(v > 0):
            ax.set_yscale("log")
        ax.set_xlabel("rank")
        ax.set_ylabel("Hessian eigenvalue")
        ax.set_title(f"top {len(v)} eigenvalues ({'' if self.converged else 'not '}converged)",
                     fontsize=9)
        return fig


def _lanczos(mv: Any, P: int, m: int, q0: np.ndarray, k: int = 0, tol: float = 0.0,
             check_every: int = 1):
    """Lanczos with full reorthogonalisation (float64). Stops early when the top-k Ritz pairs
    have residual <= tol * |theta| (k > 0). Returns (alpha, beta, Q).

    The vector algebra runs with single-threaded BLAS: it is cheap, and BLAS threads spinning
    next to the OpenMP threads of the products slow both down (measured 2.7x on 2 cores)."""
    with _blas_single_thread():
        return _lanczos_impl(mv, P, m, q0, k, tol, check_every)


_CONTROLLER: Any = None


def _blas_single_thread() -> Any:
    """Context limiting BLAS to one thread (threadpoolctl controller built once: cheap)."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _lanczos_impl(mv: Any, P: int, m: int, q0: np.ndarray, k: int, tol: float,
                  check_every: int):
    # Memory traffic dominates the vector algebra for large P: buffers are preallocated and
    # updated in place, and the second classical Gram-Schmidt pass runs only when the first
    # one removed a large part of w (||w|| dropped below 1/sqrt(2) of its value: the
    # Daniel-Gragg-Kaufman-Stewart criterion), which keeps the basis orthogonal to working
    # precision at about half the cost of always reorthogonalising twice.
    Q = np.empty((m + 1, P))
    Q[0] = q0 / np.linalg.norm(q0)
    tmp = np.empty(P)
    alpha: list = []
    beta: list = []
    for j in range(m):
        w = np.asarray(mv(Q[j]), dtype=np.float64)
        if not w.flags.writeable or not w.flags.c_contiguous or np.may_share_memory(w, Q):
            w = np.array(w, dtype=np.float64)
        a = float(Q[j] @ w)
        alpha.append(a)
        np.multiply(Q[j], a, out=tmp)
        w -= tmp
        if j > 0:
            np.multiply(Q[j - 1], beta[-1], out=tmp)
            w -= tmp
        Qj = Q[: j + 1]
        nrm = float(np.linalg.norm(w))
        for _ in range(3):  # full reorthogonalisation (CGS with DGKS re-pass)
            np.dot(Qj.T, Qj @ w, out=tmp)
            w -= tmp
            before, nrm = nrm, float(np.linalg.norm(w))
            if nrm > 0.7071 * before:
                break
        b = nrm
        scale = max(abs(x) for x in alpha) if alpha else 1.0
        if b <= 1e-12 * max(scale, 1e-30):  # invariant subspace: Ritz values are exact
            beta.append(0.0)
            break
        beta.append(b)
        np.multiply(w, 1.0 / b, out=Q[j + 1])
        if k and tol > 0 and j + 1 >= k and ((j + 1) % check_every == 0):
            th, S = _tridiag_eig(alpha, beta[:-1])
            res = np.abs(b * S[-1, ::-1][:k])
            top = np.abs(th[::-1][:k])
            if np.all(res <= tol * np.maximum(top, 1e-12)):
                break
    return np.array(alpha), np.array(beta), Q[: len(alpha)]


def _tridiag_eig(alpha: Any, beta: Any):
    from scipy.linalg import eigh_tridiagonal

    a = np.asarray(alpha, dtype=np.float64)
    if len(a) == 1:
        return a.copy(), np.ones((1, 1))
    return eigh_tridiagonal(a, np.asarray(beta, dtype=np.float64)[: len(a) - 1])


@renamed_kwargs(iters="max_iter")
def hessian_top(net: MLP, data: Any, y: Any = None, k: int = 1, max_iter: Optional[int] = None,
                tol: float = 1e-5, seed: int = 0, return_vectors: bool = False,
                n_threads: Optional[int] = None) -> TopEigen:
    """Top-``k`` (largest algebraic) Hessian eigenvalues by Lanczos with full
    reorthogonalisation, started from a Gaussian vector drawn from ``seed``.

    ``max_iter`` (formerly ``iters``, deprecated): maximum Lanczos steps (default ``min(P, max(40, 4k + 20))``); stops earlier when
    every wanted Ritz pair has relative residual <= ``tol``. Products are float32, so do not ask
    for ``tol`` much below 1e-6.
    """
    _check_net(net)
    k = check_int(k, "k", 1)
    tol = check_float(tol, "tol", 0.0)
    s = check_seed(seed)
    H = data if isinstance(data, HessianOperator) else HessianOperator(net, data, y, n_threads,
                                                                        _borrow=True)
    P = H.n_params
    if k > P:
        raise ValueError(f"k={k} exceeds the number of parameters {P}")
    m = min(P, max(40, 4 * k + 20)) if max_iter is None else check_int(max_iter, "max_iter", k)
    m = min(m, P)
    q0 = np.random.default_rng(s).standard_normal(P)
    start = H.n_matvec
    alpha, beta, Q = _lanczos(H._mv64, P, m, q0, k=k, tol=tol)
    th, S = _tridiag_eig(alpha, beta[:-1])
    order = np.argsort(th)[::-1][:k]
    b_last = beta[len(alpha) - 1] if len(beta) >= len(alpha) else 0.0
    res = np.abs(b_last * S[-1, order])
    vals = th[order]
    vecs = (S[:, order].T @ Q) if return_vectors else None
    conv = bool(np.all(res <= max(tol, 0.0) * np.maximum(np.abs(vals), 1e-12))) or b_last == 0.0
    return TopEigen(values=vals, vectors=vecs, residuals=res, converged=conv, n_iter=len(alpha),
                    n_matvec=H.n_matvec - start,
                    params={"k": k, "iters": m, "tol": tol, "seed": s, "method": "lanczos-full-reorth"})


@dataclass
class TraceEstimate(Result):
    """Hutchinson estimate of tr(H) with its standard error (std of samples / sqrt(n))."""

    value: float
    stderr: float
    n_samples: int
    samples: np.ndarray
    params: Dict[str, Any] = field(default_factory=dict)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Histogram of the Hutchinson samples z^T H z with the estimate."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ax.hist(np.asarray(self.samples, dtype=np.float64), bins="auto", color="0.7")
        ax.axvline(self.value, color="C3", label=f"tr(H) = {self.value:.4g} +- {self.stderr:.2g}")
        ax.set_xlabel("z^T H z")
        ax.legend(fontsize=8)
        return fig


def hessian_trace(net: MLP, X: Any, y: Any = None, n_samples: int = 100, seed: int = 0,
                  n_threads: Optional[int] = None, batch: int = 16) -> TraceEstimate:
    """Hutchinson estimator of the Hessian trace, ``mean_i z_i^T H z_i`` with Rademacher
    ``z_i`` drawn from ``seed``; ``stderr`` is the standard error of the mean."""
    _check_net(net)
    ns = check_int(n_samples, "n_samples", 2)
    s = check_seed(seed)
    bt = check_int(batch, "batch", 1)
    H = X if isinstance(X, HessianOperator) else HessianOperator(net, X, y, n_threads,
                                                                  _borrow=True)
    rng = np.random.default_rng(s)
    out = np.empty(ns)
    for i0 in range(0, ns, bt):
        b = min(bt, ns - i0)
        Z = rng.integers(0, 2, size=(b, H.n_params)).astype(np.float32) * 2.0 - 1.0
        HZ = H.matmat(Z).astype(np.float64)
        out[i0:i0 + b] = np.einsum("ij,ij->i", Z.astype(np.float64), HZ)
    return TraceEstimate(value=float(out.mean()), stderr=float(out.std(ddof=1) / np.sqrt(ns)),
                         n_samples=ns, samples=out,
                         params={"n_samples": ns, "seed": s, "probe": "rademacher"})


@dataclass
class SpectralDensity(Result):
    """Stochastic Lanczos quadrature estimate of the Hessian eigenvalue density."""

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray     # (n_probes, n_steps) Ritz values
    weights: np.ndarray   # (n_probes, n_steps) quadrature weights (sum to 1 per probe)
    params: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Parameters, the grid range and the extreme Ritz values (grid, density, nodes and
        weights with ``arrays=True``)."""
        from .._lib._results import jsonable

        d: Dict[str, Any] = {"params": dict(self.params),
                             "grid_range": [float(self.grid[0]), float(self.grid[-1])],
                             "ritz_min": float(np.min(self.nodes)),
                             "ritz_max": float(np.max(self.nodes))}
        if arrays:
            d.update(grid=self.grid, density=self.density, nodes=self.nodes, weights=self.weights)
        return jsonable(d)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """The estimated eigenvalue density (log scale)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ax.plot(self.grid, np.maximum(self.density, 1e-12), color="C0")
        ax.set_yscale("log")
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        return fig


def hessian_density(net: MLP, X: Any, y: Any = None, n_probes: int = 4, n_steps: int = 60,
                    n_grid: int = 512, sigma: Optional[float] = None, seed: int = 0,
                    n_threads: Optional[int] = None) -> SpectralDensity:
    """Spectral density of the Hessian by stochastic Lanczos quadrature (Ghorbani et al. 2019):
    ``n_probes`` Rademacher probes, ``n_steps`` Lanczos steps each, Gaussian broadening of width
    ``sigma`` (default 1% of the spectral range). The density integrates to 1 over the grid."""
    _check_net(net)
    npb = check_int(n_probes, "n_probes", 1)
    m = check_int(n_steps, "n_steps", 2)
    ng = check_int(n_grid, "n_grid", 8)
    s = check_seed(seed)
    H = X if isinstance(X, HessianOperator) else HessianOperator(net, X, y, n_threads,
                                                                  _borrow=True)
    m = min(m, H.n_params)
    rng = np.random.default_rng(s)
    nodes = np.zeros((npb, m))
    weights = np.zeros((npb, m))
    for p in range(npb):
        z = rng.integers(0, 2, size=H.n_params) * 2.0 - 1.0
        alpha, beta, _ = _lanczos(H._mv64, H.n_params, m, z)
        th, S = _tridiag_eig(alpha, beta[:-1])
        nodes[p, : len(th)] = th
        weights[p, : len(th)] = S[0] ** 2
    lo, hi = nodes.min(), nodes.max()
    span = max(hi - lo, 1e-12)
    sg = 0.01 * span if sigma is None else check_float(sigma, "sigma", 0.0, low_open=True)
    grid = np.linspace(lo - 5 * sg, hi + 5 * sg, ng)
    dens = np.zeros(ng)
    for p in range(npb):
        d = grid[:, None] - nodes[p][None, :]
        dens += (weights[p][None, :] * np.exp(-0.5 * (d / sg) ** 2)).sum(1)
    dens /= npb * sg * np.sqrt(2 * np.pi)
    return SpectralDensity(grid=grid, density=dens, nodes=nodes, weights=weights,
                           params={"n_probes": npb, "n_steps": m, "sigma": sg, "seed": s})


def hessian_explicit(net: MLP, X: Any, y: Any = None, n_threads: Optional[int] = None,
                     max_params: int = 5000) -> np.ndarray:
    """The full ``(P, P)`` Hessian (float64 copy of float32 products), column by column.
    For tiny networks and tests only (refuses ``P > max_params``)."""
    _check_net(net)
    H = HessianOperator(net, X, y, n_threads, _borrow=True)
    P = H.n_params
    if P > check_int(max_params, "max_params", 1):
        raise ValueError(f"the network has {P} parameters; hessian_explicit is limited to "
                         f"max_params={max_params}")
    return np.asarray(H._op.apply(np.eye(P, dtype=np.float32), H.n_threads), dtype=np.float64)
