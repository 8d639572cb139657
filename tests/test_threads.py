"""The thread-count policy: one resolver, capped counts, context-local set_threads."""
import os
import threading

import numpy as np
import pytest

import glasslens as gl
from glasslens._lib._threads import MAX_THREADS_PER_CPU, max_threads


@pytest.fixture(scope="module")
def small():
    ds = gl.load_dataset("digits", n_train=120, n_test=60)
    ens = gl.Ensemble.init([64, 16, 10], 3, seed=1)
    return ds, ens


def test_cap_is_a_multiple_of_the_cpu_count():
    assert max_threads() == MAX_THREADS_PER_CPU * (os.cpu_count() or 1)
    assert gl.resolve_threads(max_threads()) == max_threads()


@pytest.mark.parametrize("n", [10**5, 50_000, 2**31, 2**40])
def test_huge_thread_counts_are_capped_with_a_warning(n):
    with pytest.warns(RuntimeWarning, match=f"n_threads={n} exceeds"):
        assert gl.resolve_threads(n) == max_threads()


@pytest.mark.parametrize("n", [10**5, 2**31])
def test_huge_thread_counts_reach_no_kernel(small, n):
    """Used to segfault inside libgomp (10**5) or dump pybind11's signature (>= 2**31)."""
    ds, ens = small
    ref = gl.evaluate(ens, ds.X_test, ds.y_test, n_threads=1)
    calls = [
        lambda: gl.evaluate(ens, ds.X_test, ds.y_test, n_threads=n),
        lambda: gl.probes.profile(ens[0], ds, [0.0, 0.1], n_directions=2, n_threads=n).train_loss,
        lambda: gl.symmetry.pairwise_alignment(ens, n_threads=n),
        lambda: gl.train_ensemble(ds, hidden=(4,), replicas=2, epochs=1, n_threads=n).flat(),
        lambda: gl.spinmodels.parallel_tempering("sk", 8, [1.0], n_replicas=2, n_samples=1,
                                                 n_equilibrate=2, n_measure=2,
                                                 n_threads=n).energy,
    ]
    for f in calls:
        with pytest.warns(RuntimeWarning, match="exceeds"):
            f()
    with pytest.warns(RuntimeWarning, match="exceeds"):
        got = gl.evaluate(ens, ds.X_test, ds.y_test, n_threads=n)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_bad_thread_counts():
    with pytest.raises(ValueError, match="got 0"):
        gl.resolve_threads(0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        gl.resolve_threads(2.0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        gl.resolve_threads(True)


def test_set_threads_is_context_local():
    """Overlapping blocks in two Python threads neither leak into each other nor stick."""
    base = gl.resolve_threads(None)
    inside = {}
    entered = [threading.Event(), threading.Event()]
    leave = threading.Event()

    def worker(k: int, n: int) -> None:
        with gl.set_threads(n):
            entered[k].set()
            leave.wait(10)
            inside[k] = gl.resolve_threads(None)
        inside[f"after{k}"] = gl.resolve_threads(None)

    ts = [threading.Thread(target=worker, args=(0, 1)),
          threading.Thread(target=worker, args=(1, 3))]
    for t in ts:
        t.start()
    for e in entered:
        assert e.wait(10)
    assert gl.resolve_threads(None) == base  # the main thread is untouched
    leave.set()
    for t in ts:
        t.join(10)
    assert inside[0] == 1 and inside[1] == min(3, max_threads())
    assert inside["after0"] == base and inside["after1"] == base
    assert gl.resolve_threads(None) == base


def test_set_threads_nests_and_restores():
    base = gl.resolve_threads(None)
    with gl.set_threads(1):
        assert gl.resolve_threads(None) == 1
        with gl.set_threads(2):
            assert gl.resolve_threads(None) == 2
        assert gl.resolve_threads(None) == 1
    assert gl.resolve_threads(None) == base
    with pytest.raises(RuntimeError):
        with gl.set_threads(2):
            raise RuntimeError
    assert gl.resolve_threads(None) == base
