"""The result protocol (glasslens._lib._results.Result): every public result class gives a
JSON-able ``to_dict()``, a markdown ``table()`` and a matplotlib Figure from ``plot()`` (or the
documented NotImplementedError)."""
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

import glasslens as gl
from glasslens import datasets
from glasslens._lib._results import Result
from glasslens.report import to_jsonable

#: classes without a figure (``plot`` raises NotImplementedError naming the class)
NO_PLOT = {"Matching", "Barrier", "FlatnessResult"}


@pytest.fixture(scope="module")
def small():
    ds = datasets.load("teacher", n_train=120, n_test=60, n_features=6, n_classes=3, seed=2)
    ens = gl.nn.Ensemble.init([6, 8, 3], replicas=4, seed=1)
    return ds, ens


def _effective_model_result():
    from glasslens.effective_model import _binarynet as bn

    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 20)).astype(np.float32)
    y = rng.integers(0, 10, 80)
    data = bn.ArrayDataset(X, y, X[:40], y[:40])
    return gl.effective_model.run_effective_model(
        data, "shallow", n_replicas=2, epochs=1, n_per_network=20, min_accuracy=0.0,
        fit="pseudolikelihood", landscape=False, n_tap_starts=0, seed=0, n_threads=1)


def _build(name, small):
    ds, ens = small
    net, a, b = ens[0], ens[0], ens[1]
    S, I, R = gl.symmetry, gl.symmetry, gl.replicas
    Xy = (ds.X_train, ds.y_train)
    if name == "ProfileResult":
        return gl.probes.profile(net, ds, [0.0, 0.5], n_directions=2)
    if name == "SliceResult":
        return gl.probes.line(net, ds, n_points=3)
    if name == "SliceResult2d":
        return gl.probes.plane(net, ds, n_points=3)
    if name == "WalkResult":
        return gl.probes.random_walk(net, ds, 20, 0.01, n_walkers=2, record_every=10)
    if name == "Curve":
        return I.interpolate(a, b, ds, n_points=3)
    if name == "Barrier":
        return I.barrier(I.interpolate(a, b, ds, n_points=3))
    if name == "ScanResult":
        return I.permutation_barrier_scan(net, ds, ks=[1], n_trials=1, n_points=3)
    if name == "ReplicaBarriers":
        return I.replica_barriers(ens, ds, n_points=3, max_pairs=2)
    if name == "PermutationInterpolation":
        return S.permutation_interpolation(ens, ds, ks=[1], n_trials=1, n_points=3,
                                           n_replica_pairs=1)
    if name == "Matching":
        return S.match_weights(a, b)
    if name == "Alignment":
        return S.align_ensemble(ens)
    if name in ("ReplicaStructure", "OverlapDistribution", "ClusterResult",
                "UltrametricityResult", "NullComparison"):
        rs = R.replica_structure(ens, n_null=3, methods=("average",))
        return {"ReplicaStructure": rs, "OverlapDistribution": rs.distribution,
                "ClusterResult": rs.clusters["average"], "UltrametricityResult": rs.ultrametricity,
                "NullComparison": next(iter(rs.ultrametricity.nulls.values()))}[name]
    if name == "ReplicaSweep":
        return R.replica_sweep({"a": ens, "b": ens}, n_null=2, methods=("average",))
    if name == "FlatnessResult":
        return gl.flatness.measures(net, Xy, which=["hessian_trace"],
                                    params={"hessian_trace": {"n_samples": 4}})
    if name == "TopEigen":
        return gl.flatness.hessian_top(net, ds.X_train, ds.y_train, k=2, max_iter=10)
    if name == "TraceEstimate":
        return gl.flatness.hessian_trace(net, ds.X_train, ds.y_train, n_samples=4)
    if name == "SpectralDensity":
        return gl.flatness.hessian_density(net, ds.X_train, ds.y_train, n_probes=1, n_steps=6)
    if name == "GeneralizationStudy":
        fast = {"hessian_trace": {"n_samples": 4}, "basin_radius": {"n_dirs": 2}}
        return gl.flatness.generalization_study(
            ds, hidden=(6,), variants={"batch_size": [8, "full"]}, n_replicas=2, epochs=2,
            n_checkpoints=1, n_boot=10, measures=["basin_radius", "hessian_trace"],
            measure_params=fast, seed=1, n_threads=1)
    if name == "PTResult":
        return gl.spinmodels.parallel_tempering(n_spins=8, temperatures=(0.5, 1.0), n_replicas=2,
                                                n_equilibrate=10, n_measure=10, record_every=5)
    if name in ("Landscape", "Branch"):
        model = gl.maxent.sk_model(10, seed=0)
        ref = np.ones(10, dtype=np.int8)
        L = gl.maxent.entropy_landscape(model, ref, xs=np.linspace(-0.5, 0.5, 3), max_sweeps=200)
        return L if name == "Landscape" else next(iter(L.branches.values()))
    if name == "BlockAnalysis":
        rng = np.random.default_rng(0)
        X = np.where(rng.random((200, 12)) < 0.5, 1, -1).astype(np.int8)
        return gl.effective_model.analyse_configurations(
            X, {"A": np.arange(12)}, fit="pseudolikelihood", landscape=False, n_tap_starts=0,
            n_threads=1)
    if name == "EffectiveModelResult":
        return _effective_model_result()
    raise AssertionError(name)


CASES = ["ProfileResult", "SliceResult", "SliceResult2d", "WalkResult", "Curve", "Barrier",
         "ScanResult", "ReplicaBarriers", "PermutationInterpolation", "Matching", "Alignment",
         "OverlapDistribution", "ClusterResult", "UltrametricityResult", "NullComparison",
         "ReplicaStructure", "ReplicaSweep", "FlatnessResult", "TopEigen", "TraceEstimate",
         "SpectralDensity", pytest.param("GeneralizationStudy", marks=pytest.mark.slow),
         "PTResult", "Landscape", "Branch", "BlockAnalysis",
         pytest.param("EffectiveModelResult", marks=pytest.mark.slow)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", CASES)
def test_result_protocol(name, small):
    res = _build(name, small)
    assert isinstance(res, Result), type(res)
    cls = type(res).__name__
    for arrays in (False, True):
        d = res.to_dict(arrays=arrays)
        assert isinstance(d, dict) and d
        json.dumps(to_jsonable(d), allow_nan=False)
    t = res.table()
    assert isinstance(t, str) and t.strip().startswith("|")
    if cls in NO_PLOT:
        with pytest.raises(NotImplementedError, match=cls):
            res.plot()
    else:
        assert isinstance(res.plot(), Figure)


def test_old_method_names_warn(small):
    ds, ens = small
    rs = gl.replicas.replica_structure(ens, n_null=2, methods=("average",))
    with pytest.warns(DeprecationWarning, match=r"ReplicaStructure.summary\(\)"):
        old = rs.summary()
    assert to_jsonable(old) == rs.to_dict()
    pr = gl.probes.profile(ens[0], ds, [0.0, 0.5], n_directions=2)
    with pytest.warns(DeprecationWarning, match="as_dict"):
        pr.as_dict()
    with pytest.warns(DeprecationWarning, match="curve_stats"):
        s = pr.summary("train_loss")
    np.testing.assert_array_equal(s["mean"], pr.curve_stats("train_loss")["mean"])
    sc = gl.symmetry.permutation_barrier_scan(ens[0], ds, ks=[1], n_trials=1, n_points=3)
    with pytest.warns(DeprecationWarning, match="barrier_by_k"):
        assert sc.summary() == sc.barrier_by_k()
