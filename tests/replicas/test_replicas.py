"""P(q), clustering and ultrametricity against numpy/scipy references and known geometries."""
import itertools

import numpy as np
import pytest
from scipy.cluster.hierarchy import cophenet, leaves_list, linkage
from scipy.spatial.distance import squareform

import glasslens.replicas as rp
from glasslens.replicas import _replicas as rp_priv
from glasslens.nn import Ensemble


def _cosine(P):
    n = np.linalg.norm(P, axis=1)
    return (P @ P.T) / np.outer(n, n)


def _tree_distances(rng, sizes=(4, 3, 5), within=0.2, between=1.0, super_=((0, 1), (2,))):
    """An exactly ultrametric distance matrix: clusters of `sizes`, two levels."""
    lab = np.repeat(np.arange(len(sizes)), sizes)
    sup = np.zeros(len(sizes), int)
    for g, members in enumerate(super_):
        sup[list(members)] = g
    M = lab.size
    D = np.full((M, M), 1.6)
    same_sup = sup[lab][:, None] == sup[lab][None, :]
    D[same_sup] = between
    D[lab[:, None] == lab[None, :]] = within
    np.fill_diagonal(D, 0)
    perm = rng.permutation(M)
    return D[np.ix_(perm, perm)], lab[perm]


# ---- P(q) ------------------------------------------------------------------------------------------

def test_overlap_distribution_moments(rng):
    P = rng.standard_normal((30, 50)) + 0.5
    Q = _cosine(P)
    d = rp.overlap_distribution(Q, bins=40)
    q = Q[np.triu_indices(30, 1)]
    assert d.n_pairs == q.size == d.counts.sum()
    np.testing.assert_allclose([d.mean, d.var, d.q2, d.q4], [q.mean(), q.var(), (q**2).mean(), (q**4).mean()])
    np.testing.assert_allclose(d.binder, 0.5 * (3 - (q**4).mean() / (q**2).mean() ** 2))
    assert d.q_min == q.min() and d.q_max == q.max()
    np.testing.assert_allclose(np.sum(d.density * np.diff(d.edges)), 1.0)
    np.testing.assert_allclose(np.sum(d.kde) * (d.grid[1] - d.grid[0]), 1.0, rtol=1e-6)
    # a stack pools the samples
    d2 = rp.overlap_distribution(np.stack([Q, Q]))
    assert d2.n_pairs == 2 * q.size


def test_overlap_distribution_binder_limits(rng):
    # two delta peaks at +-q0 (symmetrised): Binder ratio 1, q_EA = q0
    M = 40
    s = rng.choice([-1, 1], M)
    Q = 0.6 * np.outer(s, s)
    np.fill_diagonal(Q, 1)
    d = rp.overlap_distribution(Q, symmetric=True)
    np.testing.assert_allclose(d.binder, 1.0)
    assert abs(d.q_ea - 0.6) < 0.02
    # Gaussian overlaps about 0: Binder ratio near 0
    G = rng.standard_normal((400, 400)) * 0.05
    G = np.triu(G, 1) + np.triu(G, 1).T + np.eye(400)
    d = rp.overlap_distribution(G)
    assert abs(d.binder) < 0.05
    assert abs(d.q_ea) < 0.03


