"""Flatness measures: rescaling symmetry, balancing, invariance, and checks of each measure
against direct numpy computations."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import flatness as fl


def problem(widths=(6, 8, 3), n=120, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    net = gl.MLP.init(list(widths), seed=seed, scheme="pytorch", bias=bias)
    X = rng.normal(size=(n, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], n)
    return net, X, y


def np_loss(net, X, y):
    z = net.forward(X).astype(np.float64)
    m = z.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(z - m).sum(1)) + m[:, 0] - z[np.arange(len(y)), y]))


@pytest.mark.parametrize("widths,bias", [((6, 8, 3), True), ((5, 7, 6, 4), True), ((5, 7, 6, 4), False)])
def test_rescaling_and_balancing_preserve_the_function(widths, bias):
    net, X, y = problem(widths, bias=bias)
    r = fl.random_rescaling(net, seed=1, sigma=1.0)
    assert not np.allclose(r.flat(), net.flat())
    np.testing.assert_allclose(r.forward(X), net.forward(X), rtol=1e-4, atol=1e-5)
    b = fl.balance(r)
    np.testing.assert_allclose(b.forward(X), net.forward(X), rtol=1e-4, atol=1e-5)
    # balanced: incoming norm == outgoing norm for every hidden unit
    for l in range(b.depth - 1):
        inn = (b.weights[l].astype(np.float64) ** 2).sum(1)
        if bias:
            inn += b.biases[l].astype(np.float64) ** 2
        out = (b.weights[l + 1].astype(np.float64) ** 2).sum(0)
        np.testing.assert_allclose(inn, out, rtol=1e-4)
    # unique representative of the orbit
    np.testing.assert_allclose(fl.balance(net).flat(), b.flat(), rtol=1e-4, atol=1e-5)


def test_batch_loss_matches_numpy_and_threads():
    net, X, y = problem()
    rng = np.random.default_rng(2)
    T = net.flat()[None, :] + 0.1 * rng.normal(size=(5, net.n_params)).astype(np.float32)
    loss, acc = fl.batch_loss(net, T, X, y, n_threads=1)
    for i in range(5):
        m = gl.MLP.from_flat(net.widths, T[i])
        assert loss[i] == pytest.approx(np_loss(m, X, y), rel=1e-5)
        assert acc[i] == pytest.approx(np.mean(m.predict(X) == y))
    l2, a2 = fl.batch_loss(net, T, X, y, n_threads=3)
    assert np.array_equal(loss, l2) and np.array_equal(acc, a2)


def test_invariant_measures_under_random_rescaling_and_naive_pitfall():
    net, X, y = problem((6, 10, 3), n=150, seed=4)
    resc = fl.random_rescaling(net, seed=7, sigma=1.0)
    kw = dict(seed=3, n_threads=2, params={"ruggedness": {"steps": 40, "n_walks": 2},
                                            "hessian_trace": {"n_samples": 10},
                                            "eps_sharpness": {"steps": 5}})
    a = fl.measures(net, (X, y), balance=True, **kw)
    b = fl.measures(resc, (X, y), balance=True, **kw)
    assert a.balanced and set(a.params) == set(fl.ALL_MEASURES)
    for k, v in a.values.items():
        assert b.values[k] == pytest.approx(v, rel=1e-3, abs=1e-7), k
    # naive (unbalanced) curvature changes under the rescaling: the pitfall
    shrunk = fl.rescale(net, [np.full(10, 0.05)])  # W1 / 20, W2 * 20: same function
    np.testing.assert_allclose(shrunk.forward(X), net.forward(X), rtol=1e-4, atol=1e-5)
    na = fl.measures(net, (X, y), which=["hessian_top"], seed=3)
    nb = fl.measures(shrunk, (X, y), which=["hessian_top"], seed=3)
    assert nb["hessian_top"] > 3 * na["hessian_top"]
    nbb = fl.measures(shrunk, (X, y), which=["hessian_top"], seed=3, balance=True)
    assert nbb["hessian_top"] == pytest.approx(a["hessian_top"], rel=1e-3)
    # measures are deterministic across thread counts
    c = fl.measures(net, (X, y), balance=True, **{**kw, "n_threads": 1})
    assert c.values == a.values


def test_local_energy_and_barrier_against_direct_computation():
    net, X, y = problem((5, 6, 3), n=80, seed=5)
    L0 = np_loss(net, X, y)
    r = fl.measures(net, (X, y), which=["local_energy", "copy_barrier", "hessian_top"], seed=9,
                    params={"local_energy": {"radius": 0.05, "n_dirs": 4}})
    # re-create the same random directions (the Protocol 1 engine's, from the recorded seed)
    p = r.params["local_energy"]
    assert (p["normalization"], p["bias_mode"], p["n_dirs"]) == ("filter", "include", 4)
    D = [gl.probes.perturbation_direction(net, p["seed"], k).astype(np.float64)
         for k in range(4)]
    direct = np.mean([np_loss(gl.MLP.from_flat(net.widths, (net.flat() + 0.05 * d).astype(np.float32)),
                              X, y) for d in D]) - L0
    assert r["local_energy"] == pytest.approx(direct, rel=1e-4, abs=1e-7)
    # filter normalisation: every unit's block has the unit's norm (float32 directions)
    W = D[0][: 6 * 5].reshape(6, 5)
    b = D[0][30:36]
    np.testing.assert_allclose(np.sqrt((W ** 2).sum(1) + b ** 2),
                               np.sqrt((net.weights[0].astype(np.float64) ** 2).sum(1)
                                       + net.biases[0].astype(np.float64) ** 2), rtol=1e-5)
    assert r["copy_barrier"] >= 0.0
    # second-order check: for a small radius the mean rise is ~ r^2/2 * u^T H u averaged
    assert r["hessian_top"] > 0


def test_permuted_copy_is_function_identical():
    net, X, y = problem((5, 8, 3))
    # the copies of copy_barrier: k disjoint transpositions of the first hidden layer
    c = gl.symmetry.permute(net, [gl.symmetry.random_permutation(8, n_transpositions=3, seed=0)])
    assert not np.array_equal(c.flat(), net.flat())
    np.testing.assert_allclose(c.forward(X), net.forward(X), rtol=1e-5, atol=1e-6)


def test_eps_sharpness_stays_in_box_and_increases_loss():
    net, X, y = problem((5, 6, 3), n=60, seed=6)
    r1 = fl.measures(net, (X, y), which=["eps_sharpness"], params={"eps_sharpness": {"eps": 1e-3}})
    r2 = fl.measures(net, (X, y), which=["eps_sharpness"], params={"eps_sharpness": {"eps": 1e-2}})
    assert 0 < r1["eps_sharpness"] < r2["eps_sharpness"]
    # the rise can not exceed the first-order bound sum |g_i| box_i plus curvature
    from glasslens.flatness import loss_and_gradient
    L0, g = loss_and_gradient(net, X, y)
    box = 1e-3 * (np.abs(net.flat()) + 1)
    assert r1["eps_loss_rise"] >= 0.9 * float(np.abs(g) @ box)  # ascent reaches the linear gain


def test_corr_length():
    # the correlation length used by the ruggedness measure (glasslens.walks)
    def corr_length(x):
        return gl.probes.correlation_length(gl.probes.autocorrelation(x))

    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    assert corr_length(x) < 1.5
    ar = np.zeros(20000)
    for t in range(1, len(ar)):
        ar[t] = 0.9 * ar[t - 1] + rng.normal()
    assert corr_length(ar) == pytest.approx(-1 / np.log(0.9), rel=0.15)


def test_ruggedness_and_barrier_against_the_engines():
    net, X, y = problem((5, 6, 3), n=80, seed=5)
    r = fl.measures(net, (X, y), which=["ruggedness", "copy_barrier"], seed=2,
                    params={"ruggedness": {"steps": 30, "n_walks": 3, "definition": "raw"}})
    p = r.params["ruggedness"]
    w = gl.probes.random_walk(net, (X, y), 30, step_size=p["eta"], n_walkers=3, record_every=1,
                             seed=p["seed"])
    L = w.train_loss.astype(np.float64)
    assert r["ruggedness"] == pytest.approx(np.mean([np.var(np.diff(l), ddof=1) for l in L]))
    t = np.arange(31.0)
    resid = np.array([l - np.polyval(np.polyfit(t, l, 1), t) for l in L])
    direct = gl.probes.correlation_length(gl.probes.autocorrelation(resid))
    assert r["corr_length"] == pytest.approx(direct if np.isfinite(direct) else 15.0, rel=1e-9)
    assert 0 < r["corr_length"] <= 15
    # copy barrier: mean over copies of max_alpha L(path) - L(theta), direct in numpy
    q = r.params["copy_barrier"]
    L0 = np_loss(net, X, y)
    bars = []
    for t_ in range(q["n_copies"]):
        s_ = int(np.random.SeedSequence([q["seed"], q["k"] + 1, t_]).generate_state(1)[0])
        perm = gl.symmetry.random_permutation(6, n_transpositions=q["k"], seed=s_)
        th2 = gl.symmetry.permute(net, [perm]).flat().astype(np.float64)
        th = net.flat().astype(np.float64)
        a = np.linspace(0, 1, q["n_alpha"])
        bars.append(max(np_loss(gl.MLP.from_flat(net.widths, ((1 - al) * th + al * th2)
                                                  .astype(np.float32)), X, y) for al in a) - L0)
    assert r["copy_barrier"] == pytest.approx(np.mean(bars), rel=1e-4, abs=1e-6)


def test_bad_input():
    net, X, y = problem()
    with pytest.raises(ValueError, match="unknown measure"):
        fl.measures(net, (X, y), which=["nope"])
    with pytest.raises(ValueError, match="unknown parameter"):
        fl.measures(net, (X, y), which=["local_energy"], params={"local_energy": {"r": 1}})
    with pytest.raises(ValueError, match="radius"):
        fl.measures(net, (X, y), which=["local_energy"], params={"local_energy": {"radius": -1}})
    with pytest.raises(ValueError, match="scales"):
        fl.rescale(net, [np.ones(8), np.ones(3)])
    with pytest.raises(ValueError, match="positive"):
        fl.rescale(net, [-np.ones(8)])
    with pytest.raises(ValueError, match="thetas"):
        fl.batch_loss(net, np.zeros((2, 5)), X, y)
