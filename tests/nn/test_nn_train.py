import types

import numpy as np
import pytest

import glasslens as gl
from glasslens.nn import derived_seeds, epoch_order, lr_schedule, noisy_labels

import nn_reference as ref


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return types.SimpleNamespace(X_train=X[:300], y_train=y[:300], X_test=X[300:500],
                                 y_test=y[300:500], n_classes=10, name="digits-small")


def _reference_run(ds, ens, *, batch_size, lrs, momentum, weight_decay, family, seed,
                   sam_rho=0.0, y=None):
    widths, bias = ens.widths, ens.has_bias
    n = ds.X_train.shape[0]
    y = ds.y_train if y is None else y
    oseed = derived_seeds(seed)["order_seed"]
    out = []
    for r in range(ens.n_replicas):
        stream = 0 if family == "init" else r
        orders = [None if batch_size >= n else epoch_order(oseed, stream, e, n)
                  for e in range(len(lrs))]
        th0 = ens.meta_init[r]
        out.append(ref.sgd(widths, bias, th0, ds.X_train, y, orders, batch_size, lrs,
                           momentum, weight_decay, sam_rho))
    return np.array(out)


def _init_flat(widths, R, seed, family, bias=True):
    if family == "order":
        s0 = int(gl.nn.replica_seeds(seed, 1)[0])
        return np.repeat(gl.MLP.init(widths, s0, bias=bias).flat()[None], R, 0)
    return gl.Ensemble.init(widths, R, seed=seed, bias=bias).flat()


@pytest.mark.parametrize(
    "hidden,bias,batch_size,family,wd,schedule",
    [((16,), True, 32, "both", 1e-3, "constant"),
     ((12, 8), False, 50, "init", 0.0, "cosine"),
     ((16,), True, 1000, "order", 5e-4, "step")])
def test_training_matches_numpy_sgd(digits, hidden, bias, batch_size, family, wd, schedule):
    R, E, seed = 2, 3, 11
    ens = gl.train_ensemble(digits, hidden=hidden, replicas=R, epochs=E, batch_size=batch_size,
                            lr=0.05, momentum=0.9, weight_decay=wd, schedule=schedule,
                            family=family, seed=seed, bias=bias, n_threads=2)
    widths = [64, *hidden, 10]
    assert ens.widths == widths and ens.has_bias == bias
    th0 = _init_flat(widths, R, seed, family, bias)
    ens.meta_init = th0
    lrs = lr_schedule(0.05, E, schedule)
    want = _reference_run(digits, ens, batch_size=batch_size, lrs=lrs, momentum=0.9,
                          weight_decay=wd, family=family, seed=seed)
    got = ens.flat()
    assert np.max(np.abs(got - th0)) > 1e-2  # it did move
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)
    # final metrics are those of the numpy reference weights
    for r in range(R):
        l, a = ref.loss_acc(widths, bias, want[r], digits.X_test, digits.y_test)
        assert ens.metrics["test_loss"][r] == pytest.approx(l, rel=1e-3)


def test_history_and_meta(digits):
    ens = gl.train_ensemble(digits, hidden=(8,), replicas=3, epochs=7, record_every=3,
                            batch_size=64, seed=1)
    np.testing.assert_array_equal(ens.history["epoch"], [0, 3, 6, 7])
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert ens.history[k].shape == (3, 4)
        assert np.all(np.isfinite(ens.history[k]))
        np.testing.assert_array_equal(ens.history[k][:, -1], ens.metrics[k])
    np.testing.assert_array_equal(ens.metrics["epochs_run"], [7, 7, 7])
    # the in-training metrics use the same tiles as evaluate(): bit-identical
    l_te, a_te = gl.evaluate(ens, digits.X_test, digits.y_test)
    np.testing.assert_array_equal(ens.metrics["test_loss"], l_te)
    np.testing.assert_array_equal(ens.metrics["test_acc"], a_te)
    l_tr, _ = gl.evaluate(ens, digits.X_train, digits.y_train)
    np.testing.assert_array_equal(ens.metrics["train_loss"], l_tr)
    # epoch-0 record is the initialisation, evaluated independently
    init = gl.Ensemble.init([64, 8, 10], 3, seed=1)
    l0, a0 = gl.evaluate(init, digits.X_test, digits.y_test)
    np.testing.assert_array_equal(ens.history["test_loss"][:, 0], l0)
    assert ens.history["train_loss"][0, -1] < ens.history["train_loss"][0, 0]
    for key in ("lr", "momentum", "batch_size", "family", "order_seed", "init_seeds", "sam_rho",
                "label_noise", "weight_decay", "schedule"):
        assert key in ens.meta
    assert ens.meta["init_seeds"] == [int(s) for s in gl.nn.replica_seeds(1, 3)]


