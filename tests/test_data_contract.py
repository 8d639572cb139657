"""The one data contract (_lib._data.as_data) and the one loss evaluator (nn.evaluate).

* every public function that takes a data set accepts every form (Dataset, attribute object,
  (X, y), (X_train, y_train, X_test, y_test), mapping) and gives the same result for each;
* every bad form gives the one error message, naming the argument and the accepted forms;
* the loss of one network on one data set is bit-identical through every public entry point,
  and agrees with a float64 numpy reference to 1e-6.
"""
import importlib.util
import pathlib
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens._lib._data import FORMS, as_data

_spec = importlib.util.spec_from_file_location(
    "nn_reference", pathlib.Path(__file__).parent / "nn_reference.py")
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)
loss_acc = _ref.loss_acc

D, C = 8, 3


def _arrays(sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(260, D)).astype(np.float32)
    if sparse:  # < 10% nonzeros: the Hessian operator takes its zero-skipping input path
        X[rng.random(X.shape) < 0.95] = 0.0
    w = rng.normal(size=(D, C))
    y = np.argmax(X @ w + 0.5 * rng.normal(size=(260, C)), axis=1)
    y[:C] = np.arange(C)  # every class in the training split
    return X[:200], y[:200], X[200:], y[200:]


XTR, YTR, XTE, YTE = _arrays()

FORMS_OF = {
    "dataset": lambda: gl.datasets.Dataset(XTR, YTR, XTE, YTE, "toy", C),
    "attributes": lambda: SimpleNamespace(X_train=XTR, y_train=YTR, X_test=XTE, y_test=YTE),
    "tuple2": lambda: (XTR, YTR),
    "tuple4": lambda: (XTR, YTR, XTE, YTE),
    "mapping": lambda: {"X_train": XTR, "y_train": YTR, "X_test": XTE, "y_test": YTE},
}
HAS_TEST = {k: k != "tuple2" for k in FORMS_OF}


@pytest.fixture(scope="module")
def nets():
    ens = gl.nn.train_ensemble((XTR, YTR, XTE, YTE), hidden=(6,), replicas=2, epochs=2,
                               batch_size=32, lr=0.05, seed=1)
    return ens


def _flat(x):
    """Comparable pieces of a result: a dict name -> array (test_* only with a test split)."""
    return {k: np.asarray(v, dtype=float) for k, v in x.items() if v is not None}


