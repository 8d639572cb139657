import numpy as np
import pytest

from glasslens import _core

PATHS = ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else [])


@pytest.fixture(params=PATHS)
def simd(request):
    orig = _core.simd_path()
    _core.set_simd_path(request.param)
    yield request.param
    _core.set_simd_path(orig)


SIZES = [(1, 1, 1), (7, 13, 300), (6, 16, 256), (64, 128, 784), (250, 10, 33), (241, 17, 513),
         (5, 1100, 9), (3, 5, 0), (0, 5, 3), (5, 0, 3)]


def _mats(rng, m, n, k):
    A = rng.standard_normal((m, k)).astype(np.float32)
    B = rng.standard_normal((n, k)).astype(np.float32)
    return A, B


@pytest.mark.parametrize("m,n,k", SIZES)
def test_gemm_variants_match_numpy(simd, rng, m, n, k):
    A, B = _mats(rng, m, n, k)
    ref = A.astype(np.float64) @ B.T.astype(np.float64)
    tol = 1e-5 * (np.sqrt(k) + 1) * 4
    C_nt = _core.nn.gemm("nt", A, B)
    C_nn = _core.nn.gemm("nn", A, np.ascontiguousarray(B.T))
    C_tn = _core.nn.gemm("tn", np.ascontiguousarray(A.T), np.ascontiguousarray(B.T))
    for C in (C_nt, C_nn, C_tn):
        assert C.shape == (m, n) and C.dtype == np.float32
        np.testing.assert_allclose(C, ref, rtol=0, atol=tol)
    # accumulate into an existing C, with bias and ReLU epilogue
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    got = _core.nn.gemm("nt", A, B, C=C0, bias=bias, relu=True)
    np.testing.assert_allclose(got, np.maximum(ref + C0 + bias, 0), rtol=0, atol=tol)
    got = _core.nn.gemm("tn", np.ascontiguousarray(A.T), np.ascontiguousarray(B.T), C=C0)
    np.testing.assert_allclose(got, ref + C0, rtol=0, atol=tol)


def test_gemm_rows_independent_of_m(simd, rng):
    # a row of C must not depend on how many rows are computed with it (tiling invariance)
    A, B = _mats(rng, 37, 21, 300)
    full = _core.nn.gemm("nt", A, B)
    for i in (0, 5, 36):
        np.testing.assert_array_equal(_core.nn.gemm("nt", A[i:i + 1], B)[0], full[i])


def test_scalar_and_avx2_paths_agree(rng):
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    A, B = _mats(rng, 50, 70, 900)
    orig = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        cs = _core.nn.gemm("nt", A, B)
        es = _core.nn.exp(np.linspace(-80, 80, 999).astype(np.float32))
        _core.set_simd_path("avx2")
        ca = _core.nn.gemm("nt", A, B)
        ea = _core.nn.exp(np.linspace(-80, 80, 999).astype(np.float32))
    finally:
        _core.set_simd_path(orig)
    np.testing.assert_allclose(cs, ca, rtol=0, atol=1e-3)
    np.testing.assert_allclose(es, ea, rtol=1e-6)


def test_exp_accuracy(simd):
    x = np.concatenate([np.linspace(-87, 88, 20001), [0.0, -1e-8, 1e-8]]).astype(np.float32)
    got = _core.nn.exp(x)
    ref = np.exp(x.astype(np.float64))
    np.testing.assert_allclose(got, ref, rtol=5e-7)
    tiny = _core.nn.exp(np.array([-200.0, -1000.0], np.float32))
    assert np.all(tiny >= 0) and np.all(tiny < 1e-37)


def test_log_accuracy(simd):
    x = np.concatenate([np.geomspace(1.2e-38, 3e38, 5001), np.linspace(0.5, 20, 5001),
                        [1.0, np.nextafter(1.0, 2.0), 0.70710677, 0.70710683]]).astype(np.float32)
    got = _core.nn.log(x)
    ref = np.log(x.astype(np.float64))
    np.testing.assert_allclose(got, ref, rtol=3e-7, atol=1e-7)
    assert _core.nn.log(np.array([1.0], np.float32))[0] == 0.0
    with pytest.raises(ValueError, match="positive"):
        _core.nn.log(np.array([0.0], np.float32))


def test_gemm_bad_input(rng):
    A, B = _mats(rng, 3, 4, 5)
    with pytest.raises(ValueError, match="kind"):
        _core.nn.gemm("xx", A, B)
    with pytest.raises(ValueError, match="B"):
        _core.nn.gemm("nt", A, B[:, :4])
    with pytest.raises(ValueError, match="bias"):
        _core.nn.gemm("nt", A, B, bias=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="dimension"):
        _core.nn.gemm("nt", A[0], B)