def test_families(digits):
    kw = dict(hidden=(8,), replicas=3, epochs=2, seed=4)
    e_order = gl.train_ensemble(digits, family="order", **kw)
    h0 = e_order.history["train_loss"][:, 0]
    assert h0[0] == h0[1] == h0[2]  # one initialisation
    assert not np.array_equal(e_order.flat()[0], e_order.flat()[1])  # different orders
    e_init = gl.train_ensemble(digits, family="init", **kw)
    assert len(set(e_init.history["train_loss"][:, 0])) == 3
    e_both = gl.train_ensemble(digits, family="both", **kw)
    np.testing.assert_array_equal(e_both.history["train_loss"][:, 0], e_init.history["train_loss"][:, 0])
    assert not np.array_equal(e_both.flat(), e_init.flat())


def test_deterministic_across_threads(digits):
    kw = dict(hidden=(16, 8), replicas=5, epochs=3, batch_size=40, seed=9, family="both",
              weight_decay=1e-4, label_noise=0.2, sam_rho=0.05, schedule="cosine")
    runs = [gl.train_ensemble(digits, n_threads=t, **kw) for t in (1, 2, 3)]
    for e in runs[1:]:
        np.testing.assert_array_equal(e.flat(), runs[0].flat())
        for k in ("train_loss", "test_acc"):
            np.testing.assert_array_equal(e.history[k], runs[0].history[k])
    # chunked (progress bar) training gives the same bits
    e = gl.train_ensemble(digits, n_threads=2, progress=True, **kw)
    np.testing.assert_array_equal(e.flat(), runs[0].flat())


def test_sam_matches_numpy(digits):
    seed, E = 3, 2
    ens = gl.train_ensemble(digits, hidden=(10,), replicas=2, epochs=E, batch_size=64, lr=0.1,
                            momentum=0.5, weight_decay=1e-3, sam_rho=0.1, seed=seed,
                            family="init")
    ens.meta_init = _init_flat([64, 10, 10], 2, seed, "init")
    want = _reference_run(digits, ens, batch_size=64, lrs=[0.1] * E, momentum=0.5,
                          weight_decay=1e-3, family="init", seed=seed, sam_rho=0.1)
    np.testing.assert_allclose(ens.flat(), want, rtol=0, atol=2e-4)
    plain = gl.train_ensemble(digits, hidden=(10,), replicas=2, epochs=E, batch_size=64,
                              lr=0.1, momentum=0.5, weight_decay=1e-3, seed=seed, family="init")
    assert np.max(np.abs(plain.flat() - ens.flat())) > 1e-3


