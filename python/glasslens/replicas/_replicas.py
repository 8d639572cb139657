"""Replica analysis: overlap distributions P(q), hierarchical clustering and ultrametricity.

Given an overlap matrix Q (R, R) between replicas (see :mod:`glasslens.overlaps`) or a matrix
of distances (d_ab = 1 - q_ab by default):

* :func:`overlap_distribution` - histogram and kernel density of the off-diagonal q_ab, moments,
  Binder-type ratio, an estimate of q_EA (the largest-q mode) and the support [q_min, q_max];
* :func:`cluster` - scipy hierarchical clustering (average, complete, ward, single), dendrogram,
  cophenetic correlation and the Parisi-ordered overlap matrix (rows in dendrogram order);
* :func:`ultrametricity` - statistics of the sorted sides d1 <= d2 <= d3 of triangles of
  replicas: K = (d3 - d2) / sigma_d (Katzgraber-Hartmann normalisation, sigma_d the standard
  deviation of all pairwise distances) and the fraction of near-isosceles triangles
  ((d3 - d2) / d3 < tol), compared with null models (Gaussian points of the same dimension with
  matched mean distance, coordinates shuffled per replica, or any user sampler such as
  :func:`permutation_null` for an Ensemble), with effect sizes, permutation p-values and a
  verdict. An ultrametric space has d2 = d3 for every triangle (K = 0).

Memory: triangle sides are stored as (T, 3) float64; ``triangles="all"`` is refused above
``MAX_ALL_TRIANGLES`` = 20 million triangles (480 MB; M about 490) - pass an int to sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._lib._deprecation import deprecated_method
from .._lib._results import Result, figure_axes, markdown_table
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed
from ._overlaps import _UNSET
from .._lib._limits import MAX_ALL_TRIANGLES, MAX_SAMPLED_TRIANGLES

__all__ = [
    "OverlapDistribution",
    "ClusterResult",
    "UltrametricityResult",
    "NullComparison",
    "overlap_distribution",
    "overlaps_to_distances",
    "cluster",
    "triangle_sides",
    "ultrametricity",
    "gaussian_null",
    "shuffle_null",
    "permutation_null",
    "network_null",
    "covariance_null",
    "path_null",
    "MAX_ALL_TRIANGLES",
    "ReplicaStructure",
    "replica_structure",
    "plot_overlap_distributions",
    "replica_sweep",
    "ReplicaSweep",
    "replica_analysis",
]



# ---- validation ---------------------------------------------------------------------------------

def _square(A: Any, name: str, min_size: int = 2, sym_tol: float = 1e-6) -> np.ndarray:
    a = as_array(A, name, np.float64, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    if a.shape[0] < min_size:
        raise ValueError(f"{name} must be at least {min_size} x {min_size}, got {a.shape}")
    scale = max(1.0, float(np.abs(a).max()))
    if not np.allclose(a, a.T, rtol=0.0, atol=sym_tol * scale):
        i, j = np.unravel_index(np.argmax(np.abs(a - a.T)), a.shape)
        raise ValueError(f"{name} must be symmetric: entry ({i}, {j}) = {a[i, j]} but "
                         f"({j}, {i}) = {a[j, i]}")
    return 0.5 * (a + a.T)


def overlaps_to_distances(Q: Any, mode: str = "1-q") -> np.ndarray:
    """Distances from an overlap matrix: '1-q' (default), '1-|q|' (modulo a global sign flip,
    for spin systems without field) or 'sqrt' (sqrt(2 (1 - q)), the Euclidean distance of unit
    vectors with cosine q). Negative round-off is clipped to 0 and the diagonal set to 0."""
    q = _square(Q, "Q")
    if mode == "1-q":
        d = 1.0 - q
    elif mode == "1-|q|":
        d = 1.0 - np.abs(q)
    elif mode == "sqrt":
        d = np.sqrt(np.clip(2.0 * (1.0 - q), 0.0, None))
    else:
        raise ValueError(f"mode must be '1-q', '1-|q|' or 'sqrt', got {mode!r}")
    d = np.clip(d, 0.0, None)
    np.fill_diagonal(d, 0.0)
    return d


# ---- P(q) ---------------------------------------------------------------------------------------

@dataclass
class OverlapDistribution(Result):
    """Distribution of the off-diagonal overlaps (all pairs a < b, pooled over samples)."""

    q: np.ndarray                 # (n_pairs,) overlaps (with their mirror -q if symmetric=True)
    edges: np.ndarray             # (bins + 1,)
    counts: np.ndarray            # (bins,)
    density: np.ndarray           # (bins,) normalised histogram
    grid: np.ndarray              # (n_grid,) KDE abscissae
    kde: Optional[np.ndarray]     # (n_grid,) kernel density, or None
    bandwidth: float
    mean: float
    var: float
    skewness: float
    kurtosis: float               # excess kurtosis
    q2: float                     # <q^2>
    q4: float                     # <q^4>
    binder: float                 # g = (3 - <q^4>/<q^2>^2) / 2: 0 Gaussian about 0, 1 two deltas
    q_ea: float                   # largest-q mode of the density (Edwards-Anderson estimate)
    q_min: float
    q_max: float
    support: Tuple[float, float]  # robust support: (quantile, 1 - quantile)
    n_pairs: int

    def plot(self, ax_or_fig: Any = None) -> Any:
        """P(q): the normalised histogram, the kernel density and q_EA."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ax.bar(0.5 * (self.edges[1:] + self.edges[:-1]), self.density,
               width=np.diff(self.edges), color="0.8", label="histogram")
        if self.kde is not None:
            ax.plot(self.grid, self.kde, "k-", lw=1.2, label="KDE")
        ax.axvline(self.q_ea, color="C3", ls="--", lw=1, label=f"q_EA = {self.q_ea:.2f}")
        ax.set_xlabel("q")
        ax.set_ylabel("P(q)")
        ax.legend(fontsize=8)
        return fig


def _offdiag(Q: Any) -> np.ndarray:
    a = np.asarray(Q)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"Q must be (M, M) or a stack (S, M, M), got shape {a.shape}")
    vals = []
    for s in range(a.shape[0]):
        q = _square(a[s], "Q" if a.shape[0] == 1 else f"Q[{s}]")
        iu = np.triu_indices(q.shape[0], 1)
        vals.append(q[iu])
    return np.concatenate(vals)


