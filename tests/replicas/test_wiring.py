"""Wiring of glasslens.replicas: every public option reaches the computation (tests/wiring.py)."""

import numpy as np
import pytest

import glasslens as gl
from glasslens import replicas

import dask_clients
import wiring
W, w, With, SAME, differs, threads, dep = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                           wiring.differs, wiring.threads, wiring.dep)

_rng = np.random.default_rng(0)
ENS = gl.Ensemble.init([6, 8, 3], replicas=6, seed=0)
ENS2 = gl.Ensemble.init([6, 8, 3], replicas=5, seed=1)
X = _rng.normal(size=(50, 6)).astype(np.float32)
X2 = _rng.normal(size=(50, 6)).astype(np.float32)
SPINS = np.where(_rng.random((7, 300)) < 0.5, -1, 1).astype(np.int8)
SPINS2 = np.where(_rng.random((7, 300)) < 0.5, -1, 1).astype(np.int8)
Q = replicas.overlap_matrix(ENS)
D = replicas.overlaps_to_distances(Q)
POINTS = _rng.normal(size=(6, 4))
# two groups of replicas: P(q) has a peak near 0 (between groups, the higher) and one near 0.8
_g = np.repeat([0, 1], 5)
Q_BI = np.where(_g[:, None] == _g[None, :], 0.8, 0.0) + 0.02 * _rng.normal(size=(10, 10))
Q_BI = 0.5 * (Q_BI + Q_BI.T)
np.fill_diagonal(Q_BI, 1.0)

RUNNERS = {
    "overlap_matrix": (lambda **k: dask_clients.call(
        lambda **kk: replicas.overlap_matrix(ENS, **kk), **k), {}),
    "overlap_distribution": (lambda **k: replicas.overlap_distribution(Q_BI, **k), {}),
    "overlaps_to_distances": (lambda **k: replicas.overlaps_to_distances(Q, **k), {}),
    "cluster": (lambda **k: replicas.cluster(np.abs(Q), **k), {}),
    "triangle_sides": (lambda **k: replicas.triangle_sides(D, **k), {}),
    "ultrametricity": (lambda **k: replicas.ultrametricity(D, **k), dict(n_null=4, dim=20)),
    "gaussian_null": (lambda **k: replicas.gaussian_null(6, 5, **k)(np.random.default_rng(0)),
                      {}),
    "shuffle_null": (lambda **k: replicas.shuffle_null(POINTS, **k)(np.random.default_rng(0)),
                     {}),
    "permutation_null": (lambda **k: replicas.permutation_null(ENS, **k)(
        np.random.default_rng(0)), {}),
    "covariance_null": (lambda **k: replicas.covariance_null(**k)(np.random.default_rng(0)),
                        dict(distances=D)),
    "path_null": (lambda **k: replicas.path_null(D, **k)(np.random.default_rng(0)), {}),
    "network_null": (lambda **k: replicas.network_null(ENS, **k)(np.random.default_rng(0)),
                     {}),
    "pack_signs": (lambda **k: replicas.pack_signs(SPINS, **k).unpack(), {}),
    "sign_overlaps": (lambda **k: replicas.sign_overlaps(SPINS, **k), {}),
    "replica_structure": (lambda **k: replicas.replica_structure(ENS, **k), dict(n_null=3)),
    "replica_sweep": (lambda **k: replicas.replica_sweep({"a": ENS, "b": ENS2}, **k),
                      dict(n_null=3)),
    "replica_analysis": (lambda **k: replicas.replica_analysis(ENS, **k), dict(n_null=3)),
}

_structure_opts = wiring.keyword_parameters(replicas.replica_structure)
SIGNATURES = {name: getattr(replicas, name) for name in RUNNERS}
# replica_sweep(**kwargs) and replica_analysis(alignment, **kwargs) forward to replica_structure
SIGNATURES["replica_sweep"] = _structure_opts
SIGNATURES["replica_analysis"] = _structure_opts

NOT_OBSERVABLE = {}


def _structure_rows(name, get=lambda r: r):
    """Rows of replica_structure's options; ``get`` picks a ReplicaStructure from the result."""
    def d(f):
        return differs(lambda r: f(get(r)))

    return [
        w(name, "kind", "signs", check=d(lambda s: s.Q)),
        # the default for an Ensemble's weight overlaps is "pairwise"
        *[w(name, "alignment", a, check=d(lambda s: s.Q), label=a)
          for a in ("none", "reference", "medoid", "mean")],
        w(name, "X", X2, kind="function", X=X, check=d(lambda s: s.Q)),
        w(name, "distance", "sqrt", check=d(lambda s: s.distances)),
        w(name, "methods", ("single",), check=lambda a, b: sorted(get(b).clusters) == ["single"]
          or pytest.fail()),
        w(name, "triangles", 7, check=lambda a, b: get(b).ultrametricity.sides.shape == (7, 3)
          or pytest.fail()),
        w(name, "null", ("gaussian",), check=lambda a, b: sorted(get(b).ultrametricity.nulls)
          == ["gaussian"] or pytest.fail()),
        w(name, "n_null", 5, check=lambda a, b: get(b).ultrametricity.nulls["network"].mean_K
          .shape == (5,) or pytest.fail()),
        # dim only shapes the isotropic Gaussian null
        w(name, "dim", 7, null=("gaussian",),
          check=d(lambda s: s.ultrametricity.nulls["gaussian"].mean_K)),
        w(name, "bins", 8, check=lambda a, b: get(b).distribution.counts.shape == (8,)
          or pytest.fail()),
        w(name, "seed", 1, check=d(lambda s: s.ultrametricity.nulls["network"].mean_K)),
        threads(name),
    ]


