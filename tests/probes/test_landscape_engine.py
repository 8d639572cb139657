"""Perturbation engine internals: SIMD direction kernels, multi-tile evaluation, thread
independence of the tiled full passes (glasslens.landscape / glasslens.walks)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import _core
from glasslens.probes import network_loss
from glasslens._lib._data import as_xy
from glasslens._lib._threads import resolve_threads
from glasslens.probes._landscape import _engine_loss


def engine_loss(net, X, y, n_threads=None):
    """The landscape engines' own kernel (profile at r = 0, a walk's full passes); reported
    reference values (network_loss, loss0) come from the one evaluator nn.evaluate instead."""
    d = as_xy(X, y)
    return _engine_loss(net, d.X_train, d.y_train, resolve_threads(n_threads))


import nn_reference as ref


def np_loss(widths, bias, theta, X, y):
    """Mean cross-entropy and accuracy in float64 numpy of the float32 parameters theta."""
    return ref.loss_acc(widths, bias, np.asarray(theta, np.float32), X, y)




def _both_paths(f):
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    before = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        a = f()
        _core.set_simd_path("avx2")
        b = f()
    finally:
        _core.set_simd_path(before)
    return a, b


@pytest.mark.parametrize("widths", [[12, 9, 7, 4], [5, 3], [33, 17, 3], [30, 20, 10]])
def test_directions_identical_on_both_simd_paths(widths):
    # P = 175, 18, 666, 830: full 32-entry groups and a partial last group
    net = gl.MLP.init(widths, seed=3, scheme="pytorch")
    nob = gl.MLP.init(widths, seed=3, bias=False)
    combos = [(m, kind, norm, bm) for m in (net, nob) for kind in ("gaussian", "rademacher")
              for norm in ("none", "global", "layer", "filter") for bm in ("include", "zero")]

    def run():
        return [gl.probes.perturbation_direction(m, 7, k, kind, norm, bm)
                for (m, kind, norm, bm) in combos for k in (0, 5)]

    a, b = _both_paths(run)
    for x, z in zip(a, b):
        assert np.array_equal(x.view(np.uint32), z.view(np.uint32))


def test_gaussian_directions_are_standard_normal():
    big = gl.MLP.init([300, 200, 10], seed=0)  # 62,210 entries
    g = np.concatenate([gl.probes.perturbation_direction(big, s, 3, "gaussian", "none")
                        for s in range(4)]).astype(np.float64)
    assert abs(g.mean()) < 0.01 and abs(g.std() - 1) < 0.01
    assert abs(((g - g.mean()) ** 3).mean()) < 0.03
    assert abs(((g - g.mean()) ** 4).mean() / g.var() ** 2 - 3) < 0.06
    # tail frequencies against the normal distribution (|z| > 2: 4.55%, > 3: 0.27%)
    assert abs(np.mean(np.abs(g) > 2) - 0.0455) < 0.003
    assert abs(np.mean(np.abs(g) > 3) - 0.0027) < 0.0007
    assert np.abs(g).max() < 5.8  # 24-bit uniforms cut the tails at sqrt(2 ln 2^24)
    # neighbours (the cos / sin halves of one Box-Muller pair live 8 entries apart) uncorrelated
    u = gl.probes.perturbation_direction(big, 1, 0, "gaussian", "none").astype(np.float64)
    for lag in (1, 8, 16, 32):
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 0.02


@pytest.fixture(scope="module")
def tiled():
    # widths [100, 64, 4]: 1,440-row evaluation tiles, so 3,000 samples make 3 tiles
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 100)).astype(np.float32)
    y = rng.integers(0, 4, size=3000)
    net = gl.MLP.init([100, 64, 4], seed=2, scheme="pytorch")
    return SimpleNamespace(X_train=X, y_train=y), net


def test_multi_tile_profiles_match_numpy_and_threads(tiled):
    data, net = tiled
    theta = net.flat()
    for radii in ([0.0], [0.3], [0.0, 0.2, 0.7]):  # direct path (one radius) and linear path
        outs = {t: gl.probes.profile(net, data, radii, n_directions=2, seed=3, n_threads=t)
                for t in (1, 2, 3)}
        for t in (2, 3):  # K = 2 < 4 threads x ... : items split over tile chunks
            assert np.array_equal(outs[t].train_loss, outs[1].train_loss)
            assert np.array_equal(outs[t].train_acc, outs[1].train_acc)
        res = outs[2]
        for k in range(2):
            u = gl.probes.perturbation_direction(net, 3, k)
            for i, r in enumerate(radii):
                L, A = np_loss(net.widths, True, theta + np.float32(r) * u, data.X_train,
                               data.y_train)
                assert res.train_loss[k, i] == pytest.approx(L, rel=2e-5)
                assert abs(res.train_acc[k, i] - A) <= 1.5 / 3000
        # the same values with many directions (one chunk per item) for the first two
        many = gl.probes.profile(net, data, radii, n_directions=9, seed=3, n_threads=2)
        assert np.array_equal(many.train_loss[:2], res.train_loss)
    l0, a0 = engine_loss(net, data.X_train, data.y_train, n_threads=1)
    assert engine_loss(net, data.X_train, data.y_train, n_threads=3) == (l0, a0)
    z = gl.probes.profile(net, data, [0.0], n_directions=3, n_threads=2)
    assert np.all(z.train_loss == l0) and z.engine_loss0 == l0 and np.all(z.train_acc == a0)
    # the reported reference is the one evaluator's, within float32 rounding of the engine
    assert z.loss0 == network_loss(net, data.X_train, data.y_train)[0]
    assert z.loss0 == pytest.approx(l0, rel=1e-6)
    zl = gl.probes.profile(net, data, [0.0, 0.0], n_directions=3, n_threads=2)
    assert np.all(zl.train_loss == l0)
    ln = gl.probes.line(net, data, "random", span=(0.0, 1.0), n_points=3, n_threads=2)
    assert ln.train_loss[0] == l0
    assert l0 == pytest.approx(np_loss(net.widths, True, theta, data.X_train, data.y_train)[0],
                               rel=1e-5)


def test_multi_tile_first_layer_recomputed(tiled):
    data, net = tiled
    a = gl.probes.profile(net, data, [0.0, 0.3, 1.0], n_directions=3, n_threads=2)
    old = _core.probes._z0_limit(0)
    try:
        b = gl.probes.profile(net, data, [0.0, 0.3, 1.0], n_directions=3, n_threads=2)
    finally:
        _core.probes._z0_limit(old)
    assert np.array_equal(a.train_loss, b.train_loss) and np.array_equal(a.train_acc, b.train_acc)


def test_multi_tile_profiles_on_both_simd_paths(tiled):
    data, net = tiled
    a, b = _both_paths(lambda: gl.probes.profile(net, data, [0.0, 0.4], n_directions=2, n_threads=2))
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-5)


@pytest.mark.parametrize("move", ["weight", "dense"])
def test_single_walker_tiled_passes_thread_independent(tiled, move):
    data, net = tiled
    outs = [gl.probes.random_walk(net, data, 40, 0.05, move=move, n_walkers=1, record_every=10,
                           refresh_every=20, n_threads=t) for t in (1, 2, 3)]
    for o in outs[1:]:
        assert np.array_equal(o.final_theta, outs[0].final_theta)
        assert np.array_equal(o.train_loss, outs[0].train_loss)
        assert np.array_equal(o.train_acc, outs[0].train_acc)
    o = outs[1]
    # the state after a refresh (or a dense step) is the full recomputation, bit for bit
    l, a = engine_loss(gl.MLP.from_flat(net.widths, o.final_theta[0]), data.X_train,
                       data.y_train)
    assert o.train_loss[0, -1] == l and o.train_acc[0, -1] == a
    assert o.train_loss[0, 0] == engine_loss(net, data.X_train, data.y_train)[0]
    assert o.loss0 == network_loss(net, data.X_train, data.y_train)[0]


@pytest.mark.parametrize("path", ["scalar", "avx2"])
def test_network_loss_every_row_remainder(path):
    # the AVX2 cross-entropy takes rows in blocks of 24, then 8, then a padded tail: n = 1 .. 53
    # covers every remainder; per-sample losses are summed, so a wrong row anywhere shows
    if path == "avx2" and not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    rng = np.random.default_rng(11)
    X = rng.normal(size=(53, 6)).astype(np.float32)
    y = rng.integers(0, 7, size=53)
    net = gl.MLP.init([6, 5, 7], seed=4, scheme="pytorch")
    net.weights[1] *= 8.0  # large logits: exp underflow of the non-maximal classes
    # output layer zeroed with equal biases: every logit ties, argmax must be class 0
    tie = gl.MLP([w.copy() for w in net.weights], [b.copy() for b in net.biases])
    tie.weights[1][:] = 0.0
    tie.biases[1][:] = 0.25
    before = _core.simd_path()
    try:
        _core.set_simd_path(path)
        for n in range(1, 54):
            L, A = engine_loss(net, X[:n], y[:n], n_threads=1)
            Lr, Ar = np_loss(net.widths, True, net.flat(), X[:n], y[:n])
            assert L == pytest.approx(Lr, rel=2e-6, abs=1e-6) and A == pytest.approx(Ar)
            L, A = engine_loss(tie, X[:n], y[:n], n_threads=1)
            assert L == pytest.approx(np.log(7.0), rel=1e-6)
            assert A == pytest.approx(np.mean(y[:n] == 0))
    finally:
        _core.set_simd_path(before)
