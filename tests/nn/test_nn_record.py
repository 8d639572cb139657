"""TrainConfig.record / record_subsample: which evaluations train_ensemble makes (issue 17).

The evaluations never touch the weights (bit-identical whatever the option); the final metrics
always use all rows; a subsampled history is the evaluation on exactly the rows that
``record_rows`` names, checked against the numpy reference network."""
import types

import numpy as np
import pytest

import glasslens as gl
from glasslens.nn._training import record_rows

import nn_reference as ref


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return types.SimpleNamespace(X_train=X[:300], y_train=y[:300], X_test=X[300:450],
                                 y_test=y[300:450], n_classes=10, name="digits-small")


KW = dict(hidden=(8,), replicas=3, epochs=4, batch_size=32, lr=0.05, seed=3)
OPTIONS = [dict(record="final"), dict(record="none"), dict(record_subsample=60),
           dict(record_subsample=60, record="final"), dict(record_subsample=10_000),
           dict(record_every=3, record_subsample=40)]


@pytest.fixture(scope="module")
def plain(digits):
    return {noise: gl.train_ensemble(digits, **KW, label_noise=noise) for noise in (0.0, 0.3)}


@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_weights_bit_identical_and_metrics_on_all_rows(digits, plain, noise, opts):
    base = plain[noise]
    e = gl.train_ensemble(digits, **KW, label_noise=noise, **opts)
    np.testing.assert_array_equal(e.flat(), base.flat())
    np.testing.assert_array_equal(e.metrics["epochs_run"], base.metrics["epochs_run"])
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        if opts.get("record") == "none":
            assert np.all(np.isnan(e.metrics[k]))
        else:
            np.testing.assert_array_equal(e.metrics[k], base.metrics[k])
    assert e.meta["record"] == opts.get("record", "epoch")
    assert e.meta["record_subsample"] == opts.get("record_subsample", 0)


def test_record_epochs(digits, plain):
    base = plain[0.0]
    np.testing.assert_array_equal(base.history["epoch"], [0, 1, 2, 3, 4])
    fin = gl.train_ensemble(digits, **KW, record="final")
    np.testing.assert_array_equal(fin.history["epoch"], [4])
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        np.testing.assert_array_equal(fin.history[k][:, 0], base.history[k][:, -1])
    none = gl.train_ensemble(digits, **KW, record="none")
    assert none.history["epoch"].shape == (0,)
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert none.history[k].shape == (3, 0)
    # epochs=0 with 'final': the initialisation, as with 'epoch'
    z = gl.train_ensemble(digits, **{**KW, "epochs": 0}, record="final")
    np.testing.assert_array_equal(z.history["epoch"], [0])
    np.testing.assert_array_equal(z.history["test_loss"][:, 0], z.metrics["test_loss"])
    # the report's plot takes an empty history
    import matplotlib.figure

    from glasslens.nn.plotting import training_curves

    assert isinstance(training_curves(none.history), matplotlib.figure.Figure)


def test_record_rows_rule():
    assert record_rows(100, 0, 1, 3) is None and record_rows(100, 100, 1, 3) is None
    a = record_rows(100, 30, 1, 3)
    assert a.dtype == np.int64 and a.shape == (30,) and np.all(np.diff(a) > 0)
    assert a.min() >= 0 and a.max() < 100
    np.testing.assert_array_equal(a, record_rows(100, 30, 1, 3))
    assert not np.array_equal(a, record_rows(100, 30, 2, 3))
    assert not np.array_equal(a, record_rows(100, 30, 1, 4))
    want = np.sort(np.random.default_rng(np.random.SeedSequence([1, 3])).choice(100, 30, replace=False))
    np.testing.assert_array_equal(a, want)


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_subsampled_history_against_numpy(digits, noise):
    """The last history column with record_subsample = the numpy reference loss/accuracy of the
    final weights on those rows (train: each replica's own noisy labels)."""
    n_sub = 50
    e = gl.train_ensemble(digits, **KW, label_noise=noise, record_subsample=n_sub)
    rows = record_rows(300, n_sub, KW["seed"], 3)
    trows = record_rows(150, n_sub, KW["seed"], 4)
    nseed = gl.nn.derived_seeds(KW["seed"])["noise_seed"]
    for r in range(3):
        y = gl.nn.noisy_labels(digits.y_train, 10, noise, nseed, r) if noise else digits.y_train
        l, a = ref.loss_acc(e.widths, True, e.flat()[r], digits.X_train[rows], y[rows])
        assert e.history["train_loss"][r, -1] == pytest.approx(l, rel=1e-5)
        assert e.history["train_acc"][r, -1] == pytest.approx(a, abs=1e-12)
        l, a = ref.loss_acc(e.widths, True, e.flat()[r], digits.X_test[trows], digits.y_test[trows])
        assert e.history["test_loss"][r, -1] == pytest.approx(l, rel=1e-5)
        assert e.history["test_acc"][r, -1] == pytest.approx(a, abs=1e-12)
    # epoch 0 (evaluated before the engine) uses the same rows
    init = gl.Ensemble.init(e.widths, 3, seed=KW["seed"])
    l0, _ = gl.evaluate(init, digits.X_test[trows], digits.y_test[trows])
    np.testing.assert_array_equal(e.history["test_loss"][:, 0], l0)
    # and the subsampled curve is not the full one
    full = gl.train_ensemble(digits, **KW, label_noise=noise)
    assert not np.array_equal(e.history["train_loss"], full.history["train_loss"])


def test_early_stop_uses_all_rows(digits):
    kw = dict(KW, epochs=30, target_train_acc=0.85)
    a = gl.train_ensemble(digits, **kw)
    for opts in (dict(record="none"), dict(record_subsample=20), dict(record="final")):
        b = gl.train_ensemble(digits, **kw, **opts)
        np.testing.assert_array_equal(b.metrics["epochs_run"], a.metrics["epochs_run"])
        np.testing.assert_array_equal(b.flat(), a.flat())
    assert np.all(a.metrics["epochs_run"] < 30)


def test_threads_bit_identical(digits):
    a = gl.train_ensemble(digits, **KW, record_subsample=70, n_threads=1)
    b = gl.train_ensemble(digits, **KW, record_subsample=70, n_threads=2)
    for k in ("train_loss", "test_acc"):
        np.testing.assert_array_equal(a.history[k], b.history[k])


def test_engine_rejects_bad_rows(digits):
    from glasslens import _core

    e = gl.Ensemble.init([64, 8, 10], 1, seed=0)
    theta = e.flat().copy()
    z = lambda *s, d=np.float64: np.zeros(s, d)  # noqa: E731
    args = (theta, np.zeros_like(theta), z(1, d=np.int64), z(1, d=np.uint8), z(1, 1), z(1, 1),
            z(1, 1), z(1, 1), [64, 8, 10], True, digits.X_train, digits.y_train.astype(np.int32),
            digits.X_test, digits.y_test.astype(np.int32), z(1, d=np.uint64), z(1, d=np.uint64),
            np.array([0.05]), np.array([0], np.int64),
            _core.nn.TrainOptions(batch_size=32, epoch_begin=0, epoch_end=1))
    with pytest.raises(ValueError, match="record_rows"):
        _core.nn.train(*args, 1, record_rows=np.array([0, 300], np.int64))
    with pytest.raises(ValueError, match="record_rows"):
        _core.nn.train(*args, 1, record_rows=np.zeros(0, np.int64))