CASES = [
    w("overlap_matrix", "kind", "signs"),
    # the default for an Ensemble's weight overlaps is "pairwise"
    *[w("overlap_matrix", "alignment", a, label=a) for a in ("none", "reference", "medoid", "mean")],
    # ... and "none" elsewhere (here: sign overlaps)
    w("overlap_matrix", "alignment", "reference", kind="signs", label="signs"),
    w("overlap_matrix", "layer", 1),
    w("overlap_matrix", "normalize", "q"),
    w("overlap_matrix", "X", X2, kind="function", X=X),
    w("overlap_matrix", "output", "logits", kind="function", X=X),
    w("overlap_matrix", "reference", 3, alignment="reference"),
    threads("overlap_matrix", alignment="reference"),
    threads("overlap_matrix", label="pairwise"),
    threads("overlap_matrix", kind="signs", label="signs"),
    # alignment='pairwise' as Dask tasks / in tiles: the same matrix bit for bit
    w("overlap_matrix", "client", dask_clients.CLIENT, check=lambda a, b: (
        np.testing.assert_array_equal(a, b),
        dask_clients.TASKS[None] > 0 or pytest.fail("no Dask tile task ran"))),
    w("overlap_matrix", "block_size", 4, client=dask_clients.CLIENT, check=lambda a, b: (
        np.testing.assert_array_equal(a, b),  # 6 replicas: 3 tiles of 4 (default: 6 of 2)
        dask_clients.TASKS[4] == 3 != dask_clients.TASKS[None]
        or pytest.fail(f"tile tasks {dask_clients.TASKS}"))),
    w("overlap_matrix", "block_size", 3, SAME, label="local"),
    w("overlap_distribution", "bins", 7, check=lambda a, b: b.counts.shape == (7,)
      or pytest.fail()),
    w("overlap_distribution", "kde", False, check=lambda a, b: (a.kde is not None and b.kde is None)
      or pytest.fail()),
    # a wide kernel: the KDE must stay on the grid (it once came back with len(kernel) points)
    w("overlap_distribution", "bandwidth", 0.3, check=lambda a, b: (
        b.bandwidth == 0.3 and b.kde.shape == b.grid.shape == a.kde.shape
        and not np.array_equal(a.kde, b.kde)) or pytest.fail(f"{b.kde.shape}")),
    w("overlap_distribution", "range", (-0.5, 0.5), check=lambda a, b: (b.edges[0], b.edges[-1])
      == (-0.5, 0.5) or pytest.fail()),
    w("overlap_distribution", "symmetric", True, check=lambda a, b: b.n_pairs == 2 * a.n_pairs
      or pytest.fail()),
    w("overlap_distribution", "support_quantile", 0.25, check=differs(lambda r: r.support)),
    w("overlap_distribution", "peak_fraction", 0.99, bandwidth=0.05,
      check=lambda a, b: (a.q_ea > 0.6 and abs(b.q_ea) < 0.2) or pytest.fail(f"{a.q_ea} {b.q_ea}")),
    w("overlap_distribution", "n_grid", 64, check=lambda a, b: b.grid.shape == (64,)
      or pytest.fail()),
    w("overlaps_to_distances", "mode", "sqrt"),
    w("cluster", "method", "single", check=differs(lambda r: r.linkage)),
    # 'auto' reads Q as overlaps (unit diagonal); 'distance' must take it at face value
    w("cluster", "input", "distance", check=differs(lambda r: r.distances)),
    w("cluster", "distance", "sqrt", check=differs(lambda r: r.distances)),
    w("cluster", "optimal_ordering", True, method="single", check=differs(lambda r: r.order)),
    w("triangle_sides", "triangles", 9, check=lambda a, b: b.shape == (9, 3) or pytest.fail()),
    w("triangle_sides", "seed", 1, triangles=9),
    threads("triangle_sides"),
    w("ultrametricity", "triangles", 5, check=lambda a, b: b.sides.shape == (5, 3)
      or pytest.fail()),
    w("ultrametricity", "null", None, check=lambda a, b: (a.nulls and not b.nulls)
      or pytest.fail()),
    w("ultrametricity", "n_null", 6, check=lambda a, b: b.nulls["covariance"].mean_K.shape == (6,)
      or pytest.fail()),
    w("ultrametricity", "dim", 3, null=("gaussian",),
      check=differs(lambda r: r.nulls["gaussian"].mean_K)),
    w("ultrametricity", "points", With(POINTS, null=("shuffle",)),
      check=lambda a, b: sorted(b.nulls) == ["shuffle"] or pytest.fail()),
    w("ultrametricity", "metric", "cosine", null=("gaussian",),
      check=differs(lambda r: r.nulls["gaussian"].mean_K)),
    w("ultrametricity", "tol", 0.5, check=lambda a, b: b.frac_isosceles > a.frac_isosceles
      or pytest.fail()),
    w("ultrametricity", "alpha", 1.0, check=differs(lambda r: r.verdict)),
    w("ultrametricity", "n_boot", 3, check=lambda a, b: (a.bootstrap_mean_K is None
                                                         and b.bootstrap_mean_K.shape == (3,))
      or pytest.fail()),
    w("ultrametricity", "seed", 1, check=differs(lambda r: r.nulls["covariance"].mean_K)),
    threads("ultrametricity"),
    w("gaussian_null", "metric", "cosine"),
    w("shuffle_null", "metric", "sqeuclidean"),
    w("permutation_null", "layer", 0),
    w("permutation_null", "distance", "sqrt"),
    w("permutation_null", "normalize", "q"),
    w("permutation_null", "alignment", "pairwise"),
    w("permutation_null", "kind", "signs"),
    threads("permutation_null", alignment="pairwise"),  # the threads run the alignment
    w("covariance_null", "distances", D[:5, :5]),
    w("covariance_null", "points", With(POINTS, distances=None)),
    w("covariance_null", "metric", "cosine", points=POINTS, distances=None),
    w("covariance_null", "gram", With(POINTS @ POINTS.T, distances=None)),
    w("path_null", "points", POINTS),
    w("path_null", "metric", "cosine", points=POINTS),
    w("network_null", "kind", "signs"),
    w("network_null", "alignment", "none"),
    w("network_null", "distance", "sqrt"),
    w("network_null", "X", With(X, kind="function")),
    w("network_null", "layer", 0),
    w("network_null", "normalize", "q", alignment="none"),
    threads("network_null"),
    threads("pack_signs"),
    w("sign_overlaps", "B", SPINS2, check=lambda a, b: np.testing.assert_allclose(
        b, SPINS.astype(float) @ SPINS2.T.astype(float) / SPINS.shape[1])),
    threads("sign_overlaps"),
    *_structure_rows("replica_structure"),
    *_structure_rows("replica_sweep", get=lambda r: r["a"]),
    *_structure_rows("replica_analysis"),
]

