"""Permutation symmetry of hidden units: permuting, matching and aligning networks.

Conventions
-----------
* A network with weight layers ``0..L-1`` has ``L - 1`` hidden layers; hidden layer ``l`` is
  the output of weight layer ``l`` (width ``widths[l + 1]``).
* ``perms`` is a list with one integer permutation per hidden layer. ``permute(net, perms)``
  returns the network whose hidden unit ``j`` of layer ``l`` is unit ``perms[l][j]`` of ``net``:
  ``W_l' = W_l[p_l][:, p_{l-1}]``, ``b_l' = b_l[p_l]``; the function is unchanged.
* Matching functions return permutations that map ``b`` onto ``a``: ``permute(b, perms)`` is
  aligned unit by unit with ``a``.

Weight matching (Ainsworth et al., git-re-basin) maximises the inner product of the flattened
parameter vectors ``<theta_a, theta_{pi(b)}>``. With one hidden layer it is one exact linear
assignment on ``u_j = [row j of W1; b1_j; column j of W2]``; deeper networks use coordinate
descent over layers (each step an exact LAP, warm-started with the previous duals), optionally
with restarts.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from threadpoolctl import threadpool_limits

from .. import _core
from .._lib._alignment import COMMON_LABELLING, check_alignment
from .._lib._deprecation import renamed_kwargs
from .._lib._results import Result
from .._lib._data import as_inputs
from .._lib._threads import resolve_threads
from .._lib._limits import check_alloc
from .._lib._validate import check_int, check_seed
from . import _blocked
from ._assignment import linear_sum_assignment, linear_sum_assignment_batch
from ..nn._network import MLP, Ensemble

__all__ = [
    "permute",
    "random_permutation",
    "match_weights",
    "match_activations",
    "align_to",
    "align_ensemble",
    "pairwise_alignment",
    "Matching",
    "Alignment",
    "hidden_widths",
]

Net = Union[MLP, Ensemble]


# ---- helpers ------------------------------------------------------------------------------------
def hidden_widths(net: Net) -> List[int]:
    """Widths of the hidden layers (``widths[1:-1]``)."""
    return list(net.widths[1:-1])


def _check_net(net: Any, name: str) -> Net:
    if not isinstance(net, (MLP, Ensemble)):
        raise TypeError(f"{name} must be an MLP or an Ensemble, got {type(net).__name__}")
    return net


def _check_same_arch(a: Net, b: Net, na: str = "a", nb: str = "b") -> None:
    if a.widths != b.widths or a.has_bias != b.has_bias:
        raise ValueError(
            f"{na} and {nb} must have the same architecture: {na} has widths {a.widths}, "
            f"bias={a.has_bias}; {nb} has widths {b.widths}, bias={b.has_bias}")


def _check_perm(p: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(p)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.shape[-1:] != (n,):
        raise ValueError(f"{name} must have length {n} along its last axis, got shape {arr.shape}")
    flat = arr.reshape(-1, n)
    if not np.array_equal(np.sort(flat, axis=1), np.broadcast_to(np.arange(n), flat.shape)):
        raise ValueError(f"{name} is not a permutation of 0..{n - 1}")
    return arr


def _check_perms(net: Net, perms: Any, per_replica: bool = False) -> List[np.ndarray]:
    H = hidden_widths(net)
    if isinstance(perms, np.ndarray) and len(H) == 1 and perms.ndim in (1, 2) and (
            perms.shape[-1] == H[0]):
        perms = [perms]
    elif (isinstance(perms, (list, tuple)) and len(H) == 1 and len(perms) == H[0] and H[0] > 1
          and all(np.ndim(p) == 0 for p in perms)):
        perms = [np.asarray(perms)]  # a single permutation given as a list of ints
    if not isinstance(perms, (list, tuple)):
        raise TypeError("perms must be a list with one permutation per hidden layer")
    if len(perms) != len(H):
        raise ValueError(f"perms has {len(perms)} entries, the network has {len(H)} hidden layers")
    out = []
    for l, (p, h) in enumerate(zip(perms, H)):
        arr = _check_perm(p, h, f"perms[{l}]")
        if arr.ndim == 2:
            if not per_replica or not isinstance(net, Ensemble) or arr.shape[0] != net.n_replicas:
                raise ValueError(
                    f"perms[{l}] has shape {arr.shape}; expected ({h},)"
                    + (f" or ({net.n_replicas}, {h})" if isinstance(net, Ensemble) else ""))
        elif arr.ndim != 1:
            raise ValueError(f"perms[{l}] must be 1-D (or 2-D per replica), got shape {arr.shape}")
        out.append(arr)
    return out


def _f64_layers(net: MLP) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    Ws = [W.astype(np.float64) for W in net.weights]
    if net.biases is not None:
        bs = [b.astype(np.float64) for b in net.biases]
    else:
        bs = [np.zeros(W.shape[0]) for W in net.weights]
    return Ws, bs


def _flat64(net: MLP) -> np.ndarray:
    return net.flat().astype(np.float64)


# ---- permuting ----------------------------------------------------------------------------------
def permute(net: Net, perms: Any) -> Net:
    """Apply hidden-unit permutations to every layer consistently (function unchanged).

    Parameters
    ----------
    net : MLP or Ensemble
    perms : list of int arrays, one per hidden layer, each of length ``H_l``. For an Ensemble a
        permutation may also be ``(R, H_l)`` (one per replica). A single array is accepted for
        a network with one hidden layer.

    Returns
    -------
    A new network of the same type; hidden unit ``j`` of layer ``l`` is unit ``perms[l][j]`` of
    ``net``.
    """
    _check_net(net, "net")
    ps = _check_perms(net, perms, per_replica=True)
    L = len(net.weights)
    if isinstance(net, MLP):
        Ws = [W.copy() for W in net.weights]
        bs = None if net.biases is None else [b.copy() for b in net.biases]
        for l, p in enumerate(ps):
            Ws[l] = Ws[l][p]
            Ws[l + 1] = Ws[l + 1][:, p]
            if bs is not None:
                bs[l] = bs[l][p]
        return MLP(Ws, bs)
    R = net.n_replicas
    rr = np.arange(R)[:, None]
    Ws = [W.copy() for W in net.weights]
    bs = None if net.biases is None else [b.copy() for b in net.biases]
    for l, p in enumerate(ps):
        P = np.broadcast_to(p, (R, p.shape[-1]))
        Ws[l] = Ws[l][rr, P]
        Ws[l + 1] = np.take_along_axis(Ws[l + 1], P[:, None, :], axis=2)
        if bs is not None:
            bs[l] = bs[l][rr, P]
    assert len(Ws) == L
    return Ensemble(Ws, bs, history={k: v.copy() for k, v in net.history.items()},
                    metrics={k: v.copy() for k, v in net.metrics.items()}, meta=dict(net.meta))


@renamed_kwargs(k_transpositions="n_transpositions")
def random_permutation(
    H: int, n_transpositions: Optional[int] = None, seed: int = 0, kind: str = "uniform"
) -> np.ndarray:
    """A random permutation of ``range(H)`` (int64).

    Parameters
    ----------
    H : int
        Number of units.
    n_transpositions : int, optional (formerly ``k_transpositions``, deprecated)
        If given, the product of ``k`` disjoint random transpositions (exactly ``2k`` units
        move; needs ``2k <= H``).
    seed : int
    kind : {"uniform", "derangement"}
        Without ``n_transpositions``: a uniform permutation, or a uniform derangement (no
        fixed point; needs ``H >= 2``).
    """
    H = check_int(H, "H", 1)
    rng = np.random.default_rng(check_seed(seed))
    if n_transpositions is not None:
        k = check_int(n_transpositions, "n_transpositions", 0)
        if 2 * k > H:
            raise ValueError(f"n_transpositions={k} needs 2k <= H, got H={H}")
        p = np.arange(H)
        units = rng.choice(H, size=2 * k, replace=False)
        a, b = units[:k], units[k:]
        p[a], p[b] = b, a
        return p
    if kind == "uniform":
        return rng.permutation(H).astype(np.int64)
    if kind == "derangement":
        if H < 2:
            raise ValueError("a derangement needs H >= 2")
        while True:  # acceptance probability ~ 1/e
            p = rng.permutation(H)
            if not np.any(p == np.arange(H)):
                return p.astype(np.int64)
    raise ValueError(f"kind must be 'uniform' or 'derangement', got {kind!r}")


# ---- matching two networks ----------------------------------------------------------------------
@dataclass
class Matching(Result):
    """Result of matching network ``b`` onto network ``a``.

    perms : one permutation per hidden layer; ``permute(b, perms)`` is aligned with ``a``.
    objective : matched similarity (weights: ``<theta_a, theta_{pi(b)}>``; activations: sum of
        matched correlations over all layers).
    cosine : weights: cosine of the flattened parameter vectors after alignment; activations:
        mean matched correlation.
    iterations : coordinate-descent sweeps of the best restart (1 for one hidden layer).
    restart_objectives : objective reached by every restart.
    gap : (best - worst) / |best| over restarts (0 with one restart); > 0 flags local optima.
    n_best : number of restarts within 1e-9 (relative) of the best.
    per_layer : weights: per hidden layer, the LAP objective at the solution; activations: per
        layer mean matched correlation.
    """

    perms: List[np.ndarray]
    objective: float
    cosine: float
    iterations: int = 1
    restart_objectives: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gap: float = 0.0
    n_best: int = 1
    per_layer: np.ndarray = field(default_factory=lambda: np.zeros(0))

    _plot_unavailable = ("a matching is a set of permutations; plot the interpolation path "
                         "instead (glasslens.symmetry.interpolate(...).plot())")

    def to_dict(self, arrays: bool = False) -> dict:
        out = super().to_dict(arrays)
        out["per_layer"] = [float(v) for v in np.asarray(self.per_layer).ravel()]
        out["n_hidden_layers"] = len(self.perms)
        return out


def _layer_cost(Wa, ba, Wb, bb, perms, l):
    """Weight-matching cost of hidden layer l with the other layers' permutations fixed."""
    W_b = Wb[l] if l == 0 else Wb[l][:, perms[l - 1]]
    C = Wa[l] @ W_b.T + np.outer(ba[l], bb[l])
    W2_b = Wb[l + 1] if l + 1 == len(Wb) - 1 else Wb[l + 1][perms[l + 1], :]
    C += Wa[l + 1].T @ W2_b
    return C