def _prominent_peaks(x: np.ndarray, min_prominence: float) -> np.ndarray:
    """Indices of the local maxima of a 1-D array whose topographic prominence is at least
    ``min_prominence``: ``scipy.signal.find_peaks(x, prominence=min_prominence)[0]`` (same
    plateau rule: a flat top counts once, at its middle, rounded down; same prominence: the
    peak height minus the higher of the lowest points between it and the nearest higher sample
    on either side, or the array's end). Written out because importing scipy.signal costs
    about a second on the first call (tests/replicas check it against scipy)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    peaks = []
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            j = i + 1
            while j < n - 1 and x[j] == x[i]:
                j += 1
            if x[j] < x[i]:
                peaks.append((i + j - 1) // 2)
                i = j
        i += 1
    out = []
    for p in peaks:
        h = x[p]
        left = x[:p + 1][::-1]  # from the peak leftwards
        k = np.flatnonzero(left > h)
        lmin = left[:k[0]].min() if k.size else left.min()
        right = x[p:]
        k = np.flatnonzero(right > h)
        rmin = right[:k[0]].min() if k.size else right.min()
        if h - max(lmin, rmin) >= min_prominence:
            out.append(p)
    return np.asarray(out, dtype=np.int64)


def _binned_kde(x: np.ndarray, lo: float, hi: float, bw: float, n_grid: int) -> Tuple[np.ndarray, np.ndarray]:
    """Gaussian KDE evaluated on a grid by linear binning and convolution (O(n + n_grid^2))."""
    grid = np.linspace(lo, hi, n_grid)
    step = grid[1] - grid[0]
    pos = (x - lo) / step
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n_grid - 2)
    w1 = np.clip(pos - i0, 0.0, 1.0)
    wts = np.bincount(i0, 1.0 - w1, n_grid) + np.bincount(i0 + 1, w1, n_grid)
    half = int(min(n_grid - 1, np.ceil(5 * bw / step)))
    kern = np.exp(-0.5 * (np.arange(-half, half + 1) * step / bw) ** 2)
    # 'full' then the centred n_grid points: mode='same' would return len(kern) points when the
    # kernel is longer than the grid (a bandwidth above ~ a tenth of the range)
    dens = np.convolve(wts, kern, mode="full")[half:half + n_grid]
    dens /= dens.sum() * step
    return grid, dens


def overlap_distribution(
    Q: Any,
    bins: Union[int, Sequence[float]] = 50,
    kde: bool = True,
    bandwidth: Optional[float] = None,
    range: Optional[Tuple[float, float]] = None,
    symmetric: bool = False,
    support_quantile: float = 0.01,
    peak_fraction: float = 0.2,
    n_grid: int = 512,
) -> OverlapDistribution:
    """P(q) of the off-diagonal overlaps.

    Parameters
    ----------
    Q : (M, M) overlap matrix, or (S, M, M) stack (e.g. one per disorder sample; pooled)
    bins : histogram bins (count or edges)
    kde : compute a Gaussian kernel density on ``n_grid`` points (binned, fast for 1e6 pairs)
    bandwidth : KDE bandwidth (default Silverman's rule 0.9 min(sd, IQR / 1.34) n^(-1/5),
        computed on |q| when symmetric=True)
    range : histogram/KDE range (default [-1, 1] if all |q| <= 1, else the data range)
    symmetric : add the mirror images -q (spin systems without field: P(q) = P(-q))
    support_quantile : the robust support is [quantile, 1 - quantile] of the q values
    peak_fraction : q_EA is the largest-q peak of the density whose prominence
        (scipy.signal.find_peaks) is at least this fraction of the global maximum

    Returns
    -------
    OverlapDistribution
    """
    q = _offdiag(Q)
    if q.size == 0:
        raise ValueError("Q has no off-diagonal entries (need M >= 2)")
    if symmetric:
        q = np.concatenate([q, -q])
    sq = check_float(support_quantile, "support_quantile", 0.0, 0.5)
    pf = check_float(peak_fraction, "peak_fraction", 0.0, 1.0)
    ng = check_int(n_grid, "n_grid", 16, 1_000_000)
    if range is None:
        lo, hi = (-1.0, 1.0) if np.all(np.abs(q) <= 1.0 + 1e-12) else (float(q.min()), float(q.max()))
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
    else:
        lo, hi = float(range[0]), float(range[1])
        if not hi > lo:
            raise ValueError(f"range must be (low, high) with high > low, got {range}")
    counts, edges = np.histogram(q, bins=bins, range=(lo, hi))
    width = np.diff(edges)
    tot = counts.sum()
    density = counts / (tot * width) if tot else np.zeros_like(width)
    mean = float(q.mean())
    var = float(q.var())
    sd = np.sqrt(var)
    skew = float(np.mean((q - mean) ** 3) / sd ** 3) if sd > 0 else 0.0
    kurt = float(np.mean((q - mean) ** 4) / var ** 2 - 3.0) if sd > 0 else 0.0
    q2 = float(np.mean(q ** 2))
    q4 = float(np.mean(q ** 4))
    binder = float(0.5 * (3.0 - q4 / q2 ** 2)) if q2 > 0 else float("nan")
    if bandwidth is None:
        # Silverman's robust rule, on |q| for symmetrised data (two mirror peaks would otherwise
        # inflate the spread and smear the peaks)
        base = np.abs(q) if symmetric else q
        iqr = float(np.subtract(*np.quantile(base, [0.75, 0.25])))
        spread = min(float(np.std(base)), iqr / 1.34) if iqr > 0 else float(np.std(base))
        if spread <= 0:
            spread = (hi - lo) / 100
        bw = 0.9 * spread * q.size ** (-0.2)
        bw = max(bw, 2.0 * (hi - lo) / ng)
    else:
        bw = check_float(bandwidth, "bandwidth", 0.0, low_open=True)
    grid, dens = _binned_kde(q, lo, hi, bw, ng)
    # q_EA: the largest-q peak of the density whose prominence is at least peak_fraction of the
    # global maximum (noise bumps of the KDE have small prominence)
    padded = np.r_[0.0, dens, 0.0]
    peaks = _prominent_peaks(padded, pf * float(dens.max())) - 1
    q_ea = float(grid[peaks.max()]) if peaks.size else float(grid[np.argmax(dens)])
    return OverlapDistribution(
        q=q, edges=edges, counts=counts, density=density, grid=grid,
        kde=dens if kde else None, bandwidth=float(bw), mean=mean, var=var, skewness=skew,
        kurtosis=kurt, q2=q2, q4=q4, binder=binder, q_ea=q_ea, q_min=float(q.min()),
        q_max=float(q.max()),
        support=(float(np.quantile(q, sq)), float(np.quantile(q, 1.0 - sq))),
        n_pairs=int(q.size),
    )


# ---- clustering ----------------------------------------------------------------------------------

@dataclass
class ClusterResult(Result):
    """Hierarchical clustering of replicas."""

    method: str
    linkage: np.ndarray           # scipy linkage matrix (M - 1, 4)
    order: np.ndarray             # (M,) leaves in dendrogram order
    cophenetic: float             # correlation between d_ab and the tree (cophenetic) distance
    cophenetic_distances: np.ndarray  # condensed (M (M - 1) / 2,)
    distances: np.ndarray         # (M, M)
    ordered: np.ndarray           # Parisi-ordered matrix: input (overlaps or distances) reordered
    dendrogram: Dict[str, Any]    # scipy.cluster.hierarchy.dendrogram(no_plot=True) output

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        out: Dict[str, Any] = {"method": self.method, "cophenetic": float(self.cophenetic),
                               "M": int(len(self.order)),
                               "order": [int(i) for i in self.order]}
        if arrays:
            out["linkage"] = self.linkage.tolist()
            out["ordered"] = self.ordered.tolist()
        return out

    def plot(self, ax_or_fig: Any = None) -> Any:
        """The Parisi-ordered matrix (rows and columns in dendrogram order)."""
        fig, (ax,) = figure_axes(ax_or_fig)
        im = ax.imshow(self.ordered, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{self.method} linkage order (coph. {self.cophenetic:.2f})", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
        return fig


def _matrix_kind(A: np.ndarray, input: str) -> str:
    if input in ("overlap", "distance"):
        return input
    if input != "auto":
        raise ValueError(f"input must be 'auto', 'overlap' or 'distance', got {input!r}")
    diag = np.diag(A)
    if np.allclose(diag, 0.0, atol=1e-9):
        return "distance"
    if np.allclose(diag, diag[0], atol=1e-9) and diag[0] > 0:
        return "overlap"
    raise ValueError("cannot tell whether the matrix holds overlaps (constant positive diagonal) "
                     "or distances (zero diagonal); pass input='overlap' or input='distance'")


def cluster(
    Q_or_distances: Any,
    method: str = "average",
    input: str = "auto",
    distance: str = "1-q",
    optimal_ordering: bool = False,
) -> ClusterResult:
    """Hierarchical clustering of replicas (scipy ``linkage``).

    Parameters
    ----------
    Q_or_distances : (M, M) overlap matrix (constant diagonal, e.g. 1) or distance matrix
        (zero diagonal); M >= 2
    method : 'average', 'complete', 'ward' or 'single' (Ward assumes Euclidean distances; with
        distance='sqrt' the distances of unit vectors are Euclidean)
    input : 'auto' (from the diagonal), 'overlap' or 'distance'
    distance : map from overlaps to distances (see :func:`overlaps_to_distances`)
    optimal_ordering : reorder leaves to minimise distances between neighbours (slower)
    """
    from scipy.cluster.hierarchy import cophenet, dendrogram, leaves_list, linkage
    from scipy.spatial.distance import squareform

    if method not in ("average", "complete", "ward", "single"):
        raise ValueError(f"method must be 'average', 'complete', 'ward' or 'single', got {method!r}")
    A = _square(Q_or_distances, "Q_or_distances", min_size=2)
    kind = _matrix_kind(A, input)
    if kind == "overlap":
        D = overlaps_to_distances(A, distance)
    else:
        if np.any(A < -1e-12):
            raise ValueError("distances must be non-negative")
        D = np.clip(A, 0.0, None)
        np.fill_diagonal(D, 0.0)
    cond = squareform(D, checks=False)
    Z = linkage(cond, method=method, optimal_ordering=bool(optimal_ordering))
    order = leaves_list(Z)
    if D.shape[0] > 2 and np.ptp(cond) > 0:
        c, coph = cophenet(Z, cond)
        c = float(c)
    else:
        coph = cophenet(Z)
        c = float("nan")
    dend = dendrogram(Z, no_plot=True)
    return ClusterResult(method=method, linkage=Z, order=order, cophenetic=c,
                         cophenetic_distances=np.asarray(coph), distances=D,
                         ordered=A[np.ix_(order, order)], dendrogram=dend)


# ---- triangles -----------------------------------------------------------------------------------

def _sample_triples(M: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniformly random triples of distinct indices, each sorted (a < b < c)."""
    a = rng.integers(0, M, n)
    b = rng.integers(0, M - 1, n)
    b = b + (b >= a)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    c = rng.integers(0, M - 2, n)
    c = c + (c >= lo)
    c = c + (c >= hi)
    return np.ascontiguousarray(np.sort(np.stack([a, b, c], axis=1), axis=1), dtype=np.int64)


