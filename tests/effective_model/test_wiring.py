"""Wiring of glasslens.effective_model: every public option reaches the computation
(tests/wiring.py)."""

import numpy as np
import pytest

from glasslens import effective_model as em
from glasslens.effective_model import _pipeline

import wiring
W, w, With, SAME, differs, threads, dep = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                           wiring.differs, wiring.threads, wiring.dep)

# tiny samples: the fits warn (correctly) about constant spins and rank-deficient moments
pytestmark = pytest.mark.filterwarnings("ignore:.*constant in the data:RuntimeWarning",
                                        "ignore:.*fewer samples:RuntimeWarning",
                                        "ignore::glasslens.maxent.BPConvergenceWarning")

_rng = np.random.default_rng(0)
DATA = em.ArrayDataset(_rng.normal(size=(300, 20)).astype(np.float32), _rng.integers(0, 10, 300),
                       _rng.normal(size=(100, 20)).astype(np.float32), _rng.integers(0, 10, 100))
SMALL = em.ArrayDataset(DATA.X_train[:80, :6], DATA.y_train[:80] % 3, DATA.X_test[:40, :6],
                        DATA.y_test[:40] % 3)
ENS = em.train_binary(SMALL, hidden=(4,), replicas=3, epochs=2, batch_size=20)
WIDTHS = [6, 4, 3]
CFG = em.sample_configurations(ENS, 20, seed=3)
THETA = _rng.normal(size=em.n_weights(WIDTHS))
EPS = _rng.normal(size=(10, sum(WIDTHS[1:])))  # one noise per sample and unit
BLOCKS = {"A": np.arange(8), "B": np.arange(8, 16)}
PERMS = [np.array([1, 0, 3, 2])]
PERMS_R = [np.array([[1, 0, 3, 2], [0, 1, 2, 3], [3, 2, 1, 0]])]
_LAND = dict(fit="pseudolikelihood", fit_kwargs={"max_iter": 10}, n_references=1,
             xs=np.linspace(-1, 1, 3), landscape_kwargs={"max_sweeps": 30}, n_tap_starts=3,
             tap_kwargs={})
# the pipeline without its expensive stages (landscapes, TAP): those options are shown to reach
# analyse_configurations (spied) and, there, the computation (the analyse_configurations rows)
_PIPE = dict(n_replicas=2, epochs=1, n_per_network=20, fit="pseudolikelihood",
             fit_kwargs={"max_iter": 5}, landscape=False, n_tap_starts=0, n_train=200)


def _spied_pipeline(**k):
    calls, orig = [], _pipeline.analyse_configurations

    def spy(*args, **kw):
        calls.append(kw)
        return orig(*args, **kw)

    _pipeline.analyse_configurations = spy
    try:
        return em.run_effective_model(DATA, "shallow", **k), calls
    finally:
        _pipeline.analyse_configurations = orig


RUNNERS = {
    "train_binary": (lambda **k: em.train_binary(SMALL, **k), dict(hidden=(4,), replicas=2,
                                                                    epochs=2, batch_size=20)),
    "sample_configurations": (lambda **k: em.sample_configurations(ENS, **k),
                              dict(n_per_network=10)),
    "evaluate_configurations": (lambda **k: em.evaluate_configurations(
        CFG.configurations, WIDTHS, SMALL.X_test, SMALL.y_test, **k), {}),
    "paper_preset": (lambda **k: em.paper_preset(**k), {}),
    "lr_loss_grad": (lambda **k: em.lr_loss_grad(WIDTHS, THETA, SMALL.X_train[:10],
                                                 SMALL.y_train[:10], EPS, **k), {}),
    "permute_configurations": (lambda **k: em.permute_configurations(
        CFG.configurations, WIDTHS, **k), dict(perms=PERMS_R, network=CFG.network)),
    "align_hidden_units": (lambda **k: em.align_hidden_units(ENS, **k), {}),
    "analyse_configurations": (lambda **k: em.analyse_configurations(
        CFG.configurations, BLOCKS, **k), _LAND),
    "run_effective_model": (lambda **k: em.run_effective_model(DATA, **k), _PIPE),
    "run_effective_model/spy": (_spied_pipeline, _PIPE),
}
SIGNATURES = {name: getattr(em, name) for name in RUNNERS if "/" not in name}

