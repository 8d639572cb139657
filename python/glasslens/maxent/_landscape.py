"""Geometry of an inferred weight space: the entropy landscape by tilted belief propagation.

Tilting the fields by ``x`` times a reference configuration ``s*``, ``h_i -> h_i + x s*_i``, and
solving the model by BP gives, at each ``x``, the overlap ``q = (1/N) sum_i s*_i m_i``, the
distance ``d = (1 - q) / 2`` (expected fraction of spins that differ from ``s*``) and the
entropy density ``s = (-beta F + <E> - x N q) / N`` (natural log, per spin), where ``beta F`` is
the Bethe free energy of the tilted model and ``<E> = -sum_{i<j} J_ij C_ij - sum_i h_i m_i`` the
untilted energy. ``H2(d) = -d ln d - (1-d) ln(1-d)`` bounds ``s(d)``. Messages are warm-started
from the previous ``x`` so that sweeping ``x`` both ways exposes first-order jumps (hysteresis).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from .._lib._deprecation import deprecated_method
from .._lib._results import Result, figure_axes, jsonable, markdown_table
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int
from .._lib._limits import MAX_RUNS
from ._ising import BPConvergenceWarning, Ising, _as_index, check_spins


def binary_entropy(d: Any) -> np.ndarray:
    """``H2(d) = -d ln d - (1 - d) ln(1 - d)`` (nats), with H2(0) = H2(1) = 0."""
    d = np.clip(np.asarray(d, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(d > 0, -d * np.log(np.where(d > 0, d, 1.0)), 0.0)
        b = np.where(d < 1, -(1 - d) * np.log(np.where(d < 1, 1 - d, 1.0)), 0.0)
    return a + b


@dataclass
class Branch(Result):
    """One sweep of x: arrays of equal length, in the order they were visited."""

    name: str
    x: np.ndarray
    q: np.ndarray
    d: np.ndarray
    entropy: np.ndarray       # s per spin (nats)
    energy: np.ndarray        # <E> / N of the untilted model
    free_energy: np.ndarray   # Bethe beta F of the tilted model (total, not per spin)
    H2: np.ndarray
    converged: np.ndarray
    sweeps: np.ndarray
    residual: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """s(d) / H2(d) (nan where H2 = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.H2 > 0, self.entropy / np.where(self.H2 > 0, self.H2, 1.0), np.nan)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Name, x and d ranges, convergence (all arrays with ``arrays=True``)."""
        d: Dict[str, Any] = {"name": self.name, "n_points": int(len(self.x)),
                             "x_range": [float(self.x[0]), float(self.x[-1])] if len(self.x) else [],
                             "d_range": [float(np.min(self.d)), float(np.max(self.d))]
                             if len(self.d) else [],
                             "converged_fraction": float(np.mean(self.converged))
                             if len(self.converged) else None}
        if arrays:
            for k in ("x", "q", "d", "entropy", "energy", "free_energy", "H2", "converged",
                      "sweeps", "residual"):
                d[k] = getattr(self, k)
        return jsonable(d)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """s(d) with the binary entropy H2(d)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ax.plot(self.d, self.entropy, "o-", ms=3, label=f"s(d), {self.name}")
        ax.plot(self.d, self.H2, "k:", lw=1, label="H2(d)")
        ax.set_xlabel("d")
        ax.set_ylabel("entropy per spin")
        ax.legend(fontsize=8)
        return fig


