"""Wiring of glasslens.nn: every public option reaches the computation (tests/wiring.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import nn

import wiring
W, w, With, SAME, differs, threads = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                      wiring.differs, wiring.threads)

_rng = np.random.default_rng(0)
DATA = SimpleNamespace(
    X_train=_rng.normal(size=(60, 4)).astype(np.float32), y_train=_rng.integers(0, 3, 60),
    X_test=_rng.normal(size=(20, 4)).astype(np.float32), y_test=_rng.integers(0, 3, 20),
    n_classes=3)
THETA = (0.5 * _rng.normal(size=(2, 43))).astype(np.float32)  # [4, 5, 3] with biases: 43
# the same 43 numbers under other architectures: [4, 2, 5, 3] with biases, [4, 2, 7, 3] without
X, Y = DATA.X_train, DATA.y_train
INIT = gl.Ensemble.init([4, 5, 3], replicas=2, seed=9)
TRAIN = dict(hidden=(5,), replicas=2, epochs=3, batch_size=16, lr=0.05)
CONFIG = nn.TrainConfig(**TRAIN)

RUNNERS = {
    "MLP.init": (lambda **k: gl.MLP.init(**k), dict(widths=[4, 5, 3])),
    "MLP.from_flat": (lambda **k: gl.MLP.from_flat(**k), dict(widths=[4, 2, 7, 3],
                                                               theta=THETA[0], bias=False)),
    "Ensemble.init": (lambda **k: gl.Ensemble.init(**k), dict(widths=[4, 5, 3], replicas=2)),
    "Ensemble.from_flat": (lambda **k: gl.Ensemble.from_flat(**k),
                           dict(widths=[4, 2, 7, 3], theta=THETA, bias=False)),
    "n_params": (lambda **k: nn.n_params([4, 5, 3], **k), {}),
    "layer_slices": (lambda **k: nn.layer_slices([4, 5, 3], **k), {}),
    "train_ensemble": (lambda **k: nn.train_ensemble(DATA, **k), TRAIN),
    # the settings as a TrainConfig (no keyword overrides, which would win over the config)
    "train_ensemble/config": (lambda **k: nn.train_ensemble(DATA, **k), dict(config=CONFIG)),
    "lr_schedule": (lambda **k: nn.lr_schedule(0.1, 10, **k), {}),
    "evaluate": (lambda **k: nn.evaluate(THETA, X, **k), dict(y=Y, widths=[4, 5, 3])),
    "loss_and_grad": (lambda **k: nn.loss_and_grad(THETA[0], X, **k), dict(y=Y,
                                                                           widths=[4, 5, 3])),
    "logits": (lambda **k: nn.logits(THETA, X, **k), dict(widths=[4, 5, 3])),
}
SIGNATURES = {name: getattr(nn, name) for name in RUNNERS if "." not in name and "/" not in name}
# train_ensemble(dataset, config=None, *, init, n_threads, progress, **overrides): the overrides
# are the TrainConfig fields
SIGNATURES["train_ensemble"] = (wiring.keyword_parameters(nn.train_ensemble)
                                + list(nn.TrainConfig.field_names()))
SIGNATURES.update({"MLP.init": gl.MLP.init, "MLP.from_flat": gl.MLP.from_flat,
                   "Ensemble.init": gl.Ensemble.init, "Ensemble.from_flat": gl.Ensemble.from_flat})

NOT_OBSERVABLE = {}


def _as_net(widths, bias, fn):
    """The flat-array result equals the one of the MLPs built from the same numbers."""
    def check(a, b):
        assert wiring.fingerprint(a) != wiring.fingerprint(b)
        nets = gl.Ensemble.from_flat(widths, THETA, bias)
        ref = fn(nets)
        for x, y in zip(b if isinstance(b, tuple) else (b,), ref if isinstance(ref, tuple)
                        else (ref,)):
            np.testing.assert_array_equal(x, y)
    return check


_hist = lambda r: r.history  # noqa: E731

CASES = [
    w("MLP.init", "seed", 1),
    w("MLP.init", "scheme", "pytorch"),
    w("MLP.init", "bias", False, check=lambda a, b: (a.has_bias, b.has_bias) == (True, False)
      or pytest.fail()),
    w("MLP.from_flat", "bias", With(True, widths=[4, 5, 3]),
      check=lambda a, b: b.has_bias and b.biases[0].shape == (5,) or pytest.fail()),
    w("Ensemble.init", "seed", 1),
    w("Ensemble.init", "scheme", "pytorch"),
    w("Ensemble.init", "bias", False, check=lambda a, b: b.biases is None or pytest.fail()),
    w("Ensemble.from_flat", "bias", With(True, widths=[4, 5, 3]),
      check=lambda a, b: b.has_bias or pytest.fail()),
    w("n_params", "bias", False, check=lambda a, b: (a, b) == (43, 35) or pytest.fail()),
    w("layer_slices", "bias", False, check=lambda a, b: "b" not in b[0] or pytest.fail(str(b))),
    w("train_ensemble", "hidden", (4,), check=lambda a, b: b.widths == [4, 4, 3] or pytest.fail()),
    w("train_ensemble", "replicas", 3, check=lambda a, b: b.n_replicas == 3 or pytest.fail()),
    w("train_ensemble", "epochs", 4, check=lambda a, b: list(b.history["epoch"])[-1] == 4
      or pytest.fail()),
    w("train_ensemble", "batch_size", 7),
    w("train_ensemble", "lr", 0.2),
    w("train_ensemble", "momentum", 0.0),
    w("train_ensemble", "weight_decay", 0.1, check=lambda a, b: np.linalg.norm(b.flat())
      < np.linalg.norm(a.flat()) or pytest.fail()),
    w("train_ensemble", "schedule", "cosine"),
    w("train_ensemble", "warmup_epochs", 2),
    w("train_ensemble", "target_train_acc", 0.01, check=lambda a, b: np.all(
        b.metrics["epochs_run"] == 1) and np.all(a.metrics["epochs_run"] == 3) or pytest.fail()),
    w("train_ensemble", "family", "order"),
    w("train_ensemble", "seed", 1),
    w("train_ensemble", "init_scheme", "pytorch"),
    w("train_ensemble", "bias", False, check=lambda a, b: b.biases is None or pytest.fail()),
    w("train_ensemble", "label_noise", 0.5),
    w("train_ensemble", "sam_rho", 0.05),
    w("train_ensemble", "record_every", 2, check=lambda a, b: list(b.history["epoch"])
      == [0, 2, 3] or pytest.fail(str(b.history["epoch"]))),
    w("train_ensemble", "record", "final", check=lambda a, b: list(b.history["epoch"]) == [3]
      and np.array_equal(a.flat(), b.flat()) and np.array_equal(
          a.history["test_loss"][:, -1], b.history["test_loss"][:, 0]) or pytest.fail()),
    w("train_ensemble", "record", "none", check=lambda a, b: b.history["epoch"].size == 0
      and np.isnan(b.metrics["train_loss"]).all() and np.array_equal(a.flat(), b.flat())
      or pytest.fail()),
    w("train_ensemble", "record_subsample", 15, check=lambda a, b: not np.array_equal(
        a.history["train_loss"], b.history["train_loss"]) and not np.array_equal(
        a.history["test_loss"], b.history["test_loss"]) and np.array_equal(a.flat(), b.flat())
      and np.array_equal(a.metrics["test_loss"], b.metrics["test_loss"]) or pytest.fail()),
    w("train_ensemble", "init", INIT, check=differs(lambda r: r.flat())),
    w("train_ensemble/config", "config", CONFIG.replace(lr=0.2)),
    w("train_ensemble/config", "config", CONFIG.replace(replicas=3), label="replicas",
      check=lambda a, b: (a.n_replicas, b.n_replicas) == (2, 3) or pytest.fail()),
    threads("train_ensemble"),
    w("train_ensemble", "progress", True, SAME),
    w("train_ensemble", "label_noise_shared", True, label_noise=0.5),
    w("lr_schedule", "schedule", "cosine"),
    w("lr_schedule", "warmup_epochs", 3),
    w("evaluate", "widths", [4, 2, 5, 3], check=_as_net([4, 2, 5, 3], True,
                                                       lambda n: nn.evaluate(n, X, Y))),
    w("evaluate", "bias", With(False, widths=[4, 2, 7, 3]),
      check=_as_net([4, 2, 7, 3], False, lambda n: nn.evaluate(n, X, Y))),
    w("evaluate", "y", (Y + 1) % 3),
    threads("evaluate"),
    w("loss_and_grad", "y", (Y + 1) % 3),
    w("loss_and_grad", "widths", [4, 2, 5, 3], check=_as_net(
        [4, 2, 5, 3], True, lambda n: nn.loss_and_grad(n[0], X, Y))),
    w("loss_and_grad", "bias", With(False, widths=[4, 2, 7, 3]), check=_as_net(
        [4, 2, 7, 3], False, lambda n: nn.loss_and_grad(n[0], X, Y))),
    w("logits", "widths", [4, 2, 5, 3], check=_as_net([4, 2, 5, 3], True,
                                                     lambda n: nn.logits(n, X))),
    w("logits", "bias", With(False, widths=[4, 2, 7, 3]),
      check=_as_net([4, 2, 7, 3], False, lambda n: nn.logits(n, X))),
    threads("logits"),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case, capsys):
    RUN.check(case, capsys)


def test_config_and_overrides_are_the_same_settings():
    """A TrainConfig gives the run of the same keyword overrides; an override wins over it."""
    fp = wiring.fingerprint
    assert fp(nn.train_ensemble(DATA, CONFIG)) == fp(nn.train_ensemble(DATA, **TRAIN))
    assert fp(nn.train_ensemble(DATA, CONFIG, lr=0.2)) == fp(
        nn.train_ensemble(DATA, CONFIG.replace(lr=0.2)))
    assert fp(nn.train_ensemble(DATA, CONFIG, lr=0.2)) != fp(nn.train_ensemble(DATA, CONFIG))


@pytest.mark.parametrize("name", ["evaluate", "loss_and_grad"])
def test_a_data_set_in_place_of_X(name):
    """With y omitted, X may be a data set: its training split is used."""
    fn = getattr(nn, name)
    net = THETA if name == "evaluate" else THETA[0]
    ref = wiring.fingerprint(fn(net, X, Y, widths=[4, 5, 3]))
    for data in (DATA, (X, Y), {"X_train": X, "y_train": Y}):
        assert wiring.fingerprint(fn(net, data, widths=[4, 5, 3])) == ref
    # the labels of the data set are the ones used
    assert wiring.fingerprint(fn(net, (X, (Y + 1) % 3), widths=[4, 5, 3])) != ref


def test_every_option_has_a_wiring_row():
    have = [W(c.name.split("/")[0], c.option, None) for c in CASES]
    assert wiring.missing_rows(SIGNATURES, have, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, have, NOT_OBSERVABLE) == []