NOT_OBSERVABLE = {}

_fits = lambda r: {b: (m.h, m.J) for b, m in r.fits.items()}  # noqa: E731
_acc = lambda r: r.metrics["test_acc"]  # noqa: E731


def _forwarded(key, value):
    def check(a, b):
        calls = b[1]
        assert calls and all(wiring.fingerprint(c[key]) == wiring.fingerprint(value)
                             for c in calls), (key, calls)
    return check


CASES = [
    w("train_binary", "hidden", (3,), check=lambda a, b: b.theta[0].shape[1] == 3
      or pytest.fail()),
    w("train_binary", "replicas", 3, check=lambda a, b: b.theta[0].shape[0] == 3
      or pytest.fail()),
    w("train_binary", "epochs", 3),
    w("train_binary", "batch_size", 7),
    w("train_binary", "lr", 0.05),
    w("train_binary", "l2", 0.1),
    w("train_binary", "seed", 1),
    threads("train_binary"),
    w("train_binary", "progress", True, SAME),
    w("train_binary", "n_classes", 5, check=lambda a, b: b.theta[-1].shape[1] == 5
      or pytest.fail()),
    w("train_binary", "init_std", 1.0),
    w("train_binary", "betas", (0.5, 0.9)),
    w("train_binary", "adam_eps", 0.1),
    w("train_binary", "n_eval", 3, check=differs(_acc)),
    w("train_binary", "init", ENS, replicas=3),
    w("sample_configurations", "n_per_network", 12, check=lambda a, b: len(b.network) == 36
      or pytest.fail()),
    w("sample_configurations", "seed", 1),
    w("sample_configurations", "X_test", With(SMALL.X_test, y_test=SMALL.y_test),
      check=lambda a, b: np.all(np.isnan(a.accuracy)) and np.all(np.isfinite(b.accuracy))
      or pytest.fail()),
    w("sample_configurations", "y_test", With((SMALL.y_test + 1) % 3, X_test=SMALL.X_test),
      X_test=SMALL.X_test, y_test=SMALL.y_test, check=differs(lambda r: r.accuracy)),
    w("sample_configurations", "min_accuracy", 0.4, X_test=SMALL.X_test, y_test=SMALL.y_test,
      check=lambda a, b: len(b.network) < len(a.network) and np.all(b.accuracy >= 0.4)
      or pytest.fail(f"{np.sort(a.accuracy)}")),
    threads("sample_configurations"),
    threads("evaluate_configurations"),
    w("evaluate_configurations", "return_loss", True, check=lambda a, b: (
        np.testing.assert_array_equal(a, b[0]), len(b) == 2 or pytest.fail())),
    w("paper_preset", "regime", "shallow", check=differs(lambda p: p.widths)),
    w("paper_preset", "dataset", "digits"),
    w("lr_loss_grad", "l2", 1.0, check=lambda a, b: b[0] > a[0] or pytest.fail()),
    w("permute_configurations", "network", np.zeros_like(CFG.network)),
    w("align_hidden_units", "alignment", "reference", check=differs(lambda r: r["cosine"])),
    w("align_hidden_units", "alignment", "medoid", check=differs(lambda r: r["cosine"]),
      label="medoid"),
    w("align_hidden_units", "reference", 2, alignment="reference",
      check=differs(lambda r: r["perms"])),
    w("align_hidden_units", "on", "theta", check=differs(lambda r: r["cosine"])),
    threads("align_hidden_units"),
    w("analyse_configurations", "fit", With("boltzmann", fit_kwargs={"iters": 5, "warn": False}),
      check=differs(_fits)),
    w("analyse_configurations", "fit_kwargs", {"max_iter": 10, "l2": 1.0}, check=differs(_fits)),
    w("analyse_configurations", "n_references", 2, check=differs(lambda r: r.references)),
    w("analyse_configurations", "xs", np.linspace(-2, 1, 4), check=differs(lambda r: r.landscapes)),
    w("analyse_configurations", "landscape", False, check=lambda a, b: (
        any(a.landscapes.values()) and not any(b.landscapes.values())) or pytest.fail()),
    w("analyse_configurations", "landscape_kwargs", {"max_sweeps": 2},
      check=differs(lambda r: r.landscapes)),
    w("analyse_configurations", "n_tap_starts", 5, check=differs(lambda r: r.tap)),
    w("analyse_configurations", "tap_kwargs", {"max_iter": 2}, check=differs(lambda r: r.tap)),
    w("analyse_configurations", "seed", 1, check=differs(lambda r: (r.tap, r.references))),
    threads("analyse_configurations"),
    w("analyse_configurations", "progress", True, SAME),  # the bar: test_analysis_progress_bar
    w("run_effective_model", "regime", "deep-under", epochs=1,
      check=lambda a, b: b.preset.widths == [20, 15, 15, 10] or pytest.fail()),
    w("run_effective_model", "n_replicas", 3, check=lambda a, b: b.ensemble.theta[0].shape[0] == 3
      or pytest.fail()),
    w("run_effective_model", "epochs", 2, check=differs(lambda r: r.ensemble.flat())),
    w("run_effective_model", "n_per_network", 15, check=lambda a, b: len(b.samples.network)
      == 30 or pytest.fail()),
    w("run_effective_model", "min_accuracy", 0.1, check=lambda a, b: len(b.samples.network)
      < len(a.samples.network) or pytest.fail(f"{np.sort(a.samples.accuracy)}")),
    w("run_effective_model", "blocks", ["ITER"], regime="deep-under",
      check=lambda a, b: list(b.fits) == ["ITER"] != list(a.fits) or pytest.fail()),
    w("run_effective_model", "fit", With("boltzmann", fit_kwargs={"iters": 3, "warn": False}),
      check=differs(_fits)),
    w("run_effective_model", "fit_kwargs", {"max_iter": 5, "l2": 1.0}, check=differs(_fits)),
    w("run_effective_model/spy", "n_references", 2, check=_forwarded("n_references", 2)),
    w("run_effective_model/spy", "xs", np.linspace(-1, 0, 3),
      check=_forwarded("xs", np.linspace(-1, 0, 3))),
    w("run_effective_model/spy", "landscape", True, n_references=0,
      check=_forwarded("landscape", True)),
    w("run_effective_model/spy", "landscape_kwargs", {"max_sweeps": 3},
      check=_forwarded("landscape_kwargs", {"max_sweeps": 3})),
    w("run_effective_model/spy", "n_tap_starts", 2, check=_forwarded("n_tap_starts", 2)),
    w("run_effective_model/spy", "tap_kwargs", {"max_iter": 3},
      check=_forwarded("tap_kwargs", {"max_iter": 3})),
    # one common labelling only: the aligned analysis, no raw one
    w("run_effective_model", "alignment", "mean", check=lambda a, b: (
        a.aligned is None and b.aligned is not None and not b.fits) or pytest.fail()),
    # the labelling itself reaches align_hidden_units
    w("run_effective_model", "alignment", "reference", alignment="mean", label="reference",
      check=differs(lambda r: r.alignment["cosine"])),
    w("run_effective_model", "alignment", "medoid", alignment="mean", label="medoid",
      check=differs(lambda r: r.alignment["cosine"])),
    # raw and aligned analyses; "both" is the shorthand of ("none", "mean")
    w("run_effective_model", "alignment", ("none", "mean"), label="tuple", check=lambda a, b: (
        a.aligned is None and b.aligned is not None and b.fits) or pytest.fail()),
    w("run_effective_model", "alignment", "both", SAME, alignment=("none", "mean"),
      label="both"),
    w("run_effective_model", "n_train", 100, check=differs(lambda r: r.ensemble.flat())),
    w("run_effective_model", "seed", 1, check=differs(lambda r: r.samples.configurations)),
    threads("run_effective_model"),
    w("run_effective_model", "progress", True, SAME),
]

