"""Calibrated null models for ultrametricity: they keep everything but the hierarchy.

The question "is this set of replicas more ultrametric than chance?" needs a chance model that
shares every property of the data that changes triangle statistics without being a hierarchy:
the mean, the covariance spectrum (effective dimension, anisotropy), the metric, and every
processing step (alignment of hidden units, overlaps, distances). An isotropic Gaussian in the
ambient dimension shares none of the first three: any low-dimensional or anisotropic cloud
(a random walk, a 2-D sheet in D = 2,000, a power-law spectrum) then looks "more ultrametric".

``covariance`` (the default)
    The exact conditional Gaussian null. For M replicas x_a = m + y_a (m the mean, Y the
    centred (M, D) matrix), a null realisation is x'_a = m + (O Y)_a with O a Haar-random
    orthogonal M x M matrix that fixes the all-ones vector (a random rotation in replica space).
    It keeps exactly the mean, the sample covariance (spectrum *and* eigenvectors, hence the
    effective dimension, the anisotropy and the mean squared distance) and the metric; it
    destroys which replicas are near which. If the replicas are i.i.d. Gaussian with any mean
    and any covariance, the data are exchangeable with the null realisations given the
    sufficient statistics (mean, covariance), so the p-value is exactly uniform (a Monte Carlo
    conditional test); for other i.i.d. laws (+-1 spins, uniform weights) it is uniform up to
    high-dimensional CLT corrections. All of it is done on the M x M Gram matrix (O(M^3) per
    realisation, any D): from points, from an overlap matrix (the Gram of unit vectors) or, for
    a distance matrix alone, from the classical-MDS Gram -1/2 J D^2 J (negative eigenvalues,
    the non-Euclidean part, clipped).
``network`` (Ensembles)
    The same rotation applied to the replicas' flat parameter vectors as trained (mean and the
    P x P covariance across replicas kept exactly; i.i.d. networks, e.g. untrained ones with a
    Gaussian initialisation, give exactly uniform p-values), then *the data's pipeline*: the same
    alignment (none / pairwise / reference / medoid / mean), the same overlap kind and the same
    distance. Aligning creates structure (a reference replica becomes a hub); the null gets the
    same treatment, so alignment alone cannot make data "more ultrametric".
``path``
    A Brownian-path null for a sequence of replicas (a training trajectory, a random walk):
    the data's consecutive differences (in the data's order) with their order permuted at
    random and summed again. It keeps every step (its length and direction), the start point and
    the set of increments; it destroys the ordering of the steps. Valid when the replicas are
    successive states of one process (for an unordered set, the order is arbitrary).

The old nulls (``gaussian``: isotropic Gaussian in a given dimension; ``shuffle``: coordinates
permuted per replica; ``permutation``: hidden units relabelled, then put through the data's
alignment) keep their names; they are not the default, because the first two destroy the
covariance and the last is the data itself once the alignment is exact.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

__all__ = ["covariance_null", "network_null", "path_null", "NULL_DESCRIPTIONS", "CALIBRATION",
           "haar_rotation_fixing_ones"]

Sampler = Callable[[np.random.Generator], np.ndarray]

#: what each named null keeps and destroys (stored in UltrametricityResult.calibration)
NULL_DESCRIPTIONS: Dict[str, str] = {
    "covariance": ("covariance-matched Gaussian (random rotation in replica space): keeps the "
                   "mean, the full covariance (spectrum, effective dimension, anisotropy) and the "
                   "metric; destroys which replicas are near which; exact for i.i.d. Gaussian "
                   "replicas"),
    "network": ("covariance-matched null networks (random rotation of the flat parameters in "
                "replica space), then the data's alignment, overlap and distance pipeline"),
    "path": ("Brownian-path null: the data's consecutive steps in random order; keeps every "
             "step and the start, destroys their order"),
    "gaussian": ("isotropic Gaussian in the given dimension, matched mean distance: keeps "
                 "neither the covariance nor the effective dimension (anisotropic or "
                 "low-dimensional data look ultrametric against it)"),
    "shuffle": ("coordinates permuted per replica: keeps each replica's values, destroys the "
                "covariance"),
    "permutation": ("hidden units relabelled at random, then the data's alignment: keeps the "
                    "networks, and equals the data once the alignment is exact (informative with "
                    "alignment='none' only)"),
}


def haar_rotation_fixing_ones(M: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random M x M orthogonal matrix O with O 1 = 1 (uniform on the rotations and
    reflections of the subspace orthogonal to the all-ones vector)."""
    A = rng.standard_normal((M - 1, M - 1))
    q, r = np.linalg.qr(A)
    q = q * np.sign(np.diag(r))[None, :]  # Haar (Mezzadri's sign fix)
    H = _helmert(M)  # (M, M - 1) orthonormal basis of 1-perp
    return H @ q @ H.T + np.full((M, M), 1.0 / M)