# name -> (argument name in the messages, function of (data, ens) -> dict of arrays)
CASES = {
    "train_ensemble": ("dataset", lambda d, e: (lambda r: {
        "theta": r.flat(), "train_loss": r.metrics["train_loss"],
        "test_loss": r.metrics["test_loss"] if HAS_TEST_NOW[0] else None})(
        gl.nn.train_ensemble(d, hidden=(5,), replicas=2, epochs=1, batch_size=50, seed=3))),
    "nn.evaluate": ("X", lambda d, e: dict(zip(("loss", "acc"), gl.nn.evaluate(e, d)))),
    "nn.loss_and_grad": ("X", lambda d, e: dict(zip(("loss", "grad"),
                                                     gl.nn.loss_and_grad(e[0], d)))),
    "probes.network_loss": ("data", lambda d, e: dict(zip(("loss", "acc"),
                                                         gl.probes.network_loss(e[0], d)))),
    "probes.profile": ("data", lambda d, e: (lambda r: {
        "train": r.train_loss, "loss0": r.loss0, "test": r.test_loss, "test0": r.test_loss0})(
        gl.probes.profile(e[0], d, [0.05, 0.2], n_directions=3))),
    "probes.line": ("data", lambda d, e: (lambda r: {"train": r.train_loss, "test": r.test_loss})(
        gl.probes.line(e[0], d, e[1], span=(0.0, 1.0), n_points=3))),
    "probes.plane": ("data", lambda d, e: (lambda r: {"train": r.train_loss,
                                                      "test": r.test_loss})(
        gl.probes.plane(e[0], d, n_points=3))),
    "probes.random_walk": ("data", lambda d, e: (lambda r: {
        "train": r.train_loss, "loss0": r.loss0,
        "test": r.test_loss if HAS_TEST_NOW[0] else None})(
        gl.probes.random_walk(e[0], d, 6, 0.05, n_walkers=2, record_every=2))),
    "symmetry.interpolate": ("data", lambda d, e: (lambda c: {
        "train": c.train_loss, "test": c.test_loss,
        "barrier": gl.symmetry.barrier(c).value})(
        gl.symmetry.interpolate(e[0], e[1], d, n_points=5))),
    "symmetry.permutation_interpolation": ("data", lambda d, e: (lambda r: {
        "rows": [row[k] for row in r.to_dict()["rows"] for k in sorted(row)
                 if isinstance(row[k], (float, int)) and not isinstance(row[k], bool)]})(
        gl.symmetry.permutation_interpolation(e, d, ks=[1], n_trials=1, full=False, n_points=5,
                                              n_replica_pairs=1))),
    "symmetry.match_activations": ("X", lambda d, e: {
        "perm": np.concatenate(gl.symmetry.match_activations(e[0], e[1], d).perms)}),
    "replicas.overlap_matrix(function)": ("X", lambda d, e: {
        "q": gl.replicas.overlap_matrix(e, kind="function", X=d)}),
    "flatness.hessian_top": ("data", lambda d, e: {
        "top": gl.flatness.hessian_top(e[0], d, k=2, seed=1).values}),
    "flatness.hessian_trace": ("data", lambda d, e: {
        "tr": gl.flatness.hessian_trace(e[0], d, n_samples=4, seed=1).value}),
    "flatness.hessian_density": ("data", lambda d, e: {
        "rho": gl.flatness.hessian_density(e[0], d, n_probes=2, n_steps=10, n_grid=32).density}),
    "flatness.loss_and_gradient": ("data", lambda d, e: dict(zip(
        ("loss", "grad"), gl.flatness.loss_and_gradient(e[0], d)))),
    "flatness.batch_loss": ("data", lambda d, e: dict(zip(
        ("loss", "acc"), gl.flatness.batch_loss(e[0], e.flat(), d)))),
    "flatness.measures": ("data", lambda d, e: (lambda r: {"loss": r.loss, **r.values})(
        gl.flatness.measures(e[0], d, which=("local_energy", "hessian_top"), seed=2))),
    "effective_model.train_binary": ("dataset", lambda d, e: (lambda r: {
        "theta": np.concatenate([t.ravel() for t in r.theta]),
        "loss": r.history["train_loss"]})(
        gl.effective_model.train_binary(d, hidden=(), replicas=1, epochs=1, batch_size=50,
                                        n_eval=2))),
}
HAS_TEST_NOW = [True]  # whether the form being run has a test split (for test-only outputs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_form_gives_the_same_result(case, nets):
    _, fn = CASES[case]
    ref = None
    for form, make in FORMS_OF.items():
        HAS_TEST_NOW[0] = HAS_TEST[form]
        try:
            got = _flat(fn(make(), nets))
        finally:
            HAS_TEST_NOW[0] = True
        if ref is None:
            ref = got
            continue
        for k, v in ref.items():
            if k.startswith("test") and not HAS_TEST[form]:
                continue
            assert k in got, (case, form, k)
            assert np.array_equal(got[k], v, equal_nan=True), (case, form, k)


def _bad_forms():
    Xn = XTR.copy()
    Xn[4, 1] = np.nan
    return {
        "int": (42, TypeError, "is a int without attribute"),
        "short tuple": ((XTR,), ValueError, "tuple of length 1"),
        "no y_train key": ({"X_train": XTR}, TypeError, "without key(s) 'y_train'"),
        "lengths": ((XTR, YTR[:-1]), ValueError, "199 labels, the features have 200 rows"),
        "NaN": ((Xn, YTR), ValueError, "contains NaN or inf"),
        "negative label": ((XTR, YTR - 1), ValueError, "negative label"),
        "1-D X": ((XTR[:, 0], YTR), ValueError, "must be a 2-D array"),
        "strings": ((XTR.astype(str), YTR), TypeError, "must be real numbers"),
        "test features": ((XTR, YTR, XTE[:, :3], YTE), ValueError, "X_test has 3 features"),
    }


