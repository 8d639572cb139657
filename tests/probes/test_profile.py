"""Perturbation probes (glasslens.landscape) against plain-numpy recomputation."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import _core
from glasslens.probes import network_loss
from glasslens.nn import layer_slices



import nn_reference as ref


def np_loss(widths, bias, theta, X, y):
    """Mean cross-entropy and accuracy in float64 numpy of the float32 parameters theta."""
    return ref.loss_acc(widths, bias, np.asarray(theta, np.float32), X, y)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(257, 12)).astype(np.float32)
    y = rng.integers(0, 4, size=257)
    Xt = rng.normal(size=(61, 12)).astype(np.float32)
    yt = rng.integers(0, 4, size=61)
    data = SimpleNamespace(X_train=X, y_train=y, X_test=Xt, y_test=yt)
    nets = {
        "bias": gl.MLP.init([12, 9, 7, 4], seed=3, scheme="pytorch"),
        "nobias": gl.MLP.init([12, 10, 4], seed=4, bias=False),
        "linear": gl.MLP.init([12, 4], seed=5, scheme="pytorch"),
    }
    return data, nets


@pytest.mark.parametrize("netname", ["bias", "nobias", "linear"])
@pytest.mark.parametrize("kind", ["gaussian", "rademacher"])
@pytest.mark.parametrize("norm", ["none", "global", "layer", "filter"])
def test_perturbed_losses_match_numpy(setup, netname, kind, norm):
    data, nets = setup
    net = nets[netname]
    radii = [0.0, 0.05, 0.4]
    bm = "zero" if norm == "layer" else "include"
    res = gl.probes.profile(net, data, radii, n_directions=3, normalization=norm, kind=kind, seed=11,
                     bias_mode=bm, n_threads=2)
    theta = net.flat()
    for k in range(3):
        u = gl.probes.perturbation_direction(net, 11, k, kind, norm, bm)
        for i, r in enumerate(radii):
            v = theta + np.float32(r) * u
            L, A = np_loss(net.widths, net.has_bias, v, data.X_train, data.y_train)
            assert res.train_loss[k, i] == pytest.approx(L, rel=2e-5, abs=1e-6)
            assert res.train_acc[k, i] == A
            Lt, At = np_loss(net.widths, net.has_bias, v, data.X_test, data.y_test)
            assert res.test_loss[k, i] == pytest.approx(Lt, rel=2e-5, abs=1e-6)


@pytest.mark.parametrize("netname", ["bias", "nobias", "linear"])
def test_multiplicative_matches_numpy(setup, netname):
    data, nets = setup
    net = nets[netname]
    res = gl.probes.profile(net, data, [0.0, 0.2, 1.0], n_directions=2, mode="multiplicative", seed=5)
    theta = net.flat()
    for k in range(2):
        u = gl.probes.perturbation_direction(net, 5, k, "gaussian", "none")
        for i, r in enumerate([0.0, 0.2, 1.0]):
            v = theta * (np.float32(1) + np.float32(r) * u)
            L, _ = np_loss(net.widths, net.has_bias, v, data.X_train, data.y_train)
            assert res.train_loss[k, i] == pytest.approx(L, rel=2e-5)


def test_zero_radius_is_unperturbed(setup):
    data, nets = setup
    for net in nets.values():
        res = gl.probes.profile(net, data, [0.0, 0.0], n_directions=4)
        l0, a0 = network_loss(net, data.X_train, data.y_train)
        # the curves are the engine's (its own unperturbed value); loss0 the one evaluator's
        assert np.all(res.train_loss == res.engine_loss0) and np.all(res.train_acc == a0)
        assert res.engine_loss0 == pytest.approx(l0, rel=1e-6)
        assert res.loss0 == l0 and res.acc0 == a0
        assert res.test_loss0 == network_loss(net, data.X_test, data.y_test)[0]
        ref = np_loss(net.widths, net.has_bias, net.flat(), data.X_train, data.y_train)
        assert l0 == pytest.approx(ref[0], rel=1e-5)
        assert np.all(res.curve_stats("train_loss")["std"] == 0)


def _groups(net, norm, bias_mode):
    """Index groups of the flat vector that the normalisation treats together."""
    sl = layer_slices(net.widths, net.has_bias)
    incl = net.has_bias and bias_mode == "include"
    groups = []
    for li, s in enumerate(sl):
        dout, din = net.widths[li + 1], net.widths[li]
        w = np.arange(s["weight"].start, s["weight"].stop).reshape(dout, din)
        b = np.arange(s["bias"].start, s["bias"].stop) if net.has_bias else None
        if norm == "filter":
            for j in range(dout):
                groups.append(np.concatenate([w[j], b[j:j + 1]]) if incl else w[j])
        else:
            groups.append(np.concatenate([w.ravel(), b]) if incl else w.ravel())
    if norm == "global":
        groups = [np.concatenate(groups)]
    return groups


@pytest.mark.parametrize("norm", ["global", "layer", "filter"])
@pytest.mark.parametrize("bias_mode", ["include", "zero"])
@pytest.mark.parametrize("kind", ["gaussian", "rademacher"])
def test_normalisations(setup, norm, bias_mode, kind):
    _, nets = setup
    net = nets["bias"]
    theta = net.flat().astype(np.float64)
    u = gl.probes.perturbation_direction(net, 2, 5, kind, norm, bias_mode).astype(np.float64)
    for g in _groups(net, norm, bias_mode):
        assert np.linalg.norm(u[g]) == pytest.approx(np.linalg.norm(theta[g]), rel=1e-5)
    if bias_mode == "zero":
        for s in layer_slices(net.widths, True):
            assert np.all(u[s["bias"]] == 0)
    else:
        assert np.all(u != 0)  # pytorch init has non-zero biases
    # raw direction scaled group by group: the normalised one is a positive multiple per group
    raw = gl.probes.perturbation_direction(net, 2, 5, kind, "none", bias_mode).astype(np.float64)
    for g in _groups(net, norm, bias_mode):
        ratio = u[g] / raw[g]
        assert np.allclose(ratio, ratio[0], rtol=1e-6) and ratio[0] > 0


def test_raw_directions(setup):
    _, nets = setup
    big = gl.MLP.init([100, 60, 10], seed=0)
    g = gl.probes.perturbation_direction(big, 9, 0, "gaussian", "none")
    assert abs(g.mean()) < 0.03 and abs(g.std() - 1) < 0.03
    r = gl.probes.perturbation_direction(big, 9, 0, "rademacher", "none")
    assert set(np.unique(r)) == {-1.0, 1.0} and abs(r.mean()) < 0.03
    # deterministic in (seed, k), different for other k or seed
    assert np.array_equal(g, gl.probes.perturbation_direction(big, 9, 0, "gaussian", "none"))
    assert not np.array_equal(g, gl.probes.perturbation_direction(big, 9, 1, "gaussian", "none"))
    assert not np.array_equal(g, gl.probes.perturbation_direction(big, 10, 0, "gaussian", "none"))
    # distinct directions are nearly orthogonal
    g1 = gl.probes.perturbation_direction(big, 9, 1, "gaussian", "none")
    assert abs(np.dot(g, g1)) / (np.linalg.norm(g) * np.linalg.norm(g1)) < 0.05
    # zero filter in theta -> zero filter in u (no NaN)
    t = big.flat().copy()
    t[:100] = 0
    if big.has_bias:
        t[layer_slices(big.widths)[0]["bias"].start] = 0
    z = gl.probes.perturbation_direction(gl.MLP.from_flat(big.widths, t), 9, 0, "gaussian", "filter")
    assert np.all(z[:100] == 0) and np.all(np.isfinite(z))


def test_determinism_across_threads(setup):
    data, nets = setup
    net = nets["bias"]
    outs = [gl.probes.profile(net, data, [0.0, 0.1, 0.2, 0.5, 1.0], n_directions=7, n_threads=t)
            for t in (1, 2, 3)]
    for o in outs[1:]:
        assert np.array_equal(o.train_loss, outs[0].train_loss)
        assert np.array_equal(o.test_acc, outs[0].test_acc)
    # a single direction with many radii (radius blocks) and many directions, one radius
    a = gl.probes.profile(net, data, np.linspace(0, 1, 9), n_directions=1, n_threads=1)
    b = gl.probes.profile(net, data, np.linspace(0, 1, 9), n_directions=1, n_threads=3)
    assert np.array_equal(a.train_loss, b.train_loss)
    # the first direction's curve is the same whatever K is
    c = gl.probes.profile(net, data, np.linspace(0, 1, 9), n_directions=5, n_threads=2)
    assert np.array_equal(a.train_loss[0], c.train_loss[0])
    p1 = gl.probes.plane(net, data, n_points=4, n_threads=1)
    p3 = gl.probes.plane(net, data, n_points=4, n_threads=3)
    assert np.array_equal(p1.train_loss, p3.train_loss)


def test_first_layer_recomputed_per_tile_gives_same_values(setup):
    data, nets = setup
    big_data = SimpleNamespace(X_train=np.tile(data.X_train, (3, 1)),
                               y_train=np.tile(data.y_train, 3), X_test=data.X_test,
                               y_test=data.y_test)  # 771 rows: several tiles
    for net in nets.values():
        a = gl.probes.profile(net, big_data, [0.0, 0.3, 1.0], n_directions=3, n_threads=2)
        old = _core.probes._z0_limit(0)
        try:
            b = gl.probes.profile(net, big_data, [0.0, 0.3, 1.0], n_directions=3, n_threads=2)
        finally:
            _core.probes._z0_limit(old)
        assert np.array_equal(a.train_loss, b.train_loss) and a.loss0 == b.loss0
        assert np.array_equal(a.test_acc, b.test_acc)


def test_simd_paths_agree(setup):
    data, _ = setup
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    # n = 257 rows exercises the 8-row blocks and the padded tail of the loss kernel
    net = gl.MLP.init([12, 40, 4], seed=2, scheme="pytorch")
    before = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        s = gl.probes.profile(net, data, [0.0, 0.3], n_directions=3)
        _core.set_simd_path("avx2")
        v = gl.probes.profile(net, data, [0.0, 0.3], n_directions=3)
    finally:
        _core.set_simd_path(before)
    np.testing.assert_allclose(s.train_loss, v.train_loss, rtol=1e-5)
    ref = np_loss(net.widths, True, net.flat(), data.X_train, data.y_train)[0]
    assert s.loss0 == pytest.approx(ref, rel=1e-5) and v.loss0 == pytest.approx(ref, rel=1e-5)


def test_basin_radius(setup):
    data, nets = setup
    net = nets["bias"]
    radii = np.linspace(0, 3, 13)
    res = gl.probes.profile(net, data, radii, n_directions=8, delta=0.05)
    m = res.mean_train_loss
    lvl = res.loss0 + 0.05
    r = res.basin_radius
    assert np.isfinite(r)
    i = int(np.argmax(m > lvl))
    assert radii[i - 1] <= r <= radii[i]
    assert np.all(m[:i] <= lvl)
    # the interpolated point lies on the segment
    t = (r - radii[i - 1]) / (radii[i] - radii[i - 1])
    assert m[i - 1] + t * (m[i] - m[i - 1]) == pytest.approx(lvl)
    # never exceeded -> NaN
    assert np.isnan(gl.probes.profile(net, data, [0.0, 1e-6], n_directions=2, delta=5.0).basin_radius)
    # accuracy criterion on a hand-made result: mean acc 0.9, 0.85, 0.7 at r = 0, 1, 2 -> the
    # error crosses 0.1 + 0.1 between r = 1 (0.15) and r = 2 (0.3), at r = 1 + 0.05 / 0.15
    acc = np.array([[0.9, 0.8, 0.6], [0.9, 0.9, 0.8]])
    syn = gl.probes.ProfileResult(np.array([0.0, 1.0, 2.0]), acc * 0, acc, None, None, 0.0,
                                     0.9, None, None, 0.1, (0.5,))
    assert syn.basin_radius_error(0.1) == pytest.approx(1 + 0.05 / 0.15)
    assert np.isnan(syn.basin_radius_error(0.5))
    with pytest.raises(ValueError, match="drop"):
        res.basin_radius_error(0)
    pr = res.basin_radius_per_direction
    assert pr.shape == (8,)
    s = res.curve_stats("test_error")
    assert set(s) == {"mean", "std", "q0.1", "q0.5", "q0.9"}
    assert np.allclose(s["mean"], 1 - res.test_acc.mean(0))


def test_line_and_plane(setup):
    data, nets = setup
    net = nets["bias"]
    other = gl.MLP.init([12, 9, 7, 4], seed=99, scheme="pytorch")
    ln = gl.probes.line(net, data, other, span=(0.0, 1.0), n_points=5)
    l0 = np_loss(net.widths, True, net.flat(), data.X_train, data.y_train)[0]
    l1 = np_loss(net.widths, True, other.flat(), data.X_train, data.y_train)[0]
    assert ln.train_loss[0] == pytest.approx(l0, rel=1e-5)
    assert ln.train_loss[-1] == pytest.approx(l1, rel=1e-4)
    mid = net.flat() + np.float32(0.5) * (other.flat() - net.flat())
    assert ln.train_loss[2] == pytest.approx(
        np_loss(net.widths, True, mid, data.X_train, data.y_train)[0], rel=1e-5)
    d = np.random.default_rng(0).normal(size=net.n_params).astype(np.float32)
    d2 = gl.probes.perturbation_direction(net, 4, 1)
    pl = gl.probes.plane(net, data, d, "random", span=((-1, 1), (0, 2)), n_points=(3, 4), seed=4)
    assert pl.train_loss.shape == (3, 4) and pl.test_acc.shape == (3, 4)
    assert np.array_equal(pl.directions[1], d2)
    for ia, a in enumerate(pl.coords[0]):
        for ib, b in enumerate(pl.coords[1]):
            v = net.flat() + np.float32(a) * d
            v = v + np.float32(b) * d2
            L, A = np_loss(net.widths, True, v, data.X_train, data.y_train)
            assert pl.train_loss[ia, ib] == pytest.approx(L, rel=2e-5)
            assert pl.train_acc[ia, ib] == A
    # without a test set
    ln2 = gl.probes.line(net, (data.X_train, data.y_train), "random", n_points=3)
    assert ln2.test_loss is None


def test_bad_inputs(setup):
    data, nets = setup
    net = nets["bias"]
    with pytest.raises(ValueError, match="radii"):
        gl.probes.profile(net, data, [-0.1, 0.2])
    with pytest.raises(ValueError, match="radii"):
        gl.probes.profile(net, data, [0.3, 0.2])
    with pytest.raises(ValueError, match="radii"):
        gl.probes.profile(net, data, [0.1, np.nan])
    with pytest.raises(ValueError, match="directions"):
        gl.probes.profile(net, data, [0.1], n_directions=0)
    with pytest.raises(ValueError, match="normalization"):
        gl.probes.profile(net, data, [0.1], normalization="unit")
    with pytest.raises(ValueError, match="normalization"):
        gl.probes.profile(net, data, [0.1], mode="multiplicative", normalization="filter")
    with pytest.raises(ValueError, match="kind"):
        gl.probes.profile(net, data, [0.1], kind="uniform")
    with pytest.raises(ValueError, match="mode"):
        gl.probes.profile(net, data, [0.1], mode="both")
    with pytest.raises(ValueError, match="bias_mode"):
        gl.probes.perturbation_direction(net, 0, 0, bias_mode="ignore")
    with pytest.raises(ValueError, match="k must be >= 0"):
        gl.probes.perturbation_direction(net, 0, -1)
    bad = net.copy()
    bad.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gl.probes.profile(bad, data, [0.1])
    with pytest.raises(TypeError, match="MLP"):
        gl.probes.profile(gl.Ensemble.from_mlps([net]), data, [0.1])
    with pytest.raises(ValueError, match="features"):
        gl.probes.profile(net, (data.X_train[:, :5], data.y_train), [0.1])
    with pytest.raises(ValueError, match="out of range"):
        gl.probes.profile(net, (data.X_train, data.y_train + 4), [0.1])
    with pytest.raises(TypeError, match="X_train"):
        gl.probes.profile(net, object(), [0.1])
    with pytest.raises(ValueError, match="span"):
        gl.probes.line(net, data, "random", span=(1, -1))
    with pytest.raises(ValueError, match="direction"):
        gl.probes.line(net, data, np.zeros(3))
    with pytest.raises(ValueError, match="widths"):
        gl.probes.line(net, data, nets["nobias"])
    with pytest.raises(ValueError, match="n"):
        gl.probes.plane(net, data, n_points=1)
    # the C++ layer validates too
    with pytest.raises(ValueError, match="y"):
        _core.probes.full_loss(net.widths, True, net.flat(), data.X_train,
                                  np.full(len(data.y_train), 9, np.int32))
