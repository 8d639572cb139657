"""Linear assignment: optimality against scipy, conventions, errors, batch, SIMD paths."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

import glasslens as gl
from glasslens import _core
from glasslens.symmetry import linear_sum_assignment as lsa
from glasslens.symmetry import linear_sum_assignment_batch as lsa_batch

PATHS = ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else [])


@pytest.fixture(params=PATHS)
def simd(request):
    old = _core.simd_path()
    _core.set_simd_path(request.param)
    yield request.param
    _core.set_simd_path(old)


def _check(C, maximize=False):
    """Our result is a valid assignment with scipy's optimal total and scipy's row convention."""
    r, c = lsa(C, maximize=maximize)
    r0, c0 = scipy_lsa(C, maximize=maximize)
    k = min(C.shape)
    assert r.shape == c.shape == (k,)
    assert r.dtype == np.int64 and c.dtype == np.int64
    assert np.all(np.diff(r) > 0)
    assert len(np.unique(c)) == k
    if C.shape[0] <= C.shape[1]:
        np.testing.assert_array_equal(r, np.arange(C.shape[0]))
    ours, ref = C[r, c].sum(), C[r0, c0].sum()
    assert abs(ours - ref) <= 1e-9 * (1 + abs(ref)), (ours, ref)
    return r, c


def _matrices(rng, n, m):
    yield rng.normal(size=(n, m))
    yield rng.integers(0, 4, size=(n, m)).astype(float)  # many ties
    yield rng.integers(-2, 3, size=(n, 1)) * rng.integers(-2, 3, size=(1, m)) + 0.0  # rank 1 ties
    yield rng.normal(size=(n, 2)) @ rng.normal(size=(2, m))  # low rank
    yield rng.exponential(size=(n, m)) * 1e6  # large magnitudes


def test_small_random_all_shapes(simd, rng):
    for _ in range(150):
        n, m = (int(x) for x in rng.integers(1, 10, size=2))
        for C in _matrices(rng, n, m):
            _check(C)
            _check(C, maximize=True)


@pytest.mark.parametrize("shape", [(1, 1), (64, 64), (97, 97), (40, 130), (130, 40), (200, 200)])
def test_larger(simd, rng, shape):
    for C in _matrices(rng, *shape):
        _check(C)
        _check(C, maximize=True)


def test_weight_matching_shape(simd, rng):
    for n in (64, 257):
        A, B = rng.normal(size=(n, 784)), rng.normal(size=(n, 784))
        _check(-A @ B.T)
        _check(A @ B.T, maximize=True)


def test_simd_paths_identical(rng):
    if len(PATHS) < 2:
        pytest.skip("CPU lacks AVX2/FMA")
    old = _core.simd_path()
    try:
        for shape in [(50, 50), (77, 77), (31, 90), (90, 31), (128, 128)]:
            for C in _matrices(rng, *shape):
                outs = []
                for p in PATHS:
                    _core.set_simd_path(p)
                    outs.append(lsa(C, return_duals=True))
                for a, b in zip(outs[0], outs[1]):
                    np.testing.assert_array_equal(a, b)
    finally:
        _core.set_simd_path(old)


def test_duals_certify_optimality(rng):
    for shape in [(60, 60), (30, 70)]:
        C = rng.normal(size=shape)
        r, c, u, v = lsa(C, return_duals=True)
        slack = C - u[:, None] - v[None, :]
        assert slack.min() > -1e-9  # dual feasible
        np.testing.assert_allclose(slack[r, c], 0.0, atol=1e-9)  # complementary slackness
        np.testing.assert_allclose(u.sum() + v[c].sum(), C[r, c].sum(), rtol=1e-12)


def test_warm_start(simd, rng):
    n = 120
    A, B = rng.normal(size=(n, 50)), rng.normal(size=(n, 50))
    C = -A @ B.T
    r, c, u, v = lsa(C, return_duals=True)
    for duals in (v, v + rng.normal(size=n), rng.normal(size=n) * 100, np.zeros(n)):
        r2, c2 = lsa(C, duals=duals)
        assert C[r2, c2].sum() == pytest.approx(C[r, c].sum(), abs=1e-9)
    C2 = C + 0.1 * rng.normal(size=C.shape)  # a nearby matrix (coordinate descent)
    r3, c3 = lsa(C2, duals=v)
    r4, c4 = scipy_lsa(C2)
    assert C2[r3, c3].sum() == pytest.approx(C2[r4, c4].sum(), abs=1e-9)
    rm, cm, um, vm = lsa(-C, maximize=True, return_duals=True)
    r5, c5 = lsa(-C2, maximize=True, duals=vm)
    assert C2[r5, c5].sum() == pytest.approx(C2[r4, c4].sum(), abs=1e-9)


def test_empty_like_scipy():
    for shape in [(0, 0), (0, 4), (4, 0)]:
        r, c = lsa(np.zeros(shape))
        r0, c0 = scipy_lsa(np.zeros(shape))
        assert r.shape == r0.shape == (0,) and c.shape == (0,)
    r, c = lsa(np.array([[3.5]]))
    assert r.tolist() == [0] and c.tolist() == [0]


def test_inf_entries(simd, rng):
    for _ in range(100):
        n, m = (int(x) for x in rng.integers(1, 9, size=2))
        C = rng.normal(size=(n, m))
        C[rng.random((n, m)) < 0.4] = np.inf
        try:
            r0, c0 = scipy_lsa(C)
        except ValueError:
            with pytest.raises(ValueError, match="infeasible"):
                lsa(C)
            continue
        r, c = lsa(C)
        assert np.isfinite(C[r, c]).all()
        assert C[r, c].sum() == pytest.approx(C[r0, c0].sum(), abs=1e-9)
    # maximizing: -inf is the forbidden pair
    C = np.array([[-np.inf, 1.0], [2.0, -np.inf]])
    r, c = lsa(C, maximize=True)
    assert c.tolist() == [1, 0]


def test_invalid_entries():
    for bad in (np.nan, -np.inf):
        C = np.zeros((3, 3))
        C[1, 2] = bad
        with pytest.raises(ValueError, match="invalid entry"):
            lsa(C)
    with pytest.raises(ValueError, match="invalid entry"):
        lsa(np.array([[np.inf, 0.0], [0.0, 1.0]]), maximize=True)
    with pytest.raises(ValueError, match="infeasible"):
        lsa(np.array([[np.inf, np.inf], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="infeasible"):
        lsa(np.array([[np.inf, 1.0], [np.inf, 2.0], [np.inf, 3.0]]))  # column 0 cannot be used
    with pytest.raises(ValueError, match="dimensions"):
        lsa(np.zeros(3))
    with pytest.raises(TypeError, match="cost"):
        lsa(np.array([["a"]]))
    with pytest.raises(TypeError, match="cost"):
        lsa(np.ones((2, 2), dtype=complex))
    with pytest.raises(TypeError, match="maximize"):
        lsa(np.ones((2, 2)), maximize="yes")
    with pytest.raises(ValueError, match="duals"):
        lsa(np.ones((2, 3)), duals=np.zeros(3))
    with pytest.raises(ValueError, match="duals"):
        lsa(np.ones((2, 2)), duals=np.array([0.0, np.nan]))


def test_batch_equals_loop(rng):
    for shape in [(20, 33, 33), (7, 10, 25), (7, 25, 10)]:
        C = rng.normal(size=shape)
        C[:, ::3] = np.round(C[:, ::3])
        for mx in (False, True):
            r, c, tot = lsa_batch(C, maximize=mx, n_threads=2, return_totals=True)
            for b in range(shape[0]):
                rb, cb = lsa(C[b], maximize=mx)
                np.testing.assert_array_equal(r[b], rb)
                np.testing.assert_array_equal(c[b], cb)
                assert tot[b] == pytest.approx(C[b][rb, cb].sum(), abs=1e-12)


def test_batch_thread_invariance_and_duals(rng):
    C = rng.normal(size=(12, 40, 40))
    ref = lsa_batch(C, n_threads=1, return_duals=True, return_totals=True)
    for nt in (2, 3):
        out = lsa_batch(C, n_threads=nt, return_duals=True, return_totals=True)
        for a, b in zip(ref, out):
            np.testing.assert_array_equal(a, b)
    v = ref[4]
    r, c = lsa_batch(C + 0.01, duals=v, n_threads=2)
    np.testing.assert_array_equal(c, ref[1])  # a constant shift keeps the optimum


def test_batch_errors(rng):
    C = rng.normal(size=(4, 5, 5))
    C[2, 1, :] = np.inf
    with pytest.raises(ValueError, match=r"costs\[2\].*infeasible"):
        lsa_batch(C, n_threads=2)
    C[2, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"costs\[2\]"):
        lsa_batch(C)
    with pytest.raises(ValueError, match="dimensions"):
        lsa_batch(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="duals"):
        lsa_batch(np.zeros((2, 3, 3)), duals=np.zeros((2, 4)))
    r, c = lsa_batch(np.zeros((0, 3, 3)))
    assert r.shape == (0, 3)
    r, c = lsa_batch(np.zeros((2, 0, 3)))
    assert r.shape == (2, 0)


def test_exported():
    assert gl.symmetry.linear_sum_assignment is lsa
    assert gl.symmetry.linear_sum_assignment_batch is lsa_batch


def test_float32_input_is_solved_exactly(simd, rng):
    for shape in [(40, 40), (25, 60), (60, 25)]:
        C32 = rng.normal(size=shape).astype(np.float32)
        C64 = C32.astype(np.float64)
        for mx in (False, True):
            a = lsa(C32, maximize=mx, return_duals=True)
            b = lsa(C64, maximize=mx, return_duals=True)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
    B32 = rng.normal(size=(6, 30, 30)).astype(np.float32)
    B32[2, 3, 4] = np.inf
    a = lsa_batch(B32, maximize=False, n_threads=2, return_totals=True, return_duals=True)
    b = lsa_batch(B32.astype(np.float64), n_threads=2, return_totals=True, return_duals=True)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    bad = B32.copy()
    bad[4, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"costs\[4\].*invalid entry"):
        lsa_batch(bad)
