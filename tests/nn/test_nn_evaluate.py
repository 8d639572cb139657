import numpy as np
import pytest

import glasslens as gl
from glasslens import _core
from glasslens.nn import logits


import nn_reference as ref

ARCHS = [([9, 4], True), ([9, 4], False), ([12, 7, 5], True), ([12, 7, 5], False),
         ([10, 8, 6, 3], True), ([10, 8, 6, 3], False),
         # output widths around the softmax kernel's register blocks (8, 16) and above them
         ([9, 8], True), ([9, 6, 9], True), ([9, 6, 16], False), ([12, 7, 20], True)]


def _data(rng, n, d, c):
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, c, n)
    return X, y


@pytest.mark.parametrize("widths,bias", ARCHS)
def test_evaluate_matches_numpy(rng, widths, bias):
    ens = gl.Ensemble.init(widths, 5, seed=3, bias=bias, scheme="pytorch" if bias else "kaiming")
    X, y = _data(rng, 517, widths[0], widths[-1])
    loss, acc = gl.evaluate(ens, X, y)
    assert loss.shape == (5,) and acc.dtype == np.float64
    for r in range(5):
        lr, ar = ref.loss_acc(widths, bias, ens.flat()[r], X, y)
        assert loss[r] == pytest.approx(lr, rel=1e-5, abs=1e-6)
        assert acc[r] == pytest.approx(ar, abs=1.5 / len(y))  # near-ties may flip one row
    # flat arrays and single MLPs give the same numbers
    l2, a2 = gl.evaluate(ens.flat(), X, y, widths=widths, bias=bias)
    np.testing.assert_array_equal(l2, loss)
    l3, a3 = gl.evaluate(ens[2], X, y)
    assert l3.shape == (1,) and l3[0] == loss[2] and a3[0] == acc[2]