def triangle_sides(
    distances: Any,
    triangles: Union[str, int, np.ndarray] = "all",
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> np.ndarray:
    """Sorted sides d1 <= d2 <= d3 of triangles of a distance matrix, (T, 3) float64.

    ``triangles``: 'all' (every a < b < c, lexicographic order; at most MAX_ALL_TRIANGLES), an int
    (that many uniformly sampled triples of distinct points, seeded) or a (T, 3) int array of
    point indices. Computed in C++ (OpenMP over the first index; fixed output positions, so the
    result does not depend on n_threads).
    """
    D = _square(distances, "distances", min_size=3)
    return _sides(D, triangles, np.random.default_rng(check_seed(seed)), resolve_threads(n_threads))


def _sides(D: np.ndarray, triangles: Any, rng: np.random.Generator, nt: int) -> np.ndarray:
    M = D.shape[0]
    if isinstance(triangles, str):
        if triangles != "all":
            raise ValueError(f"triangles must be 'all', an int or a (T, 3) array, got {triangles!r}")
        T = M * (M - 1) * (M - 2) // 6
        if T > MAX_ALL_TRIANGLES:
            raise ValueError(f"triangles='all' gives {T} triangles for M={M}, above the limit "
                             f"{MAX_ALL_TRIANGLES}; pass an int to sample triangles")
        return _core.replicas.triangle_sides_all(D, nt)
    if isinstance(triangles, (int, np.integer)) and not isinstance(triangles, bool):
        n = check_int(triangles, "triangles", 1, MAX_SAMPLED_TRIANGLES)
        return _core.replicas.triangle_sides_list(D, _sample_triples(M, n, rng), nt)
    idx = as_array(triangles, "triangles", np.int64, ndim=2)
    if idx.shape[1] != 3:
        raise ValueError(f"triangles must have shape (T, 3), got {idx.shape}")
    if idx.min() < 0 or idx.max() >= M:
        raise ValueError(f"triangles has point indices outside [0, {M})")
    return _core.replicas.triangle_sides_list(D, idx, nt)


def _tri_stats(D: np.ndarray, sides: np.ndarray, tol: float) -> Dict[str, Any]:
    iu = np.triu_indices(D.shape[0], 1)
    dv = D[iu]
    sigma = float(np.std(dv))
    d3 = sides[:, 2]
    gap = d3 - sides[:, 1]
    ratio = np.zeros_like(gap)
    np.divide(gap, d3, out=ratio, where=d3 > 0)
    K = gap / sigma if sigma > 0 else np.zeros_like(gap)
    return {"K": K, "ratio": ratio, "sigma_d": sigma, "mean_K": float(K.mean()),
            "median_K": float(np.median(K)),
            "frac_isosceles": float(np.count_nonzero(ratio < tol)) / max(ratio.size, 1),
            "mean_d": float(dv.mean())}


def _null_summary(D: np.ndarray, triangles: Any, rng: np.random.Generator, tol: float,
                  nt: int) -> Tuple[float, float, float, int]:
    """(mean K, near-isosceles fraction, sum K^2, n) of a null realisation, in C++ without
    storing the triangles."""
    M = D.shape[0]
    if isinstance(triangles, str):
        sg, sg2, niso, n = _core.replicas.triangle_summary(D, None, tol, nt)
    else:
        idx = _sample_triples(M, int(triangles), rng) if isinstance(triangles, (int, np.integer)) \
            else as_array(triangles, "triangles", np.int64, ndim=2)
        sg, sg2, niso, n = _core.replicas.triangle_summary(D, idx, tol, nt)
    sigma = float(np.std(D[np.triu_indices(M, 1)]))
    if sigma == 0 or n == 0:
        return 0.0, float(niso) / max(n, 1), 0.0, int(n)
    return sg / (n * sigma), niso / n, sg2 / sigma ** 2, int(n)


# ---- null models ---------------------------------------------------------------------------------

_METRICS = ("euclidean", "cosine", "abs_cosine", "sqeuclidean")


def _dist_from_gram(G: np.ndarray, metric: str) -> np.ndarray:
    d = np.diag(G)
    if metric in ("euclidean", "sqeuclidean"):
        D2 = np.clip(d[:, None] + d[None, :] - 2.0 * G, 0.0, None)
        D = D2 if metric == "sqeuclidean" else np.sqrt(D2)
    else:
        nrm = np.sqrt(np.clip(d, 1e-300, None))
        C = G / np.outer(nrm, nrm)
        D = 1.0 - (np.abs(C) if metric == "abs_cosine" else C)
        D = np.clip(D, 0.0, None)
    D = 0.5 * (D + D.T)
    np.fill_diagonal(D, 0.0)
    return D


def gaussian_null(M: int, dim: int, metric: str = "euclidean") -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler of distance matrices of M isotropic Gaussian points in ``dim`` dimensions.

    The Gram matrix is drawn directly from the Wishart law (Bartlett decomposition) when
    dim > M, so the cost is O(M^3) whatever the dimension. ``metric``: 'euclidean',
    'sqeuclidean', 'cosine' (1 - cos) or 'abs_cosine' (1 - |cos|), to match the pipeline that
    produced the data's distances. The caller rescales to the data's mean distance.
    """
    M = check_int(M, "M", 3)
    dim = check_int(dim, "dim", 1)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")

    def sample(rng: np.random.Generator) -> np.ndarray:
        if dim <= M:
            Xg = rng.standard_normal((M, dim))
            G = Xg @ Xg.T
        else:
            A = np.tril(rng.standard_normal((M, M)), -1)
            A[np.diag_indices(M)] = np.sqrt(rng.chisquare(dim - np.arange(M)))
            G = A @ A.T
        return _dist_from_gram(G, metric)

    return sample


def _points_distances(P: np.ndarray, metric: str) -> np.ndarray:
    G = P @ P.T
    return _dist_from_gram(G, metric)


def shuffle_null(points: Any, metric: str = "euclidean") -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler that permutes the coordinates of every point independently (destroys any shared
    structure while keeping each point's values) and recomputes distances with ``metric``."""
    P = as_array(points, "points", np.float64, ndim=2)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")

    def sample(rng: np.random.Generator) -> np.ndarray:
        return _points_distances(rng.permuted(P, axis=1), metric)

    return sample


def covariance_null(distances: Any = None, points: Any = None, metric: str = "euclidean",
                    gram: Any = None) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler of the covariance-matched Gaussian null (see :mod:`glasslens.replicas._nulls`):
    the replicas m + y_a become m + (O Y)_a for a Haar-random rotation O of replica space that
    fixes the all-ones vector, so the mean and the whole sample covariance (spectrum, effective
    dimension, anisotropy) are kept and only the arrangement of the replicas is random; the
    p-value is exact for i.i.d. Gaussian replicas of any covariance. Give ``points`` (M, D),
    or the Gram matrix ``gram`` (e.g. an overlap matrix: unit vectors), or only ``distances``
    (classical MDS: -1/2 J D^2 J for 'euclidean'; 1 - D for 'cosine' / 'abs_cosine').
    Distances of the null points by ``metric``."""
    from . import _nulls

    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    if gram is not None:
        G = _square(gram, "gram", min_size=3)
    elif points is not None:
        Pp = as_array(points, "points", np.float64, ndim=2)
        G = Pp @ Pp.T
    elif distances is not None:
        G = _nulls.gram_from_distances(_square(distances, "distances", min_size=3), metric)
    else:
        raise ValueError("covariance_null needs distances=, points= or gram=")
    return _nulls.covariance_null(G, metric)


def path_null(distances: Any, points: Any = None, metric: str = "euclidean",
              ) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler of the Brownian-path null: the replicas are joined by a short path (greedy
    nearest-neighbour chain on ``distances`` from one end of the diameter; for a trajectory it
    recovers the time order), the consecutive steps (of ``points``, or of the classical-MDS
    embedding of ``distances``) are put in random order and summed again from the first point.
    It keeps every step and the start and destroys their order: exact for a random walk with
    exchangeable steps, conservative (a walk is more ultrametric-looking than an i.i.d. cloud)
    for an unordered set. Distances of the null points by ``metric``."""
    from . import _nulls

    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    D = _square(distances, "distances", min_size=3)
    if points is not None:
        P = as_array(points, "points", np.float64, ndim=2)
        if P.shape[0] != D.shape[0]:
            raise ValueError(f"points has {P.shape[0]} rows but distances is {D.shape[0]} x "
                             f"{D.shape[0]}")
        if P.shape[1] > P.shape[0]:
            P = _nulls.points_from_gram(P @ P.T)
    else:
        P = _nulls.points_from_gram(_nulls.gram_from_distances(D, metric))
    return _nulls.path_null(P, metric, D)


def permutation_null(ensemble: Any, layer: Optional[int] = None, distance: str = "1-q",
                     normalize: str = "cosine", alignment: str = "none",
                     kind: str = "weights", n_threads: Optional[int] = None,
                     ) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler for an Ensemble: permute the hidden units of every replica at random (the network
    functions are unchanged), then the data's pipeline: ``overlap_matrix(kind, alignment,
    layer=layer, normalize=normalize)`` and ``distance``. With an exact alignment (one hidden
    layer) the aligned overlaps of the null equal the data's, so this null is informative with
    ``alignment="none"`` only (the default here, as before)."""
    from ..nn._network import Ensemble
    from ._overlaps import overlap_matrix

    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")

    def sample(rng: np.random.Generator) -> np.ndarray:
        e = ensemble.copy()
        L = len(e.weights)
        for r in range(e.n_replicas):
            for l in range(L - 1):
                perm = rng.permutation(e.weights[l].shape[1])
                e.weights[l][r] = e.weights[l][r][perm]
                e.weights[l + 1][r] = e.weights[l + 1][r][:, perm]
                if e.biases is not None:
                    e.biases[l][r] = e.biases[l][r][perm]
        Q = overlap_matrix(e, kind=kind, alignment=alignment, layer=layer,
                           normalize=normalize, n_threads=n_threads)
        return overlaps_to_distances(Q, distance)

    return sample


def network_null(ensemble: Any, kind: str = "weights", alignment: Optional[str] = None,
                 distance: str = "1-q", X: Any = None, layer: Optional[int] = None,
                 normalize: str = "cosine", n_threads: Optional[int] = None,
                 ) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler for an Ensemble: covariance-matched null networks put through the data's
    pipeline. The replicas' flat parameter vectors (as trained, unaligned) are rotated by a
    Haar-random orthogonal matrix in replica space about their mean, which keeps the mean and
    the covariance across replicas of every parameter exactly (exactly calibrated for i.i.d.
    Gaussian replicas such as untrained networks), then aligned with ``alignment`` (default as
    :func:`glasslens.replicas.overlap_matrix`), turned into ``kind`` overlaps and ``distance``
    distances - the same calls, with the same arguments, as for the data."""
    from ..nn._network import Ensemble
    from . import _nulls
    from ._overlaps import overlap_matrix

    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    if ensemble.n_replicas < 3:
        raise ValueError("network_null needs at least 3 replicas")
    overlaps_to_distances(np.eye(2), distance)  # validates the mode

    def pipeline(e: Any) -> np.ndarray:
        Q = overlap_matrix(e, kind=kind, alignment=alignment, X=X, layer=layer,
                           normalize=normalize, n_threads=n_threads)
        return overlaps_to_distances(Q, distance)

    return _nulls.network_null(ensemble, pipeline)