def test_label_noise(digits):
    y = digits.y_train
    a = noisy_labels(y, 10, 0.25, 123, 0)
    b = noisy_labels(y, 10, 0.25, 123, 0)
    c = noisy_labels(y, 10, 0.25, 123, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.sum(a != y) == round(0.25 * len(y))
    assert a.min() >= 0 and a.max() < 10
    np.testing.assert_array_equal(noisy_labels(y, 10, 0.0, 1, 0), y)
    # training uses exactly those labels: compare with the numpy reference on the noisy labels
    seed = 5
    ens = gl.train_ensemble(digits, hidden=(8,), replicas=2, epochs=2, batch_size=50,
                            label_noise=0.3, seed=seed, family="both")
    ens.meta_init = _init_flat([64, 8, 10], 2, seed, "both")
    nseed = derived_seeds(seed)["noise_seed"]
    for r in range(2):
        yn = noisy_labels(y, 10, 0.3, nseed, r)
        sub = types.SimpleNamespace(X_train=digits.X_train)
        one = gl.Ensemble.from_flat([64, 8, 10], ens.flat()[r:r + 1])
        one.meta_init = ens.meta_init[r:r + 1]
        # stream r for replica r: run the reference as replica 0 of stream r
        orders = [epoch_order(derived_seeds(seed)["order_seed"], r, e, 300) for e in range(2)]
        want = ref.sgd([64, 8, 10], True, ens.meta_init[r], sub.X_train, yn, orders, 50,
                       [0.05, 0.05], 0.9, 0.0)
        np.testing.assert_allclose(ens.flat()[r], want, rtol=0, atol=2e-4)
        lr_, ar_ = ref.loss_acc([64, 8, 10], True, want, digits.X_train, yn)
        assert ens.metrics["train_acc"][r] == pytest.approx(ar_, abs=1 / 300)
    shared = gl.train_ensemble(digits, hidden=(8,), replicas=2, epochs=1, label_noise=0.3,
                               label_noise_shared=True, family="order", seed=seed)
    assert shared.history["train_loss"][0, 0] == shared.history["train_loss"][1, 0]


def test_early_stop(digits):
    ens = gl.train_ensemble(digits, hidden=(32,), replicas=3, epochs=40, batch_size=32,
                            lr=0.05, target_train_acc=0.9, seed=2)
    run = ens.metrics["epochs_run"]
    assert np.all(run < 40) and np.all(run >= 1)
    assert np.all(ens.metrics["train_acc"] >= 0.9)
    for r in range(3):
        k = int(run[r])  # history columns are epochs 0..40; after the stop they are NaN
        assert np.all(np.isnan(ens.history["train_acc"][r, k + 1:]))
        assert np.all(np.isfinite(ens.history["train_acc"][r, :k + 1]))
        assert ens.history["train_acc"][r, k] >= 0.9
        assert np.all(ens.history["train_acc"][r, 1:k] < 0.9)


def test_full_batch_and_init(digits):
    start = gl.Ensemble.init([64, 8, 10], 2, seed=7)
    e1 = gl.train_ensemble(digits, hidden=(8,), replicas=2, epochs=3, batch_size=10_000,
                           momentum=0.0, lr=0.5, init=start, family="order")
    assert e1.meta["full_batch"] and e1.meta["init_given"]
    want = [ref.sgd([64, 8, 10], True, start.flat()[r], digits.X_train, digits.y_train,
                    [None] * 3, 10_000, [0.5] * 3, 0.0, 0.0) for r in range(2)]
    np.testing.assert_allclose(e1.flat(), np.array(want), rtol=0, atol=1e-4)
    e2 = gl.train_ensemble(digits, hidden=(8,), replicas=3, epochs=1, init=start[0],
                           family="order")
    np.testing.assert_array_equal(e2.history["train_loss"][:, 0],
                                  np.full(3, e2.history["train_loss"][0, 0]))
    e0 = gl.train_ensemble(digits, hidden=(8,), replicas=2, epochs=0, init=start)
    np.testing.assert_array_equal(e0.flat(), start.flat())


def test_lr_schedule_values():
    np.testing.assert_allclose(lr_schedule(0.1, 4, "cosine"),
                               0.1 * 0.5 * (1 + np.cos(np.pi * np.arange(4) / 4)))
    np.testing.assert_allclose(lr_schedule(0.1, 4, "linear"), 0.1 * (1 - np.arange(4) / 4))
    np.testing.assert_allclose(lr_schedule(1.0, 8, "step"), [1, 1, 1, 1, .1, .1, .01, .01])
    np.testing.assert_allclose(lr_schedule(1.0, 4, "constant", warmup_epochs=2),
                               [1 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(lr_schedule(1.0, 3, [0.3, 0.2, 0.1]), [0.3, 0.2, 0.1])


def test_bad_inputs(digits):
    t = gl.train_ensemble
    with pytest.raises(ValueError, match="lr"):
        t(digits, lr=0.0, epochs=1)
    with pytest.raises(ValueError, match="lr"):
        t(digits, lr=float("nan"), epochs=1)
    with pytest.raises(ValueError, match="momentum"):
        t(digits, momentum=1.0, epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        t(digits, batch_size=0, epochs=1)
    with pytest.raises(ValueError, match="family"):
        t(digits, family="bogus", epochs=1)
    with pytest.raises(ValueError, match="schedule"):
        t(digits, schedule="exp", epochs=1)
    with pytest.raises(ValueError, match="schedule"):
        t(digits, schedule=[0.1, 0.1], epochs=3)
    with pytest.raises(ValueError, match="weight_decay"):
        t(digits, weight_decay=-1.0, epochs=1)
    with pytest.raises(ValueError, match="label_noise"):
        t(digits, label_noise=1.5, epochs=1)
    with pytest.raises(ValueError, match="sam_rho"):
        t(digits, sam_rho=-0.1, epochs=1)
    with pytest.raises(ValueError, match="record_every"):
        t(digits, record_every=0, epochs=1)
    with pytest.raises(ValueError, match="replicas"):
        t(digits, replicas=0, epochs=1)
    with pytest.raises(ValueError, match="target_train_acc"):
        t(digits, target_train_acc=1.5, epochs=1)
    # the data contract: no test split is allowed (test metrics are NaN), no y_train is not
    no_test = t(types.SimpleNamespace(X_train=digits.X_train, y_train=digits.y_train), epochs=1,
                replicas=1)
    assert np.all(np.isnan(no_test.metrics["test_loss"]))
    with pytest.raises(TypeError, match="dataset is a SimpleNamespace without attribute"):
        t(types.SimpleNamespace(X_train=digits.X_train), epochs=1)
    Xn = digits.X_train.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        t(types.SimpleNamespace(X_train=Xn, y_train=digits.y_train, X_test=digits.X_test,
                                y_test=digits.y_test), epochs=1)
    with pytest.raises(ValueError, match="out of range"):
        t(types.SimpleNamespace(X_train=digits.X_train, y_train=digits.y_train,
                                X_test=digits.X_test, y_test=digits.y_test, n_classes=5), epochs=1)
    with pytest.raises(ValueError, match="y_train"):
        t(types.SimpleNamespace(X_train=digits.X_train, y_train=digits.y_train[:10],
                                X_test=digits.X_test, y_test=digits.y_test), epochs=1)
    with pytest.raises(ValueError, match="features"):
        t(types.SimpleNamespace(X_train=digits.X_train, y_train=digits.y_train,
                                X_test=digits.X_test[:, :5], y_test=digits.y_test), epochs=1)
    with pytest.raises(ValueError, match="widths"):
        t(digits, hidden=(8,), init=gl.Ensemble.init([64, 9, 10], 8), epochs=1)
    with pytest.raises(ValueError, match="replicas"):
        t(digits, hidden=(8,), replicas=3, init=gl.Ensemble.init([64, 8, 10], 2), epochs=1)
    with pytest.raises(ValueError, match="family"):
        t(digits, hidden=(8,), init=gl.MLP.init([64, 8, 10]), family="init", epochs=1)
    with pytest.raises(TypeError, match="init"):
        t(digits, init="weights.npz", epochs=1)
    with pytest.raises(FloatingPointError, match="diverged"):
        t(digits, hidden=(8,), lr=1e30, epochs=2, replicas=1)


def test_scalar_and_avx2_training_agree(digits):
    from glasslens import _core

    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU lacks AVX2/FMA")
    kw = dict(hidden=(16,), replicas=2, epochs=2, batch_size=32, seed=8, weight_decay=1e-3)
    orig = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        es = gl.train_ensemble(digits, **kw)
        _core.set_simd_path("avx2")
        ea = gl.train_ensemble(digits, **kw)
    finally:
        _core.set_simd_path(orig)
    np.testing.assert_allclose(es.flat(), ea.flat(), rtol=0, atol=1e-4)