def _weight_objective(a: MLP, b: MLP, perms: List[np.ndarray]) -> float:
    return float(_flat64(a) @ _flat64(permute(b, perms)))


def _cd_match(Wa, ba, Wb, bb, perms, rng, max_iter):
    """Coordinate descent over hidden layers (random order per sweep). Returns perms, sweeps."""
    nL = len(Wa) - 1
    duals: List[Optional[np.ndarray]] = [None] * nL
    it = 0
    for it in range(1, max_iter + 1):
        improved = False
        for l in rng.permutation(nL):
            C = _layer_cost(Wa, ba, Wb, bb, perms, l)
            r, c, _, v = linear_sum_assignment(C, maximize=True, duals=duals[l], return_duals=True)
            duals[l] = v
            idx = np.arange(C.shape[0])
            old, new = C[idx, perms[l]].sum(), C[idx, c].sum()
            if new > old + 1e-12 * (abs(old) + 1.0):
                perms[l] = c
                improved = True
        if not improved or nL == 1:
            break
    return perms, it


@renamed_kwargs(restarts="n_restarts")
def match_weights(
    a: MLP,
    b: MLP,
    max_iter: int = 100,
    n_restarts: int = 1,
    seed: int = 0,
    init: str = "forward",
) -> Matching:
    """Weight matching: permutations of ``b``'s hidden units maximising ``<theta_a, theta_pi(b)>``.

    Parameters
    ----------
    a, b : MLP
        Same architecture, any depth.
    max_iter : int
        Maximum coordinate-descent sweeps (each sweep visits the hidden layers in a random
        order and solves one exact LAP per layer; stops when a sweep improves nothing).
    n_restarts : int (formerly ``restarts``, deprecated)
        Independent starts; the first uses ``init``, the others uniform random permutations.
        The best is returned and the spread is reported (``gap``, ``n_best``).
    seed : int
        Seeds the layer orders and the random starts.
    init : {"forward", "identity"}
        Start of the first restart: ``forward`` matches the layers in order by their incoming
        weights and biases (given the permutation of the layer below), which recovers planted
        permutations of noisy copies directly; ``identity`` is git-re-basin's start.

    Returns
    -------
    Matching (see its docstring). With one hidden layer the result is exact (one LAP).
    """
    _check_net(a, "a")
    _check_net(b, "b")
    if not isinstance(a, MLP) or not isinstance(b, MLP):
        raise TypeError("match_weights expects two MLPs (use align_to for an Ensemble)")
    _check_same_arch(a, b)
    max_iter = check_int(max_iter, "max_iter", 1)
    n_restarts = check_int(n_restarts, "n_restarts", 1)
    if init not in ("forward", "identity"):
        raise ValueError(f"init must be 'forward' or 'identity', got {init!r}")
    H = hidden_widths(a)
    if not H:
        return Matching([], _weight_objective(a, b, []), _cos(a, b, []), 0,
                        np.array([_weight_objective(a, b, [])]), 0.0, 1, np.zeros(0))
    Wa, ba = _f64_layers(a)
    Wb, bb = _f64_layers(b)
    rng = np.random.default_rng(check_seed(seed))
    results = []
    for r in range(n_restarts):
        if r == 0 and init == "forward":
            perms = []
            for l in range(len(H)):
                W_b = Wb[l] if l == 0 else Wb[l][:, perms[l - 1]]
                C = Wa[l] @ W_b.T + np.outer(ba[l], bb[l])
                if len(H) == 1:
                    C += Wa[1].T @ Wb[1]
                perms.append(linear_sum_assignment(C, maximize=True)[1])
        elif r == 0:
            perms = [np.arange(h) for h in H]
        else:
            perms = [rng.permutation(h) for h in H]
        perms, it = _cd_match(Wa, ba, Wb, bb, perms, rng, max_iter)
        results.append((_weight_objective(a, b, perms), perms, it))
    objs = np.array([o for o, _, _ in results])
    best = int(np.argmax(objs))
    obj, perms, it = results[best]
    scale = abs(obj) if obj != 0 else 1.0
    gap = float((objs.max() - objs.min()) / scale)
    n_best = int(np.sum(objs >= obj - 1e-9 * scale))
    per_layer = np.array([
        _layer_cost(Wa, ba, Wb, bb, perms, l)[np.arange(h), perms[l]].sum()
        for l, h in enumerate(H)])
    perms = [np.asarray(p, dtype=np.int64) for p in perms]
    return Matching(perms, obj, _cos(a, b, perms), it, objs, gap, n_best, per_layer)


