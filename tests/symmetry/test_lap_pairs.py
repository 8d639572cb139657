"""All-pairs weight matching kernel (_core.symmetry.lap_all_pairs) against numpy + scipy."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

import glasslens as gl
from glasslens import _core
from glasslens import symmetry as S
from glasslens.symmetry import _matching as S_priv

PATHS = ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else [])


@pytest.fixture(params=PATHS)
def simd(request):
    old = _core.simd_path()
    _core.set_simd_path(request.param)
    yield request.param
    _core.set_simd_path(old)


def _features(M, H, D, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(M, H, D)).astype(np.float32)


def _check(U, perms, totals, costs):
    M, H, D = U.shape
    U64 = U.astype(np.float64)
    assert perms.shape == (M, M, H) and perms.dtype == np.int64
    assert totals.shape == (M, M) and costs.shape == (M * (M - 1) // 2, H, H)
    for a in range(M):
        np.testing.assert_array_equal(perms[a, a], np.arange(H))
        assert totals[a, a] == pytest.approx(np.sum(U64[a] ** 2), rel=1e-12)
    idx = 0
    for a in range(M):
        for b in range(a + 1, M):
            C = costs[idx].astype(np.float64)
            idx += 1
            ref = U64[b] @ U64[a].T  # rows: units of b
            np.testing.assert_allclose(C, ref, rtol=0, atol=1e-5 * (1 + np.abs(ref).max()))
            # exact optimum of the float32 cost matrix the kernel produced
            r0, c0 = scipy_lsa(C, maximize=True)
            best = C[r0, c0].sum()
            p = perms[a, b]  # p[j]: unit of b matched to unit j of a
            assert sorted(p) == list(range(H))
            ours = C[p, np.arange(H)].sum()
            assert abs(ours - best) <= 1e-12 * (1 + abs(best))
            assert abs(totals[a, b] - best) <= 1e-12 * (1 + abs(best))
            assert totals[b, a] == totals[a, b]
            np.testing.assert_array_equal(perms[b, a], np.argsort(p))


@pytest.mark.parametrize("M,H,D", [(4, 16, 40), (3, 20, 7), (4, 37, 700), (2, 1, 5), (5, 6, 1)])
def test_all_pairs_vs_scipy(simd, M, H, D):
    U = _features(M, H, D, seed=M * 1000 + H + D)
    perms, totals, costs = _core.symmetry.lap_all_pairs(U, n_threads=2, return_costs=True)
    _check(U, perms, totals, costs)


def test_ties_and_integer_costs(simd):
    rng = np.random.default_rng(3)
    U = rng.integers(-1, 2, size=(4, 12, 5)).astype(np.float32)  # many exact ties
    _check(U, *_core.symmetry.lap_all_pairs(U, n_threads=1, return_costs=True))


def test_thread_invariance():
    U = _features(9, 24, 330, seed=11)
    ref = _core.symmetry.lap_all_pairs(U, n_threads=1, return_costs=True)
    for nt in (2, 3):
        out = _core.symmetry.lap_all_pairs(U, n_threads=nt, return_costs=True)
        for x, y in zip(ref, out):
            np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(len(PATHS) < 2, reason="needs AVX2+FMA")
def test_simd_paths_agree():
    U = _features(5, 40, 350, seed=5)
    old = _core.simd_path()
    try:
        out = {}
        for p in PATHS:
            _core.set_simd_path(p)
            out[p] = _core.symmetry.lap_all_pairs(U, n_threads=2, return_costs=True)
    finally:
        _core.set_simd_path(old)
    (_, ts, cs), (_, ta, ca) = out["scalar"], out["avx2"]
    np.testing.assert_allclose(ca, cs, rtol=0, atol=1e-4)  # FMA rounding only
    np.testing.assert_allclose(ta, ts, rtol=1e-6)


def test_small_and_degenerate():
    U = _features(1, 5, 3, seed=1)
    perms, totals = _core.symmetry.lap_all_pairs(U)
    np.testing.assert_array_equal(perms[0, 0], np.arange(5))
    assert totals[0, 0] == pytest.approx(np.sum(U.astype(np.float64) ** 2))
    perms, totals, costs = _core.symmetry.lap_all_pairs(np.zeros((3, 4, 0), np.float32),
                                                        return_costs=True)
    assert np.all(costs == 0) and np.all(totals == 0)
    for a in range(3):
        for b in range(3):
            assert sorted(perms[a, b]) == list(range(4))


def test_bad_input():
    with pytest.raises(ValueError, match="U"):
        _core.symmetry.lap_all_pairs(np.zeros((3, 4), np.float32))
    U = _features(3, 4, 5, seed=0)
    U[1, 2, 3] = np.nan
    with pytest.raises(ValueError):
        _core.symmetry.lap_all_pairs(U)
    ens = gl.Ensemble.init([6, 5, 3], 3, seed=0)
    ens.weights[0][1, 0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        S.pairwise_alignment(ens)
    ens = gl.Ensemble.init([6, 5, 3], 3, seed=0)
    ens.biases[1][2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        S.pairwise_alignment(ens)


def test_pairwise_alignment_uses_optimum():
    """pairwise_alignment (float32 C++ path) agrees with a numpy + scipy loop on float64 costs
    (continuous random weights: no near-ties at float32 resolution)."""
    ens = gl.Ensemble.init([30, 18, 4], 5, seed=8, scheme="pytorch")
    perms, ov = S.pairwise_alignment(ens, n_threads=2)
    U = S_priv._unit_features(ens).astype(np.float64)
    flat = ens.flat().astype(np.float64)
    nrm = np.linalg.norm(flat, axis=1)
    np.testing.assert_allclose(np.diag(ov), 1.0, rtol=1e-12)
    for a in range(5):
        for b in range(a + 1, 5):
            _, c = scipy_lsa(U[b] @ U[a].T, maximize=True)
            np.testing.assert_array_equal(perms[a, b], np.argsort(c))
            aligned = S.permute(ens[b], [perms[a, b]]).flat().astype(np.float64)
            assert ov[a, b] == pytest.approx(flat[a] @ aligned / nrm[a] / nrm[b], abs=1e-6)


@pytest.mark.skipif(len(PATHS) < 2, reason="needs AVX2+FMA")
@pytest.mark.parametrize("H,hi,step,D", [(37, 50, 8, 30), (64, 50, 8, 30), (64, 2, 1, 10),
                                         (40, 1, 1, 5)])
def test_simd_paths_identical_on_exact_costs(H, hi, step, D):
    # small integers / 8 and small D: every cost is computed exactly with or without FMA, so both
    # paths see the same matrices, and the LAP (float32 heuristic start, double exact phase)
    # must then give identical results; the integer cases (few distinct values) have many exact
    # ties, which makes the tie rules of the float32 kernels visible in the permutations
    rng = np.random.default_rng(H + D)
    U = (rng.integers(-hi, hi + 1, size=(6, H, D)) / step).astype(np.float32)
    old = _core.simd_path()
    try:
        out = {}
        for p in PATHS:
            _core.set_simd_path(p)
            out[p] = _core.symmetry.lap_all_pairs(U, n_threads=2, return_costs=True)
    finally:
        _core.set_simd_path(old)
    for x, y in zip(out["scalar"], out["avx2"]):
        np.testing.assert_array_equal(x, y)
    _check(U, *out["avx2"])


@pytest.mark.parametrize("M,H,D", [(20, 16, 40), (18, 33, 9), (17, 8, 300), (40, 6, 10)])
def test_warm_start_changes_nothing_but_the_work(simd, M, H, D):
    """The mean-dual warm start (default) against the cold start: the same optimal totals, the
    same permutations (continuous costs: no ties), each checked against scipy; a task (a
    against up to 32 later b) warm-starts all its pairs but the first; M = 40 spans two tasks
    per a. Also on tied costs (integer features): the totals are identical and every
    permutation is optimal."""
    U = _features(M, H, D, seed=M + H + D)
    warm = _core.symmetry.lap_all_pairs(U, n_threads=2, return_costs=True)
    cold = _core.symmetry.lap_all_pairs(U, n_threads=2, return_costs=True, warm_start=False)
    for w, c in zip(warm, cold):
        np.testing.assert_array_equal(w, c)
    _check(U, *warm)
    one = _core.symmetry.lap_all_pairs(U, n_threads=1)
    np.testing.assert_array_equal(one[0], warm[0])
    np.testing.assert_array_equal(one[1], warm[1])
    tied = np.round(_features(M, H, 3, seed=1)).astype(np.float32)  # many exactly tied costs
    w = _core.symmetry.lap_all_pairs(tied, n_threads=2, return_costs=True)
    c = _core.symmetry.lap_all_pairs(tied, n_threads=2, warm_start=False)
    np.testing.assert_array_equal(w[1], c[1])
    _check(tied, *w)


def test_warm_start_on_trained_networks_matches_scipy():
    """Trained networks (the case the warm start is for): identical to the cold start and to
    numpy + scipy per pair."""
    X = np.random.default_rng(0).normal(size=(200, 12)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    ens = gl.train_ensemble((X, y), hidden=(24,), replicas=19, epochs=3, record="none", seed=2)
    U = S_priv._unit_features(ens)
    warm = _core.symmetry.lap_all_pairs(U, return_costs=True)
    cold = _core.symmetry.lap_all_pairs(U, warm_start=False)
    np.testing.assert_array_equal(warm[0], cold[0])
    np.testing.assert_array_equal(warm[1], cold[1])
    _check(U, *warm)