# ---- ultrametricity -------------------------------------------------------------------------------

@dataclass
class NullComparison(Result):
    """Observed statistics against one null model (n_null realisations)."""

    name: str
    mean_K: np.ndarray            # (n_null,) mean K of each null realisation
    frac_isosceles: np.ndarray    # (n_null,)
    cophenetic: np.ndarray        # (n_null,) cophenetic correlation (average linkage)
    effect_size: float            # Cohen's d of per-triangle K: (null - observed) / pooled sd
    z: float                      # (mean of null mean_K - observed mean_K) / sd of null mean_K
    p_value: float                # P(null mean_K <= observed), (1 + #) / (1 + n_null)
    p_value_cophenetic: float     # P(null cophenetic >= observed)
    more_ultrametric: bool        # observed mean K below the null at level alpha

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        out = super().to_dict(arrays)
        out["null_mean_K"] = float(np.mean(self.mean_K)) if len(self.mean_K) else None
        return out

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Histogram of the null realisations' mean K."""
        fig, (ax,) = figure_axes(ax_or_fig)
        ax.hist(self.mean_K, bins="auto", color="0.7")
        ax.set_xlabel("mean K of a null realisation")
        ax.set_title(f"{self.name} null (p = {self.p_value:.2g})", fontsize=9)
        return fig


