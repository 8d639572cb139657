"""Property-based fuzzing of the public API with hypothesis (seeded: the same examples on every
run, so CI is deterministic).

Property: a public call given hostile arguments (wrong shapes, dtypes, NaN/inf, empty arrays,
zero, negative, huge or non-integral counts, strings, None) either returns or raises ValueError
or TypeError (or FloatingPointError for finite inputs whose result overflows) with a message of
the library's own: never a crash, another exception type, or a message from pybind11 or numpy
internals ("incompatible function arguments", "arg0", "index ... is out of bounds").
"""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glasslens as gl

pytestmark = pytest.mark.slow

SETTINGS = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
ALLOWED = (ValueError, TypeError, FloatingPointError)
FOREIGN = ("incompatible function arguments", "arg0", "is out of bounds", "unsupported operand",
           "object has no attribute", "not subscriptable", "could not broadcast",
           "cannot reshape", "invalid literal", "list index out of range", "division by zero")

# ---- hostile values ------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 7, 10**12, -10**12, 2**63, 0.5, -0.5, 1e300, -1e300,
                     float("nan"), float("inf"), -float("inf"), True, False, None, "x", "", b"1",
                     [], [1], (2,), {}, 1j]),
    st.integers(-5, 40), st.floats(allow_nan=True, allow_infinity=True, width=32))
COUNTS = st.one_of(st.integers(-3, 6), st.sampled_from([10**12, 2**40, 0.5, 2.0, float("nan"),
                                                        None, "3", True]))


@st.composite
def arrays(draw, max_side=6, ndim=None):
    nd = draw(st.integers(0, 3)) if ndim is None else ndim
    shape = tuple(draw(st.integers(0, max_side)) for _ in range(nd))
    kind = draw(st.sampled_from(["f8", "f4", "i8", "i1", "u1", "b", "c16", "U1", "O"]))
    n = int(np.prod(shape)) if shape else 1
    if kind == "U1":
        return np.full(shape, "a")
    if kind == "O":
        return np.array([None] * n, dtype=object).reshape(shape)
    vals = draw(st.lists(st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 1e30, -1e30, np.nan, np.inf,
                                          3.0, -7.0]), min_size=n, max_size=n))
    a = np.array(vals, dtype=np.float64).reshape(shape)
    if kind in ("i8", "i1", "u1", "b", "c16"):
        a = np.nan_to_num(a, nan=0, posinf=3, neginf=-3).clip(-100, 100).astype(kind)
    else:
        a = a.astype(kind)
    return a


ANY = st.one_of(arrays(), SCALARS)


#: outcome counts of every fuzzed call (read by bench/python/audit_reliability.py)
OUTCOMES: dict = {}


