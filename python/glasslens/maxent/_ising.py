"""The pairwise maximum-entropy (Ising) model.

``P(s) = exp(h.s + sum_{i<j} J_ij s_i s_j) / Z`` for ``s`` in ``{-1, +1}^N`` (inverse temperature 1),
``J`` symmetric with zero diagonal; energy ``E(s) = -1/2 s^T J s - h^T s`` (dimensionless, in
units of k_B T). Exact enumeration (N <= 20), Monte Carlo sampling (Metropolis or Gibbs, C++),
and loopy belief propagation (C++) for moments and the Bethe free energy.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._lib._io import load_npz, member, save_npz
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed, check_spins
from .._lib._limits import MAX_ENUMERATE, MAX_RUNS

PathLike = Union[str, Path]
_FORMAT = "glasslens-ising-v1"


class BPConvergenceWarning(RuntimeWarning):
    """Belief propagation stopped at ``max_sweeps`` without reaching its tolerance."""


def _check_J(J: Any, n: int, name: str = "J", atol: float = 1e-10) -> np.ndarray:
    J = as_array(J, name, np.float64, shape=(n, n))
    scale = max(1.0, float(np.max(np.abs(J))))
    if np.max(np.abs(J - J.T)) > atol * scale:
        raise ValueError(f"{name} must be symmetric (max |J - J^T| = {np.max(np.abs(J - J.T)):.3g})")
    if np.any(np.diag(J) != 0):
        raise ValueError(f"{name} must have a zero diagonal")
    return J


@dataclass
class BPState:
    """Result of belief propagation on an Ising model.

    m: (N,) magnetisations; C: (N, N) ``<s_i s_j>`` (unit diagonal) or None, from the pair
    beliefs of coupled pairs (for J_ij = 0 exactly, BP gives C_ij = m_i m_j); free_energy:
    Bethe ``beta F`` (so ``-free_energy`` approximates ln Z); messages: (N, N) with
    ``messages[i, j] = m_{i->j}`` (reuse them as a warm start); converged, sweeps, residual.
    """

    m: np.ndarray
    C: Optional[np.ndarray]
    free_energy: float
    messages: np.ndarray
    converged: bool
    sweeps: int
    residual: float


class Ising:
    """Pairwise Ising model with fields ``h`` (N,) and couplings ``J`` (N, N).

    ``J`` must be symmetric with a zero diagonal (checked). ``info`` holds fit diagnostics when
    the model comes from an inference routine (not saved).
    """

    def __init__(self, h: Any, J: Any) -> None:
        h = as_array(h, "h", np.float64, ndim=1)
        n = h.shape[0]
        self.h: np.ndarray = h
        self.J: np.ndarray = _check_J(J, n)
        self.info: Dict[str, Any] = {}

    # ---- basics ---------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of spins N."""
        return int(self.h.shape[0])

    def __repr__(self) -> str:
        off = self.J[np.triu_indices(self.n, 1)]
        return (f"Ising(N={self.n}, |h| mean={np.mean(np.abs(self.h)):.3g}, "
                f"J std={off.std() if off.size else 0.0:.3g})")

    def subset(self, indices: Any) -> "Ising":
        """The model restricted to ``indices`` (fields and couplings inside the set only)."""
        idx = _as_index(indices, self.n)
        return Ising(self.h[idx], self.J[np.ix_(idx, idx)])

    def energy(self, s: Any) -> Union[float, np.ndarray]:
        """``E(s) = -1/2 s^T J s - h^T s`` for one configuration (N,) or a batch (K, N)."""
        arr = np.asarray(s)
        one = arr.ndim == 1
        X = check_spins(arr[None, :] if one else arr, "s", self.n).astype(np.float64)
        E = -0.5 * np.einsum("ki,ki->k", X @ self.J, X) - X @ self.h
        return float(E[0]) if one else E

    # ---- exact ----------------------------------------------------------------------------------
    def enumerate(self) -> Tuple[np.ndarray, np.ndarray]:
        """All 2^N states (int8, (2^N, N); state k has s_i = +1 iff bit i of k is set) and their
        probabilities (float64, (2^N,)). N <= 20. Plain numpy (independent of the C++ code)."""
        n = self.n
        if n > MAX_ENUMERATE:
            raise ValueError(f"enumerate needs N <= {MAX_ENUMERATE}, got N = {n}")
        k = np.arange(2 ** n, dtype=np.int64)
        S = (((k[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.int8)
        lw = np.empty(2 ** n)
        for a in range(0, 2 ** n, 65536):
            X = S[a:a + 65536].astype(np.float64)
            lw[a:a + 65536] = 0.5 * np.einsum("ki,ki->k", X @ self.J, X) + X @ self.h
        p = np.exp(lw - lw.max())
        p /= p.sum()
        return S, p

    def exact_moments(self, n_threads: Optional[int] = None) -> Dict[str, Any]:
        """Exact ``{"m": (N,), "C": (N, N) <s_i s_j>, "logZ": float}`` by Gray-code enumeration
        in C++ (N <= 20)."""
        if self.n > MAX_ENUMERATE:
            raise ValueError(f"exact_moments needs N <= {MAX_ENUMERATE}, got N = {self.n}")
        lz, m, C = _core.maxent.exact_moments(self.h, self.J, resolve_threads(n_threads))
        return {"m": m, "C": C, "logZ": float(lz)}

    # ---- Monte Carlo ----------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        method: str = "metropolis",
        burn_in: int = 1000,
        thin: int = 1,
        chains: int = 8,
        seed: int = 0,
        init: Any = None,
        n_threads: Optional[int] = None,
        return_rate: bool = False,
    ) -> Any:
        """``n`` samples (int8, (n, N)) from Markov chains with sequential single-spin sweeps.

        method: "metropolis" or "gibbs" (heat bath). burn_in: sweeps discarded per chain; thin:
        sweeps between recorded samples. ``chains`` independent chains (random stream keyed by
        (seed, chain)) each record ceil(n / chains) samples; rows are chain-major, truncated to n.
        init: optional (chains, N) +-1 starts. With return_rate, also the flip rate.
        """
        n = check_int(n, "n", 1, 10**9)
        burn_in = check_int(burn_in, "burn_in", 0)
        thin = check_int(thin, "thin", 1)
        chains = check_int(chains, "chains", 1, MAX_RUNS)
        seed = check_seed(seed)
        if method not in ("metropolis", "gibbs"):
            raise ValueError(f"method must be 'metropolis' or 'gibbs', got {method!r}")
        per = -(-n // chains)
        if per * chains * self.n > 4 * 10**9:
            raise ValueError(f"n * N = {per * chains * self.n} samples*spins is absurdly large")
        ini = None
        if init is not None:
            ini = check_spins(init, "init", self.n)
            if ini.shape[0] != chains:
                raise ValueError(f"init has {ini.shape[0]} rows, expected chains = {chains}")
        X, rate = _core.maxent.sample(self.h, self.J, chains, per, burn_in, thin, seed, method,
                                      ini, resolve_threads(n_threads))
        X = X[:n]
        return (X, float(rate)) if return_rate else X

    # ---- belief propagation ---------------------------------------------------------------------
    def bp(
        self,
        messages: Any = None,
        tol: float = 1e-6,
        max_sweeps: int = 1000,
        criterion: str = "max",
        damping: float = 0.0,
        with_C: bool = True,
        warn: bool = True,
        auto_damping: float = 0.5,
        n_threads: Optional[int] = None,
    ) -> BPState:
        """Loopy belief propagation (synchronous sweeps on the dense graph).

        Stops when the max (criterion="max") or mean ("mean") absolute message change of a sweep
        is <= tol, or after max_sweeps. Undamped BP that fails is retried once with
        ``damping = auto_damping`` (0 disables the retry) from its last messages; if that fails
        too, a BPConvergenceWarning gives the residual (unless warn=False) and ``converged`` is
        False. messages: optional (N, N) warm start.
        """
        tol = check_float(tol, "tol", 0.0)
        max_sweeps = check_int(max_sweeps, "max_sweeps", 1)
        damping = check_float(damping, "damping", 0.0, 0.999)
        auto_damping = check_float(auto_damping, "auto_damping", 0.0, 0.999)
        if criterion not in ("max", "mean"):
            raise ValueError(f"criterion must be 'max' or 'mean', got {criterion!r}")
        nt = resolve_threads(n_threads)
        msg = None if messages is None else as_array(messages, "messages", np.float64,
                                                     shape=(self.n, self.n))
        msg, sweeps, res, conv = _core.maxent.bp_run(self.h, self.J, msg, max_sweeps, tol,
                                                     criterion == "mean", damping, nt)
        used = damping
        if not conv and damping == 0.0 and auto_damping > 0.0:
            used = auto_damping
            msg, s2, res, conv = _core.maxent.bp_run(self.h, self.J, msg, max_sweeps, tol,
                                                     criterion == "mean", auto_damping, nt)
            sweeps += s2
        if not conv and warn:
            warnings.warn(
                f"belief propagation did not converge in {sweeps} sweeps (damping {used:g}, "
                f"residual {res:.3g} > tol {tol:.3g}); try stronger damping or more sweeps",
                BPConvergenceWarning, stacklevel=2)
        m, C, F = _core.maxent.bp_marginals(self.h, self.J, msg, with_C, nt)
        return BPState(m=m, C=C, free_energy=float(F), messages=msg, converged=bool(conv),
                       sweeps=int(sweeps), residual=float(res))

    # ---- I/O ------------------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save ``h`` and ``J`` to ``.npz`` (no pickle)."""
        meta = {"format": _FORMAT, "kind": "Ising", "n": self.n}
        save_npz(path, meta, {"h": self.h, "J": self.J}, add_suffix=True)  # numpy's naming rule

    @classmethod
    def load(cls, path: PathLike) -> "Ising":
        """Load a model written by ``Ising.save``."""
        _, z = load_npz(path, "Ising", ("h", "J"), format=_FORMAT)
        h, J = member(z, "h", path), member(z, "J", path)
        return cls(h, J)


def _as_index(indices: Any, n: int) -> np.ndarray:
    if isinstance(indices, slice):
        return np.arange(n)[indices]
    idx = np.asarray(indices)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"boolean indices must have shape ({n},), got {idx.shape}")
        return np.flatnonzero(idx)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ValueError("indices must be a non-empty 1-D integer array, a slice or a mask")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices out of range for N = {n}")
    if np.unique(idx).size != idx.size:
        raise ValueError("indices must not repeat")
    return idx.astype(np.int64)


def sk_model(n: int, beta: float = 0.5, h_std: float = 0.1, seed: int = 0) -> Ising:
    """A Sherrington-Kirkpatrick-like test model: J_ij ~ N(0, beta^2 / N), h_i ~ N(0, h_std^2)."""
    n = check_int(n, "n", 2, 100_000)
    beta = check_float(beta, "beta", 0.0)
    h_std = check_float(h_std, "h_std", 0.0)
    rng = np.random.default_rng(check_seed(seed))
    A = rng.normal(0.0, beta / np.sqrt(n), size=(n, n))
    J = np.triu(A, 1)
    J = J + J.T
    return Ising(rng.normal(0.0, h_std, size=n), J)


def block_slices(sizes: Sequence[int]) -> Dict[str, slice]:
    """Blocks of a bias-free layered network's flat weight vector (row-major (out x in) per
    layer, layer by layer): ``sizes = (20, 15, 15, 10)`` gives LB = 0:300, ITER = 300:525,
    RB = 525:675 (the paper's names; several middle layers are ITER1, ITER2, ...) and FULL."""
    w = [check_int(int(v), "sizes entry", 1) for v in sizes]
    if len(w) < 2:
        raise ValueError("sizes needs at least two layers")
    out: Dict[str, slice] = {}
    pos = 0
    L = len(w) - 1
    for l in range(L):
        nw = w[l] * w[l + 1]
        if l == 0:
            name = "LB"
        elif l == L - 1:
            name = "RB"
        else:
            name = "ITER" if L == 3 else f"ITER{l}"
        out[name] = slice(pos, pos + nw)
        pos += nw
    out["FULL"] = slice(0, pos)
    return out