@dataclass
class UltrametricityResult(Result):
    """Triangle statistics of the replicas against null models (see :func:`ultrametricity`)."""

    sides: np.ndarray             # (T, 3) sorted sides d1 <= d2 <= d3
    K: np.ndarray                 # (T,) (d3 - d2) / sigma_d
    ratio: np.ndarray             # (T,) (d3 - d2) / d3
    sigma_d: float
    mean_K: float
    median_K: float
    frac_isosceles: float         # fraction with ratio < tol
    tol: float
    cophenetic: float             # average-linkage cophenetic correlation of the data
    nulls: Dict[str, NullComparison] = field(default_factory=dict)
    bootstrap_mean_K: Optional[np.ndarray] = None  # (n_boot,) over 80 % subsamples of replicas
    verdict: str = ""
    #: per null: what it keeps, and its known-answer calibration (bench/results/replicas.md)
    calibration: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        out = super().to_dict(arrays)
        out["n_triangles"] = int(len(self.K))
        out["nulls"] = {k: v.to_dict(arrays) for k, v in self.nulls.items()}
        return out

    def table(self) -> str:
        """Markdown table: the data and each null model (mean K, isosceles, p-value)."""
        rows = [{"model": "data", "mean K": float(self.mean_K),
                 "isosceles": float(self.frac_isosceles), "cophenetic": float(self.cophenetic)}]
        for n, c in self.nulls.items():
            rows.append({"model": f"{n} null", "mean K": float(np.mean(c.mean_K)),
                         "isosceles": float(np.mean(c.frac_isosceles)),
                         "cophenetic": float(np.mean(c.cophenetic)), "p": float(c.p_value),
                         "effect": float(c.effect_size)})
        return markdown_table(rows)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Distribution of K with the means of the data and of the null models."""
        fig, (ax,) = figure_axes(ax_or_fig)
        hi = float(max(np.quantile(self.K, 0.995), 1e-9)) if len(self.K) else 1.0
        ax.hist(self.K, bins=np.linspace(0, hi, 40), density=True, histtype="step", color="k",
                label="data")
        for i, (n, nc) in enumerate(self.nulls.items()):
            ax.axvline(float(nc.mean_K.mean()), color=f"C{i}", ls="--",
                       label=f"{n} null mean (p={nc.p_value:.2g})")
        ax.axvline(self.mean_K, color="k", ls="-", lw=1, label="data mean")
        ax.set_xlabel("K = (d3 - d2) / sigma_d")
        ax.legend(fontsize=8)
        return fig


_DEFAULT_NULLS = ("covariance", "path")


def _null_list(null: Any, M: int, dim: Optional[int], points: Optional[np.ndarray],
               metric: str, D: Optional[np.ndarray] = None,
               gram: Optional[np.ndarray] = None,
               ) -> List[Tuple[str, Callable[[np.random.Generator], np.ndarray]]]:
    from . import _nulls

    if null is None:
        return []
    if isinstance(null, str) or callable(null):
        null = (null,)
    items: List[Tuple[str, Callable[[np.random.Generator], np.ndarray]]] = []
    entries = list(null.items()) if isinstance(null, dict) else [(None, n) for n in null]

    def data_gram() -> np.ndarray:
        if gram is not None:
            return gram
        if points is not None:
            return points @ points.T
        if D is None:
            raise ValueError("this null needs the distances, points or a Gram matrix")
        return _nulls.gram_from_distances(D, metric)

    for name, n in entries:
        if callable(n):
            items.append((name or getattr(n, "__name__", f"null{len(items)}"), n))
        elif n == "covariance":
            items.append((name or "covariance", _nulls.covariance_null(data_gram(), metric)))
        elif n == "path":
            if D is None:
                raise ValueError("the 'path' null needs the data's distances")
            # the points themselves, or points with the data's Gram matrix (same distances)
            P = points if points is not None and points.shape[1] <= M \
                else _nulls.points_from_gram(data_gram())
            items.append((name or "path", _nulls.path_null(P, metric, D)))
        elif n == "gaussian":
            d = dim if dim is not None else (points.shape[1] if points is not None else None)
            if d is None:
                raise ValueError("the 'gaussian' null needs the dimension: pass dim= or points=")
            items.append((name or "gaussian", gaussian_null(M, d, metric)))
        elif n == "shuffle":
            if points is None:
                raise ValueError("the 'shuffle' null needs the points (points=)")
            items.append((name or "shuffle", shuffle_null(points, metric)))
        else:
            raise ValueError(f"unknown null model {n!r}: use 'covariance', 'path', 'gaussian', "
                             "'shuffle' or a callable rng -> (M, M) distances")
    return items


def _coph(D: np.ndarray) -> float:
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.spatial.distance import squareform

    cond = squareform(D, checks=False)
    if np.ptp(cond) == 0:
        return float("nan")
    return float(cophenet(linkage(cond, "average"), cond)[0])


def ultrametricity(
    distances: Any,
    triangles: Union[str, int] = "all",
    null: Any = _DEFAULT_NULLS,
    n_null: int = 39,
    dim: Optional[int] = None,
    points: Any = None,
    metric: str = "euclidean",
    tol: float = 0.05,
    alpha: float = 0.05,
    n_boot: int = 0,
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> UltrametricityResult:
    """Ultrametricity of a distance matrix against null models.

    Parameters
    ----------
    distances : (M, M) symmetric distances, M >= 3 (e.g. ``overlaps_to_distances(Q)``)
    triangles : 'all' or the number of sampled triangles (also used for every null realisation)
    null : names and/or callables: 'gaussian' (M Gaussian points of dimension ``dim`` or
        ``points.shape[1]``, distances by ``metric``, rescaled to the data's mean distance),
        'shuffle' (coordinates of ``points`` permuted per replica), or callables
        ``f(rng) -> (M, M) distances`` (e.g. :func:`permutation_null`); a dict names them
    n_null : realisations per null model
    dim, points : see ``null``; ``points`` (M, D) are the replicas as vectors
    metric : how the null points become distances, to match the data's pipeline: 'euclidean',
        'sqeuclidean', 'cosine' (1 - cos, i.e. d = 1 - q) or 'abs_cosine' (1 - |cos|)
    tol : near-isosceles threshold on (d3 - d2) / d3
    alpha : significance level of the verdict
    n_boot : subsamples (80 % of the replicas, without replacement) for the spread of mean K
    seed : seeds triangle sampling, nulls and subsamples

    Returns
    -------
    UltrametricityResult with per-triangle K, summaries, one NullComparison per null and a verdict.
    Statistics: K = (d3 - d2) / sigma_d is scale-free, so it compares spaces of any dimension;
    p-values are one-sided permutation-style ranks of the observed mean K among the null
    realisations, (1 + #{null <= observed}) / (1 + n_null).
    """
    D = _square(distances, "distances", min_size=3)
    if np.any(D < -1e-12):
        raise ValueError("distances must be non-negative")
    D = np.clip(D, 0.0, None)
    np.fill_diagonal(D, 0.0)
    M = D.shape[0]
    tol = check_float(tol, "tol", 0.0, 1.0)
    alpha = check_float(alpha, "alpha", 0.0, 1.0)
    n_null = check_int(n_null, "n_null", 1, 100_000)
    n_boot = check_int(n_boot, "n_boot", 0, 100_000)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    P = None
    if points is not None:
        P = as_array(points, "points", np.float64, ndim=2)
        if P.shape[0] != M:
            raise ValueError(f"points has {P.shape[0]} rows but distances is {M} x {M}")
    if dim is not None:
        dim = check_int(dim, "dim", 1)
    nt = resolve_threads(n_threads)
    ss = np.random.SeedSequence(check_seed(seed))
    s_tri, s_null, s_boot = ss.spawn(3)
    sides = _sides(D, triangles, np.random.default_rng(s_tri), nt)
    obs = _tri_stats(D, sides, tol)
    coph = _coph(D)
    res = UltrametricityResult(sides=sides, K=obs["K"], ratio=obs["ratio"], sigma_d=obs["sigma_d"],
                               mean_K=obs["mean_K"], median_K=obs["median_K"],
                               frac_isosceles=obs["frac_isosceles"], tol=tol, cophenetic=coph)
    nulls = _null_list(null, M, dim, P, metric, D=D)
    for (name, sampler), sn in zip(nulls, s_null.spawn(len(nulls))):
        rng = np.random.default_rng(sn)
        mk, fi, cp = np.empty(n_null), np.empty(n_null), np.empty(n_null)
        pooled_sum = pooled_sq = 0.0
        pooled_n = 0
        for t in range(n_null):
            Dn = np.asarray(sampler(rng), dtype=np.float64)
            if Dn.shape != (M, M):
                raise ValueError(f"null {name!r} returned shape {Dn.shape}, expected {(M, M)}")
            Dn = _square(Dn, f"null {name!r} distances", min_size=3)
            mdn = Dn[np.triu_indices(M, 1)].mean()
            if mdn > 0:
                Dn = Dn * (obs["mean_d"] / mdn)
            mk[t], fi[t], sq, n = _null_summary(Dn, triangles, rng, tol, nt)
            cp[t] = _coph(Dn)
            pooled_sum += mk[t] * n
            pooled_sq += sq
            pooled_n += n
        mu_n = pooled_sum / pooled_n
        var_n = max(pooled_sq / pooled_n - mu_n ** 2, 0.0)
        pooled_sd = np.sqrt(0.5 * (var_n + float(np.var(obs["K"]))))
        eff = float((mu_n - obs["mean_K"]) / pooled_sd) if pooled_sd > 0 else 0.0
        sd_m = float(np.std(mk, ddof=1)) if n_null > 1 else 0.0
        diff = float(mk.mean() - obs["mean_K"])
        z = diff / sd_m if sd_m > 0 else (0.0 if diff == 0 else float(np.copysign(np.inf, diff)))
        p = float((1 + np.sum(mk <= obs["mean_K"])) / (1 + n_null))
        with np.errstate(invalid="ignore"):
            pc = float((1 + np.sum(cp >= coph)) / (1 + n_null)) if np.isfinite(coph) else float("nan")
        res.nulls[name] = NullComparison(name=name, mean_K=mk, frac_isosceles=fi, cophenetic=cp,
                                         effect_size=eff, z=z, p_value=p, p_value_cophenetic=pc,
                                         more_ultrametric=bool(p < alpha and obs["mean_K"] < mk.mean()))
    if n_boot:
        rng = np.random.default_rng(s_boot)
        m = max(3, int(round(0.8 * M)))
        bm = np.empty(n_boot)
        tb = triangles if isinstance(triangles, (str, int, np.integer)) else len(sides)
        if isinstance(tb, str) and m * (m - 1) * (m - 2) // 6 > MAX_ALL_TRIANGLES:
            tb = MAX_ALL_TRIANGLES
        for b in range(n_boot):
            sel = np.sort(rng.choice(M, m, replace=False))
            Db = np.ascontiguousarray(D[np.ix_(sel, sel)])
            bm[b] = _null_summary(Db, tb, rng, tol, nt)[0]
        res.bootstrap_mean_K = bm
    res.calibration = _calibration_info(res)
    res.verdict = _verdict(res, alpha)
    return res


def _calibration_info(res: "UltrametricityResult") -> Dict[str, Any]:
    from ._nulls import CALIBRATION, NULL_DESCRIPTIONS

    out: Dict[str, Any] = {"nulls": {}, "reference": "bench/results/replicas.md"}
    for n in res.nulls:
        key = _NULL_KIND.get(n, n)
        entry: Dict[str, Any] = {"kind": key,
                                 "preserves": NULL_DESCRIPTIONS.get(key, "user-supplied sampler")}
        if key in CALIBRATION:
            entry.update(CALIBRATION[key])
        out["nulls"][n] = entry
    return out


#: names under which replica_structure registers the built-in samplers
_NULL_KIND = {"covariance": "covariance", "path": "path", "network": "network",
              "gaussian": "gaussian", "shuffle": "shuffle", "permutation": "permutation"}


_NULL_LABEL = {"covariance": "the covariance-matched null",
               "path": "the Brownian-path null",
               "network": "covariance-matched null networks through the same alignment",
               "gaussian": "the isotropic Gaussian null",
               "shuffle": "the coordinate-shuffle null",
               "permutation": "the unit-permutation null"}


def _label(name: str) -> str:
    return _NULL_LABEL.get(_NULL_KIND.get(name, name), f"the {name} null")


def _calibration_text(res: UltrametricityResult) -> str:
    parts = []
    for n, c in (res.calibration or {}).get("nulls", {}).items():
        if "false_positive_rate" in c:
            txt = (f"{n}: p < 0.05 in {c['false_positive_rate']:.3g} of {c['n_datasets']} "
                   f"{c['null_datasets']}")
            if "detected" in c:
                txt += f"; {c['detected']}"
            parts.append(txt)
    if not parts:
        return ""
    return "; calibration (" + (res.calibration or {}).get("reference", "") + "): " + \
        "; ".join(parts)


def _verdict(res: UltrametricityResult, alpha: float) -> str:
    head = (f"mean K = {res.mean_K:.3g}, near-isosceles fraction = {res.frac_isosceles:.3g} "
            f"(tol {res.tol:g})")
    if not res.nulls:
        return head + "; no null model, no verdict"
    parts = []
    for n in res.nulls.values():
        rel = "below" if res.mean_K < n.mean_K.mean() else "above"
        parts.append(f"{n.name}: null mean K = {n.mean_K.mean():.3g}, observed {rel}, "
                     f"effect size {n.effect_size:.2g}, p = {n.p_value:.3g}")
    tail = "; " + "; ".join(parts) + _calibration_text(res)
    n_min = min(n.mean_K.size for n in res.nulls.values())
    if 1.0 / (1 + n_min) >= alpha:
        head = (f"INCONCLUSIVE: n_null={n_min} cannot reach p < {alpha:g} (need n_null >= "
                f"{int(np.ceil(1 / alpha))}): " + head)
        return head + tail
    beats = [n for n in res.nulls.values() if n.more_ultrametric]
    fails = [n for n in res.nulls.values() if not n.more_ultrametric]
    if not fails:
        lead = ("MORE ultrametric than every null model (alpha " + f"{alpha:g}): more ultrametric "
                "than " + " and ".join(f"{_label(n.name)} (p = {n.p_value:.3g})" for n in beats))
    else:
        lead = (f"NOT more ultrametric than every null model (alpha {alpha:g}): not more "
                "ultrametric than " + " or ".join(f"{_label(n.name)} (p = {n.p_value:.3g})"
                                                  for n in fails))
        if beats:
            lead += ("; more ultrametric than " + " and ".join(
                f"{_label(n.name)} (p = {n.p_value:.3g})" for n in beats) + " only")
    return lead + ": " + head + tail


# ---- the protocol in one call ---------------------------------------------------------------------

_DIST_METRIC = {"1-q": "cosine", "1-|q|": "abs_cosine", "sqrt": "euclidean"}


@dataclass
class ReplicaStructure(Result):
    """Everything Protocol 3 computes for one set of replicas (see :func:`replica_structure`):
    ``to_dict()`` (scalars; ``Q`` with ``arrays=True``), ``table()``, ``plot()``."""

    Q: np.ndarray
    distances: np.ndarray
    distribution: OverlapDistribution
    clusters: Dict[str, ClusterResult]
    ultrametricity: UltrametricityResult
    info: Dict[str, Any]

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Scalar results as a flat, JSON-friendly dict (with ``arrays=True`` also ``Q``)."""
        out = self._scalars()
        if arrays:
            out["Q"] = self.Q.tolist()
        return out

    @deprecated_method("summary", "to_dict")
    def summary(self) -> Dict[str, Any]:
        """Deprecated: use :meth:`to_dict`."""
        return self._scalars()

    def table(self) -> str:
        """Markdown table of the scalar results (quantity | value)."""
        return markdown_table([{"quantity": k, "value": v} for k, v in self._scalars().items()],
                              ["quantity", "value"])

    def _scalars(self) -> Dict[str, Any]:
        d = self.distribution
        out: Dict[str, Any] = {
            "M": int(self.Q.shape[0]), "q_mean": d.mean, "q_var": d.var, "q_ea": d.q_ea,
            "q_min": d.q_min, "q_max": d.q_max, "binder": d.binder,
            "mean_K": self.ultrametricity.mean_K,
            "frac_isosceles": self.ultrametricity.frac_isosceles,
            "verdict": self.ultrametricity.verdict,
        }
        for m, c in self.clusters.items():
            out[f"cophenetic_{m}"] = c.cophenetic
        for n, c in self.ultrametricity.nulls.items():
            out[f"null_{n}_mean_K"] = float(c.mean_K.mean())
            out[f"null_{n}_p"] = c.p_value
            out[f"null_{n}_effect"] = c.effect_size
        out.update({k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool))})
        return out

    def plot(self, ax_or_fig: Any = None, method: Optional[str] = None, *,
             fig: Any = None) -> Any:
        """One figure row: P(q), Parisi-ordered overlap matrix with its dendrogram order, and the
        distribution of K against the null models. Returns the matplotlib Figure."""
        from matplotlib.figure import Figure

        if fig is not None:  # the old keyword
            ax_or_fig = fig
        fig = ax_or_fig
        if fig is None:
            fig = Figure(figsize=(13, 3.8))
        axes = fig.subplots(1, 3)
        d = self.distribution
        axes[0].bar(0.5 * (d.edges[1:] + d.edges[:-1]), d.density, width=np.diff(d.edges),
                    color="0.8", label="histogram")
        if d.kde is not None:
            axes[0].plot(d.grid, d.kde, "k-", lw=1.2, label="KDE")
        axes[0].axvline(d.q_ea, color="C3", ls="--", lw=1, label=f"q_EA = {d.q_ea:.2f}")
        axes[0].set_xlabel("q")
        axes[0].set_ylabel("P(q)")
        axes[0].legend(fontsize=8)
        m = method or next(iter(self.clusters))
        c = self.clusters[m]
        absq = self.info.get("distance") == "1-|q|"
        shown = np.abs(self.Q) if absq else self.Q
        im = axes[1].imshow(shown[np.ix_(c.order, c.order)], cmap="viridis", interpolation="nearest")
        axes[1].set_title(f"{'|q|' if absq else 'q'}, {m} linkage order "
                          f"(coph. {c.cophenetic:.2f})", fontsize=9)
        fig.colorbar(im, ax=axes[1], fraction=0.046)
        u = self.ultrametricity
        hi = float(max(np.quantile(u.K, 0.995), 1e-9))
        bins = np.linspace(0, hi, 40)
        axes[2].hist(u.K, bins=bins, density=True, histtype="step", color="k", label="data")
        for i, (n, nc) in enumerate(u.nulls.items()):
            axes[2].axvline(float(nc.mean_K.mean()), color=f"C{i}", ls="--",
                            label=f"{n} null mean (p={nc.p_value:.2g})")
        axes[2].axvline(u.mean_K, color="k", ls="-", lw=1, label="data mean")
        axes[2].set_xlabel("K = (d3 - d2) / sigma_d")
        axes[2].legend(fontsize=8)
        fig.tight_layout()
        return fig