def _check(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
            OUTCOMES["returned"] = OUTCOMES.get("returned", 0) + 1
        except ALLOWED as exc:
            key = f"clear {type(exc).__name__}"
            OUTCOMES[key] = OUTCOMES.get(key, 0) + 1
            msg = str(exc)
            assert msg, f"{type(exc).__name__} without a message"
            for bad in FOREIGN:
                assert bad not in msg, f"foreign error message: {type(exc).__name__}: {msg}"


# ---- fixtures (module-level: hypothesis and function-scoped fixtures do not mix) ----------------
_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((40, 5)).astype(np.float32)
Y = (np.arange(40) % 3).astype(np.int64)
NET = gl.MLP.init([5, 4, 3], seed=0)
ENS = gl.Ensemble.init([5, 4, 3], 3, seed=0)
DATA = (X, Y, X[:10], Y[:10])


@SETTINGS
@given(ANY, ANY)
def test_evaluate(a, b):
    _check(lambda: gl.evaluate(ENS, a, b))


@SETTINGS
@given(ANY, COUNTS, COUNTS, SCALARS)
def test_train_ensemble(hidden, replicas, epochs, lr):
    _check(lambda: gl.train_ensemble(DATA, hidden=hidden, replicas=replicas, epochs=epochs,
                                     lr=lr, progress=False))


@SETTINGS
@given(ANY, COUNTS, SCALARS)
def test_mlp_and_ensemble_init(widths, replicas, seed):
    _check(lambda: gl.MLP.init(widths, seed=seed))
    _check(lambda: gl.Ensemble.init(widths, replicas, seed=seed))


@SETTINGS
@given(ANY, COUNTS, st.sampled_from(["filter", "layer", "global", "none", "x", None, 3]))
def test_profile(radii, k, norm):
    _check(lambda: gl.probes.profile(NET, DATA, radii, k, normalization=norm))


@SETTINGS
@given(COUNTS, SCALARS, st.sampled_from(["free", "threshold", "metropolis", "x", None]),
       COUNTS)
def test_random_walk(steps, step, mode, walkers):
    _check(lambda: gl.probes.random_walk(NET, DATA, steps, step, mode=mode, n_walkers=walkers))


@SETTINGS
@given(ANY)
def test_linear_sum_assignment(C):
    _check(lambda: gl.symmetry.linear_sum_assignment(C))
    _check(lambda: gl.symmetry.linear_sum_assignment_batch(C))


@SETTINGS
@given(ANY, SCALARS)
def test_permute(perm, layer):
    _check(lambda: gl.symmetry.permute(NET, perm, layer))


@SETTINGS
@given(ANY)
def test_replica_statistics(Q):
    _check(lambda: gl.replicas.overlap_distribution(Q))
    _check(lambda: gl.replicas.cluster(Q))
    _check(lambda: gl.replicas.overlaps_to_distances(Q))
    _check(lambda: gl.replicas.triangle_sides(Q))


@SETTINGS
@given(st.sampled_from(["sk", "ferromagnet", "paramagnet", "x", None, 1]), COUNTS, ANY, COUNTS)
def test_parallel_tempering(model, n, temps, reps):
    _check(lambda: gl.spinmodels.parallel_tempering(model, n, temps, n_replicas=reps,
                                                    n_samples=1, n_equilibrate=2, n_measure=2))


@SETTINGS
@given(ANY, ANY, ANY)
def test_spin_energies(J, h, s):
    _check(lambda: gl.spinmodels.spin_energies(J, h, s))


@SETTINGS
@given(ANY, SCALARS, SCALARS)
def test_fit_pseudolikelihood(S, l2, l1):
    _check(lambda: gl.maxent.fit_pseudolikelihood(S, l2=l2, l1=l1, max_iter=5))


@SETTINGS
@given(ANY, ANY)
def test_ising(h, J):
    _check(lambda: gl.maxent.Ising(h, J).energy(np.ones((1, 3), np.int8)))


@SETTINGS
@given(st.sampled_from(["digits", "teacher", "x", None, 3]), COUNTS, COUNTS, COUNTS)
def test_load_dataset(name, n_train, n_test, pca):
    _check(lambda: gl.load_dataset(name, n_train=n_train, n_test=n_test, pca=pca))


@SETTINGS
@given(ANY)
def test_hvp(v):
    _check(lambda: gl.flatness.hvp(NET, DATA, v))


# ---- no silent NaN: finite but extreme inputs raise FloatingPointError naming the cause --------
def test_extreme_finite_inputs_raise_instead_of_returning_nan():
    with pytest.raises(FloatingPointError, match="radii"):
        gl.probes.profile(NET, DATA, [0.0, 1e30], n_directions=2)
    with pytest.raises(FloatingPointError, match="step_size"):
        gl.probes.random_walk(NET, DATA, 50, 1e30, n_walkers=1)
    with pytest.raises(FloatingPointError, match="J="):
        gl.spinmodels.parallel_tempering("sk", 8, [1.0], n_replicas=2, n_samples=1,
                                         n_equilibrate=2, n_measure=2, J=1e300)
    with pytest.raises(FloatingPointError, match="max \\|v\\|"):
        gl.flatness.hvp(NET, X, Y, np.full(NET.flat().size, 1e38, np.float32))
    with pytest.raises(FloatingPointError, match="lr"):
        gl.train_ensemble(DATA, hidden=(4,), replicas=1, epochs=3, lr=1e30)
    # moderate values still work
    assert np.all(np.isfinite(gl.probes.profile(NET, DATA, [0.0, 1.0], n_directions=2).train_loss))