def _cos(a: MLP, b: MLP, perms: List[np.ndarray]) -> float:
    fa, fb = _flat64(a), _flat64(permute(b, perms) if perms else b)
    den = np.linalg.norm(fa) * np.linalg.norm(fb)
    return float(fa @ fb / den) if den > 0 else 0.0


def _correlation(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns of A (n, p) and B (n, q); constant columns -> 0."""
    A = A.astype(np.float64) - A.mean(axis=0)
    B = B.astype(np.float64) - B.mean(axis=0)
    sa, sb = np.linalg.norm(A, axis=0), np.linalg.norm(B, axis=0)
    C = A.T @ B
    with np.errstate(divide="ignore", invalid="ignore"):
        C = C / np.outer(sa, sb)
    C[~np.isfinite(C)] = 0.0
    return C


def match_activations(a: MLP, b: MLP, X: Any) -> Matching:
    """Activation matching: per hidden layer, the permutation of ``b``'s units maximising the
    summed Pearson correlation of post-ReLU activations with ``a``'s units on inputs ``X``
    (``(n, d_in)``, float, or a data set in any accepted form: its training inputs). Units that are constant on ``X`` (dead ReLUs) have correlation 0.

    The layers are independent (activations do not depend on the labelling), so each is one
    exact LAP. ``objective`` is the total matched correlation, ``cosine`` the mean matched
    correlation over all hidden units, ``per_layer`` the mean per layer.
    """
    _check_net(a, "a")
    _check_net(b, "b")
    if not isinstance(a, MLP) or not isinstance(b, MLP):
        raise TypeError("match_activations expects two MLPs")
    _check_same_arch(a, b)
    Xa = as_inputs(X, name="X", n_features=a.widths[0])
    if Xa.shape[0] < 2:
        raise ValueError("X needs at least 2 samples to compute correlations")
    perms, per_layer, total, count = [], [], 0.0, 0
    for Ha, Hb in zip(a.hidden(Xa), b.hidden(Xa)):
        C = _correlation(Ha, Hb)
        _, c = linear_sum_assignment(C, maximize=True)
        s = float(C[np.arange(C.shape[0]), c].sum())
        perms.append(c.astype(np.int64))
        per_layer.append(s / C.shape[0])
        total += s
        count += C.shape[0]
    return Matching(perms, total, total / max(count, 1), 1, np.array([total]), 0.0, 1,
                    np.array(per_layer))


# ---- ensembles ----------------------------------------------------------------------------------
def _unit_features(net: Ensemble) -> np.ndarray:
    """(R, H, D) float32 unit vectors u_j = [W1 row j, b1_j, W2 column j] (one hidden layer)."""
    parts = [net.weights[0]]
    if net.biases is not None:
        parts.append(net.biases[0][:, :, None])
    parts.append(np.transpose(net.weights[1], (0, 2, 1)))
    return np.ascontiguousarray(np.concatenate(parts, axis=2), dtype=np.float32)


def _out_bias_dot(net_a_b2: Optional[np.ndarray], net_b_b2: Optional[np.ndarray]) -> Any:
    if net_a_b2 is None:
        return 0.0
    return net_a_b2.astype(np.float64) @ net_b_b2.astype(np.float64).T


@dataclass
class Alignment(Result):
    """Replicas brought into one common labelling.

    ensemble : the aligned Ensemble (replica r is ``permute(original[r], perms_r)``).
    perms : list per hidden layer of ``(R, H_l)`` permutations applied to each replica.
    cosine : ``(R,)`` cosine of each aligned replica's parameter vector with the template
        (the reference replica, the medoid or the final mean).
    mean_cosine : mean of ``cosine`` over replicas other than the reference itself.
    method : "reference", "medoid" or "mean"; reference : the template's replica index (or -1
        for an external network / the mean).
    iterations : rounds of re-alignment to the mean (1 otherwise); converged : whether the
        permutations stopped changing (always True for reference/medoid).
    """

    ensemble: Ensemble
    perms: List[np.ndarray]
    cosine: np.ndarray
    mean_cosine: float
    method: str
    reference: int
    iterations: int = 1
    converged: bool = True

    def to_dict(self, arrays: bool = False) -> dict:
        """method, reference, mean cosine, iterations, converged (cosine per replica and the
        permutations with ``arrays=True``)."""
        out = {"method": self.method, "reference": int(self.reference),
               "mean_cosine": float(self.mean_cosine), "iterations": int(self.iterations),
               "converged": bool(self.converged), "n_replicas": int(len(self.cosine))}
        if arrays:
            out["cosine"] = [float(c) for c in self.cosine]
            out["perms"] = [np.asarray(p).tolist() for p in self.perms]
        return out

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Cosine of each aligned replica with the template (bars)."""
        from .._lib._results import figure_axes

        fig, (ax,) = figure_axes(ax_or_fig)
        ax.bar(np.arange(len(self.cosine)), self.cosine, color="C0")
        ax.set_xlabel("replica")
        ax.set_ylabel("cosine with the template")
        ax.set_title(f"{self.method} alignment (mean {self.mean_cosine:.3f})", fontsize=9)
        return fig