_HELMERT: Dict[int, np.ndarray] = {}


def _helmert(M: int) -> np.ndarray:
    H = _HELMERT.get(M)
    if H is None:
        H = np.zeros((M, M - 1))
        for k in range(1, M):
            H[:k, k - 1] = 1.0 / np.sqrt(k * (k + 1))
            H[k, k - 1] = -k / np.sqrt(k * (k + 1))
        if len(_HELMERT) < 64:
            _HELMERT[M] = H
    return H


def _split_gram(G: np.ndarray):
    """G = |m|^2 11' + 1 c' + c 1' + B for points x_a = m + y_a: B = J G J (centred Gram),
    c = Y m = J G 1 / M, |m|^2 = 1' G 1 / M^2."""
    M = G.shape[0]
    row = G.mean(axis=1)
    tot = row.mean()
    B = G - row[:, None] - row[None, :] + tot
    c = row - tot
    return 0.5 * (B + B.T), c, float(tot)


def _psd_root(B: np.ndarray) -> np.ndarray:
    """Y with Y Y' = B+ (B with negative eigenvalues clipped), (M, r)."""
    w, V = np.linalg.eigh(0.5 * (B + B.T))
    keep = w > max(float(w.max()), 0.0) * 1e-12
    return V[:, keep] * np.sqrt(w[keep])[None, :]


def gram_from_distances(D: np.ndarray, metric: str) -> np.ndarray:
    """A Gram matrix whose ``metric`` distances are D: the overlap matrix 1 - D for 'cosine'
    and 'abs_cosine' (unit vectors; for 'abs_cosine' the sign is lost and |q| is used), the
    classical-MDS Gram -1/2 J D^2 J for 'euclidean' (-1/2 J D J for 'sqeuclidean')."""
    if metric in ("cosine", "abs_cosine"):
        G = 1.0 - D
        np.fill_diagonal(G, 1.0)
        return G
    D2 = D * D if metric == "euclidean" else D
    M = D.shape[0]
    J = np.eye(M) - 1.0 / M
    return -0.5 * J @ D2 @ J


def covariance_null(G: np.ndarray, metric: str) -> Sampler:
    """Sampler of the covariance-matched (rotation) null from the Gram matrix ``G`` of the
    replicas (points P: ``P @ P.T``; an overlap matrix; or :func:`gram_from_distances`):
    returns the ``metric`` distances of m + O Y for a random rotation O fixing 1."""
    from ._replicas import _dist_from_gram

    G = np.asarray(G, dtype=np.float64)
    M = G.shape[0]
    if metric == "abs_cosine":  # fix the +-q gauge first (the data's |q| do not change)
        v = np.linalg.eigh(G)[1][:, -1]
        s = np.where(v < 0, -1.0, 1.0)
        G = G * np.outer(s, s)
    B, c, mm = _split_gram(G)
    Y = _psd_root(B)  # centred part; rank <= M - 1
    centred_only = metric in ("euclidean", "sqeuclidean")

    def sample(rng: np.random.Generator) -> np.ndarray:
        O = haar_rotation_fixing_ones(M, rng)
        OY = O @ Y
        Gn = OY @ OY.T
        if not centred_only:
            oc = O @ c
            Gn = Gn + mm + oc[:, None] + oc[None, :]
        return _dist_from_gram(Gn, metric)

    return sample


def network_null(ensemble: Any, pipeline: Callable[[Any], np.ndarray]) -> Sampler:
    """Sampler of null ensembles: the replicas' flat parameters rotated in replica space about
    their mean (exactly their mean and covariance kept), then ``pipeline(null_ensemble)`` (the
    data's alignment, overlaps and distances)."""
    from ..nn._network import Ensemble

    F = ensemble.flat().astype(np.float64)
    mean = F.mean(axis=0)
    Y = F - mean
    widths, bias = ensemble.widths, ensemble.has_bias
    M = F.shape[0]

    def sample(rng: np.random.Generator) -> np.ndarray:
        O = haar_rotation_fixing_ones(M, rng)
        theta = (O @ Y + mean).astype(np.float32)
        return pipeline(Ensemble.from_flat(widths, theta, bias=bias))

    return sample