def replica_structure(
    data: Any,
    kind: str = "weights",
    alignment: Optional[str] = None,
    X: Any = None,
    distance: str = "1-q",
    methods: Sequence[str] = ("average", "complete", "ward"),
    triangles: Union[str, int, None] = None,
    null: Any = "auto",
    n_null: int = 39,
    dim: Optional[int] = None,
    bins: Union[int, Sequence[float]] = 50,
    seed: int = 0,
    n_threads: Optional[int] = None,
    *,
    aligned: Any = _UNSET,
) -> ReplicaStructure:
    """Protocol 3 in one call: overlap matrix, P(q), hierarchical clustering (several linkages),
    ultrametricity against null models.

    Parameters
    ----------
    data : Ensemble (overlaps by ``overlap_matrix(kind, alignment, X=X)``), an (M, N) array of
        +-1 configurations (sign overlaps), or an (M, M) overlap matrix (unit diagonal; pass
        ``dim`` for the Gaussian null)
    alignment : how the hidden units of an Ensemble are aligned (see
        :func:`glasslens.replicas.overlap_matrix`): default (None) ``"pairwise"`` for weight
        overlaps (every pair at its own optimal matching: the overlap modulo the permutation
        symmetry), ``"none"`` otherwise. ``"reference"`` (all to replica 0) makes that replica
        a hub and adds a spurious peak to P(q). Deprecated: ``aligned=True`` (the old default)
        is ``"reference"``, ``aligned=False`` is ``"none"``.
    distance : '1-q', '1-|q|' or 'sqrt' (see :func:`overlaps_to_distances`); the Gaussian null
        uses the matching metric
    triangles : 'all', a number to sample, or None (all up to 2 million, else 2 million sampled)
    null : ``"auto"`` (default): the calibrated nulls, ``("network",)`` for an Ensemble with
        kind 'weights' or 'signs' (covariance-matched null networks put through exactly the
        data's alignment, overlap and distance pipeline, :func:`network_null`), else
        ``("covariance",)`` (the covariance-matched Gaussian null on the replicas' Gram
        matrix, see :func:`ultrametricity`): replicas are independent runs, exchangeable by
        construction; for a sequence (snapshots of one trajectory) add ``"path"``. Or any of 'network', 'covariance'
        (for an Ensemble with kind 'weights'/'signs' the same as 'network'), 'path',
        'gaussian' (isotropic, of dimension ``dim`` or the number of parameters / spins; not
        calibrated for anisotropic data), 'permutation' (Ensemble with kind='weights' only:
        hidden units re-permuted at random, then the data's alignment; silently skipped
        otherwise), 'shuffle' (+-1 configurations: sites permuted per replica), or callables
        (see :func:`ultrametricity`). The verdict says which nulls were beaten, with p-values,
        and the known-answer calibration of each (``ultrametricity.calibration``).
    """
    from ..nn._network import Ensemble
    from ._overlaps import default_alignment, legacy_aligned, overlap_matrix, sign_overlaps

    alignment = legacy_aligned(aligned, alignment, "replica_structure")
    if distance not in _DIST_METRIC:
        raise ValueError(f"distance must be one of {tuple(_DIST_METRIC)}, got {distance!r}")
    from . import _nulls

    info: Dict[str, Any] = {"kind": kind, "distance": distance}
    metric = _DIST_METRIC[distance]
    points = None
    ens = data if isinstance(data, Ensemble) else None
    if ens is not None:
        if alignment is None or kind == "function":
            alignment = default_alignment(ens, kind)
        Q = overlap_matrix(ens, kind=kind, alignment=alignment, X=X, n_threads=n_threads)
        info["alignment"] = alignment
        d_null = dim if dim is not None else (ens.n_params if kind != "function" else None)
    else:
        arr = np.asarray(data)
        if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and np.allclose(np.diag(arr), 1.0):
            Q = _square(arr, "data")
            d_null = dim
        else:
            Q = sign_overlaps(arr, n_threads=n_threads)
            points = np.asarray(arr, dtype=np.float64)
            d_null = dim if dim is not None else arr.shape[1]
            info["kind"] = "signs"
    D = overlaps_to_distances(Q, distance)
    M = Q.shape[0]
    if triangles is None:
        triangles = "all" if M * (M - 1) * (M - 2) // 6 <= 2_000_000 else 2_000_000
    through_pipeline = ens is not None and kind != "function"
    if isinstance(null, str) and null == "auto":
        # replicas are independent runs (exchangeable): the covariance-matched null; the
        # Brownian-path null is for sequences (pass null=("covariance", "path") for those)
        null = ("network",) if through_pipeline else ("covariance",)
    info["null"] = null if isinstance(null, str) or callable(null) else \
        [n if isinstance(n, str) else getattr(n, "__name__", "callable") for n in (null or ())]
    nulls: List[Any] = []
    names = (null,) if isinstance(null, str) or callable(null) else tuple(null or ())
    # the Gram matrix of the replicas as the data's pipeline sees them (unit vectors for
    # overlaps, the +-1 configurations for signs; their metric distances are D)
    gram = Q
    for n in names:
        if n in ("network", "covariance") and through_pipeline:
            nulls.append(("network", network_null(ens, kind=kind, alignment=alignment,
                                                  distance=distance, X=X,
                                                  n_threads=n_threads)))
        elif n == "network":
            raise ValueError("the 'network' null needs an Ensemble with kind='weights' or "
                             "'signs' (use 'covariance' otherwise)")
        elif n == "covariance":
            nulls.append(("covariance", _nulls.covariance_null(gram, metric)))
        elif n == "path":
            nulls.append(("path", _nulls.path_null(_nulls.points_from_gram(gram), metric, D)))
        elif n == "gaussian":
            if d_null is not None:
                nulls.append(("gaussian", gaussian_null(M, d_null, metric)))
        elif n == "permutation":
            if ens is not None and kind == "weights":
                nulls.append(("permutation", permutation_null(
                    ens, distance=distance, alignment=alignment, n_threads=n_threads)))
        elif n == "shuffle":
            if points is not None:
                nulls.append(("shuffle", _signs_shuffle_null(points, distance)))
        elif callable(n):
            nulls.append((getattr(n, "__name__", f"null{len(nulls)}"), n))
        else:
            raise ValueError(f"unknown null model {n!r}")
    dist = overlap_distribution(Q, bins=bins, symmetric=(distance == "1-|q|"))
    clusters = {m: cluster(Q, method=m, input="overlap", distance=distance) for m in methods}
    um = ultrametricity(D, triangles=triangles, null=dict(nulls) if nulls else None,
                        n_null=n_null, tol=0.05, seed=seed, n_threads=n_threads)
    return ReplicaStructure(Q=Q, distances=D, distribution=dist, clusters=clusters,
                            ultrametricity=um, info=info)


