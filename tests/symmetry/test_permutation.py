"""glasslens.permutation_interpolation (Protocol 2 in one call) and glasslens.replica_analysis."""
import json

import numpy as np
import pytest

import glasslens as gl
from glasslens import datasets
from glasslens.report import to_jsonable


@pytest.fixture(scope="module")
def trained():
    ds = datasets.load("digits", n_train=400, n_test=150, seed=0)
    ens = gl.train_ensemble(ds, hidden=(16,), replicas=6, epochs=15, batch_size=32, lr=0.05,
                            seed=0, n_threads=2, progress=False)
    return ds, ens


def _ce(net, X, y):
    z = net.forward(X).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def test_copies_k0_zero_barrier_and_function_preserving_endpoints(trained):
    ds, ens = trained
    res = gl.symmetry.permutation_interpolation(ens, ds, ks=[0, 1, 4, 8], n_trials=2, n_points=9,
                                       n_replica_pairs=0, n_threads=2)
    c = res.copies
    assert res.replicas is None and res.width == 16 and res.replica == 0
    k0 = c.k == 0
    assert k0.sum() == 2 and np.all(c.m[k0] == 0) and np.all(c.distance[k0] == 0)
    np.testing.assert_allclose(c.barrier[k0], 0.0, atol=1e-12)
    np.testing.assert_allclose(res.other_copies[k0], 0.0, atol=1e-12)
    # copies compute the same function: equal endpoints on every path, = numpy loss of replica 0
    l0 = _ce(ens[0], ds.X_train, ds.y_train)
    np.testing.assert_allclose(c.train_loss[:, 0], l0, rtol=1e-5)
    np.testing.assert_allclose(c.train_loss[:, -1], c.train_loss[:, 0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(c.test_error[:, -1], c.test_error[:, 0], atol=1e-12)
    # units moved = 2k, full permutation moves all 16
    for k in (1, 4, 8):
        assert np.all(c.m[c.k == k] == 2 * k)
    assert np.all(c.m[c.k == -1] == 16)
    # moving more units raises the barrier (trained network, means over trials)
    s = c.barrier_by_k()
    assert s[0][0] < s[1][0] < s[8][0]
    # the barrier is the max excess over the straight line of the stored curves
    a = c.alphas
    ref = (1 - a) * c.train_loss[:, :1] + a * c.train_loss[:, -1:]
    np.testing.assert_allclose(c.barrier, np.max(c.train_loss - ref, axis=1), rtol=1e-12)


def test_replica_arm_raw_vs_aligned(trained):
    ds, ens = trained
    res = gl.symmetry.permutation_interpolation(ens, ds, n_trials=1, n_points=11, n_replica_pairs=None,
                                       seed=3, n_threads=2)
    r = res.replicas
    assert r.pairs.shape == (15, 2) and r.aligns == [None, "weights"]
    raw, al = r.barrier[:, 0], r.barrier[:, 1]
    # measured: raw ~0.5 nats, aligned ~0.04; alignment removes most of the barrier
    assert al.mean() < 0.5 * raw.mean()
    assert np.mean(al <= raw) >= 0.8
    assert np.all(r.cosine[:, 1] > r.cosine[:, 0])
    # independent check of one raw path: loss at alpha = 1/2 recomputed with numpy
    a_i, b_i = (int(v) for v in r.pairs[0])
    mid = gl.MLP.from_flat(ens.widths, 0.5 * (ens[a_i].flat().astype(np.float64)
                                              + ens[b_i].flat().astype(np.float64)))
    assert r.train_loss[0, 0, 5] == pytest.approx(_ce(mid, ds.X_train, ds.y_train), rel=1e-4)
    # aligned path ends at the same function as the raw path
    np.testing.assert_allclose(r.train_loss[:, 1, -1], r.train_loss[:, 0, -1], rtol=1e-5)
    # the default ks are 1, 2, 4, 8 (H/2) plus the full permutation
    assert res.options["ks"] == [1, 2, 4, 8] and res.options["full"]


def test_table_plot_summary(trained, tmp_path):
    ds, ens = trained
    res = gl.symmetry.permutation_interpolation(ens, ds, ks=[1, 2], n_trials=2, n_points=7,
                                       n_replica_pairs=3, matching=["weights", "activations"],
                                       metric="error", n_threads=1)
    t = res.table()
    lines = t.splitlines()
    assert len(lines) == 2 + 2 + 1 + 3  # header, sep, k=1, k=2, full, raw, weights, activations
    assert "error barrier" in lines[0] and "loss barrier mean" in lines[0]
    assert "copy, full permutation" in t and "replica pairs, activations-aligned" in t
    rows = res.to_dict()["rows"]
    assert rows[0]["barrier_mean"] == pytest.approx(res.copies.barrier[res.copies.k == 1].mean())
    fig = res.plot()
    assert len(fig.axes) >= 3
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 5000
    json.dumps(to_jsonable(res.to_dict(arrays=True)), allow_nan=False)
    # an MLP alone has no replica arm
    res1 = gl.symmetry.permutation_interpolation(ens[2], (ds.X_train, ds.y_train), ks=[1], n_trials=1,
                                        n_points=3, full=False)
    assert res1.replicas is None and res1.replica is None
    assert len(res1.table().splitlines()) == 3
    res1.plot()


def test_deterministic_across_threads(trained):
    ds, ens = trained
    kw = dict(ks=[2], n_trials=2, n_points=5, n_replica_pairs=2, seed=7)
    a = gl.symmetry.permutation_interpolation(ens, ds, n_threads=1, **kw)
    b = gl.symmetry.permutation_interpolation(ens, ds, n_threads=2, **kw)
    np.testing.assert_array_equal(a.copies.barrier, b.copies.barrier)
    np.testing.assert_array_equal(a.replicas.barrier, b.replicas.barrier)


def test_bad_input(trained):
    ds, ens = trained
    P = gl.symmetry.permutation_interpolation
    with pytest.raises(ValueError, match="more than H/2"):
        P(ens, ds, ks=[9])
    with pytest.raises(ValueError, match="ks entry"):
        P(ens, ds, ks=[-1])
    with pytest.raises(ValueError, match="n_points"):
        P(ens, ds, n_points=1)
    other = gl.train_ensemble(ds, hidden=(8,), replicas=2, epochs=1, seed=0, progress=False)
    with pytest.raises(ValueError, match="same architecture"):
        P(ens[0], ds, replicas=other)
    with pytest.raises(TypeError, match="replicas must be an Ensemble"):
        P(ens[0], ds, replicas=ens[1])
    with pytest.raises(TypeError, match="net_or_ensemble"):
        P(ens.flat(), ds)
    with pytest.raises(ValueError, match="matching must be one of"):
        P(ens, ds, matching="bogus")
    with pytest.raises(ValueError, match="features"):
        P(ens, (ds.X_train[:, :10], ds.y_train))
    with pytest.raises(ValueError, match="replica"):
        P(ens, ds, replica=6)
    with pytest.raises(ValueError, match="nothing to do"):
        P(ens, ds, ks=[], full=False)
    with pytest.raises(ValueError, match="split"):
        P(ens, ds, split="valid")
    nohidden = gl.MLP.init([64, 10], seed=0)
    with pytest.raises(ValueError, match="no hidden layer"):
        P(nohidden, ds)


def test_replica_analysis_alias_and_sweep(trained):
    ds, ens = trained
    a = gl.replicas.replica_analysis(ens, n_null=3, seed=1)
    b = gl.replicas.replica_structure(ens, alignment="pairwise", n_null=3, seed=1)
    np.testing.assert_array_equal(a.Q, b.Q)
    assert a.to_dict() == b.to_dict()
    c = gl.replicas.replica_analysis(ens, alignment="reference", n_null=3, seed=1)
    assert not np.array_equal(c.Q, a.Q)
    # pairwise overlaps are each pair's optimum: at least those of one common labelling
    iu = np.triu_indices(ens.n_replicas, 1)
    assert np.all(a.Q[iu] >= c.Q[iu] - 1e-6)
    rng = np.random.default_rng(0)
    S = np.where(rng.random((8, 200)) < 0.5, -1, 1).astype(np.int8)
    sw = gl.replicas.replica_analysis({"ens": ens, "spins": S}, n_null=3, seed=1, null=("gaussian",))
    assert isinstance(sw, gl.replicas.ReplicaSweep) and list(sw) == ["ens", "spins"]
    np.testing.assert_array_equal(sw["ens"].Q, a.Q)
    t = sw.table().splitlines()
    assert len(t) == 4 and t[2].startswith("| ens | 6 |")
    fig = sw.plot(scale="peak")
    assert max(np.max(ln.get_ydata()) for ln in fig.axes[0].get_lines()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="scale"):
        sw.plot(scale="log")
    with pytest.raises(ValueError, match="non-empty"):
        gl.replicas.replica_analysis({})