# the old spellings of renamed options (one release): they warn and give the new result;
# aligned=True meant one reference replica, aligned=False no alignment
DEPRECATED = [
    dep("overlap_matrix", "aligned", True, {"alignment": "reference"}),
    dep("overlap_matrix", "aligned", False, {"alignment": "none"}, label="False"),
    dep("overlap_matrix", "aligned", "mean", {"alignment": "mean"}, label="mean"),
    dep("replica_structure", "aligned", True, {"alignment": "reference"}),
    dep("replica_structure", "aligned", False, {"alignment": "none"}, label="False"),
    dep("replica_sweep", "aligned", True, {"alignment": "reference"}),
    dep("replica_analysis", "aligned", True, {"alignment": "reference"}),
    dep("replica_analysis", "aligned", False, {"alignment": "none"}, label="False"),
]


@pytest.fixture(scope="module", autouse=True)
def _close_dask_client():
    """The client= rows share one in-process Dask cluster: closed after this module."""
    yield
    dask_clients.close()


RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case):
    RUN.check(case)


@pytest.mark.parametrize("case", DEPRECATED, ids=lambda c: c.id)
def test_old_keyword_still_works(case):
    RUN.check_deprecated(case)


def test_replica_sweep_applies_the_options_to_every_run():
    a = RUN.call("replica_sweep")
    b = RUN.call("replica_sweep", kind="signs", bins=9)
    for k in ("a", "b"):
        assert not np.array_equal(a[k].Q, b[k].Q)
        assert b[k].distribution.counts.shape == (9,)
        assert np.array_equal(b[k].Q, RUN.call("replica_structure", kind="signs", bins=9).Q
                              if k == "a" else replicas.replica_structure(
                                  ENS2, kind="signs", bins=9, n_null=3).Q)


def test_every_option_has_a_wiring_row():
    assert wiring.missing_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.untested_renames(SIGNATURES, DEPRECATED) == []