def _signs_shuffle_null(points: np.ndarray, distance: str) -> Callable[[np.random.Generator], np.ndarray]:
    from ._overlaps import sign_overlaps

    S = np.ascontiguousarray(points, dtype=np.int8)

    def sample(rng: np.random.Generator) -> np.ndarray:
        return overlaps_to_distances(sign_overlaps(rng.permuted(S, axis=1)), distance)

    return sample


def plot_overlap_distributions(dists: Dict[str, OverlapDistribution], ax: Any = None,
                               title: Optional[str] = None) -> Any:
    """Overlay the P(q) kernel densities of several runs (e.g. a sweep over widths, data-set
    sizes or batch sizes; keys are the legend labels). Returns the matplotlib Axes."""
    from matplotlib.figure import Figure

    if not isinstance(dists, dict) or not dists:
        raise ValueError("dists must be a non-empty dict label -> OverlapDistribution")
    if ax is None:
        ax = Figure(figsize=(5, 3.5)).subplots()
    for i, (label, d) in enumerate(dists.items()):
        if not isinstance(d, OverlapDistribution):
            raise TypeError(f"dists[{label!r}] must be an OverlapDistribution, got {type(d).__name__}")
        y = d.kde if d.kde is not None else np.interp(d.grid, 0.5 * (d.edges[1:] + d.edges[:-1]),
                                                      d.density)
        ax.plot(d.grid, y, color=f"C{i % 10}", label=f"{label} (q_EA {d.q_ea:.2f})")
    ax.set_xlabel("q")
    ax.set_ylabel("P(q)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


class ReplicaSweep(Result, Dict[str, ReplicaStructure]):
    """``{label: ReplicaStructure}`` of a sweep (a dict), with a table and a figure showing how
    P(q) and the ultrametricity statistics change along the sweep; ``to_dict()`` is
    ``{"runs": {label: run.to_dict()}}``."""

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        return {"runs": {k: v.to_dict(arrays) for k, v in self.items()}}

    def table(self) -> str:
        """Markdown table: one row per run (M, mean q, q_EA, Binder ratio, mean K, p-values)."""
        nulls = sorted({n for v in self.values() for n in v.ultrametricity.nulls})
        head = ["run", "M", "mean q", "q_EA", "[q_min, q_max]", "Binder", "mean K",
                "isosceles"] + [f"p ({n} null)" for n in nulls]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for k, v in self.items():
            d, u = v.distribution, v.ultrametricity
            cells = [k, str(v.Q.shape[0]), f"{d.mean:.3f}", f"{d.q_ea:.3f}",
                     f"[{d.q_min:.3f}, {d.q_max:.3f}]", f"{d.binder:.3f}", f"{u.mean_K:.3f}",
                     f"{u.frac_isosceles:.3f}"]
            cells += [f"{u.nulls[n].p_value:.3g}" if n in u.nulls else "-" for n in nulls]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def plot(self, ax_or_fig: Any = None, scale: str = "density", *, fig: Any = None) -> Any:
        """Overlaid P(q) densities (:func:`plot_overlap_distributions`) and the mean K of the
        data and of the null models per run. ``scale="peak"`` divides each density by its
        maximum (to compare shapes when one P(q) is much narrower than another). Returns a
        headless matplotlib Figure."""
        if scale not in ("density", "peak"):
            raise ValueError(f"scale must be 'density' or 'peak', got {scale!r}")
        from .._lib._plotting import new_figure

        fig = fig if fig is not None else ax_or_fig
        if fig is None:
            fig, axes = new_figure(2, size=(4.6, 3.4))
        else:
            axes = fig.subplots(1, 2).ravel()
        plot_overlap_distributions({k: v.distribution for k, v in self.items()}, ax=axes[0],
                                   title="P(q) along the sweep")
        if scale == "peak":
            for line in axes[0].get_lines():
                y = np.asarray(line.get_ydata(), dtype=np.float64)
                if y.size and np.max(y) > 0:
                    line.set_ydata(y / np.max(y))
            axes[0].relim()
            axes[0].autoscale_view()
            axes[0].set_ylabel("P(q) / max P(q)")
        labels = list(self.keys())
        x = np.arange(len(labels))
        axes[1].plot(x, [v.ultrametricity.mean_K for v in self.values()], "ko-", label="data")
        nulls = sorted({n for v in self.values() for n in v.ultrametricity.nulls})
        for i, n in enumerate(nulls):
            y = [float(v.ultrametricity.nulls[n].mean_K.mean()) if n in v.ultrametricity.nulls
                 else np.nan for v in self.values()]
            axes[1].plot(x, y, "s--", color=f"C{i}", label=f"{n} null")
        axes[1].set_xticks(x)
        axes[1].set_xticklabels(labels, rotation=30, fontsize=8)
        axes[1].set_ylabel("mean K = (d3 - d2) / sigma_d")
        axes[1].set_title("ultrametricity (lower = more ultrametric)", fontsize=9)
        axes[1].legend(fontsize=8)
        return fig


def replica_sweep(runs: Dict[str, Any], **kwargs: Any) -> ReplicaSweep:
    """:func:`replica_structure` for each entry of a sweep (label -> Ensemble, configurations or
    overlap matrix; e.g. one ensemble per width, data-set size or batch size), same options and
    seed for every run. Returns a :class:`ReplicaSweep` (a dict label -> ReplicaStructure with
    ``.table()`` and ``.plot()``)."""
    if not isinstance(runs, dict) or not runs:
        raise ValueError("runs must be a non-empty dict label -> data")
    return ReplicaSweep({str(k): replica_structure(v, **kwargs) for k, v in runs.items()})


def replica_analysis(data: Any, alignment: Optional[str] = None,
                     **kwargs: Any) -> Union[ReplicaStructure, ReplicaSweep]:
    """The replica-analysis protocol (Protocol 3), ``glasslens.replica_analysis``.

    ``data``: an Ensemble, an (M, N) array of +-1 configurations or an (M, M) overlap matrix
    gives :func:`replica_structure` (aligned overlap matrix, P(q), dendrogram order,
    ultrametricity against null models; ``.plot()`` draws the one-row panel); a dict
    ``{label: data}`` (a sweep over widths, data-set sizes, batch sizes, ...) gives
    :func:`replica_sweep` (``.table()``, ``.plot()``). Keyword arguments are those of
    :func:`replica_structure`.

    ``alignment`` defaults to ``"pairwise"`` for weight overlaps of an Ensemble (every pair at
    its own optimal matching: the overlap modulo the permutation symmetry) and to ``"none"``
    otherwise. Aligning every replica to one reference replica (``alignment="reference"``)
    makes that replica a hub: its overlaps with all others are pairwise optima, the others'
    overlaps are not, which adds a spurious peak to P(q). Deprecated: ``aligned=True`` is
    ``"reference"``, ``aligned=False`` is ``"none"``; the old default for ``kind="signs"`` of an
    Ensemble was ``"reference"``, now ``"none"``."""
    from ._overlaps import legacy_aligned

    alignment = legacy_aligned(kwargs.pop("aligned", _UNSET), alignment, "replica_analysis")
    if isinstance(data, dict):
        return replica_sweep(data, alignment=alignment, **kwargs)
    return replica_structure(data, alignment=alignment, **kwargs)