def test_overlap_distribution_bad_input():
    with pytest.raises(ValueError, match="symmetric"):
        rp.overlap_distribution(np.array([[1, 0.2], [0.3, 1]]))
    with pytest.raises(ValueError, match="NaN"):
        rp.overlap_distribution(np.array([[1, np.nan], [np.nan, 1]]))
    with pytest.raises(ValueError, match="square"):
        rp.overlap_distribution(np.ones((2, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        rp.overlap_distribution(np.ones((1, 1)))
    with pytest.raises(ValueError, match="range"):
        rp.overlap_distribution(np.eye(3), range=(1, 0))


# ---- clustering -------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["average", "complete", "ward", "single"])
def test_cluster_matches_scipy(rng, method):
    P = rng.standard_normal((25, 10))
    Q = _cosine(P)
    res = rp.cluster(Q, method=method)
    D = np.clip(1 - Q, 0, None)
    np.fill_diagonal(D, 0)
    Z = linkage(squareform(D, checks=False), method=method)
    np.testing.assert_allclose(res.linkage, Z)
    np.testing.assert_array_equal(res.order, leaves_list(Z))
    c, _ = cophenet(Z, squareform(D, checks=False))
    np.testing.assert_allclose(res.cophenetic, c)
    np.testing.assert_allclose(res.ordered, Q[np.ix_(res.order, res.order)])
    assert res.dendrogram["leaves"] == list(res.order)


def test_cluster_recovers_blocks_and_input_kind(rng):
    D, lab = _tree_distances(rng)
    res = rp.cluster(D, method="average")
    # leaves of one cluster are contiguous in dendrogram order
    ordered = lab[res.order]
    assert np.count_nonzero(np.diff(ordered)) == 2
    np.testing.assert_allclose(res.cophenetic, 1.0)
    with pytest.raises(ValueError, match="input="):
        rp.cluster(D + np.diag(0.1 + 0.1 * np.arange(len(D))))
    with pytest.raises(ValueError, match="method"):
        rp.cluster(D, method="median")
    with pytest.raises(ValueError, match="non-negative"):
        rp.cluster(D - 0.5 * (1 - np.eye(len(D))), input="distance")


# ---- triangles ----------------------------------------------------------------------------------------

def _brute_sides(D):
    M = len(D)
    return np.array([sorted((D[a, b], D[a, c], D[b, c]))
                     for a, b, c in itertools.combinations(range(M), 3)])


def test_triangle_sides_vs_bruteforce(rng):
    P = rng.standard_normal((14, 5))
    D = np.linalg.norm(P[:, None] - P[None], axis=2)
    np.testing.assert_array_equal(rp.triangle_sides(D), _brute_sides(D))
    for nt in (1, 2, 3):
        np.testing.assert_array_equal(rp.triangle_sides(D, n_threads=nt), _brute_sides(D))
    idx = np.array([[0, 1, 2], [13, 5, 7], [3, 3, 4]])
    ref = np.array([sorted((D[a, b], D[a, c], D[b, c])) for a, b, c in idx])
    np.testing.assert_array_equal(rp.triangle_sides(D, idx), ref)
    S = rp.triangle_sides(D, 500, seed=2)
    assert S.shape == (500, 3) and np.all(np.diff(S, axis=1) >= 0)
    np.testing.assert_array_equal(S, rp.triangle_sides(D, 500, seed=2, n_threads=3))


def test_triangle_sides_threaded_vs_numpy(rng):
    M = 80  # 82,160 triangles: the threaded path
    P = rng.standard_normal((M, 4))
    D = np.linalg.norm(P[:, None] - P[None], axis=2)
    idx = np.array(list(itertools.combinations(range(M), 3)))
    a, b, c = idx.T
    ref = np.sort(np.stack([D[a, b], D[a, c], D[b, c]], axis=1), axis=1)
    for nt in (1, 2, 3):
        np.testing.assert_array_equal(rp.triangle_sides(D, n_threads=nt), ref)
        np.testing.assert_array_equal(rp.triangle_sides(D, idx[::-1].copy(), n_threads=nt), ref[::-1])


def test_triangle_summary_vs_numpy(rng):
    from glasslens import _core

    M = 80
    P = rng.standard_normal((M, 3))
    D = np.linalg.norm(P[:, None] - P[None], axis=2)
    D[0, 1] = D[1, 0] = 0.0  # a degenerate triangle side
    sides = rp.triangle_sides(D)
    gap = sides[:, 2] - sides[:, 1]
    iso = np.sum(np.where(sides[:, 2] > 0, gap < 0.1 * sides[:, 2], True))
    outs = [_core.replicas.triangle_summary(D, None, 0.1, nt) for nt in (1, 2, 3)]
    assert outs[0] == outs[1] == outs[2]
    sg, sg2, niso, n = outs[0]
    assert n == len(sides) and niso == iso
    np.testing.assert_allclose([sg, sg2], [gap.sum(), (gap**2).sum()], rtol=1e-12)
    idx = np.array(list(itertools.combinations(range(M), 3)))[::7].copy()
    sg, sg2, niso, n = _core.replicas.triangle_summary(D, idx, 0.1, 2)
    np.testing.assert_allclose(sg, gap[::7].sum(), rtol=1e-12)
    assert n == len(idx)
    # the null summaries used by ultrametricity equal the stored-triangle statistics
    st = rp_priv._tri_stats(D, sides, 0.1)
    mk, fi, sq, n = rp_priv._null_summary(D, "all", rng, 0.1, 2)
    np.testing.assert_allclose([mk, fi, sq], [st["mean_K"], st["frac_isosceles"], np.sum(st["K"] ** 2)],
                               rtol=1e-10)


def test_sampled_triples_are_distinct_and_uniform(rng):
    t = rp_priv._sample_triples(6, 60000, rng)
    assert np.all((t[:, 0] < t[:, 1]) & (t[:, 1] < t[:, 2]))
    codes = t[:, 0] * 36 + t[:, 1] * 6 + t[:, 2]
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.size == 20  # C(6, 3)
    assert counts.min() > 0.85 * 3000 and counts.max() < 1.15 * 3000


def test_triangle_bad_input(rng, monkeypatch):
    D = np.ones((5, 5)) - np.eye(5)
    with pytest.raises(ValueError, match="at least 3"):
        rp.triangle_sides(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="outside"):
        rp.triangle_sides(D, np.array([[0, 1, 5]]))
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        rp.triangle_sides(D, np.zeros((4, 2), int))
    monkeypatch.setattr(rp_priv, "MAX_ALL_TRIANGLES", 5)
    with pytest.raises(ValueError, match="limit"):
        rp.triangle_sides(D)


# ---- ultrametricity ----------------------------------------------------------------------------------

def test_ultrametric_tree_vs_gaussian_null(rng):
    D, _ = _tree_distances(rng, sizes=(5, 4, 6, 5), super_=((0, 1), (2, 3)))
    res = rp.ultrametricity(D, null=("gaussian",), dim=50, n_null=39, seed=1)
    assert res.mean_K == 0.0 and res.frac_isosceles == 1.0
    nc = res.nulls["gaussian"]
    assert nc.more_ultrametric and nc.p_value == pytest.approx(1 / 40)
    assert nc.effect_size > 1 and res.verdict.startswith("MORE")
    # K by hand
    K = (res.sides[:, 2] - res.sides[:, 1]) / np.std(D[np.triu_indices(len(D), 1)])
    np.testing.assert_allclose(res.K, K)


def test_gaussian_points_are_not_more_ultrametric(rng):
    P = rng.standard_normal((30, 200))
    D = np.linalg.norm(P[:, None] - P[None], axis=2)
    res = rp.ultrametricity(D, null=("gaussian", "shuffle"), points=P, n_null=39, seed=3, n_boot=5)
    assert not res.nulls["gaussian"].more_ultrametric
    assert not res.nulls["shuffle"].more_ultrametric
    assert res.verdict.startswith("NOT")
    assert res.bootstrap_mean_K.shape == (5,)
    # the null is reproducible from the seed
    res2 = rp.ultrametricity(D, null=("gaussian", "shuffle"), points=P, n_null=39, seed=3)
    np.testing.assert_array_equal(res.nulls["gaussian"].mean_K, res2.nulls["gaussian"].mean_K)
    # too few null realisations to reach alpha: the verdict says so
    res3 = rp.ultrametricity(D, null="gaussian", dim=200, n_null=5, seed=3)
    assert res3.verdict.startswith("INCONCLUSIVE")


def test_wishart_null_matches_direct_gaussian_points(rng):
    # dim > M uses the Bartlett/Wishart path; compare its mean K with explicit points
    M, dim = 12, 40
    s_w = rp.gaussian_null(M, dim)
    kw = [rp_priv._tri_stats(D, rp.triangle_sides(D), 0.05)["mean_K"]
          for D in (s_w(rng) for _ in range(150))]
    kd = []
    for _ in range(150):
        P = rng.standard_normal((M, dim))
        D = np.linalg.norm(P[:, None] - P[None], axis=2)
        kd.append(rp_priv._tri_stats(D, rp.triangle_sides(D), 0.05)["mean_K"])
    se = np.hypot(np.std(kw), np.std(kd)) / np.sqrt(150)
    assert abs(np.mean(kw) - np.mean(kd)) < 4 * se
    # and the Gram diagonal has mean dim: mean squared distance 2 dim
    D = np.stack([s_w(rng) for _ in range(200)])
    iu = np.triu_indices(M, 1)
    np.testing.assert_allclose((D[:, iu[0], iu[1]] ** 2).mean(), 2 * dim, rtol=0.03)


def test_callable_and_permutation_null(rng):
    ens = Ensemble.init([5, 6, 2], replicas=6, seed=0)
    sampler = rp.permutation_null(ens)
    D = sampler(np.random.default_rng(0))
    assert D.shape == (6, 6) and np.all(np.diag(D) == 0)
    from glasslens.replicas import overlap_matrix

    D0 = rp.overlaps_to_distances(overlap_matrix(ens))
    res = rp.ultrametricity(D0, null={"perm": sampler}, n_null=5, seed=0)
    assert set(res.nulls) == {"perm"}
    with pytest.raises(ValueError, match="returned shape"):
        rp.ultrametricity(D0, null=lambda r: np.zeros((3, 3)), n_null=2)


def test_ultrametricity_bad_input():
    D = np.ones((4, 4)) - np.eye(4)
    with pytest.raises(ValueError, match="dimension"):
        rp.ultrametricity(D, null="gaussian")
    with pytest.raises(ValueError, match="points"):
        rp.ultrametricity(D, null="shuffle")
    with pytest.raises(ValueError, match="unknown null"):
        rp.ultrametricity(D, null="uniform", dim=3)
    with pytest.raises(ValueError, match="at least 3"):
        rp.ultrametricity(np.zeros((2, 2)), null=None)
    with pytest.raises(ValueError, match="symmetric"):
        rp.ultrametricity(np.triu(D), null=None)
    with pytest.raises(ValueError, match="points has"):
        rp.ultrametricity(D, null="shuffle", points=np.ones((3, 2)))
    with pytest.raises(ValueError, match="mode"):
        rp.overlaps_to_distances(np.eye(3), mode="log")


def test_replica_structure_on_ensemble_and_configs(rng):
    ens = Ensemble.init([6, 10, 3], replicas=12, seed=2)
    res = rp.replica_structure(ens, n_null=5, seed=0)
    assert set(res.clusters) == {"average", "complete", "ward"}
    # the calibrated default: null networks through the data's pipeline
    assert set(res.ultrametricity.nulls) == {"network"}
    assert res.Q.shape == (12, 12) and res.distribution.n_pairs == 66
    s = res.to_dict()
    assert s["M"] == 12 and "null_network_p" in s and isinstance(s["verdict"], str)
    res = rp.replica_structure(ens, null=("gaussian", "permutation"), n_null=5, seed=0)
    assert set(res.ultrametricity.nulls) == {"gaussian", "permutation"}
    # +-1 configurations with the shuffle null and the |q| distance
    S = rng.choice([-1, 1], (15, 200))
    res = rp.replica_structure(S, distance="1-|q|", null=("gaussian", "shuffle"), n_null=4)
    assert set(res.ultrametricity.nulls) == {"gaussian", "shuffle"}
    np.testing.assert_allclose(res.Q, S @ S.T / 200)
    # a plain overlap matrix
    res = rp.replica_structure(res.Q, dim=200, n_null=3, methods=("single",))
    assert set(res.clusters) == {"single"}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = res.plot()
    assert len(fig.axes) >= 3
    plt.close(fig)
    ax = rp.plot_overlap_distributions({"a": res.distribution, "b": rp.overlap_distribution(res.Q, kde=False)})
    assert len(ax.lines) == 2
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="non-empty"):
        rp.plot_overlap_distributions({})
    with pytest.raises(ValueError, match="distance"):
        rp.replica_structure(S, distance="l1")
    with pytest.raises(ValueError, match="unknown null"):
        rp.replica_structure(S, null=("uniform",))


def test_replica_sweep_over_widths():
    runs = {f"H={h}": Ensemble.init([5, h, 3], replicas=6, seed=h) for h in (4, 16)}
    out = rp.replica_sweep(runs, null=("gaussian",), n_null=3, methods=("average",))
    assert list(out) == ["H=4", "H=16"]
    assert all(r.Q.shape == (6, 6) for r in out.values())
    with pytest.raises(ValueError, match="non-empty"):
        rp.replica_sweep({})