def chain_order(D: np.ndarray) -> np.ndarray:
    """A short path through the replicas: greedy nearest-neighbour chain started at one end of
    the diameter (for a trajectory in high dimension this recovers the time order)."""
    D = np.asarray(D, dtype=np.float64)
    M = D.shape[0]
    a = int(np.argmax(D.max(axis=1)))
    order = [a]
    free = np.ones(M, dtype=bool)
    free[a] = False
    for _ in range(M - 1):
        row = np.where(free, D[order[-1]], np.inf)
        a = int(np.argmin(row))
        order.append(a)
        free[a] = False
    return np.asarray(order)


def sign_gauge(P: np.ndarray, order: Optional[np.ndarray] = None) -> np.ndarray:
    """Flip replicas (rows) for the +-q symmetry of 1 - |q| distances, which do not change:
    along ``order`` each replica is made positively correlated with its predecessor, or, without
    an order, with the leading eigenvector of the Gram matrix."""
    P = np.array(P, dtype=np.float64)
    if order is None:
        G = P @ P.T
        v = np.linalg.eigh(G)[1][:, -1]
        P[v < 0] *= -1.0
        return P
    for i in range(1, len(order)):
        if P[order[i]] @ P[order[i - 1]] < 0:
            P[order[i]] *= -1.0
    return P


def path_null(points: np.ndarray, metric: str, distances: np.ndarray) -> Sampler:
    """Sampler of the Brownian-path null: the replicas joined in :func:`chain_order` of the
    data's ``distances``, the consecutive steps of ``points`` permuted at random and summed again
    from the first point; distances by ``metric``. For 'abs_cosine' the signs are first fixed
    along the chain (:func:`sign_gauge`)."""
    from ._replicas import _points_distances

    order = chain_order(distances)
    P = np.asarray(points, dtype=np.float64)
    if metric == "abs_cosine":
        P = sign_gauge(P, order)
    P = P[order]
    steps = np.diff(P, axis=0)
    inv = np.argsort(order)

    def sample(rng: np.random.Generator) -> np.ndarray:
        Pn = np.concatenate([P[:1], P[:1] + np.cumsum(steps[rng.permutation(len(steps))], 0)])
        return _points_distances(Pn[inv], metric)

    return sample


def points_from_gram(G: np.ndarray) -> np.ndarray:
    """(M, r) points with the Gram matrix G (negative eigenvalues clipped)."""
    return _psd_root(G)


#: known-answer calibration of the default nulls (bench/python/calibrate_ultrametricity.py,
#: bench/results/replicas_calibration.json and replicas.md; p < 0.05 with n_null = 99 for points,
#: 59 for networks, where an exact null gives 0.04 and 0.033)
CALIBRATION: Dict[str, Any] = {
    "covariance": {
        "false_positive_rate": 0.041, "n_datasets": 1000,
        "null_datasets": ("null data sets (200 each: isotropic, 1/k power-law spectrum, 3-D in "
                          "D = 300, Gaussian with a mean under the cosine metric; i.i.d. +-1 "
                          "spins with 1 - |q|: 0.02 to 0.05 per family)"),
        "detected": ("planted trees (branching 2-8, depth 2-5) more ultrametric in 5/5 shapes; "
                     "SK at T = 0.4, N = 128 in 6/6 samples"),
    },
    "path": {
        "false_positive_rate": 0.040, "n_datasets": 200,
        "null_datasets": "random walks (M = 24, D = 300)",
        "detected": "planted trees more ultrametric in 5/5 shapes",
    },
    "network": {
        "false_positive_rate": 0.046, "n_datasets": 800,
        "null_datasets": ("ensembles of untrained i.i.d. networks put through each alignment "
                          "(none 0.065, pairwise 0.045, reference 0.025, medoid 0.07, mean 0.03)"),
        "detected": ("untrained networks under reference/medoid/mean alignment: not more "
                     "ultrametric (the unaligned isotropic and permutation nulls said more)"),
    },
}
