"""TrainConfig: the one place of every training default."""
import dataclasses
import inspect
import json
import types

import numpy as np
import pytest

import glasslens as gl
from glasslens.nn import TrainConfig

#: train_ensemble's keyword defaults before TrainConfig existed (0.2)
OLD_DEFAULTS = dict(hidden=(32,), replicas=8, epochs=20, batch_size=64, lr=0.05, momentum=0.9,
                    weight_decay=0.0, schedule="constant", warmup_epochs=0,
                    target_train_acc=None, family="init", seed=0, init_scheme="kaiming",
                    bias=True, label_noise=0.0, sam_rho=0.0, record_every=1,
                    label_noise_shared=False)
#: options added after 0.2, with defaults that keep the old behaviour (issue 17: which
#: evaluations are recorded)
NEW_DEFAULTS = dict(record="epoch", record_subsample=0)


@pytest.fixture(scope="module")
def small():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return types.SimpleNamespace(X_train=X[:200], y_train=y[:200], X_test=X[200:300],
                                 y_test=y[200:300], n_classes=10, name="digits-small")


def test_defaults_are_train_ensembles_old_defaults():
    assert TrainConfig().to_dict() == {k: list(v) if isinstance(v, tuple) else v
                                       for k, v in {**OLD_DEFAULTS, **NEW_DEFAULTS}.items()}
    assert set(TrainConfig.field_names()) == set(OLD_DEFAULTS) | set(NEW_DEFAULTS)
    assert gl.TrainConfig is TrainConfig and "TrainConfig" in gl.nn.__all__
    # no training default is written in train_ensemble's signature any more
    params = inspect.signature(gl.train_ensemble).parameters
    assert not set(params) & (set(OLD_DEFAULTS) | set(NEW_DEFAULTS))
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata["help"], f.name


def test_frozen_and_normalised():
    c = TrainConfig(hidden=16, schedule=[0.1, 0.2], epochs=2, lr=1)
    assert c.hidden == (16,) and c.schedule == (0.1, 0.2) and isinstance(c.lr, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 0.3  # type: ignore[misc]
    assert hash(c) == hash(TrainConfig(hidden=(16,), schedule=(0.1, 0.2), epochs=2, lr=1.0))


@pytest.mark.parametrize("field, value, exc", [
    ("replicas", 0, ValueError), ("epochs", -1, ValueError), ("batch_size", 0, ValueError),
    ("lr", 0.0, ValueError), ("lr", float("nan"), ValueError), ("momentum", 1.0, ValueError),
    ("weight_decay", -1.0, ValueError), ("schedule", "exp", ValueError),
    ("warmup_epochs", -1, ValueError), ("target_train_acc", 1.5, ValueError),
    ("family", "bogus", ValueError), ("seed", -1, ValueError),
    ("init_scheme", "zeros", ValueError), ("bias", "yes", TypeError),
    ("label_noise", 1.5, ValueError), ("label_noise_shared", 1, TypeError),
    ("sam_rho", -0.1, ValueError), ("record_every", 0, ValueError),
    ("record", "epochs", ValueError), ("record", None, ValueError),
    ("record_subsample", -1, ValueError), ("record_subsample", 1.5, TypeError),
    ("hidden", (8, 0), ValueError), ("hidden", "32", TypeError), ("replicas", 2.5, TypeError),
])
def test_validation_names_the_field(field, value, exc):
    with pytest.raises(exc, match=field):
        TrainConfig(**{field: value})
    with pytest.raises(exc, match=field):
        TrainConfig().replace(**{field: value})


def test_explicit_schedule_needs_one_rate_per_epoch():
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule=[0.1, 0.1], epochs=3)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule=[0.1, -0.1], epochs=2)


def test_replace_and_dict_round_trip():
    c = TrainConfig(hidden=(16, 8), replicas=3, schedule=[0.1, 0.05], epochs=2,
                    target_train_acc=0.9, family="both", bias=False, sam_rho=0.05)
    d = c.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert TrainConfig.from_dict(json.loads(json.dumps(d))) == c
    assert TrainConfig.from_dict({}) == TrainConfig()
    assert c.replace(lr=0.2).lr == 0.2 and c.lr == 0.05
    with pytest.raises(TypeError, match="nope"):
        c.replace(nope=1)
    with pytest.raises(TypeError, match="nope"):
        TrainConfig.from_dict({"nope": 1})
    with pytest.raises(TypeError, match="mapping"):
        TrainConfig.from_dict([("lr", 1)])


def test_keywords_override_the_config(small):
    cfg = TrainConfig(hidden=(6,), replicas=2, epochs=2, lr=0.1, seed=3)
    e = gl.train_ensemble(small, cfg, lr=0.2, replicas=3)
    assert e.meta["lr"] == 0.2 and e.meta["replicas"] == 3 and e.meta["seed"] == 3
    ref = gl.train_ensemble(small, cfg.replace(lr=0.2, replicas=3))
    np.testing.assert_array_equal(e.flat(), ref.flat())
    with pytest.raises(TypeError, match="nope"):
        gl.train_ensemble(small, cfg, nope=1)
    with pytest.raises(TypeError, match="TrainConfig"):
        gl.train_ensemble(small, (6,))


def test_config_and_keywords_give_bit_identical_ensembles(small):
    kw = dict(hidden=(8, 4), replicas=3, epochs=3, batch_size=40, lr=0.07, momentum=0.8,
              weight_decay=1e-4, schedule="cosine", warmup_epochs=1, family="both", seed=5,
              init_scheme="xavier", label_noise=0.1, sam_rho=0.02, record_every=2,
              record_subsample=50)
    a = gl.train_ensemble(small, **kw)
    b = gl.train_ensemble(small, TrainConfig(**kw))
    c = gl.train_ensemble(small, TrainConfig.from_dict(TrainConfig(**kw).to_dict()), n_threads=1)
    for e in (b, c):
        np.testing.assert_array_equal(e.flat(), a.flat())
        for k in a.history:
            np.testing.assert_array_equal(e.history[k], a.history[k])
        assert e.meta == a.meta


def test_record_options_round_trip_and_cost(small):
    """record / record_subsample: JSON round trip, and 'none' evaluates nothing (the history is
    empty) while the weights stay those of the default run."""
    c = TrainConfig(hidden=(6,), replicas=2, epochs=2, record="none", record_subsample=20)
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert c.replace(record="final").record == "final"
    a = gl.train_ensemble(small, c)
    b = gl.train_ensemble(small, c.replace(record="epoch", record_subsample=0))
    np.testing.assert_array_equal(a.flat(), b.flat())
    assert a.history["epoch"].size == 0 and b.history["epoch"].tolist() == [0, 1, 2]