#: functions that need only inputs: a plain array X is accepted too, so a non-data argument is
#: reported as a bad array (same message tail, the accepted forms)
INPUTS_ONLY = {"symmetry.match_activations", "replicas.overlap_matrix(function)"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_bad_form_gives_the_one_message(case, nets):
    arg, fn = CASES[case]
    for what, (bad, exc, msg) in _bad_forms().items():
        with pytest.raises((TypeError, ValueError) if case in INPUTS_ONLY else exc) as ei:
            fn(bad, nets)
        text = str(ei.value)
        if case not in INPUTS_ONLY:
            assert msg in text, (case, what, text)
        assert text.endswith(FORMS if case in INPUTS_ONLY else f"{arg} must be {FORMS}"), \
            (case, what, text)
        assert arg in text.split(";")[0], (case, what, text)


def test_labels_out_of_range_for_the_network(nets):
    for fn in (lambda d: gl.probes.profile(nets[0], d, [0.1]),
               lambda d: gl.symmetry.interpolate(nets[0], nets[1], d),
               lambda d: gl.flatness.hessian_top(nets[0], d)):
        with pytest.raises(ValueError, match=r"data\.y_train has label 5 out of range for 3 "
                                             r"output classes; data must be"):
            fn((XTR, np.where(YTR == 2, 5, YTR)))


def test_as_data_contract():
    d = as_data({"X_train": XTR.astype(np.float64), "y_train": YTR.astype(np.int64),
                 "X_test": XTE, "y_test": YTE, "n_classes": 4})
    assert d.X_train.dtype == np.float32 and d.X_train.flags.c_contiguous
    assert d.y_train.dtype == np.int32 and d.has_test and d.classes() == 4
    assert as_data(d) is d
    assert not as_data((XTR, YTR, np.zeros((0, D)), np.zeros(0))).has_test  # empty test split
    with pytest.raises(ValueError, match="both X_test and y_test or neither"):
        as_data((XTR, YTR, XTE, None))
    with pytest.raises(ValueError, match="has no test set"):
        as_data((XTR, YTR), need_test=True)
    with pytest.raises(ValueError, match="network expects 9"):
        as_data((XTR, YTR), n_features=9)


# ---- the one evaluator ---------------------------------------------------------------------
@pytest.mark.parametrize("sparse", [False, True])
def test_loss_is_bit_identical_through_every_entry_point(sparse):
    Xtr, ytr, Xte, yte = _arrays(sparse=sparse, seed=5)
    data = (Xtr, ytr, Xte, yte)
    ens = gl.nn.train_ensemble(data, hidden=(7,), replicas=3, epochs=2, batch_size=40, seed=2)
    net, other = ens[1], ens[2]
    L, A = gl.nn.evaluate(net, Xtr, ytr)
    L, A = float(L[0]), float(A[0])
    losses = {
        "nn.evaluate(ensemble)": float(gl.nn.evaluate(ens, Xtr, ytr)[0][1]),
        "nn.evaluate(data)": float(gl.nn.evaluate(net, data)[0][0]),
        "nn.loss_and_grad": gl.nn.loss_and_grad(net, Xtr, ytr)[0],
        "train_ensemble.metrics": float(ens.metrics["train_loss"][1]),
        "train_ensemble.history": float(ens.history["train_loss"][1, -1]),
        "probes.network_loss": gl.probes.network_loss(net, Xtr, ytr)[0],
        "probes.profile.loss0": gl.probes.profile(net, data, [0.1], n_directions=2).loss0,
        "probes.random_walk.loss0": gl.probes.random_walk(net, data, 3, 0.01).loss0,
        "symmetry.interpolate[0]": float(gl.symmetry.interpolate(net, other, data,
                                                                 n_points=3).train_loss[0]),
        "symmetry.interpolate[-1]": float(gl.symmetry.interpolate(other, net, data,
                                                                  n_points=3).train_loss[-1]),
        "flatness.loss_and_gradient": gl.flatness.loss_and_gradient(net, Xtr, ytr)[0],
        "flatness.batch_loss": float(gl.flatness.batch_loss(net, net.flat()[None], Xtr,
                                                            ytr)[0][0]),
        "flatness.HessianOperator.loss": gl.flatness.HessianOperator(net, Xtr, ytr).loss,
        "flatness.measures.loss": gl.flatness.measures(net, data, which=("hessian_top",)).loss,
    }
    bad = {k: v for k, v in losses.items() if v != L}
    assert not bad, f"differ from nn.evaluate's {L!r}: {bad}"
    accs = {
        "probes.network_loss": gl.probes.network_loss(net, Xtr, ytr)[1],
        "probes.profile.acc0": gl.probes.profile(net, data, [0.1], n_directions=2).acc0,
        "probes.random_walk.acc0": gl.probes.random_walk(net, data, 3, 0.01).acc0,
        "train_ensemble.metrics": float(ens.metrics["train_acc"][1]),
        "flatness.HessianOperator.accuracy": gl.flatness.HessianOperator(net, Xtr, ytr).accuracy,
    }
    assert all(v == A for v in accs.values()), (A, accs)
    # interpolate reports errors, 1 - accuracy of the same evaluator
    assert gl.symmetry.interpolate(net, other, data, n_points=3).train_error[0] == 1.0 - A
    # test split too
    TL = float(gl.nn.evaluate(net, Xte, yte)[0][0])
    assert gl.probes.profile(net, data, [0.1], n_directions=2).test_loss0 == TL
    assert float(ens.metrics["test_loss"][1]) == TL
    # the float64 numpy reference
    ref_l, ref_a = loss_acc(net.widths, net.has_bias, net.flat(), Xtr, ytr)
    assert abs(L - ref_l) <= 1e-6 * max(1.0, abs(ref_l)) and A == pytest.approx(ref_a, abs=1e-12)