# the old spellings of renamed options (one release): they warn and give the new result
DEPRECATED = [
    dep("align_hidden_units", "method", "reference", "alignment"),
    dep("analyse_configurations", "tap_starts", 5, "n_tap_starts"),
    dep("run_effective_model", "replicas", 3, "n_replicas"),
    dep("run_effective_model/spy", "tap_starts", 2, "n_tap_starts"),
    # alignment="aligned" meant the common labelling of align_method (default "mean")
    dep("run_effective_model", "alignment", "aligned", {"alignment": "mean"}, label="aligned"),
    dep("run_effective_model", "align_method", With("reference", alignment="both"),
        {"alignment": ("none", "reference")}),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case, capsys):
    RUN.check(case, capsys)


@pytest.mark.parametrize("case", DEPRECATED, ids=lambda c: c.id)
def test_old_keyword_still_works(case):
    RUN.check_deprecated(case)


def test_fit_error_warn_threshold():
    # unstable Boltzmann learning (large rates) keeps a late, worse iterate: warned only below
    # the threshold
    kw = {**_LAND, "landscape": False, "n_tap_starts": 0, "fit": "boltzmann",
          "fit_kwargs": {"iters": 6, "keep_after": 5, "lr_J": 2.0, "lr_h": 2.0, "step": "fixed",
                         "warn": False}}
    with pytest.warns(RuntimeWarning, match="unstable"):
        em.analyse_configurations(CFG.configurations, BLOCKS, fit_error_warn=0.0, **kw)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*unstable")
        em.analyse_configurations(CFG.configurations, BLOCKS, fit_error_warn=1e9, **kw)


