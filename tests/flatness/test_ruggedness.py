"""The scale-free ruggedness measure (flatness.measures 'ruggedness', definition='scaled'):
the step is where the loss moves, the value is dimensionless and invariant where it claims."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import flatness as fl
from glasslens.flatness._measures import _ruggedness_stats as ruggedness_stats

FAST = {"steps": 30, "n_walks": 2}


@pytest.fixture(scope="module")
def minimum():
    """A small ReLU net trained to a near-zero-loss minimum of a separable problem."""
    rng = np.random.default_rng(0)
    n, d = 120, 6
    X = rng.normal(size=(2 * n, d)).astype(np.float32)
    w = rng.normal(size=(d, 3))
    y = np.argmax(X @ w, axis=1)
    from types import SimpleNamespace
    ds = SimpleNamespace(X_train=X[:n], y_train=y[:n], X_test=X[n:], y_test=y[n:], n_classes=3)
    net = gl.train_ensemble(ds, hidden=(10,), replicas=1, epochs=300, batch_size=16, lr=0.1,
                            seed=0, n_threads=1)[0]
    return net, ds.X_train, ds.y_train


def test_near_zero_loss_minimum_increments_are_not_rounding_noise(minimum):
    net, X, y = minimum
    kw = dict(which=["ruggedness"], seed=1, n_threads=1)
    r = fl.measures(net, (X, y), params={"ruggedness": FAST}, **kw)
    raw = fl.measures(net, (X, y), params={"ruggedness": {**FAST, "definition": "raw"}}, **kw)
    L0 = r.loss
    assert L0 < 0.02  # near-zero-loss minimum
    p = r.params["ruggedness"]
    T = p["steps"]
    # the calibrated walks end, on average, 'rise' above L0: mean increment = rise / T
    assert r["mean_increment"] == pytest.approx(p["rise"] / T, rel=2e-3)
    # increments far above the float32 resolution of the loss (relative 1e-6)
    assert r["increment_scale"] / L0 > 1e-2
    assert r["increment_scale"] > 1e3 * np.finfo(np.float32).eps * max(L0, 1.0)
    # the calibrated step is far larger than the raw default, whose increments are tiny
    assert r["walk_eta"] > 3 * raw["walk_eta"]
    assert raw["increment_scale"] < 0.1 * r["increment_scale"]
    assert np.isfinite(r["ruggedness"]) and r["ruggedness"] > 0
    assert 0 < r["corr_length"] <= T // 2


def test_invariant_under_relu_rescaling_with_balancing(minimum):
    net, X, y = minimum
    resc = fl.random_rescaling(net, seed=3, sigma=1.0)
    kw = dict(which=["ruggedness"], seed=2, n_threads=1, params={"ruggedness": FAST})
    a = fl.measures(net, (X, y), balance=True, **kw)
    b = fl.measures(resc, (X, y), balance=True, **kw)
    for k in ("ruggedness", "corr_length", "walk_eta", "mean_increment"):
        assert b[k] == pytest.approx(a[k], rel=1e-4), k
    # without balancing the isotropic walk sees the rescaled parameters: not invariant
    c = fl.measures(resc, (X, y), balance=False, **kw)
    assert c["walk_eta"] != pytest.approx(a["walk_eta"], rel=1e-2)


def test_stats_invariant_under_loss_offset_and_scale():
    rng = np.random.default_rng(0)
    L = 0.5 + np.cumsum(np.abs(rng.normal(1e-3, 2e-3, size=(3, 41))), axis=1)
    base = ruggedness_stats(L)
    off = ruggedness_stats(L + 7.0)
    for k, v in base.items():
        assert off[k] == pytest.approx(v, rel=1e-6), k
    sc = ruggedness_stats(3.0 * L)
    assert sc["ratio"] == pytest.approx(base["ratio"], rel=1e-9)
    assert sc["corr_length"] == pytest.approx(base["corr_length"], rel=1e-9)
    assert sc["variance"] == pytest.approx(9.0 * base["variance"], rel=1e-9)
    # a walk that does not climb has no scale: NaN, not a huge number
    assert np.isnan(ruggedness_stats(L[:, ::-1])["ratio"])
    with pytest.raises(ValueError):
        ruggedness_stats(L[:, :3])


def test_quadratic_baseline_as_documented():
    """In a quadratic basin from its minimum E[ratio] = 2 T tr(H^2) / tr(H)^2 for any step."""
    rng = np.random.default_rng(1)
    P, T, W = 20, 40, 400
    h = np.exp(rng.normal(size=P))
    expected = 2 * T * (h ** 2).sum() / h.sum() ** 2
    for sigma in (1e-3, 1.0):
        x = np.zeros((W, T + 1, P))
        x[:, 1:] = np.cumsum(sigma * rng.normal(size=(W, T, P)), axis=1)
        st = ruggedness_stats(0.5 * (h * x ** 2).sum(-1))
        assert st["ratio"] == pytest.approx(expected, rel=0.1)
        # its mean increment is sigma^2 tr(H) / 2
        assert st["mean_increment"] == pytest.approx(0.5 * sigma ** 2 * h.sum(), rel=0.05)


def test_options_and_raw_definition(minimum):
    net, X, y = minimum
    with pytest.raises(ValueError, match="definition"):
        fl.measures(net, (X, y), which=["ruggedness"], params={"ruggedness": {"definition": "x"}})
    with pytest.raises(ValueError):
        fl.measures(net, (X, y), which=["ruggedness"], params={"ruggedness": {"rise": 0.0}})
    a = fl.measures(net, (X, y), which=["ruggedness"],
                    params={"ruggedness": {**FAST, "rise": 0.05}})
    b = fl.measures(net, (X, y), which=["ruggedness"], params={"ruggedness": {**FAST, "rise": 0.2}})
    assert a["walk_eta"] < b["walk_eta"]
    assert b["mean_increment"] == pytest.approx(0.2 / FAST["steps"], rel=2e-3)
    # the raw definition: variance of the engine walk's increments, in nats^2
    r = fl.measures(net, (X, y), which=["ruggedness"], seed=4,
                    params={"ruggedness": {**FAST, "definition": "raw"}})
    p = r.params["ruggedness"]
    w = gl.probes.random_walk(net, (X, y), FAST["steps"], step_size=p["eta"],
                              n_walkers=FAST["n_walks"], record_every=1, seed=p["seed"])
    inc = np.diff(w.train_loss.astype(np.float64), axis=1)
    assert r["ruggedness"] == pytest.approx(inc.var(axis=1, ddof=1).mean())


def test_flat_sign_of_ruggedness():
    from glasslens.flatness import FLAT_SIGN
    assert FLAT_SIGN["ruggedness"] == -1 and FLAT_SIGN["corr_length"] == +1
