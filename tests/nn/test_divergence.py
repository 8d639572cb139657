"""A diverged training raises TrainingDiverged (a FloatingPointError) with a learning rate
derived from the data's scale, and that suggestion trains."""
import math
import pickle

import numpy as np
import pytest

import glasslens as gl
from glasslens import nn
from glasslens.nn import _training


def _fashion_like(seed=0, n=600, n_test=200, d=784, k=10, classes=5):
    """Standardised data of Fashion-MNIST's scale: 784 correlated features (10 latent factors),
    mean ||x||^2 = 784, labels the argmax of the first latent factors."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n + n_test, k))
    X = Z @ rng.standard_normal((k, d)) + 0.5 * rng.standard_normal((n + n_test, d))
    X = ((X - X[:n].mean(0)) / X[:n].std(0)).astype(np.float32)
    y = np.argmax(Z[:, :classes], axis=1)
    return X[:n], y[:n], X[n:], y[n:]


CFG = nn.TrainConfig(hidden=(16,), replicas=4, epochs=20, batch_size=32)  # lr 0.05, mom 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_fashion_scale_diverges_at_the_default_lr_and_the_suggestion_trains(seed):
    data = _fashion_like(seed)
    with pytest.raises(nn.TrainingDiverged) as ei:
        nn.train_ensemble(data, CFG)
    exc = ei.value
    assert isinstance(exc, FloatingPointError)
    # stopped early (checked every tenth of the epochs), not after the full run
    assert exc.epoch < CFG.epochs and exc.replicas
    assert exc.lr == 0.05 and exc.mean_sq_norm == pytest.approx(784.0, rel=1e-4)
    # the suggestion, recomputed: 30 * (1 - 0.9) / 784 = 0.00383 -> 0.003
    want = _training.LR_BUDGET * (1 - CFG.momentum) / float(np.mean(np.sum(
        data[0].astype(np.float64) ** 2, axis=1)))
    assert exc.suggested_lr == pytest.approx(0.003) and exc.suggested_lr <= want
    assert "lr=0.003" in str(exc) and "mean squared norm 784" in str(exc)
    assert "\n" not in str(exc) and "lr=" not in exc.cause
    ens = nn.train_ensemble(data, CFG.replace(lr=exc.suggested_lr))
    first, last = ens.history["train_loss"][:, 0], ens.metrics["train_loss"]
    assert np.all(np.isfinite(ens.flat())) and np.all(last < 0.2 * first)
    assert ens.metrics["test_acc"].mean() > 0.8  # 5 classes, chance 0.2


def test_finite_but_exploded_loss_is_divergence():
    """Weights may stay finite while the loss explodes (the 1.4e24 of the issue): the final
    loss far above the initial one is divergence too."""
    data = _fashion_like(0)
    pb = _training._Problem(data, CFG, 1)
    theta = np.zeros((CFG.replicas, pb.P), np.float32)
    initial = np.full(CFG.replicas, 2.0)
    loss = np.array([0.1, 1.4e24, 25.0, 19.0])  # limit: 10 * max(2.0, ln 5) = 20
    with pytest.raises(nn.TrainingDiverged) as ei:
        _training._check_diverged(pb, theta, loss, None, initial, 30)
    assert ei.value.replicas == [1, 2] and ei.value.loss == [1.4e24, 25.0]
    assert "1.4e+24 against 2" in str(ei.value)
    # replicas that stopped early (inactive) are not judged by the current column
    _training._check_diverged(pb, theta, loss, np.array([True, False, False, True]), initial, 30)
    # a run starting near zero loss is judged against ln C, not its tiny initial loss
    _training._check_diverged(pb, theta, np.full(4, 1.0), None, np.full(4, 1e-3), 30)
    bad = theta.copy()
    bad[3, 0] = np.nan
    with pytest.raises(nn.TrainingDiverged, match="non-finite weights") as ei:
        _training._check_diverged(pb, bad, None, None, initial, 3)
    assert ei.value.replicas == [3] and math.isnan(ei.value.loss[0])


def test_suggestion_rule():
    X = np.ones((10, 100), np.float32)  # mean ||x||^2 = 100
    assert _training._suggested_lr(X, 0.9, 1.0) == 0.03  # 30 * 0.1 / 100
    assert _training._suggested_lr(X, 0.0, 1.0) == 0.3
    assert _training._suggested_lr(X, 0.9, 0.05) == 0.01  # at most lr / 3 (0.0167 -> 0.01)
    assert _training._round_down(0.00383) == 0.003 and _training._round_down(7.9) == 7.0


def test_digits_defaults_do_not_diverge_and_stay_bit_identical():
    """The chunked divergence checks change nothing: the same bits as with the progress
    bar's chunks, for any thread count."""
    digits = gl.load_dataset("digits", n_train=400)
    kw = dict(hidden=(8,), replicas=3, epochs=7, batch_size=64)
    a = nn.train_ensemble(digits, n_threads=1, **kw)
    b = nn.train_ensemble(digits, n_threads=2, progress=True, **kw)
    np.testing.assert_array_equal(a.flat(), b.flat())
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])


def test_exception_pickles():
    exc = nn.TrainingDiverged("msg", replicas=[1], epoch=3, lr=0.1, suggested_lr=0.01,
                              loss=[5.0], initial_loss=[2.0], mean_sq_norm=9.0, cause="c")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == "msg" and back.suggested_lr == 0.01 and back.replicas == [1]


@pytest.mark.slow
def test_real_fashion_mnist_default_lr_diverges_and_suggestion_trains():
    try:
        ds = gl.load_dataset("fashion-mnist", n_train=3000, n_test=1000)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST IDX files not installed")
    from glasslens.report import ANALYSIS_TRAINING

    cfg = ANALYSIS_TRAINING.replace(replicas=4)
    with pytest.raises(nn.TrainingDiverged) as ei:
        nn.train_ensemble(ds, cfg)
    assert ei.value.suggested_lr == 0.003
    ens = nn.train_ensemble(ds, cfg.replace(lr=ei.value.suggested_lr))
    assert ens.metrics["test_acc"].mean() > 0.78


@pytest.mark.parametrize("record,subsample", [("final", 0), ("epoch", 100), ("none", 0)])
def test_divergence_is_caught_whatever_is_recorded(record, subsample):
    """The divergence check does not depend on the recorded history: with record='final' the
    initial loss is evaluated for it, with a subsampled history the subsample's loss is read,
    with record='none' non-finite weights (this data blows the weights up) still stop the run."""
    data = _fashion_like(0)
    cfg = CFG.replace(record=record, record_subsample=subsample)
    with pytest.raises(nn.TrainingDiverged) as ei:
        nn.train_ensemble(data, cfg)
    assert ei.value.replicas and ei.value.suggested_lr == pytest.approx(0.003)
    ok = nn.train_ensemble(data, cfg.replace(lr=ei.value.suggested_lr))
    assert np.all(np.isfinite(ok.flat()))
