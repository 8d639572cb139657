"""Wiring of glasslens.probes: every public option reaches the computation (see tests/wiring.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import probes

import wiring
W, w, SAME, differs, threads, dep = (wiring.W, wiring.w, wiring.SAME, wiring.differs,
                                     wiring.threads, wiring.dep)

_rng = np.random.default_rng(0)
DATA = SimpleNamespace(
    X_train=_rng.normal(size=(120, 8)).astype(np.float32), y_train=_rng.integers(0, 3, 120),
    X_test=_rng.normal(size=(40, 8)).astype(np.float32), y_test=_rng.integers(0, 3, 40))
NET = gl.MLP.init([8, 6, 3], seed=1)
OTHER = gl.MLP.init([8, 6, 3], seed=2)
SERIES = np.cumsum(_rng.normal(size=200))
L0 = probes.network_loss(NET, DATA.X_train, DATA.y_train)[0]
ACF = probes.autocorrelation(SERIES)

RUNNERS = {
    "perturbation_direction": (lambda **k: probes.perturbation_direction(NET, **k),
                               dict(seed=0, k=0)),
    "profile": (lambda **k: probes.profile(NET, DATA, **k), dict(radii=[0.0, 0.3, 1.0],
                                                                  n_directions=3)),
    "line": (lambda **k: probes.line(NET, DATA, **k), dict(n_points=5)),
    "plane": (lambda **k: probes.plane(NET, DATA, **k), dict(n_points=3)),
    "random_walk": (lambda **k: probes.random_walk(NET, DATA, **k),
                    dict(n_steps=40, n_walkers=2, record_every=10)),
    "autocorrelation": (lambda **k: probes.autocorrelation(SERIES, **k), {}),
    "correlation_length": (lambda **k: probes.correlation_length(ACF, **k), {}),
    "network_loss": (lambda **k: probes.network_loss(NET, DATA.X_train, **k),
                     dict(y=DATA.y_train)),
}

SIGNATURES = {name: getattr(probes, name) for name in RUNNERS}
SIGNATURES["msd_exponent"] = probes.msd_exponent

NOT_OBSERVABLE = {}


CASES = [
    w("perturbation_direction", "seed", 1),
    w("perturbation_direction", "k", 1),
    w("perturbation_direction", "kind", "rademacher",
      check=lambda a, b: np.testing.assert_allclose(np.unique(np.abs(np.sign(b))), [1.0])),
    w("perturbation_direction", "normalization", "none"),
    w("perturbation_direction", "bias_mode", "zero",
      check=lambda a, b: (np.all(b[NET.flat().size - 3:] == 0)
                          and np.any(a[NET.flat().size - 3:] != 0)) or pytest.fail("bias kept")),
    w("profile", "n_directions", 5, check=lambda a, b: (a.train_loss.shape, b.train_loss.shape)
      == ((3, 3), (5, 3)) or pytest.fail("n_directions not used")),
    w("profile", "normalization", "global"),
    w("profile", "kind", "rademacher"),
    w("profile", "mode", "multiplicative"),
    w("profile", "seed", 1),
    w("profile", "quantiles", (0.25, 0.5, 0.75), check=differs(lambda r: r.curve_stats())),
    w("profile", "delta", 0.01, check=lambda a, b: b.basin_radius < a.basin_radius or pytest.fail()),
    w("profile", "bias_mode", "zero"),
    threads("profile"),
    w("line", "direction", OTHER, check=lambda a, b: np.testing.assert_allclose(
        b.directions[0], OTHER.flat() - NET.flat(), atol=1e-6)),
    w("line", "span", (0.0, 2.0), check=differs(lambda r: r.train_loss)),
    w("line", "n_points", 7, check=lambda a, b: b.train_loss.shape == (7,) or pytest.fail()),
    w("line", "normalization", "none", check=differs(lambda r: r.train_loss)),
    w("line", "kind", "rademacher", check=differs(lambda r: r.train_loss)),
    w("line", "bias_mode", "zero", check=differs(lambda r: r.train_loss)),
    w("line", "seed", 1, check=differs(lambda r: r.train_loss)),
    threads("line"),
    w("plane", "d1", OTHER, check=differs(lambda r: r.train_loss)),
    w("plane", "d2", OTHER, check=differs(lambda r: r.train_loss)),
    w("plane", "span", (0.0, 2.0), check=differs(lambda r: r.train_loss)),
    w("plane", "n_points", (3, 4), check=lambda a, b: b.train_loss.shape == (3, 4) or pytest.fail()),
    w("plane", "normalization", "layer", check=differs(lambda r: r.train_loss)),
    w("plane", "kind", "rademacher", check=differs(lambda r: r.train_loss)),
    w("plane", "bias_mode", "zero", check=differs(lambda r: r.train_loss)),
    w("plane", "seed", 1, check=differs(lambda r: r.train_loss)),
    threads("plane"),
    w("random_walk", "step_size", 0.1, check=differs(lambda r: r.distance)),
    # a Metropolis walk at a tiny temperature rejects uphill moves that a free walk accepts
    w("random_walk", "mode", wiring.With("metropolis", temperature=1e-7),
      check=differs(lambda r: r.n_accepted)),
    w("random_walk", "threshold", L0 + 1e-5, mode="threshold", threshold=100.0,
      check=differs(lambda r: r.n_accepted)),
    w("random_walk", "temperature", 1e-7, mode="metropolis", temperature=100.0,
      check=differs(lambda r: r.n_accepted)),
    w("random_walk", "move", "weight", check=differs(lambda r: r.distance)),
    w("random_walk", "n_steps", 20, check=lambda a, b: list(b.step) == [0, 10, 20]
      or pytest.fail(str(b.step))),
    w("random_walk", "n_walkers", 3, check=lambda a, b: b.distance.shape[0] == 3 or pytest.fail()),
    w("random_walk", "record_every", 20, check=lambda a, b: list(b.step) == [0, 20, 40]
      or pytest.fail(str(b.step))),
    w("random_walk", "seed", 1, check=differs(lambda r: r.final_theta)),
    w("random_walk", "refresh_every", 3, move="weight", check=differs(lambda r: r.max_drift)),
    w("random_walk", "quench", {"epochs": 1}, check=lambda a, b: (
        a.quench is None and len(b.quench["minima"].nets if hasattr(b.quench["minima"], "nets")
                                 else b.quench["train_loss"]) > 0) or pytest.fail()),
    w("random_walk", "threshold_on", "error", mode="threshold", threshold=L0 + 1e-5,
      check=differs(lambda r: r.n_accepted)),
    w("random_walk", "step_scale", "absolute", check=differs(lambda r: r.sigma)),
    w("random_walk", "eval_test", False, check=lambda a, b: (
        np.all(np.isfinite(a.test_loss)) and np.all(np.isnan(b.test_loss))) or pytest.fail()),
    w("random_walk", "keep_points", True, check=lambda a, b: (
        a.thetas is None and b.thetas.shape[:2] == (2, 5)) or pytest.fail()),
    w("random_walk", "delta", 1e-6, check=differs(lambda r: r.escape_distance)),
    threads("random_walk"),
    w("autocorrelation", "max_lag", 10, check=lambda a, b: b.shape == (11,) or pytest.fail()),
    w("correlation_length", "dt", 2.0, check=lambda a, b: np.testing.assert_allclose(b, 2 * a)),
    w("correlation_length", "level", 0.1, check=lambda a, b: b > a or pytest.fail()),
    w("network_loss", "y", (DATA.y_train + 1) % 3),
    threads("network_loss"),
]
# the old spellings of renamed options (one release): they warn and give the new result
DEPRECATED = [
    dep("profile", "directions", 5, "n_directions"),
    dep("line", "n", 7, "n_points"),
    dep("plane", "n", (3, 4), "n_points"),
    dep("random_walk", "steps", 20, "n_steps"),
    dep("random_walk", "walkers", 3, "n_walkers"),
]
QUENCH_KEYS = [("epochs", 3), ("lr", 0.5), ("batch_size", 7), ("momentum", 0.0), ("seed", 5),
               ("every", 1)]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case, capsys):
    RUN.check(case, capsys)


@pytest.mark.parametrize("key,alt", QUENCH_KEYS)
def test_quench_keys_reach_sgd(key, alt):
    base = {"epochs": 1, "lr": 0.05}
    a = RUN.call("random_walk", quench=base)
    b = RUN.call("random_walk", quench={**base, key: alt})
    assert wiring.fingerprint(a.quench) != wiring.fingerprint(b.quench)


@pytest.mark.parametrize("case", DEPRECATED, ids=lambda c: c.id)
def test_old_keyword_still_works(case):
    RUN.check_deprecated(case)


def test_msd_exponent_reads_its_inputs():
    t = np.arange(1, 50, dtype=float)
    assert probes.msd_exponent(t, t ** 0.5) == pytest.approx(0.5, abs=1e-6)
    assert probes.msd_exponent(t, t ** 1.0) == pytest.approx(1.0, abs=1e-6)


def test_every_option_has_a_wiring_row():
    assert wiring.missing_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.untested_renames(SIGNATURES, DEPRECATED) == []
