"""Random walks (glasslens.walks): acceptance rules, incremental state, diffusion, summaries."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens.probes import network_loss
from glasslens._lib._data import as_xy
from glasslens._lib._threads import resolve_threads
from glasslens.probes._landscape import _engine_loss


def engine_loss(net, X, y, n_threads=None):
    """The landscape engines' own kernel (profile at r = 0, a walk's full passes); reported
    reference values (network_loss, loss0) come from the one evaluator nn.evaluate instead."""
    d = as_xy(X, y)
    return _engine_loss(net, d.X_train, d.y_train, resolve_threads(n_threads))
from glasslens.probes import msd_exponent


def np_loss(net_widths, bias, theta, X, y):
    net = gl.MLP.from_flat(net_widths, np.asarray(theta, np.float32), bias)
    z = net.forward(X).astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    return float(np.mean(lse - z[np.arange(len(y)), y]))


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 10)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0.5)
    Xt = rng.normal(size=(80, 10)).astype(np.float32)
    yt = (Xt[:, 0] + 0.5 * Xt[:, 1] > 0).astype(int) + 2 * (Xt[:, 2] > 0.5)
    data = SimpleNamespace(X_train=X, y_train=y, X_test=Xt, y_test=yt)
    net = gl.MLP.init([10, 12, 4], seed=1, scheme="pytorch")
    deep = gl.MLP.init([10, 8, 6, 4], seed=2, scheme="pytorch")
    return data, net, deep


@pytest.mark.parametrize("move", ["weight", "unit"])
@pytest.mark.parametrize("which", ["net", "deep"])
def test_incremental_state_matches_full_recomputation(setup, move, which):
    data, net, deep = setup
    n = net if which == "net" else deep
    # no refresh: the incremental loss drifts only by float rounding
    w = gl.probes.random_walk(n, data, 3000, 0.3, move=move, n_walkers=2, record_every=500,
                       refresh_every=0, eval_test=False)
    for k in range(2):
        ref = np_loss(n.widths, True, w.final_theta[k], data.X_train, data.y_train)
        assert w.train_loss[k, -1] == pytest.approx(ref, rel=1e-4)
        assert w.train_loss[k, -1] != w.train_loss[k, 0]  # it moved
        # recorded accuracy equals the full recomputation of the final point
        assert w.train_acc[k, -1] == pytest.approx(
            np.mean(gl.MLP.from_flat(n.widths, w.final_theta[k]).predict(data.X_train)
                    == data.y_train), abs=1.0 / 300 + 1e-12)
    assert np.all(w.max_drift == 0)  # never refreshed
    # with a refresh at every record the recorded state is the exact full recomputation
    r = gl.probes.random_walk(n, data, 3000, 0.3, move=move, n_walkers=2, record_every=500,
                       refresh_every=500, eval_test=False)
    assert np.array_equal(r.final_theta, w.final_theta)  # same stream, same moves
    for k in range(2):
        l, a = engine_loss(gl.MLP.from_flat(n.widths, r.final_theta[k]), data.X_train,
                           data.y_train)
        assert r.train_loss[k, -1] == l and r.train_acc[k, -1] == a
    assert np.all(r.max_drift > 0) and np.all(r.max_drift < 1e-4)


def test_threshold_walk_respects_level(setup):
    data, net, _ = setup
    l0, a0 = network_loss(net, data.X_train, data.y_train)
    thr = l0 + 0.02
    for move in ("dense", "weight", "unit"):
        w = gl.probes.random_walk(net, data, 600, 0.5, mode="threshold", threshold=thr, move=move,
                           n_walkers=3, record_every=20, refresh_every=20)
        assert np.all(w.train_loss <= thr)
        acc = w.acceptance[:, 1:]
        assert np.all(acc >= 0) and np.all(acc <= 1)
        assert 0 < w.n_accepted.sum() < 3 * 600  # some moves rejected, some accepted
        for k in range(3):
            assert np_loss(net.widths, True, w.final_theta[k], data.X_train,
                           data.y_train) <= thr + 1e-5
    # on the error
    err0 = 1 - a0
    w = gl.probes.random_walk(net, data, 400, 1.0, mode="threshold", threshold=err0 + 0.01,
                       threshold_on="error", move="unit", n_walkers=2, record_every=10)
    assert np.all(1 - w.train_acc <= err0 + 0.01 + 1e-12)


def test_metropolis_limits(setup):
    data, net, _ = setup
    for move in ("dense", "weight"):
        cold = gl.probes.random_walk(net, data, 500, 0.3, mode="metropolis", temperature=1e-12,
                              move=move, n_walkers=2, record_every=10, refresh_every=10)
        assert np.all(np.diff(cold.train_loss, axis=1) <= 1e-12)  # descent only
        assert cold.train_loss[:, -1].max() < cold.loss0
        assert cold.acceptance_rate.max() < 1
        hot = gl.probes.random_walk(net, data, 300, 0.3, mode="metropolis", temperature=1e12,
                             move=move, n_walkers=2, record_every=10)
        assert np.all(hot.n_accepted == 300)
        free = gl.probes.random_walk(net, data, 300, 0.3, move=move, n_walkers=2, record_every=10)
        assert np.all(free.acceptance[:, 1:] == 1)


def test_free_walk_diffuses(setup):
    data, net, _ = setup
    N = net.n_params
    w = gl.probes.random_walk(net, data, 400, 0.01, move="dense", n_walkers=32, record_every=20,
                       eval_test=False)
    assert w.msd_exponent == pytest.approx(1.0, abs=0.1)
    sigma2 = w.sigma ** 2
    assert w.sigma == pytest.approx(0.01 * np.linalg.norm(net.flat()) / np.sqrt(N), rel=1e-6)
    # E ||theta_t - theta0||^2 = t N sigma^2
    np.testing.assert_allclose(w.msd[1:], w.step[1:] * N * sigma2, rtol=0.1)
    s = gl.probes.random_walk(net, data, 4000, 0.01, move="weight", n_walkers=32, record_every=200,
                       eval_test=False)
    assert s.msd_exponent == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(s.msd[1:], s.step[1:] * s.sigma ** 2, rtol=0.2)
    # distance and overlap records agree with the final point
    th0 = net.flat().astype(np.float64)
    ft = s.final_theta.astype(np.float64)
    d = np.linalg.norm(ft - th0, axis=1) / np.linalg.norm(th0)
    np.testing.assert_allclose(s.distance[:, -1], d, rtol=1e-9)
    q = ft @ th0 / (np.linalg.norm(ft, axis=1) * np.linalg.norm(th0))
    np.testing.assert_allclose(s.overlap[:, -1], q, rtol=1e-9)
    assert np.all(s.distance[:, 0] == 0) and np.allclose(s.overlap[:, 0], 1)
    assert np.isnan(s.test_loss).all()  # eval_test=False


def test_records_and_test_set(setup):
    data, net, _ = setup
    w = gl.probes.random_walk(net, data, 95, 0.05, n_walkers=2, record_every=10, keep_points=True)
    assert w.step.tolist() == list(range(0, 91, 10))
    assert w.train_loss.shape == (2, 10) and w.thetas.shape == (2, 10, net.n_params)
    assert np.isnan(w.acceptance[:, 0]).all()
    for k in range(2):
        for r in (0, 4, 9):
            m = gl.MLP.from_flat(net.widths, w.thetas[k, r])
            tl, ta = engine_loss(m, data.X_test, data.y_test)
            assert w.test_loss[k, r] == tl and w.test_acc[k, r] == ta
    assert np.array_equal(w.thetas[:, 0], np.stack([net.flat()] * 2))


def test_determinism_across_threads(setup):
    data, net, _ = setup
    for move in ("dense", "unit"):
        outs = [gl.probes.random_walk(net, data, 200, 0.1, move=move, mode="metropolis",
                               temperature=0.01, n_walkers=5, record_every=20, n_threads=t)
                for t in (1, 2, 3)]
        for o in outs[1:]:
            assert np.array_equal(o.final_theta, outs[0].final_theta)
            assert np.array_equal(o.train_loss, outs[0].train_loss)
            assert np.array_equal(o.test_acc, outs[0].test_acc, equal_nan=True)
    # walker w does not depend on the number of walkers
    a = gl.probes.random_walk(net, data, 100, 0.1, move="weight", n_walkers=1, record_every=10)
    b = gl.probes.random_walk(net, data, 100, 0.1, move="weight", n_walkers=4, record_every=10)
    assert np.array_equal(a.final_theta[0], b.final_theta[0])


def test_autocorrelation_and_correlation_length():
    rng = np.random.default_rng(0)
    phi = 0.9
    W, T = 40, 4000
    x = np.zeros((W, T))
    e = rng.normal(size=(W, T))
    for t in range(1, T):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    acf = gl.probes.autocorrelation(x, max_lag=60)
    np.testing.assert_allclose(acf[:20], phi ** np.arange(20), atol=0.03)
    # by hand for one series
    s = x[0] - x[0].mean()
    c3 = np.mean(s[:-3] * s[3:]) / np.mean(s * s)
    assert gl.probes.autocorrelation(x[0], 5)[3] == pytest.approx(c3)
    assert gl.probes.correlation_length(acf) == pytest.approx(-1 / np.log(phi), rel=0.1)
    assert gl.probes.correlation_length(acf, dt=10) == pytest.approx(10 * gl.probes.correlation_length(acf))
    assert np.isnan(gl.probes.correlation_length(np.ones(10)))
    assert np.isnan(gl.probes.autocorrelation(np.ones(10))).all()
    assert msd_exponent(np.arange(1, 50), 3.0 * np.arange(1, 50) ** 0.5) == pytest.approx(0.5)


def test_escape_distance(setup):
    data, net, _ = setup
    w = gl.probes.random_walk(net, data, 300, 0.2, n_walkers=4, record_every=5, delta=0.05,
                       eval_test=False)
    esc = w.escape_distance
    lvl = w.loss0 + 0.05
    for k in range(4):
        if np.isfinite(esc[k]):
            i = int(np.argmax(w.train_loss[k] > lvl))
            lo, hi = sorted((w.distance[k, i - 1], w.distance[k, i]))
            assert lo - 1e-12 <= esc[k] <= hi + 1e-12
        else:
            assert np.all(w.train_loss[k] <= lvl)
    assert np.isfinite(esc).any()
    summ = w.to_dict()
    assert summ["escaped_fraction"] == np.mean(np.isfinite(esc))
    cl = summ["correlation_length_steps"]
    assert cl is None or np.isfinite(cl)


def test_bad_inputs(setup):
    data, net, _ = setup
    with pytest.raises(ValueError, match="walkers"):
        gl.probes.random_walk(net, data, 10, n_walkers=0)
    with pytest.raises(ValueError, match="temperature"):
        gl.probes.random_walk(net, data, 10, mode="metropolis", temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        gl.probes.random_walk(net, data, 10, mode="metropolis", temperature=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        gl.probes.random_walk(net, data, 10, mode="metropolis")
    with pytest.raises(ValueError, match="threshold"):
        gl.probes.random_walk(net, data, 10, mode="threshold")
    with pytest.raises(ValueError, match="violates"):
        gl.probes.random_walk(net, data, 10, mode="threshold", threshold=0.0)
    with pytest.raises(ValueError, match="step_size"):
        gl.probes.random_walk(net, data, 10, step_size=-1.0)
    with pytest.raises(ValueError, match="steps"):
        gl.probes.random_walk(net, data, -5)
    with pytest.raises(ValueError, match="record_every"):
        gl.probes.random_walk(net, data, 10, record_every=0)
    with pytest.raises(ValueError, match="record_every"):
        gl.probes.random_walk(net, data, 10**12, n_walkers=4)
    with pytest.raises(ValueError, match="step_scale"):
        gl.probes.random_walk(net, data, 10, step_scale="unit")
    with pytest.raises(ValueError, match="move"):
        gl.probes.random_walk(net, data, 10, move="layer")
    with pytest.raises(ValueError, match="hidden"):
        gl.probes.random_walk(gl.MLP.init([10, 4]), data, 10, move="unit")
    bad = net.copy()
    bad.biases[0][1] = np.inf
    with pytest.raises(ValueError, match="NaN"):
        gl.probes.random_walk(bad, data, 10)
    with pytest.raises(ValueError, match="out of range"):
        gl.probes.random_walk(net, (data.X_train, data.y_train + 4), 10)
    with pytest.raises(TypeError, match="quench"):
        gl.probes.random_walk(net, data, 10, quench=3)
    # a linear model (no hidden layer) walks fine with single-weight moves
    lin = gl.MLP.init([10, 4], seed=0)
    w = gl.probes.random_walk(lin, data, 200, 0.3, move="weight", n_walkers=2, record_every=100,
                       refresh_every=0)
    ref = np_loss(lin.widths, True, w.final_theta[1], data.X_train, data.y_train)
    assert w.train_loss[1, -1] == pytest.approx(ref, rel=1e-5)


def test_simd_paths_agree_on_walks(setup):
    from glasslens import _core
    data, net, deep = setup
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    before = _core.simd_path()
    out = {}
    try:
        for path in ("scalar", "avx2"):
            _core.set_simd_path(path)
            out[path] = [gl.probes.random_walk(n, data, 500, 0.2, move=mv, n_walkers=2, record_every=50,
                                        refresh_every=0)
                         for n in (net, deep) for mv in ("weight", "unit")]
    finally:
        _core.set_simd_path(before)
    for a, b in zip(out["scalar"], out["avx2"]):
        assert np.array_equal(a.final_theta, b.final_theta)  # free walk: same moves
        np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-5)
        np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=1e-5)


def test_extreme_logits(setup):
    data, net, _ = setup
    big = gl.MLP([W * 300 for W in net.weights], [b * 300 for b in net.biases])
    ref = np_loss(big.widths, True, big.flat(), data.X_train, data.y_train)
    l, _ = network_loss(big, data.X_train, data.y_train)
    assert np.isfinite(l) and l == pytest.approx(ref, rel=1e-4)
    w = gl.probes.random_walk(big, data, 300, 0.05, move="weight", n_walkers=1, record_every=300,
                       refresh_every=0)
    assert w.train_loss[0, -1] == pytest.approx(
        np_loss(big.widths, True, w.final_theta[0], data.X_train, data.y_train), rel=1e-4)


def test_quench_from_walk_points(setup):
    data, net, _ = setup
    w = gl.probes.random_walk(net, data, 40, 0.5, n_walkers=2, record_every=10,
                       quench={"epochs": 3, "lr": 0.05, "batch_size": 32, "every": 2})
    q = w.quench
    assert q["record"].tolist() == [2, 4, 2, 4] and q["walker"].tolist() == [0, 0, 1, 1]
    assert q["step"].tolist() == [20, 40, 20, 40]
    ens = q["minima"]
    assert ens.n_replicas == 4 and ens.widths == net.widths
    # SGD from the walk points lowers the train loss below that of the start points
    start = np.array([w.train_loss[wk, r] for wk, r in zip(q["walker"], q["record"])])
    assert np.all(q["train_loss"] < start)
    for i in range(4):
        l, _ = network_loss(ens[i], data.X_train, data.y_train)
        assert l == pytest.approx(q["train_loss"][i], rel=1e-4)


def test_layer_step_scale(setup):
    from glasslens.nn import layer_slices

    data, net, deep = setup
    th = deep.flat().astype(np.float64)
    w = gl.probes.random_walk(deep, data, 300, 0.01, move="dense", n_walkers=32, record_every=30,
                       step_scale="layer", eval_test=False)
    sl = layer_slices(deep.widths)
    want = [0.01 * np.linalg.norm(np.concatenate([th[v] for v in s.values()]))
            / np.sqrt(sum(v.stop - v.start for v in s.values())) for s in sl]
    np.testing.assert_allclose(w.layer_sigma, want, rtol=1e-12)
    # E ||theta_t - theta0||^2 = t eta^2 ||theta0||^2 for per-layer scaling too
    np.testing.assert_allclose(w.msd[1:], w.step[1:] * 0.01 ** 2 * (th @ th), rtol=0.1)
    # per-layer displacement follows each layer's own sigma (sparse single-weight moves)
    s = gl.probes.random_walk(deep, data, 3000, 0.05, move="weight", n_walkers=16, record_every=3000,
                       step_scale="layer", eval_test=False, refresh_every=0)
    d = s.final_theta.astype(np.float64) - th
    for li, sls in enumerate(sl):
        idx = np.concatenate([np.arange(v.start, v.stop) for v in sls.values()])
        # each step moves a uniformly chosen coordinate: E sum_layer d^2 = steps * N_l/N * s_l^2
        expect = 3000 * idx.size / th.size * s.layer_sigma[li] ** 2
        assert np.mean(np.sum(d[:, idx] ** 2, axis=1)) == pytest.approx(expect, rel=0.35)
    # unit moves with per-layer sigmas stay consistent with a full recomputation
    u = gl.probes.random_walk(deep, data, 200, 0.1, move="unit", n_walkers=2, record_every=200,
                       step_scale="layer", refresh_every=0, eval_test=False)
    assert u.train_loss[0, -1] == pytest.approx(
        np_loss(deep.widths, True, u.final_theta[0], data.X_train, data.y_train), rel=1e-4)