def _match_all_to(net: Ensemble, ref: MLP, n_threads: Optional[int], max_iter: int,
                  seed: int) -> List[np.ndarray]:
    """Weight-match every replica of net onto ref; returns per layer (R, H_l) perms."""
    H = hidden_widths(net)
    R = net.n_replicas
    if len(H) == 1:
        U = _unit_features(net)  # (R, H, D)
        ref_e = Ensemble.from_mlps([ref])
        u_ref = _unit_features(ref_e)[0]  # (H, D)
        C = (U.reshape(R * H[0], -1) @ u_ref.T).reshape(R, H[0], H[0])  # rows: b units
        _, col = linear_sum_assignment_batch(C, maximize=True,
                                             n_threads=n_threads)
        return [np.argsort(col, axis=1).astype(np.int64)]
    out = [np.empty((R, h), dtype=np.int64) for h in H]
    for r in range(R):
        m = match_weights(ref, net[r], max_iter=max_iter, seed=seed)
        for l in range(len(H)):
            out[l][r] = m.perms[l]
    return out


def _cosines(flat: np.ndarray, ref: np.ndarray) -> np.ndarray:
    f = flat.astype(np.float64)
    t = ref.astype(np.float64)
    den = np.linalg.norm(f, axis=1) * np.linalg.norm(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = f @ t / den
    return np.where(den > 0, c, 0.0)


def align_to(ensemble: Ensemble, reference: Union[int, MLP], n_threads: Optional[int] = None,
             max_iter: int = 100, seed: int = 0) -> Alignment:
    """Align every replica to one reference by weight matching.

    Parameters
    ----------
    ensemble : Ensemble
    reference : int (a replica index) or MLP of the same architecture
    n_threads : threads of the batched LAP (one hidden layer)
    max_iter, seed : coordinate descent for deeper networks (see ``match_weights``)
    """
    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    if isinstance(reference, (int, np.integer)) and not isinstance(reference, bool):
        idx = int(reference)
        if not 0 <= idx < ensemble.n_replicas:
            raise ValueError(f"reference index {idx} out of range for {ensemble.n_replicas} replicas")
        ref = ensemble[idx]
    elif isinstance(reference, MLP):
        idx = -1
        ref = reference
        _check_same_arch(ensemble, ref, "ensemble", "reference")
    else:
        raise TypeError(f"reference must be a replica index or an MLP, got {type(reference).__name__}")
    resolve_threads(n_threads)
    perms = _match_all_to(ensemble, ref, n_threads, check_int(max_iter, "max_iter", 1),
                          check_seed(seed))
    if idx >= 0:
        for p in perms:
            p[idx] = np.arange(p.shape[1])
    aligned = permute(ensemble, perms)
    cos = _cosines(aligned.flat(), ref.flat())
    others = np.arange(ensemble.n_replicas) != idx
    mean_cos = float(cos[others].mean()) if others.any() else 1.0
    return Alignment(aligned, perms, cos, mean_cos, "reference", idx)


@renamed_kwargs(method="alignment")
def align_ensemble(ensemble: Ensemble, alignment: str = "reference", reference: int = 0,
                   max_iter: int = 50, n_threads: Optional[int] = None, seed: int = 0) -> Alignment:
    """Bring every replica into one common labelling (weight matching).

    alignment (formerly ``method``, deprecated)
        ``"reference"``: align all replicas to replica ``reference``.
        ``"medoid"``: align to the replica with the largest mean aligned overlap with the others
        (computed by ``pairwise_alignment``).
        ``"mean"``: start from the reference alignment, then repeatedly align every replica to
        the mean of the aligned replicas until the permutations stop changing (at most
        ``max_iter`` rounds); ``iterations`` and ``converged`` report it, ``cosine`` is measured
        against the final mean.
        (For every pair matched separately, see :func:`pairwise_alignment`.)
    """
    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    method = check_alignment(alignment, COMMON_LABELLING)
    max_iter = check_int(max_iter, "max_iter", 1)
    if method == "reference":
        return align_to(ensemble, check_int(reference, "reference", 0, ensemble.n_replicas - 1),
                        n_threads=n_threads, seed=seed)
    if method == "medoid":
        _, ov = pairwise_alignment(ensemble, n_threads=n_threads, seed=seed, return_perms=False)
        R = ensemble.n_replicas
        score = (ov.sum(axis=1) - np.diag(ov)) / max(R - 1, 1)
        res = align_to(ensemble, int(np.argmax(score)), n_threads=n_threads, seed=seed)
        res.method = "medoid"
        return res
    if method == "mean":
        res = align_to(ensemble, check_int(reference, "reference", 0, ensemble.n_replicas - 1),
                       n_threads=n_threads, seed=seed)
        perms = res.perms
        aligned = res.ensemble
        converged = False
        it = 0
        for it in range(1, max_iter + 1):
            mean = MLP.from_flat(ensemble.widths, aligned.flat().astype(np.float64).mean(axis=0),
                                 bias=ensemble.has_bias)
            new = _match_all_to(ensemble, mean, n_threads, 100, seed)
            if all(np.array_equal(p, q) for p, q in zip(new, perms)):
                converged = True
                break
            perms = new
            aligned = permute(ensemble, perms)
        mean = aligned.flat().astype(np.float64).mean(axis=0)
        cos = _cosines(aligned.flat(), mean)
        return Alignment(aligned, perms, cos, float(cos.mean()), "mean", -1, it, converged)
    raise AssertionError(method)  # pragma: no cover - checked above



def run_tasks(work: Callable, store: Callable, tasks: Sequence, n_threads: int) -> None:
    """``store(work(t))`` for every task, on ``n_threads`` Python threads (numpy's GEMMs and the
    batched LAP release the GIL) with BLAS pinned to one thread; ``store`` runs in the calling
    thread in task order, so the result does not depend on the thread count."""
    with threadpool_limits(1):
        if n_threads == 1 or len(tasks) <= 1:
            for t in tasks:
                store(work(t))
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as ex:
                for res in ex.map(work, tasks):
                    store(res)

def pairwise_alignment(
    ensemble: Ensemble,
    n_threads: Optional[int] = None,
    chunk: int = 16,
    cost_dtype: Any = np.float32,
    max_iter: int = 100,
    seed: int = 0,
    *,
    client: Any = None,
    block_size: Optional[int] = None,
    return_perms: bool = True,
    progress: bool = False,
) -> Tuple[Union[None, np.ndarray, List[np.ndarray]], np.ndarray]:
    """All ``M (M - 1) / 2`` pairwise weight matchings of an ensemble.

    For one hidden layer the cost matrices ``C_ab = U_b U_a^T`` (``U`` the ``(H, D)`` unit
    vectors ``[W1 row, b1, W2 column]``) are formed and solved exactly (maximum-weight
    assignment). With ``cost_dtype=float32`` (default) this runs in C++: a register-blocked
    float32 GEMM per pair (``U_a`` packed once per block of 16 later replicas) followed by the
    exact LAP (in double), parallel over pairs. With ``float64`` the costs come from numpy
    (one GEMM per replica ``a`` against a block of ``chunk`` later replicas) and the batched
    LAP, ``n_threads`` blocks at a time. Either way the results do not depend on
    ``n_threads``. Deeper networks use ``match_weights`` (coordinate descent) per pair.

    Blocked runs (``client`` or ``block_size``): the pairs are cut into square tiles of the
    upper triangle, ``block_size`` x ``block_size`` replicas each; a tile needs only its two
    blocks of replicas. With a ``dask.distributed.Client`` (``pip install "glasslens[dask]"``)
    the blocks are scattered once and every tile is one Dask task (memory per task: about
    ``2 b H D`` float32 features plus ``b^2 (9 H + 8)`` bytes of results, ``b = block_size``,
    whatever ``M``); without one the tiles run here one after another. Every pair is solved by
    the same code as in the single call and written to a fixed place, so the result is
    bit-identical to the single call for any block size, worker count and completion order
    (on workers whose CPUs take the same SIMD path as here: the AVX2+FMA and portable float32
    cost kernels differ by FMA rounding).

    Parameters
    ----------
    ensemble : Ensemble with M >= 1 replicas
    n_threads : worker threads (None: library default); with a client, the OpenMP / numpy
        threads of each task (None: 1, each worker runs as many tasks at once as it has
        threads)
    chunk : matrices per task (one GEMM + one batched LAP; float64 costs only)
    cost_dtype : np.float32 (default; the weights are float32, the costs then carry a relative
        error ~1e-6) or np.float64 (exact costs, ~2x slower GEMMs)
    max_iter, seed : coordinate descent of deeper networks (see ``match_weights``)
    client : dask.distributed.Client or None; runs the tiles as Dask tasks on its cluster
    block_size : replicas per tile side (None: one call without a client; with a client, 4
        tiles per worker thread, fewer where a tile would hold under 20,000 pairs, and at most
        256 MB per task)
    return_perms : False returns ``None`` for the permutations: only the ``(M, M)`` overlaps
        are kept (8 M^2 bytes; tiles build no permutations; without ``block_size`` or a
        client, a run whose ``(M, M, H)`` permutations would exceed 256 MB runs in tiles here),
        the way to run M = 2,000 replicas without the permutation array (8 M^2 H bytes)
    progress : show a tqdm bar over the tiles (the single call: one step)

    Returns
    -------
    perms : ``(M, M, H)`` int64 for one hidden layer (a list of ``(M, M, H_l)`` for deeper
        networks; None with ``return_perms=False``); ``perms[a, b]`` maps replica b onto
        replica a (``perms[a, a]`` = identity, ``perms[b, a]`` is the inverse of ``perms[a, b]``).
    overlaps : ``(M, M)`` cosine of the flattened parameter vectors of a and aligned b
        (symmetric, unit diagonal for non-zero networks).
    """
    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    chunk = check_int(chunk, "chunk", 1)
    if np.dtype(cost_dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"cost_dtype must be float32 or float64, got {cost_dtype}")
    max_iter = check_int(max_iter, "max_iter", 1)
    seed = check_seed(seed)
    client = _blocked.check_client(client)
    block_size = _blocked.check_block_size(block_size)
    for name, v in (("return_perms", return_perms), ("progress", progress)):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(v).__name__}")
    if client is not None:
        # threads of each task on its worker (workers start with OMP_NUM_THREADS=1)
        nt = 1 if n_threads is None else resolve_threads(n_threads)
    else:
        nt = resolve_threads(n_threads)
    H = hidden_widths(ensemble)
    M = ensemble.n_replicas
    # the (M, M, H_l) int64 permutations and the (M, M) float64 overlaps / distances
    check_alloc(8.0 * M * M * ((sum(H) if return_perms else 0) + 4),
                f"{M:,} replicas (all pairs)")
    fast = len(H) == 1 and np.dtype(cost_dtype) == np.dtype(np.float32)
    if (not return_perms and client is None and block_size is None and H
            and 8.0 * M * M * sum(H) > _blocked.TILE_BYTES):
        # the single call would build the (M, M, H) permutations only to drop them: tiles here
        # instead (same result; memory bounded by the tile)
        block_size = _blocked.default_block_size(M, H, _feature_width(ensemble), 1, perms=False)
    blocked = (client is not None or block_size is not None) and bool(H)
    bar = None
    if progress and not blocked:
        from tqdm.auto import tqdm

        bar = tqdm(total=1, desc=f"pairwise alignment of {M} replicas (one call)", unit="call")
    if not fast:
        flat = ensemble.flat().astype(np.float64)
        norms = np.linalg.norm(flat, axis=1)
    if fast:
        U = _unit_features(ensemble)  # (M, H, D) float32
        b2 = ensemble.biases[1] if ensemble.biases is not None else None
        if not (np.isfinite(U).all() and (b2 is None or np.isfinite(b2).all())):
            raise ValueError("ensemble weights must be finite")
    if not H:
        dots = flat @ flat.T
    elif blocked:
        perms, dots = _pairwise_tiles(ensemble, H, M, fast, cost_dtype, nt, chunk, max_iter,
                                      seed, client, block_size, return_perms, progress,
                                      U if fast else None, None if fast else norms)
        if fast:
            if b2 is not None:
                dots = dots + _out_bias_dot(b2, b2)
            norms = np.sqrt(np.diag(dots))
        elif len(H) == 1:
            dots = _f64_finish(ensemble, dots, norms)
    elif fast:
        # C++ path: packed Gram GEMM per pair + exact LAP, parallel over pairs; the diagonal of
        # dots comes back as the squared norms of the unit features (all parameters but b2)
        perms, dots = _core.symmetry.lap_all_pairs(U, n_threads=nt)
        if b2 is not None:
            dots = dots + _out_bias_dot(b2, b2)
        norms = np.sqrt(np.diag(dots))
    elif len(H) == 1:
        h = H[0]
        U = _unit_features(ensemble).astype(cost_dtype)  # (M, H, D)
        perms = np.empty((M, M, h), dtype=np.int64)
        perms[np.arange(M), np.arange(M)] = np.arange(h)
        dots = np.zeros((M, M))
        # tasks: replica a against a block of later replicas; every task does its own GEMM
        # (single-threaded BLAS) and its own batched LAP, nt tasks run concurrently (numpy and
        # the LAP release the GIL), so GEMMs and LAPs overlap on all cores.
        tasks = [(a, np.arange(s, min(s + chunk, M))) for a in range(M - 1)
                 for s in range(a + 1, M, chunk)]

        def work(task: Tuple[int, np.ndarray]) -> Tuple[int, np.ndarray, np.ndarray, np.ndarray]:
            a, bs = task
            C = np.matmul(U[bs], U[a].T)  # (k, H_b, H_a), float32 or float64
            _, col, tot = linear_sum_assignment_batch(C, maximize=True, n_threads=1,
                                                      return_totals=True)
            return a, bs, np.argsort(col, axis=1), tot

        def store(res: Tuple[int, np.ndarray, np.ndarray, np.ndarray]) -> None:
            a, bs, p, tot = res  # p maps b onto a
            perms[a, bs] = p
            inv = np.empty_like(p)
            np.put_along_axis(inv, p, np.broadcast_to(np.arange(h), p.shape), axis=1)
            perms[bs, a] = inv
            dots[a, bs] = tot

        run_tasks(work, store, tasks, nt)
        dots = _f64_finish(ensemble, dots, norms)
    else:
        perms_l = [np.empty((M, M, h), dtype=np.int64) for h in H]
        for l, h in enumerate(H):
            perms_l[l][np.arange(M), np.arange(M)] = np.arange(h)
        dots = np.diag(norms ** 2)
        for a in range(M):
            for b in range(a + 1, M):
                m = match_weights(ensemble[a], ensemble[b], max_iter=max_iter, seed=seed)
                for l in range(len(H)):
                    perms_l[l][a, b] = m.perms[l]
                    perms_l[l][b, a] = np.argsort(m.perms[l])
                dots[a, b] = dots[b, a] = m.objective
        perms = perms_l
    if bar is not None:
        bar.update(1)
        bar.close()
    den = np.outer(norms, norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        ov = np.where(den > 0, dots / den, 0.0)
    if not H:
        return ([] if return_perms else None), ov
    return (perms if return_perms else None), ov


def _f64_finish(ensemble: Ensemble, dots: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """float64 path, one hidden layer: the upper triangle of matched dots -> the full matrix."""
    M = dots.shape[0]
    b2 = ensemble.biases[1] if ensemble.biases is not None else None
    dots = dots + dots.T
    if b2 is not None:
        dots = dots + _out_bias_dot(b2, b2) * (1 - np.eye(M))
    dots[np.arange(M), np.arange(M)] = norms ** 2
    return dots


def _feature_width(ensemble: Ensemble) -> int:
    """Length D of a unit's feature vector (one hidden layer; the widest layer otherwise, a
    rough size for the memory estimate of a tile)."""
    w = ensemble.widths
    return w[0] + w[2] + int(ensemble.has_bias) if len(w) == 3 else max(w)


def _place_perms(P: np.ndarray, p: np.ndarray, i0: int, j0: int, diagonal: bool) -> None:
    """Write a tile's perms (b onto a, a in rows) and their inverses into ``P`` (M, M, H)."""
    p = p.astype(np.int64)
    h = p.shape[2]
    inv = np.empty_like(p)
    np.put_along_axis(inv, p, np.broadcast_to(np.arange(h), p.shape), axis=2)
    if diagonal:
        ia, ib = np.triu_indices(p.shape[0], 1)
        P[i0 + ia, i0 + ib] = p[ia, ib]
        P[i0 + ib, i0 + ia] = inv[ia, ib]
    else:
        P[i0:i0 + p.shape[0], j0:j0 + p.shape[1]] = p
        P[j0:j0 + p.shape[1], i0:i0 + p.shape[0]] = inv.transpose(1, 0, 2)


def _pairwise_tiles(ensemble: Ensemble, H: List[int], M: int, fast: bool, cost_dtype: Any,
                    nt: int, chunk: int, max_iter: int, seed: int, client: Any,
                    block_size: Optional[int], return_perms: bool, progress: bool,
                    U: Optional[np.ndarray] = None, norms: Optional[np.ndarray] = None
                    ) -> Tuple[Any, np.ndarray]:
    """The blocked run: tiles of pairs (locally or as Dask tasks) assembled into the arrays
    that the single call builds before its last step (fast: symmetric totals with the squared
    norms on the diagonal; float64: the upper triangle; deep: symmetric, squared norms).
    ``U``: the float32 unit features (fast path) and ``norms``: the parameter norms (other
    paths), when the caller has them already."""
    if fast:
        kind, data = "fast", _unit_features(ensemble) if U is None else U
    elif len(H) == 1:
        kind, data = "f64", _unit_features(ensemble).astype(cost_dtype)
    else:
        kind, data = "deep", Ensemble(ensemble.weights, ensemble.biases)
    D = _feature_width(ensemble)
    if block_size is None:  # only with a client
        threads = sum(client.nthreads().values()) or 1
        block_size = _blocked.default_block_size(M, H, D, threads, return_perms)
    P: Any = None
    if return_perms:
        P = [np.empty((M, M, h), dtype=np.int64) for h in H]
        for l, h in enumerate(H):
            P[l][np.arange(M), np.arange(M)] = np.arange(h)
    if kind == "deep" and norms is None:
        norms = np.linalg.norm(ensemble.flat().astype(np.float64), axis=1)
    dots = np.zeros((M, M)) if kind != "deep" else np.diag(norms ** 2)
    for (i0, i1, j0, j1), (p, tot) in _blocked.run_tiles(
            kind, data, M, block_size, nt, return_perms, client, progress, chunk=chunk,
            max_iter=max_iter, seed=seed):
        diagonal = i0 == j0
        if diagonal:
            ia, ib = np.triu_indices(i1 - i0, 1)
            dots[i0 + ia, i0 + ib] = tot[ia, ib]
            if kind != "f64":
                dots[i0 + ib, i0 + ia] = tot[ia, ib]
            if kind == "fast":
                d = np.arange(i1 - i0)
                dots[i0 + d, i0 + d] = tot[d, d]
        else:
            dots[i0:i1, j0:j1] = tot
            if kind != "f64":
                dots[j0:j1, i0:i1] = tot.T
        if P is not None:
            for l, pl in enumerate(p if kind == "deep" else [p]):
                _place_perms(P[l], pl, i0, j0, diagonal)
    if P is not None and len(H) == 1:
        P = P[0]
    return P, dots
