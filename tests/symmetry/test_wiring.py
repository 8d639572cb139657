"""Wiring of glasslens.symmetry: every public option reaches the computation (tests/wiring.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import symmetry as sy
from glasslens.symmetry import _matching

import dask_clients
import wiring
W, w, With, SAME, differs, threads, dep = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                           wiring.differs, wiring.threads, wiring.dep)

_rng = np.random.default_rng(0)
DATA = SimpleNamespace(
    X_train=_rng.normal(size=(80, 5)).astype(np.float32), y_train=_rng.integers(0, 3, 80),
    X_test=_rng.normal(size=(30, 5)).astype(np.float32), y_test=_rng.integers(0, 3, 30),
    n_classes=3)
# trained replicas (random networks have convex, barrier-free paths)
ENS = gl.train_ensemble(DATA, hidden=(8,), replicas=4, epochs=15, batch_size=16, lr=0.1, seed=0)
DEEP = gl.train_ensemble(DATA, hidden=(6, 6, 6), replicas=3, epochs=15, batch_size=16, lr=0.1,
                         seed=1)
A, B = ENS[0], ENS[1]
DA, DB = DEEP[0], DEEP[1]
COST = _rng.normal(size=(6, 6))
COSTS = _rng.normal(size=(3, 6, 6))
# an even grid: the maximum is off alpha = 1/2, so 'max' != 'midpoint' and 'mean' != 'interpolated'
CURVE = sy.interpolate(A, B, DATA, n_points=8)

RUNNERS = {
    "linear_sum_assignment": (lambda **k: sy.linear_sum_assignment(COST, **k), {}),
    "linear_sum_assignment_batch": (lambda **k: sy.linear_sum_assignment_batch(COSTS, **k), {}),
    "random_permutation": (lambda **k: sy.random_permutation(8, **k), {}),
    "match_weights": (lambda **k: sy.match_weights(DA, DB, **k), {}),
    "align_to": (lambda **k: sy.align_to(ENS, **k), dict(reference=0)),
    "align_ensemble": (lambda **k: sy.align_ensemble(ENS, **k), {}),
    "pairwise_alignment": (lambda **k: dask_clients.call(
        lambda **kk: sy.pairwise_alignment(ENS, **kk), **k), {}),
    "interpolate": (lambda **k: sy.interpolate(A, B, DATA, **k), dict(n_points=5)),
    "barrier": (lambda **k: sy.barrier(CURVE, **k), {}),
    "permutation_barrier_scan": (lambda **k: sy.permutation_barrier_scan(A, DATA, **k),
                                 dict(ks=[1], n_trials=1, n_points=6)),
    "replica_barriers": (lambda **k: sy.replica_barriers(ENS, DATA, **k), dict(n_points=6)),
    "permutation_interpolation": (lambda **k: sy.permutation_interpolation(ENS, DATA, **k),
                                  dict(ks=[1], n_trials=1, n_points=6, n_replica_pairs=2)),
}
SIGNATURES = {name: getattr(sy, name) for name in RUNNERS}

NOT_OBSERVABLE = {}

_bv = lambda r: r.barrier  # noqa: E731


def _same(a, b):
    assert wiring.fingerprint(a) == wiring.fingerprint(b), "the blocked result differs"


def _spied(fn):
    """Run ``fn`` recording the keyword arguments of every inner ``match_weights`` call: on these
    small networks coordinate descent converges in a sweep whatever the order or the cap, so the
    deep-network options are checked where they must arrive."""
    def run(**k):
        calls, orig = [], _matching.match_weights

        def spy(*args, **kw):
            calls.append(kw)
            return orig(*args, **kw)

        _matching.match_weights = spy
        try:
            return fn(**k), calls
        finally:
            _matching.match_weights = orig
    return run


def _forwarded(res, **want):
    calls = res[1]
    assert calls, "match_weights was not called"
    for key, v in want.items():
        assert {c.get(key) for c in calls} == {v}, (key, calls)


def _warm_start_is_read(name):
    """Warm-start duals give the same optimum (and a wrongly shaped one is refused)."""
    def check(a, b):
        np.testing.assert_array_equal(a[1], b[1])
        with pytest.raises(ValueError):
            RUN.call(name, duals=np.zeros(3))
    return check


_V = sy.linear_sum_assignment(COST, return_duals=True)[3]
_VB = sy.linear_sum_assignment_batch(COSTS, return_duals=True)[3]

CASES = [
    w("linear_sum_assignment", "maximize", True, check=differs(lambda r: r[1])),
    w("linear_sum_assignment", "duals", _V, check=_warm_start_is_read("linear_sum_assignment")),
    w("linear_sum_assignment", "return_duals", True, check=lambda a, b: (len(a), len(b)) == (2, 4)
      or pytest.fail()),
    w("linear_sum_assignment_batch", "maximize", True, check=differs(lambda r: r[1])),
    threads("linear_sum_assignment_batch"),
    w("linear_sum_assignment_batch", "duals", _VB,
      check=_warm_start_is_read("linear_sum_assignment_batch")),
    w("linear_sum_assignment_batch", "return_duals", True,
      check=lambda a, b: (len(a), len(b)) == (2, 4) or pytest.fail()),
    w("linear_sum_assignment_batch", "return_totals", True, check=lambda a, b: np.testing.
      assert_allclose(b[2], COSTS[np.arange(3)[:, None], a[0], a[1]].sum(axis=1))),
    w("random_permutation", "n_transpositions", 2, check=lambda a, b: np.sum(b != np.arange(8))
      == 4 or pytest.fail()),
    w("random_permutation", "seed", 1),
    w("random_permutation", "kind", "derangement", check=lambda a, b: np.all(b != np.arange(8))
      or pytest.fail()),
    w("match_weights", "max_iter", 1, check=lambda a, b: b.iterations == 1 < a.iterations
      or pytest.fail(f"{a.iterations}")),
    w("match_weights", "n_restarts", 3, check=lambda a, b: b.restart_objectives.shape == (3,)
      or pytest.fail()),
    w("match_weights", "seed", 1, n_restarts=3, check=differs(lambda r: r.restart_objectives)),
    w("match_weights", "init", "identity", check=differs(lambda r: r.restart_objectives)),
    w("align_to", "reference", 2, check=differs(lambda r: r.perms)),
    threads("align_to"),
    w("align_to", "max_iter", 7, check=lambda a, b: _forwarded(b, max_iter=7), label="deep"),
    w("align_to", "seed", 5, check=lambda a, b: _forwarded(b, seed=5), label="deep"),
    w("align_ensemble", "alignment", "mean", check=differs(lambda r: r.cosine)),
    w("align_ensemble", "reference", 2, check=differs(lambda r: r.perms)),
    w("align_ensemble", "max_iter", 1, alignment="mean", check=lambda a, b: b.iterations == 1
      or pytest.fail()),
    threads("align_ensemble"),
    w("align_ensemble", "seed", 5, check=lambda a, b: _forwarded(b, seed=5), label="deep"),
    threads("pairwise_alignment"),
    w("pairwise_alignment", "chunk", 1, SAME, cost_dtype=np.float64),
    w("pairwise_alignment", "cost_dtype", np.float64, check=lambda a, b: (
        np.testing.assert_array_equal(a[0], b[0]),
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5),
        not np.array_equal(a[1], b[1]) or pytest.fail("float64 costs gave float32 bits"))),
    w("pairwise_alignment", "max_iter", 7, check=lambda a, b: _forwarded(b, max_iter=7),
      label="deep"),
    w("pairwise_alignment", "seed", 5, check=lambda a, b: _forwarded(b, seed=5), label="deep"),
    # the blocked run: the same result bit for bit, through Dask tasks / tiles
    w("pairwise_alignment", "client", dask_clients.CLIENT, check=lambda a, b: (
        _same(a, b), dask_clients.TASKS[None] > 0 or pytest.fail("no Dask tile task ran"))),
    w("pairwise_alignment", "block_size", 2, client=dask_clients.CLIENT, check=lambda a, b: (
        _same(a, b), dask_clients.TASKS[2] == 3 != dask_clients.TASKS[None]
        or pytest.fail(f"tile tasks {dask_clients.TASKS}"))),
    w("pairwise_alignment", "block_size", 3, SAME, label="local"),
    w("pairwise_alignment", "return_perms", False, check=lambda a, b: (
        b[0] is None or pytest.fail(), np.testing.assert_array_equal(a[1], b[1]))),
    w("pairwise_alignment", "progress", True, SAME),
    w("interpolate", "n_points", 7, check=lambda a, b: b.alphas.shape == (7,) or pytest.fail()),
    w("interpolate", "alignment", "pairwise", check=differs(lambda r: r.train_loss)),
    w("interpolate", "matching", "activations", alignment="pairwise",
      check=differs(lambda r: r.perms)),
    threads("interpolate"),
    w("interpolate", "n_match_samples", 3, alignment="pairwise", matching="activations",
      check=differs(lambda r: r.perms)),
    w("barrier", "metric", "error", check=differs(lambda r: r.value)),
    w("barrier", "kind", "midpoint", check=lambda a, b: b.alpha == 0.5 != a.alpha
      or pytest.fail()),
    w("barrier", "reference", "mean", check=differs(lambda r: r.value)),
    w("barrier", "split", "test", check=differs(lambda r: r.value)),
    w("barrier", "preset", "frankle", check=differs(lambda r: r.value)),
    w("permutation_barrier_scan", "ks", [1, 2], check=lambda a, b: list(b.k) == [1, 2, -1]
      or pytest.fail(f"{b.k}")),
    w("permutation_barrier_scan", "n_trials", 2, check=lambda a, b: len(b.k) == 2 * len(a.k)
      or pytest.fail()),
    w("permutation_barrier_scan", "seed", 1, check=differs(_bv)),
    w("permutation_barrier_scan", "n_points", 7, check=lambda a, b: b.alphas.shape == (7,)
      or pytest.fail()),
    w("permutation_barrier_scan", "layer", 0, check=None, label="deep"),
    w("permutation_barrier_scan", "full", False, check=lambda a, b: (-1 in a.k and -1 not in b.k)
      or pytest.fail()),
    w("permutation_barrier_scan", "metric", "error", check=differs(_bv)),
    w("permutation_barrier_scan", "kind", "midpoint", check=differs(_bv)),
    w("permutation_barrier_scan", "reference", "mean", check=differs(_bv)),
    w("permutation_barrier_scan", "split", "test", check=differs(_bv)),
    threads("permutation_barrier_scan"),
    w("replica_barriers", "pairs", np.array([[0, 3]]), check=lambda a, b: b.barrier.shape[0] == 1
      or pytest.fail()),
    w("replica_barriers", "alignment", "pairwise", check=lambda a, b: (
        list(a.aligns) == [None, "weights"] and list(b.aligns) == ["weights"]
        and b.barrier.shape[1] == 1) or pytest.fail(f"{a.aligns} {b.aligns}")),
    w("replica_barriers", "matching", "activations", check=differs(_bv)),
    w("replica_barriers", "n_points", 7, check=lambda a, b: b.alphas.shape == (7,)
      or pytest.fail()),
    w("replica_barriers", "metric", "error", check=differs(_bv)),
    w("replica_barriers", "kind", "midpoint", check=differs(_bv)),
    w("replica_barriers", "reference", "mean", check=differs(_bv)),
    w("replica_barriers", "split", "test", check=differs(_bv)),
    w("replica_barriers", "max_pairs", 2, check=lambda a, b: b.pairs.shape == (2, 2)
      or pytest.fail()),
    w("replica_barriers", "seed", 1, max_pairs=2, check=differs(lambda r: r.pairs)),
    threads("replica_barriers"),
]

_PI = {  # permutation_interpolation: option -> (alternative, observable); base above
    "ks": ([1, 2], lambda r: r.copies.k),
    "full": (False, lambda r: r.copies.k),
    "n_trials": (2, lambda r: r.copies.k),
    "n_points": (7, lambda r: r.copies.alphas),
    "n_replica_pairs": (3, lambda r: r.replicas.pairs),
    "matching": ("activations", lambda r: r.replicas.barrier),
    "replicas": (gl.Ensemble.init([5, 8, 3], replicas=3, seed=7), lambda r: r.replicas.barrier),
    "replica": (2, lambda r: r.copies.barrier),
    "metric": ("error", lambda r: r.copies.barrier),
    "kind": ("midpoint", lambda r: r.copies.barrier),
    "reference": ("mean", lambda r: r.copies.barrier),
    "split": ("test", lambda r: r.copies.barrier),
    "seed": (1, lambda r: (r.copies.barrier, r.replicas.pairs)),
}
CASES += [w("permutation_interpolation", o, alt, check=differs(get))
          for o, (alt, get) in _PI.items()]
CASES += [threads("permutation_interpolation"),
          w("permutation_interpolation", "layer", 1, check=None, label="deep")]

# options that only act on deeper networks (coordinate descent, several hidden layers)
DEEP_RUNNERS = {
    "align_to": (_spied(lambda **k: sy.align_to(DEEP, **k)), dict(reference=0)),
    "align_ensemble": (_spied(lambda **k: sy.align_ensemble(DEEP, **k)), {}),
    "pairwise_alignment": (_spied(lambda **k: sy.pairwise_alignment(DEEP, **k)), {}),
    "permutation_barrier_scan": (lambda **k: sy.permutation_barrier_scan(DA, DATA, **k),
                                 dict(ks=[1], n_trials=1, n_points=6, layer=1)),
    "permutation_interpolation": (lambda **k: sy.permutation_interpolation(DA, DATA, **k),
                                  dict(ks=[1], n_trials=1, n_points=6, layer=2)),
}

# the old spellings of renamed options (one release): they warn and give the new result
DEPRECATED = [
    dep("random_permutation", "k_transpositions", 2, "n_transpositions"),
    dep("match_weights", "restarts", 3, "n_restarts"),
    dep("align_ensemble", "method", "mean", "alignment"),
    dep("interpolate", "align", "weights", {"alignment": "pairwise", "matching": "weights"}),
    dep("interpolate", "align", "activations", {"alignment": "pairwise",
                                                "matching": "activations"}, label="activations"),
    dep("interpolate", "align", None, {"alignment": "none"}, label="none", changes=False),
    dep("interpolate", "align_samples", 3, "n_match_samples", alignment="pairwise",
        matching="activations"),
    dep("permutation_barrier_scan", "trials", 2, "n_trials"),
    dep("replica_barriers", "aligns", (None, "activations"),
        {"alignment": ("none", "pairwise"), "matching": "activations"}),
    dep("permutation_interpolation", "trials", 2, "n_trials"),
    dep("permutation_interpolation", "replica_pairs", 3, "n_replica_pairs"),
    dep("permutation_interpolation", "align", "activations", "matching"),
]


@pytest.fixture(scope="module", autouse=True)
def _close_dask_client():
    """The client= rows share one in-process Dask cluster: closed after this module."""
    yield
    dask_clients.close()


RUN = wiring.Runner(RUNNERS)
RUN_DEEP = wiring.Runner(DEEP_RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case):
    (RUN_DEEP if case.label == "deep" else RUN).check(case)


@pytest.mark.parametrize("case", DEPRECATED, ids=lambda c: c.id)
def test_old_keyword_still_works(case):
    RUN.check_deprecated(case)


def test_every_option_has_a_wiring_row():
    assert wiring.missing_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, CASES + DEPRECATED, NOT_OBSERVABLE) == []
    assert wiring.untested_renames(SIGNATURES, DEPRECATED) == []