def test_align_hidden_units_seed_reaches_match_weights(monkeypatch):
    """Only the coordinate descent of deeper networks reads the seed: checked where it arrives."""
    from glasslens.symmetry import _matching

    calls, orig = [], _matching.match_weights
    monkeypatch.setattr(_matching, "match_weights",
                        lambda *a, **k: calls.append(k) or orig(*a, **k))
    deep = em.train_binary(SMALL, hidden=(4, 4), replicas=2, epochs=1, batch_size=20)
    em.align_hidden_units(deep, alignment="reference", seed=5)
    assert calls and {c.get("seed") for c in calls} == {5}


def test_every_option_has_a_wiring_row():
    have = [W(c.name.split("/")[0], c.option, None) for c in CASES]
    have += [W("analyse_configurations", "fit_error_warn", None),  # test_fit_error_warn_threshold
             W("align_hidden_units", "seed", None)]  # test_align_hidden_units_seed_...
    deprecated = [wiring.dep(d.name.split("/")[0], d.old, None, {}) for d in DEPRECATED]
    assert wiring.missing_rows(SIGNATURES, have + deprecated, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, have + deprecated, NOT_OBSERVABLE) == []
    assert wiring.untested_renames(SIGNATURES, deprecated) == []


def test_analysis_progress_bar(capsys):
    """progress=True draws a bar over the blocks' stages on stderr; the default draws none."""
    fn, base = RUNNERS["analyse_configurations"]
    fn(**base)
    assert "fits, landscapes, TAP" not in capsys.readouterr().err
    fn(**base, progress=True)
    err = capsys.readouterr().err
    assert "fits, landscapes, TAP of 2 block(s)" in err and "6/6" in err
