"""Wiring of glasslens.flatness: every public option reaches the computation (tests/wiring.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import flatness as fl

import wiring
W, w, With, SAME, differs, threads, dep = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                           wiring.differs, wiring.threads, wiring.dep)

_rng = np.random.default_rng(0)
DATA = SimpleNamespace(
    X_train=_rng.normal(size=(60, 4)).astype(np.float32), y_train=_rng.integers(0, 3, 60),
    X_test=_rng.normal(size=(20, 4)).astype(np.float32), y_test=_rng.integers(0, 3, 20),
    n_classes=3, name="random")
X, Y = DATA.X_train, DATA.y_train
NET = gl.train_ensemble(DATA, hidden=(5,), replicas=1, epochs=10, batch_size=16, lr=0.1)[0]
DEEPNET = gl.MLP.init([4, 5, 5, 5, 3], seed=3)
V = _rng.normal(size=NET.flat().size)
SCALES = [np.exp(_rng.normal(size=5))]
THETAS = NET.flat()[None] + 0.1 * _rng.normal(size=(3, NET.flat().size)).astype(np.float32)
XS, YS = _rng.normal(size=12), _rng.normal(size=12)
CTRL = _rng.normal(size=12)
VARIANTS = [{"batch_size": 8}, {"batch_size": 30}]
_FAST_MEASURES = {"local_energy": {"n_dirs": 2}, "basin_radius": {"n_dirs": 2},
                  "eps_sharpness": {"steps": 2}, "hessian_top": {"iters": 5},
                  "hessian_trace": {"n_samples": 4}, "ruggedness": {"steps": 8, "n_walks": 1},
                  "copy_barrier": {"n_alpha": 5, "n_copies": 1}}
STUDY = dict(hidden=(4,), variants=VARIANTS, n_replicas=2, epochs=2, measures=("hessian_trace",),
             n_checkpoints=1, n_boot=10, measure_params={"hessian_trace": {"n_samples": 4}})
ROWS = fl.generalization_study(DATA, **STUDY).rows
LABELS = sorted({r["variant"] for r in ROWS})

RUNNERS = {
    "loss_and_gradient": (lambda **k: fl.loss_and_gradient(NET, X, **k), dict(y=Y)),
    "hvp": (lambda **k: fl.hvp(NET, X, Y, V, **k), {}),
    "hessian_top": (lambda **k: fl.hessian_top(NET, X, **k), dict(y=Y)),
    "hessian_trace": (lambda **k: fl.hessian_trace(NET, X, **k), dict(y=Y, n_samples=8)),
    "hessian_density": (lambda **k: fl.hessian_density(NET, X, **k), dict(y=Y, n_steps=10,
                                                                           n_grid=64)),
    "hessian_explicit": (lambda **k: fl.hessian_explicit(NET, X, **k), dict(y=Y)),
    "measures": (lambda **k: fl.measures(NET, X, **k),
                 dict(y=Y, which=("hessian_trace", "local_energy"), params={
                     "hessian_trace": {"n_samples": 4}, "local_energy": {"n_dirs": 2}})),
    # one hidden layer balances exactly in one sweep: tol and max_sweeps act on deeper nets
    "balance": (lambda **k: fl.balance(fl.random_rescaling(DEEPNET, sigma=1.0), **k), {}),
    "rescale": (lambda **k: fl.rescale(NET, **k), dict(scales=SCALES)),
    "random_rescaling": (lambda **k: fl.random_rescaling(NET, **k), {}),
    "batch_loss": (lambda **k: fl.batch_loss(NET, THETAS, X, **k), dict(y=Y)),
    "generalization_study": (lambda **k: fl.generalization_study(DATA, **k), STUDY),
    "rank_correlations": (lambda **k: fl.rank_correlations(XS, **k), dict(y=YS, n_boot=20)),
    "partial_rank_correlation": (lambda **k: fl.partial_rank_correlation(XS, YS, **k),
                                 dict(control=CTRL, n_boot=20)),
    "analyse_rows": (lambda **k: fl.analyse_rows(ROWS, ["hessian_trace"], LABELS, **k),
                     dict(n_boot=10)),
}
SIGNATURES = {name: getattr(fl, name) for name in RUNNERS}

NOT_OBSERVABLE = {}

_corr = lambda r: r.correlations  # noqa: E731
_row_values = lambda r: [[v for k, v in sorted(row.items())] for row in r.rows]  # noqa: E731

CASES = [
    w("loss_and_gradient", "y", (Y + 1) % 3),
    threads("loss_and_gradient"),
    threads("hvp"),
    w("hessian_top", "y", (Y + 1) % 3, check=differs(lambda r: r.values)),
    w("hessian_top", "k", 2, check=lambda a, b: b.values.shape == (2,) or pytest.fail()),
    w("hessian_top", "max_iter", 3, check=lambda a, b: b.n_iter <= 3 < a.n_iter
      or pytest.fail(f"{a.n_iter} {b.n_iter}")),
    w("hessian_top", "tol", 0.5, check=lambda a, b: b.n_iter < a.n_iter or pytest.fail()),
    w("hessian_top", "seed", 1, max_iter=3, check=differs(lambda r: r.values)),
    w("hessian_top", "return_vectors", True, check=lambda a, b: (
        a.vectors is None and b.vectors.shape == (1, NET.flat().size)) or pytest.fail()),
    threads("hessian_top"),
    w("hessian_trace", "y", (Y + 1) % 3, check=differs(lambda r: r.value)),
    w("hessian_trace", "n_samples", 5, check=lambda a, b: b.samples.shape[0] == 5
      or pytest.fail()),
    w("hessian_trace", "seed", 1, check=differs(lambda r: r.value)),
    threads("hessian_trace"),
    w("hessian_trace", "batch", 3, SAME),
    w("hessian_density", "y", (Y + 1) % 3, check=differs(lambda r: r.density)),
    w("hessian_density", "n_probes", 2, check=lambda a, b: b.nodes.shape[0] == 2
      or pytest.fail()),
    w("hessian_density", "n_steps", 6, check=lambda a, b: b.nodes.shape[1] == 6
      or pytest.fail()),
    w("hessian_density", "n_grid", 32, check=lambda a, b: b.grid.shape == (32,)
      or pytest.fail()),
    w("hessian_density", "sigma", 1.0, check=differs(lambda r: r.density)),
    w("hessian_density", "seed", 1, check=differs(lambda r: r.nodes)),
    threads("hessian_density"),
    w("hessian_explicit", "y", (Y + 1) % 3),
    threads("hessian_explicit"),
    w("measures", "y", (Y + 1) % 3, check=differs(lambda r: r.values)),
    w("measures", "which", ("hessian_trace",), check=lambda a, b: "local_energy" not in b.values
      and "local_energy" in a.values or pytest.fail()),
    w("measures", "balance", True, check=differs(lambda r: r.values)),
    w("measures", "params", {"hessian_trace": {"n_samples": 6}, "local_energy": {"n_dirs": 2}},
      check=differs(lambda r: r.values["hessian_trace"])),
    w("measures", "seed", 1, check=differs(lambda r: r.values)),
    threads("measures"),
    w("balance", "tol", 0.5),
    w("balance", "max_sweeps", 1),
    w("random_rescaling", "seed", 1),
    w("random_rescaling", "sigma", 0.1),
    w("batch_loss", "y", (Y + 1) % 3),
    threads("batch_loss"),
    w("generalization_study", "hidden", (3,), check=differs(_row_values)),
    w("generalization_study", "variants", [{"batch_size": 8}, {"batch_size": 20}],
      check=differs(lambda r: r.labels)),
    w("generalization_study", "n_replicas", 3, check=lambda a, b: len(b.rows) == 1.5 * len(a.rows)
      or pytest.fail()),
    w("generalization_study", "epochs", 3, check=lambda a, b: b.rows[0]["epoch"] == 3
      or pytest.fail()),
    w("generalization_study", "measures", ("hessian_top",), check=lambda a, b: b.measures
      == ["hessian_top"] and "hessian_top" in b.rows[0] or pytest.fail()),
    w("generalization_study", "balance", False, check=differs(_row_values)),
    w("generalization_study", "n_checkpoints", 2, check=lambda a, b: len(b.rows) == 2 * len(a.rows)
      or pytest.fail()),
    w("generalization_study", "lr", 0.2, check=differs(_row_values)),
    w("generalization_study", "momentum", 0.0, check=differs(_row_values)),
    w("generalization_study", "seed", 1, check=differs(_row_values)),
    threads("generalization_study"),
    w("generalization_study", "n_boot", 12, check=differs(_corr)),
    w("generalization_study", "match_tol", 1e-9, check=differs(lambda r: r.matched)),
    w("generalization_study", "measure_params", {"hessian_trace": {"n_samples": 5}},
      check=differs(_row_values)),
    w("generalization_study", "progress", True, SAME),
    w("rank_correlations", "y", XS + 0.1 * YS, check=differs(lambda r: r)),
    w("rank_correlations", "n_boot", 30),
    w("rank_correlations", "seed", 1),
    w("rank_correlations", "groups", np.repeat(np.arange(4), 3)),
    w("rank_correlations", "level", 0.5),
    w("partial_rank_correlation", "control", XS),
    w("partial_rank_correlation", "n_boot", 30),
    w("partial_rank_correlation", "seed", 1),
    w("partial_rank_correlation", "level", 0.5),
    w("analyse_rows", "n_boot", 12),
    w("analyse_rows", "seed", 1),
    w("analyse_rows", "match_tol", 1.0, small=LABELS[0], large=LABELS[1]),
    w("analyse_rows", "small", With(LABELS[0], large=LABELS[1]), match_tol=1.0),
    w("analyse_rows", "large", With(LABELS[1], small=LABELS[0]), match_tol=1.0),
]

# the old spellings of renamed options (one release): they warn and give the new result
DEPRECATED = [
    dep("hessian_top", "iters", 3, "max_iter"),
    dep("generalization_study", "replicas", 3, "n_replicas"),
    dep("generalization_study", "checkpoints", 2, "n_checkpoints"),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case, capsys):
    RUN.check(case, capsys)


@pytest.mark.parametrize("case", DEPRECATED, ids=lambda c: c.id)
def test_old_keyword_still_works(case):
    RUN.check_deprecated(case)


def test_hessian_explicit_max_params_is_the_limit():
    P = NET.flat().size
    assert RUN.call("hessian_explicit", max_params=P).shape == (P, P)
    with pytest.raises(ValueError, match="max_params"):
        RUN.call("hessian_explicit", max_params=P - 1)


def test_rescale_scales_reach_the_weights():
    a = fl.rescale(NET, SCALES)
    np.testing.assert_allclose(a.weights[0], NET.weights[0] * SCALES[0][:, None], rtol=1e-6)
    assert not np.array_equal(a.weights[0], NET.weights[0])


@pytest.mark.parametrize("measure", sorted(_FAST_MEASURES))
def test_measure_params_reach_every_measure(measure):
    """Each measure reads its own entry of ``params`` (the first key changed)."""
    base = _FAST_MEASURES[measure]
    key = {"local_energy": "radius", "basin_radius": "delta", "eps_sharpness": "eps",
           "hessian_top": "iters", "hessian_trace": "n_samples", "ruggedness": "rise",
           "copy_barrier": "k"}[measure]
    alt = {"radius": 0.5, "delta": 0.01, "eps": 0.05, "iters": 2, "n_samples": 3, "rise": 0.3,
           "k": 1}[key]
    a = fl.measures(NET, (X, Y), which=(measure,), params={measure: base})
    b = fl.measures(NET, (X, Y), which=(measure,), params={measure: {**base, key: alt}})
    assert a.values != b.values


def test_every_option_has_a_wiring_row():
    have = CASES + [W("hessian_explicit", "max_params", None), W("rescale", "scales", None)]
    assert wiring.missing_rows(SIGNATURES, have + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, have + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.untested_renames(SIGNATURES, DEPRECATED) == []
