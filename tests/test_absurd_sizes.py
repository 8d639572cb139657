"""Absurd sizes give a ValueError naming the arguments before anything is allocated (never a
MemoryError, a swap storm or a killed process). The machine's memory is pinned to 1 GiB here so
that the limits are the same on every machine."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens._lib import _limits, _validate


@pytest.fixture
def one_gib(monkeypatch):
    monkeypatch.setattr(_limits, "physical_memory_bytes", lambda: 1 << 30)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    return X, y


def test_memory_guard_itself(one_gib):
    _validate.check_alloc(1 << 29, "half")
    with pytest.raises(ValueError, match=r"things=7 would need 2\.0 GiB.*1\.0 GiB"):
        _validate.check_alloc(2 << 30, "things=7")
    assert _limits.physical_memory_bytes() == 1 << 30 and _validate.check_alloc is _limits.check_alloc


def test_real_memory_is_reported():
    assert _validate.physical_memory_bytes() > 1 << 26


def test_ensemble_init(one_gib):
    with pytest.raises(ValueError, match=r"replicas=100,000,000 x 147 parameters"):
        gl.Ensemble.init([20, 6, 3], 10**8, seed=0)
    assert gl.Ensemble.init([20, 6, 3], 3, seed=0).n_replicas == 3


def test_train_ensemble(one_gib, data):
    X, y = data
    ds = SimpleNamespace(X_train=X, y_train=y, X_test=X[:30], y_test=y[:30])
    with pytest.raises(ValueError, match=r"replicas=1,000,000 x 147 parameters"):
        gl.train_ensemble(ds, hidden=[6], replicas=10**6, epochs=1)


def test_profile(one_gib, data):
    net = gl.MLP.init([20, 6, 3], seed=1)
    with pytest.raises(ValueError, match=r"directions=1,000 x 10,000,000 radii"):
        gl.probes.profile(net, data, np.linspace(0.0, 1.0, 10**7), n_directions=1000)


def test_random_walk(one_gib, data):
    # memory grows with the walkers' final parameters (W x N); the per-walker working state
    # exists once per thread
    net = gl.MLP.init([20, 64, 3], seed=1)
    with pytest.raises(ValueError, match=r"walkers=1,000,000 of 1,539 parameters on 300 samples"):
        gl.probes.random_walk(net, data, 10, 0.01, move="weight", n_walkers=10**6, record_every=10)
    w = gl.probes.random_walk(net, data, 4, 0.01, move="weight", n_walkers=3, record_every=2)
    assert w.final_theta.shape == (3, net.n_params)


def test_pairwise_alignment(one_gib):
    # 5,000 replicas of a small net fit in memory (3 MB); their all-pairs outputs would not
    rng = np.random.default_rng(1)
    M = 5000
    ens = gl.Ensemble([rng.normal(size=(M, 6, 20)).astype(np.float32),
                       rng.normal(size=(M, 3, 6)).astype(np.float32)],
                      [np.zeros((M, 6), np.float32), np.zeros((M, 3), np.float32)])
    with pytest.raises(ValueError, match=r"5,000 replicas \(all pairs\)"):
        gl.symmetry.pairwise_alignment(ens)