@dataclass
class Landscape(Result):
    """Entropy landscape around one reference: branches (forward / backward / ...) and the
    discontinuities found (jumps of d larger than the threshold between neighbouring x)."""

    branches: Dict[str, Branch]
    jumps: List[Dict[str, float]] = field(default_factory=list)
    n: int = 0

    @property
    def has_jump(self) -> bool:
        return bool(self.jumps)

    @deprecated_method("summary", "table")
    def summary(self) -> str:
        """Deprecated: use :meth:`table` (or :meth:`report` for the old text)."""
        return self.report()

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """n, the jumps and per branch its ranges (the curves with ``arrays=True``)."""
        return jsonable({"n": int(self.n), "has_jump": self.has_jump, "jumps": self.jumps,
                         "branches": {k: b.to_dict(arrays) for k, b in self.branches.items()}})

    def table(self) -> str:
        """Markdown table: one row per branch (x and d ranges, s/H2 range, convergence)."""
        rows = []
        for b in self.branches.values():
            rows.append({"branch": b.name, "x from": float(b.x[0]), "x to": float(b.x[-1]),
                         "d min": float(b.d.min()), "d max": float(b.d.max()),
                         "s/H2 min": float(np.nanmin(b.ratio)), "s/H2 max": float(np.nanmax(b.ratio)),
                         "converged": float(b.converged.mean()),
                         "jumps": sum(1 for j in self.jumps if j.get("branch") == b.name)})
        return markdown_table(rows)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """s(d) of every branch with H2(d)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        for i, b in enumerate(self.branches.values()):
            ax.plot(b.d, b.entropy, "o-" if i == 0 else "s--", ms=3, label=b.name)
        if self.branches:
            b0 = next(iter(self.branches.values()))
            order = np.argsort(b0.d)
            ax.plot(b0.d[order], b0.H2[order], "k:", lw=1, label="H2(d)")
        ax.set_xlabel("d")
        ax.set_ylabel("entropy per spin")
        ax.legend(fontsize=8)
        return fig

    def report(self) -> str:
        """The landscape in plain-text lines (one per branch and jump)."""
        lines = []
        for b in self.branches.values():
            ok = b.converged.mean() * 100
            lines.append(f"{b.name}: x {b.x[0]:+.2f} -> {b.x[-1]:+.2f}, d {b.d.min():.3f}..{b.d.max():.3f}, "
                         f"s/H2 {np.nanmin(b.ratio):.3f}..{np.nanmax(b.ratio):.3f}, converged {ok:.0f}%")
        for j in self.jumps:
            lines.append(f"jump on {j['branch']}: x {j['x_from']:+.2f} -> {j['x_to']:+.2f}, "
                         f"d {j['d_from']:.3f} -> {j['d_to']:.3f}, s {j['s_from']:.3f} -> {j['s_to']:.3f}")
        return "\n".join(lines)


def _sweep(model: Ising, ref: np.ndarray, xs: np.ndarray, name: str, msg: Optional[np.ndarray],
           tol: float, max_sweeps: int, damping: float, nt: int) -> tuple:
    N = model.n
    iu = np.triu_indices(N, 1)
    Jup = model.J[iu]
    rows = {k: [] for k in ("q", "d", "entropy", "energy", "free_energy", "converged", "sweeps", "residual")}
    for x in xs:
        tilted = Ising.__new__(Ising)  # fields change, J is already validated
        tilted.h = model.h + x * ref
        tilted.J = model.J
        tilted.info = {}
        st = tilted.bp(messages=msg, tol=tol, max_sweeps=max_sweeps, damping=damping,
                       warn=False, n_threads=nt)
        msg = st.messages
        q = float(ref @ st.m) / N
        E = -float(Jup @ st.C[iu]) - float(model.h @ st.m)
        s = (-st.free_energy + E - x * N * q) / N
        rows["q"].append(q)
        rows["d"].append((1.0 - q) / 2.0)
        rows["entropy"].append(s)
        rows["energy"].append(E / N)
        rows["free_energy"].append(st.free_energy)
        rows["converged"].append(st.converged)
        rows["sweeps"].append(st.sweeps)
        rows["residual"].append(st.residual)
    arr = {k: np.asarray(v) for k, v in rows.items()}
    br = Branch(name=name, x=np.asarray(xs, dtype=np.float64), H2=binary_entropy(arr["d"]), **arr)
    return br, msg


def entropy_landscape(
    model: Ising,
    reference: Any,
    xs: Any = None,
    direction: str = "both",
    indices: Any = None,
    tol: float = 1e-6,
    max_sweeps: int = 5000,
    damping: float = 0.0,
    jump_threshold: float = 0.1,
    jump_ratio: float = 3.0,
    n_threads: Optional[int] = None,
) -> Landscape:
    """Entropy landscape of ``model`` around ``reference`` (a +-1 configuration, (N,)).

    xs: monotonic grid of tilts (default -3..3 step 0.05; e.g. 0, -0.05, ..., -3 to start at
    x = 0). direction: "forward" (xs in the given order), "backward" (reversed), "both" (forward,
    then back from the end, warm-started: a hysteresis loop) or "outward" (from the x closest to
    0 down to min(xs) and, separately, up to max(xs)).
    indices: optional index set (slice, integer array or mask) restricting model and reference
    to one block (e.g. LB / ITER / RB of a layered network; the block's couplings to the rest are
    dropped, so give it the block's own fit). BP runs to max |dm| <= tol (max_sweeps, damping);
    points that did not converge are flagged in ``converged`` and warned about.
    A jump is reported where |d(x_k+1) - d(x_k)| > jump_threshold on a branch and the step is more
    than jump_ratio times both neighbouring steps (a steep smooth stretch is not a jump; refine
    xs to tell them apart where in doubt).
    """
    if not isinstance(model, Ising):
        raise TypeError("model must be an Ising model")
    ref = np.asarray(reference)
    if ref.ndim != 1:
        raise ValueError(f"reference must be one configuration (N,), got shape {ref.shape}")
    ref = check_spins(ref[None, :], "reference", model.n)[0].astype(np.float64)
    if indices is not None:
        idx = _as_index(indices, model.n)
        model = model.subset(idx)
        ref = ref[idx]
    if xs is None:
        xs = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.05), 10)
    xs = as_array(xs, "xs", np.float64, ndim=1)
    if xs.size > 1 and not (np.all(np.diff(xs) > 0) or np.all(np.diff(xs) < 0)):
        raise ValueError("xs must be strictly increasing or strictly decreasing")
    if direction not in ("forward", "backward", "both", "outward"):
        raise ValueError(f"direction must be 'forward', 'backward', 'both' or 'outward', got {direction!r}")
    tol = check_float(tol, "tol", 0.0)
    max_sweeps = check_int(max_sweeps, "max_sweeps", 1)
    damping = check_float(damping, "damping", 0.0, 0.999)
    jump_threshold = check_float(jump_threshold, "jump_threshold", 0.0, 1.0, low_open=True)
    jump_ratio = check_float(jump_ratio, "jump_ratio", 1.0)
    nt = resolve_threads(n_threads)
    branches: Dict[str, Branch] = {}
    args = (tol, max_sweeps, damping, nt)
    if direction in ("forward", "both"):
        branches["forward"], msg = _sweep(model, ref, xs, "forward", None, *args)
        if direction == "both":
            branches["backward"], _ = _sweep(model, ref, xs[::-1], "backward", msg, *args)
    elif direction == "backward":
        branches["backward"], _ = _sweep(model, ref, xs[::-1], "backward", None, *args)
    else:
        xs = np.sort(xs)
        k0 = int(np.argmin(np.abs(xs)))
        branches["down"], _ = _sweep(model, ref, xs[:k0 + 1][::-1], "down", None, *args)
        branches["up"], _ = _sweep(model, ref, xs[k0:], "up", None, *args)
    jumps: List[Dict[str, float]] = []
    for b in branches.values():
        dd = np.abs(np.diff(b.d))
        for k in np.flatnonzero(dd > jump_threshold):
            nb = [dd[k - 1]] if k > 0 else []
            nb += [dd[k + 1]] if k + 1 < dd.size else []
            if nb and dd[k] <= jump_ratio * max(nb):
                continue  # a steep but smooth stretch, not an isolated jump
            jumps.append({"branch": b.name, "x_from": float(b.x[k]), "x_to": float(b.x[k + 1]),
                          "d_from": float(b.d[k]), "d_to": float(b.d[k + 1]),
                          "s_from": float(b.entropy[k]), "s_to": float(b.entropy[k + 1])})
    bad = sum(int((~b.converged).sum()) for b in branches.values())
    if bad:
        worst = max(float(b.residual.max()) for b in branches.values())
        warnings.warn(f"BP did not converge at {bad} tilt value(s) (worst residual {worst:.3g} > "
                      f"tol {tol:g}); those points are flagged in Branch.converged - try damping",
                      BPConvergenceWarning, stacklevel=2)
    return Landscape(branches=branches, jumps=jumps, n=model.n)


# ---- TAP free-energy landscape ------------------------------------------------------------------
def tap_free_energy(model: Ising, m: Any) -> np.ndarray:
    """Second-order TAP free energy ``beta F_TAP(m)`` (total, nats) of magnetisations m (N,) or
    (K, N): ``sum_i [(1+m_i)/2 ln((1+m_i)/2) + (1-m_i)/2 ln((1-m_i)/2)] - h.m - sum_{i<j} J_ij m_i m_j
    - 1/2 sum_{i<j} J_ij^2 (1 - m_i^2)(1 - m_j^2)``."""
    M = np.atleast_2d(np.asarray(m, dtype=np.float64))
    if M.shape[1] != model.n:
        raise ValueError(f"m has {M.shape[1]} spins, expected {model.n}")
    p, q = np.clip((1 + M) / 2, 1e-300, None), np.clip((1 - M) / 2, 1e-300, None)
    ent = np.sum(np.where(p > 1e-300, p * np.log(p), 0.0) + np.where(q > 1e-300, q * np.log(q), 0.0), axis=1)
    v = 1.0 - M ** 2
    F = (ent - M @ model.h - 0.5 * np.einsum("ki,ki->k", M @ model.J, M)
         - 0.25 * np.einsum("ki,ki->k", v @ (model.J ** 2), v))
    return F if np.ndim(m) == 2 else F[:1]


def tap_free_energies(
    model: Ising,
    n_starts: int = 200,
    damping: float = 0.5,
    tol: float = 1e-5,
    max_iter: int = 2000,
    seed: int = 0,
    distinct_tol: float = 1e-3,
) -> Dict[str, Any]:
    """TAP solutions from ``n_starts`` random starts (m uniform in (-1, 1)), iterating
    ``m <- (1 - damping) tanh(h + J m - m * (J^2 (1 - m^2))) + damping m`` until max |dm| <= tol.

    Returns ``free_energy`` (K,) per spin (beta F_TAP / N), ``m`` (K, N), ``converged`` (K,) and
    ``n_states``: the number of distinct converged solutions (max |m_a - m_b| > distinct_tol),
    the peaks of the free-energy histogram (one for a single state, two or more for a broken
    space). Vectorised over starts (numpy)."""
    if not isinstance(model, Ising):
        raise TypeError("model must be an Ising model")
    n_starts = check_int(n_starts, "n_starts", 1, MAX_RUNS)
    damping = check_float(damping, "damping", 0.0, 0.999)
    tol = check_float(tol, "tol", 0.0)
    max_iter = check_int(max_iter, "max_iter", 1)
    distinct_tol = check_float(distinct_tol, "distinct_tol", 0.0, low_open=True)
    rng = np.random.default_rng(seed)
    M = rng.uniform(-1, 1, size=(n_starts, model.n))
    J2 = model.J ** 2
    active = np.ones(n_starts, bool)
    for _ in range(max_iter):
        A = M[active]
        new = np.tanh(model.h + A @ model.J - A * ((1 - A ** 2) @ J2))
        new = (1 - damping) * new + damping * A
        done = np.max(np.abs(new - A), axis=1) <= tol
        M[active] = new
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    conv = ~active
    F = tap_free_energy(model, M) / model.n
    reps: List[np.ndarray] = []
    for k in np.flatnonzero(conv):
        if not any(np.max(np.abs(M[k] - r)) <= distinct_tol for r in reps):
            reps.append(M[k])
    return {"free_energy": F, "m": M, "converged": conv, "n_states": len(reps)}


def block_summary(
    model: Ising,
    m: Any,
    C: Any,
    references: Any = None,
    xs: Any = None,
    n_threads: Optional[int] = None,
) -> Dict[str, float]:
    """Liquid/solid indicators of one block (its own fit ``model`` and its data moments m (N,),
    C (N, N) = <s_i s_j>): std of the couplings, mean |connected correlation| (off-diagonal),
    mean |m| and std of m; with ``references`` ((R, N) +-1), also the range of s(d)/H2(d) of
    the entropy landscape swept from x = 0 down to xs[0] (default -3, step 0.1) - close to 1
    means "liquid-like" (nearly as many configurations as at random at every distance)."""
    if not isinstance(model, Ising):
        raise TypeError("model must be an Ising model")
    n = model.n
    m = as_array(m, "m", np.float64, shape=(n,))
    C = as_array(C, "C", np.float64, shape=(n, n))
    iu = np.triu_indices(n, 1)
    conn = (C - np.outer(m, m))[iu]
    out = {
        "n": float(n),
        "J_std": float(model.J[iu].std()) if iu[0].size else 0.0,
        "mean_abs_conn_C": float(np.mean(np.abs(conn))) if conn.size else 0.0,
        "mean_abs_m": float(np.mean(np.abs(m))),
        "std_m": float(np.std(m)),
    }
    if references is not None:
        R = check_spins(np.atleast_2d(references), "references", n)
        grid = np.round(np.arange(-3.0, 1e-9, 0.1), 10) if xs is None else xs
        lo, hi = np.inf, -np.inf
        for r in R:
            b = entropy_landscape(model, r, xs=grid, direction="backward",
                                  n_threads=n_threads).branches["backward"]
            lo, hi = min(lo, float(np.nanmin(b.ratio))), max(hi, float(np.nanmax(b.ratio)))
        out["s_over_H2_min"], out["s_over_H2_max"] = lo, hi
    return out