def test_logits_match_forward(rng):
    widths = [13, 11, 6]
    ens = gl.Ensemble.init(widths, 3, seed=1, scheme="pytorch")
    X, _ = _data(rng, 300, 13, 6)
    Z = logits(ens, X)
    assert Z.shape == (3, 300, 6)
    for r in range(3):
        np.testing.assert_allclose(Z[r], ens[r].forward(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(logits(ens[1], X), Z[1])


def test_evaluate_deterministic_across_threads(rng):
    widths = [20, 16, 5]
    ens = gl.Ensemble.init(widths, 7, seed=2, scheme="pytorch")
    X, y = _data(rng, 1001, 20, 5)
    res = [gl.evaluate(ens, X, y, n_threads=t) for t in (1, 2, 3)]
    for l, a in res[1:]:
        np.testing.assert_array_equal(l, res[0][0])
        np.testing.assert_array_equal(a, res[0][1])


def test_evaluate_paths_agree(rng):
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    widths = [30, 16, 10]
    ens = gl.Ensemble.init(widths, 4, seed=5)
    X, y = _data(rng, 700, 30, 10)
    orig = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        ls, acs = gl.evaluate(ens, X, y)
        gs = gl.nn.loss_and_grad(ens[0], X, y)[1]
        _core.set_simd_path("avx2")
        la, aca = gl.evaluate(ens, X, y)
        ga = gl.nn.loss_and_grad(ens[0], X, y)[1]
    finally:
        _core.set_simd_path(orig)
    np.testing.assert_allclose(ls, la, rtol=1e-5)
    np.testing.assert_allclose(acs, aca, atol=2 / 700)
    np.testing.assert_allclose(gs, ga, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("widths,bias", ARCHS)
def test_loss_grad_matches_reference_and_fd(rng, widths, bias):
    net = gl.MLP.init(widths, seed=4, bias=bias, scheme="pytorch" if bias else "kaiming")
    X, y = _data(rng, 37, widths[0], widths[-1])
    theta = net.flat()
    loss, grad = gl.nn.loss_and_grad(net, X, y)
    assert grad.shape == (net.n_params,) and grad.dtype == np.float32
    rl, rg = ref.loss_grad(widths, bias, theta, X, y)
    assert loss == pytest.approx(rl, rel=1e-5)
    np.testing.assert_allclose(grad, rg, rtol=1e-4, atol=1e-6)
    # the float64 reference gradient against central finite differences of the float64 loss
    t64 = theta.astype(np.float64)
    idx = rng.choice(t64.size, size=min(25, t64.size), replace=False)
    h = 1e-6
    for i in idx:
        tp, tm = t64.copy(), t64.copy()
        tp[i] += h
        tm[i] -= h
        fd = (ref.loss_acc(widths, bias, tp, X, y)[0] - ref.loss_acc(widths, bias, tm, X, y)[0]) / (2 * h)
        assert rg[i] == pytest.approx(fd, rel=1e-4, abs=1e-7)
    # and directly against finite differences of glasslens' own float32 loss (loose)
    for i in idx[:5]:
        tp, tm = theta.copy(), theta.copy()
        tp[i] += 1e-3
        tm[i] -= 1e-3
        lp = gl.evaluate(tp, X, y, widths=widths, bias=bias)[0][0]
        lm = gl.evaluate(tm, X, y, widths=widths, bias=bias)[0][0]
        assert grad[i] == pytest.approx((lp - lm) / 2e-3, rel=0.05, abs=5e-4)


def test_evaluate_bad_inputs(rng):
    widths = [6, 4, 3]
    ens = gl.Ensemble.init(widths, 2)
    X, y = _data(rng, 10, 6, 3)
    with pytest.raises(ValueError, match="features"):
        gl.evaluate(ens, X[:, :5], y)
    with pytest.raises(ValueError, match="y"):
        gl.evaluate(ens, X, y[:9])
    with pytest.raises(ValueError, match="out of range"):
        gl.evaluate(ens, X, np.full(10, 3))
    with pytest.raises(ValueError, match="negative"):
        gl.evaluate(ens, X, np.full(10, -1))
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gl.evaluate(ens, Xn, y)
    with pytest.raises(ValueError, match="widths"):
        gl.evaluate(ens.flat(), X, y)
    with pytest.raises(ValueError, match="parameters"):
        gl.evaluate(ens.flat()[:, :-1], X, y, widths=widths)
    bad = ens.flat()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        gl.evaluate(bad, X, y, widths=widths)
    with pytest.raises(ValueError, match="empty"):
        gl.evaluate(ens, X[:0], y[:0])
    with pytest.raises(TypeError, match="Ensemble"):
        gl.nn.loss_and_grad(ens, X, y)
    with pytest.raises(ValueError, match="non-integral"):
        gl.evaluate(ens, X, y + 0.5)
    with pytest.raises(TypeError, match="n_threads"):
        gl.evaluate(ens, X, y, n_threads="2")
    # the private binding validates too (shapes and label range, before releasing the GIL)
    with pytest.raises(ValueError, match="out of range"):
        _core.nn.evaluate(ens.flat(), widths, True, X, np.full(10, 7, np.int32), 1)
    with pytest.raises(ValueError, match="theta"):
        _core.nn.loss_grad(ens.flat(), widths, True, X, y.astype(np.int32))


@pytest.mark.parametrize("c", [3, 10, 20])
def test_ties_go_to_lowest_class(rng, c):
    widths = [5, 4, c]
    theta = np.zeros((1, gl.nn.n_params(widths)), np.float32)  # all logits equal
    X, y = _data(rng, 300, 5, c)
    orig = _core.simd_path()
    try:
        for path in ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else []):
            _core.set_simd_path(path)
            loss, acc = gl.evaluate(theta, X, y, widths=widths)
            assert acc[0] == np.mean(y == 0)
            assert loss[0] == pytest.approx(np.log(c), rel=1e-6)
    finally:
        _core.set_simd_path(orig)



# One hidden layer with widths <= 256 goes through the fused kernel (gemm::mlp2_loss). It must
# give the bits of the unfused sequence, rebuilt here from the exposed primitives: hidden layer
# by gemm 'nt' with the bias + ReLU epilogue, transposed logits ZT = (b1 rows) + W1 H^T, per
# sample lse = log(sum_j exp(z_j - max)) (exp / log kernels, class-order float sum) minus
# (z_y - max), summed in double in row order (AVX2: rows [0, n & ~7) then the tail added as its
# own sum), tiles of eval_tile_rows summed in order. Row counts straddle the 8/16/48-row blocks,
# class counts the 6/4-row strips and the register blocks; with and without biases; multi-tile.
FUSED = [([64, 32, 10], True, 1000), ([64, 32, 10], False, 1003), ([7, 5, 3], True, 37),
         ([5, 40, 1], True, 29), ([33, 17, 12], True, 2401), ([256, 256, 20], True, 101),
         ([9, 16, 6], False, 5), ([3, 7, 17], True, 97)]


def _unfused_loss_sum(W0, b0, W1, b1, X, y, vec):
    H = _core.nn.gemm("nt", X, W0, bias=b0, relu=True)
    c, n = W1.shape[0], X.shape[0]
    if b1 is None:
        ZT = _core.nn.gemm("nt", W1, H)
    else:
        ZT = _core.nn.gemm("nt", W1, H, C=np.repeat(b1[:, None], n, axis=1).astype(np.float32))
    mx = ZT[0].copy()
    arg = np.zeros(n, np.int64)
    for j in range(1, c):
        gt = ZT[j] > mx
        mx[gt] = ZT[j][gt]
        arg[gt] = j
    e = _core.nn.exp((ZT - mx[None, :]).astype(np.float32))
    s = np.zeros(n, np.float32)
    for j in range(c):
        s = (s + e[j]).astype(np.float32)
    lse = _core.nn.log(s)
    zym = (ZT[y, np.arange(n)] - mx).astype(np.float32)
    li = lse.astype(np.float64) - zym.astype(np.float64)
    nv = n & ~7 if vec else 0
    total = np.cumsum(np.concatenate([[0.0], li[:nv]]))[-1]
    if nv < n:
        total += np.cumsum(li[nv:])[-1]
    return total, int(np.sum(arg == y))


@pytest.mark.parametrize("widths,bias,n", FUSED)
def test_fused_one_hidden_layer_bit_identical_to_unfused(rng, widths, bias, n):
    X, y = _data(rng, n, widths[0], widths[-1])
    d0, d1, c = widths
    ens = gl.Ensemble.init(widths, 2, seed=7, bias=bias, scheme="pytorch" if bias else "kaiming")
    theta = ens.flat()
    theta = (theta + 0.1 * rng.standard_normal(theta.shape)).astype(np.float32)  # nonzero biases
    tile = 240 * max(1, min(16, (1 << 20) // (240 * 4 * sum(widths))))
    paths = ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else [])
    orig = _core.simd_path()
    try:
        for p in paths:
            _core.set_simd_path(p)
            loss, acc = gl.evaluate(theta, X, y, widths=widths, bias=bias, n_threads=2)
            for k in range(2):
                t = theta[k]
                W0 = t[:d1 * d0].reshape(d1, d0)
                o = d1 * d0
                b0 = t[o:o + d1] if bias else None
                o += d1 if bias else 0
                W1 = t[o:o + c * d1].reshape(c, d1)
                b1 = t[o + c * d1:] if bias else None
                tot, corr = 0.0, 0
                for r0 in range(0, n, tile):
                    sl = slice(r0, min(n, r0 + tile))
                    lt, ct = _unfused_loss_sum(W0, b0, W1, b1, X[sl], y[sl], p == "avx2")
                    tot += lt
                    corr += ct
                assert loss[k] == tot / n, (p, k)
                assert acc[k] == corr / n, (p, k)
    finally:
        _core.set_simd_path(orig)
