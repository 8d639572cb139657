"""Interpolation curves, barrier definitions and the permutation scan."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens import symmetry as I
from glasslens import symmetry as S
from glasslens.nn import MLP


def _data(seed=0, n=300, d=10, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + 100, d)).astype(np.float32)
    teacher = rng.normal(size=(d, k))
    y = np.argmax(X @ teacher + 0.3 * rng.normal(size=(n + 100, k)), axis=1)
    return SimpleNamespace(X_train=X[:n], y_train=y[:n], X_test=X[n:], y_test=y[n:])


def _np_loss_err(net, X, y):
    z = net.forward(X).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean(), np.mean(np.argmax(z, axis=1) != y)


@pytest.fixture(scope="module")
def trained():
    data = _data()
    ens = gl.train_ensemble(data, hidden=(16,), replicas=2, epochs=15, batch_size=32, lr=0.05,
                            seed=1, n_threads=1)
    return data, ens


def test_endpoints_and_numpy_reference(trained):
    data, ens = trained
    a, b = ens[0], ens[1]
    c = I.interpolate(a, b, data, n_points=11)
    assert c.alphas.shape == (11,) and c.alphas[5] == 0.5
    la, aa = gl.evaluate(a, data.X_train, data.y_train)
    lb, ab = gl.evaluate(b, data.X_train, data.y_train)
    assert c.train_loss[0] == la[0] and c.train_loss[-1] == lb[0]
    assert c.train_error[0] == 1 - aa[0] and c.train_error[-1] == 1 - ab[0]
    lt, at = gl.evaluate(b, data.X_test, data.y_test)
    assert c.test_loss[-1] == lt[0] and c.test_error[-1] == 1 - at[0]
    ta, tb = a.flat().astype(np.float64), b.flat().astype(np.float64)
    for i, al in enumerate(c.alphas):
        net = MLP.from_flat(a.widths, ((1 - al) * ta + al * tb).astype(np.float32))
        lo, er = _np_loss_err(net, data.X_train, data.y_train)
        assert c.train_loss[i] == pytest.approx(lo, rel=1e-4, abs=1e-5)
        assert c.train_error[i] == pytest.approx(er, abs=1.5 / len(data.y_train))
        lo, er = _np_loss_err(net, data.X_test, data.y_test)
        assert c.test_loss[i] == pytest.approx(lo, rel=1e-4, abs=1e-5)
    assert c.distance == pytest.approx(np.linalg.norm(ta - tb), rel=1e-6)
    # tuple data (train only)
    c2 = I.interpolate(a, b, (data.X_train, data.y_train), n_points=11)
    np.testing.assert_array_equal(c2.train_loss, c.train_loss)
    assert c2.test_loss is None
    with pytest.raises(ValueError, match="no test"):
        I.barrier(c2, split="test")


def test_permuted_copy_and_alignment(trained):
    data, ens = trained
    a = ens[0]
    p = S.random_permutation(16, seed=3)
    b = S.permute(a, [p])
    c = I.interpolate(a, b, data, n_points=9)
    assert c.train_loss[-1] == pytest.approx(c.train_loss[0], rel=1e-5)
    assert c.test_error[-1] == pytest.approx(c.test_error[0], abs=1e-12)
    assert I.barrier(c).value > 0  # averaging different units costs loss
    for method in ("weights", "activations"):
        ca = I.interpolate(a, b, data, n_points=9, alignment="pairwise", matching=method)
        np.testing.assert_array_equal(ca.perms[0], np.argsort(p))
        np.testing.assert_allclose(ca.train_loss, ca.train_loss[0], rtol=1e-5)  # a flat path
        assert ca.distance == pytest.approx(0.0, abs=1e-6) and ca.cosine == pytest.approx(1.0)
    # independent replicas: aligning lowers the barrier
    raw = I.interpolate(ens[0], ens[1], data)
    al = I.interpolate(ens[0], ens[1], data, alignment="pairwise")
    assert al.cosine > raw.cosine
    assert I.barrier(al).value <= I.barrier(raw).value + 1e-6


def _curve(vals):
    vals = np.asarray(vals, dtype=np.float64)
    return I.Curve(np.linspace(0, 1, len(vals)), vals, vals / 10)


def test_barrier_definitions_on_hand_made_curves():
    c = _curve([1.0, 2.0, 4.0, 3.0, 3.0])  # alphas 0, .25, .5, .75, 1
    # interpolated reference: 1, 1.5, 2, 2.5, 3 -> gaps 0, .5, 2, .5, 0
    b = I.barrier(c)
    assert b.value == pytest.approx(2.0) and b.alpha == 0.5
    assert b.reference == "interpolated" and b.kind == "max" and b.metric == "loss"
    assert "max_a" in b.definition and "train_loss" in b.definition
    # mean reference 2: gaps -1, 0, 2, 1, 1
    assert I.barrier(c, reference="mean").value == pytest.approx(2.0)
    c2 = _curve([1.0, 2.0, 2.2, 3.4, 3.0])  # interp gaps 0, .5, .2, .9, 0 ; mean gaps -1,0,.2,1.4,1
    assert I.barrier(c2).value == pytest.approx(0.9)
    assert I.barrier(c2).alpha == 0.75
    assert I.barrier(c2, reference="mean").value == pytest.approx(1.4)
    assert I.barrier(c2, kind="midpoint").value == pytest.approx(0.2)
    assert I.barrier(c2, kind="midpoint", reference="mean").value == pytest.approx(0.2)
    assert I.barrier(c2, metric="error").value == pytest.approx(0.09)
    assert float(I.barrier(c2, preset="ainsworth")) == pytest.approx(1.4)
    assert float(I.barrier(c2, preset="entezari")) == pytest.approx(0.9)
    assert float(I.barrier(c2, preset="frankle")) == pytest.approx(0.14)
    assert I.barrier(c2, reference="linear").value == pytest.approx(0.9)  # alias
    # a convex (below the chord) curve has barrier 0 at the endpoints
    assert I.barrier(_curve([1.0, 0.5, 0.2, 0.5, 1.0])).value == pytest.approx(0.0)
    # even grid: midpoint interpolated between the two nearest points
    c3 = I.Curve(np.linspace(0, 1, 4), np.array([0.0, 3.0, 3.0, 0.0]), np.zeros(4))
    assert I.barrier(c3, kind="midpoint").value == pytest.approx(3.0)
    with pytest.raises(ValueError, match="metric"):
        I.barrier(c, metric="accuracy")
    with pytest.raises(ValueError, match="preset"):
        I.barrier(c, preset="foo")
    with pytest.raises(TypeError, match="Curve"):
        I.barrier([1, 2, 3])


def test_permutation_barrier_scan(trained):
    data, ens = trained
    net = ens[0]
    res = I.permutation_barrier_scan(net, data, n_trials=2, n_points=9, seed=4)
    assert set(res.k.tolist()) == {1, 2, 4, 8, -1}
    np.testing.assert_array_equal(res.m[res.k > 0], 2 * res.k[res.k > 0])
    assert np.all(res.m[res.k == -1] == 16)
    assert res.train_loss.shape == (len(res.k), 9)
    # every curve starts at the network and ends at a function-identical copy
    l0 = gl.evaluate(net, data.X_train, data.y_train)[0][0]
    np.testing.assert_allclose(res.train_loss[:, 0], l0, rtol=0)
    np.testing.assert_allclose(res.train_loss[:, -1], l0, rtol=1e-5)
    # barrier = the curve's barrier; and one curve checked against interpolate()
    for r in range(len(res.k)):
        assert res.barrier[r] == pytest.approx(I.barrier(res.curve(r)).value, abs=1e-12)
    p = S.random_permutation(16, n_transpositions=2,
                             seed=int(np.random.SeedSequence([4, 3, 1]).generate_state(1)[0]))
    c = I.interpolate(net, S.permute(net, [p]), data, n_points=9)
    row = np.flatnonzero((res.k == 2) & (res.trial == 1))[0]
    np.testing.assert_array_equal(res.train_loss[row], c.train_loss)
    assert np.all(res.barrier >= -1e-6)
    assert np.all((res.cosine >= -1) & (res.cosine <= 1))
    # more swapped units: larger barrier on average
    s = res.barrier_by_k()
    assert s[8][0] > s[1][0]
    assert "max_a" in res.definition
    with pytest.raises(ValueError, match="ks entry"):
        I.permutation_barrier_scan(net, data, ks=[9])


def test_bad_input(trained):
    data, ens = trained
    with pytest.raises(TypeError, match="MLP"):
        I.interpolate(ens, ens[0], data)
    with pytest.raises(ValueError, match="architecture"):
        I.interpolate(ens[0], MLP.init([10, 8, 3]), data)
    with pytest.raises(ValueError, match="matching must be one of"):
        I.interpolate(ens[0], ens[1], data, alignment="pairwise", matching="magic")
    with pytest.raises(ValueError, match="alignment must be one of"):
        I.interpolate(ens[0], ens[1], data, alignment="reference")
    with pytest.raises(TypeError, match="data"):
        I.interpolate(ens[0], ens[1], 5)
    with pytest.raises(ValueError, match="features"):
        I.interpolate(ens[0], ens[1], (np.zeros((5, 3)), np.zeros(5, int)))
    with pytest.raises(ValueError, match="n_points"):
        I.interpolate(ens[0], ens[1], data, n_points=1)


def test_exported():
    assert gl.symmetry.interpolate is I.interpolate and gl.symmetry.barrier is I.barrier
    assert gl.symmetry.permutation_barrier_scan is I.permutation_barrier_scan


def test_replica_barriers(trained):
    data, ens = trained
    res = I.replica_barriers(ens, data, alignment=("none", "pairwise"), n_points=11)
    assert res.pairs.tolist() == [[0, 1]]
    assert res.barrier.shape == (1, 2) and res.train_loss.shape == (1, 2, 11)
    raw = I.interpolate(ens[0], ens[1], data, n_points=11)
    al = I.interpolate(ens[0], ens[1], data, n_points=11, alignment="pairwise")
    np.testing.assert_array_equal(res.train_loss[0, 0], raw.train_loss)
    np.testing.assert_array_equal(res.test_error[0, 1], al.test_error)
    assert res.barrier[0, 0] == pytest.approx(I.barrier(raw).value, abs=1e-12)
    assert res.barrier[0, 1] == pytest.approx(I.barrier(al).value, abs=1e-12)
    assert res.cosine[0, 1] == pytest.approx(al.cosine) and res.distance[0, 0] == pytest.approx(raw.distance)
    with pytest.raises(ValueError, match="pairs"):
        I.replica_barriers(ens, data, pairs=[[0, 2]])
    with pytest.raises(ValueError, match="alignment must be one of"):
        I.replica_barriers(ens, data, alignment=("best",))
