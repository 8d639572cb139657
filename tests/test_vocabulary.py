"""Wiring of the renamed options: the new keyword reaches the computation, the old keyword
gives the same result with a DeprecationWarning, and every alignment error lists the same
choices (glasslens._lib._alignment)."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import datasets
from glasslens._lib._alignment import ALIGNMENTS, check_alignment
from glasslens._lib._deprecation import renamed_kwargs
from glasslens.cli import main


@pytest.fixture(scope="module")
def permuted():
    """Noisy hidden-unit permutations of one network: raw overlaps are low, aligned ~1."""
    rng = np.random.default_rng(0)
    base = gl.nn.MLP.init([8, 12, 3], seed=0)
    nets = []
    for r in range(4):
        p = rng.permutation(12)
        n = gl.symmetry.permute(base, [p])
        n = gl.nn.MLP.from_flat(n.widths, n.flat() + 0.01 * rng.standard_normal(n.n_params)
                                .astype(np.float32), bias=n.has_bias)
        nets.append(n)
    return gl.nn.Ensemble.from_mlps(nets)


@pytest.fixture(scope="module")
def ds():
    return datasets.load("teacher", n_train=120, n_test=60, n_features=8, n_classes=3, seed=2)


def test_renamed_kwargs_decorator():
    @renamed_kwargs(trials="n_trials")
    def f(n_trials=3):
        return n_trials

    assert f(n_trials=5) == 5 and f(4) == 4
    with pytest.warns(DeprecationWarning, match=r"trials= of f\(\).*n_trials="):
        assert f(trials=7) == 7
    with pytest.raises(TypeError, match="both"):
        f(trials=1, n_trials=2)


def test_one_error_message():
    msg = "alignment must be one of 'none', 'pairwise', 'reference', 'medoid', 'mean'"
    assert check_alignment("mean") == "mean"
    for call in (lambda: check_alignment("best"),
                 lambda: gl.replicas.overlap_matrix(np.ones((3, 4)), alignment="best"),
                 lambda: gl.symmetry.align_ensemble(gl.nn.Ensemble.init([4, 5, 3], 2), "x")):
        with pytest.raises(ValueError, match=msg):
            call()
    assert ALIGNMENTS == ("none", "pairwise", "reference", "medoid", "mean")


def test_overlap_alignment_reaches_the_computation(permuted):
    off = ~np.eye(4, dtype=bool)
    raw = gl.replicas.overlap_matrix(permuted, alignment="none")
    pw = gl.replicas.overlap_matrix(permuted, alignment="pairwise")
    ref = gl.replicas.overlap_matrix(permuted, alignment="reference")
    assert raw[off].max() < 0.9 and pw[off].min() > 0.99 and ref[off].min() > 0.99
    np.testing.assert_array_equal(gl.replicas.overlap_matrix(permuted), pw)  # the default
    # old keyword and positional bool: same result, with a DeprecationWarning
    for old, new in ((False, raw), (True, ref), ("pairwise", pw)):
        with pytest.warns(DeprecationWarning, match="aligned="):
            np.testing.assert_array_equal(gl.replicas.overlap_matrix(permuted, aligned=old), new)
    with pytest.warns(DeprecationWarning, match="aligned="):
        np.testing.assert_array_equal(gl.replicas.overlap_matrix(permuted, "weights", True), ref)
    with pytest.raises(TypeError, match="both"):
        gl.replicas.overlap_matrix(permuted, aligned=True, alignment="none")


def test_replica_structure_alignment(permuted):
    kw = dict(n_null=2, methods=("average",), null=("gaussian",))
    a = gl.replicas.replica_structure(permuted, **kw)
    n = gl.replicas.replica_analysis(permuted, alignment="none", **kw)
    assert a.info["alignment"] == "pairwise" and n.info["alignment"] == "none"
    assert a.distribution.mean > n.distribution.mean + 0.1
    with pytest.warns(DeprecationWarning, match="aligned="):
        old = gl.replicas.replica_analysis(permuted, aligned=False, **kw)
    np.testing.assert_array_equal(old.Q, n.Q)
    with pytest.warns(DeprecationWarning, match="aligned="):
        old = gl.replicas.replica_structure(permuted, aligned=True, **kw)
    np.testing.assert_array_equal(old.Q, gl.replicas.replica_structure(
        permuted, alignment="reference", **kw).Q)


def test_align_ensemble_method_keyword(permuted):
    new = gl.symmetry.align_ensemble(permuted, alignment="medoid")
    with pytest.warns(DeprecationWarning, match="method="):
        old = gl.symmetry.align_ensemble(permuted, method="medoid")
    assert old.method == new.method == "medoid"
    for p, q in zip(old.perms, new.perms):
        np.testing.assert_array_equal(p, q)


def test_interpolation_alignment_and_matching(permuted, ds):
    a, b = permuted[0], permuted[1]
    raw = gl.symmetry.interpolate(a, b, ds, n_points=3)
    w = gl.symmetry.interpolate(a, b, ds, n_points=3, alignment="pairwise")
    act = gl.symmetry.interpolate(a, b, ds, n_points=3, alignment="pairwise",
                                  matching="activations")
    assert raw.align is None and w.align == "weights" and act.align == "activations"
    assert w.cosine > raw.cosine + 0.1
    with pytest.warns(DeprecationWarning, match="align="):
        old = gl.symmetry.interpolate(a, b, ds, n_points=3, align="weights")
    np.testing.assert_array_equal(old.train_loss, w.train_loss)
    rb = gl.symmetry.replica_barriers(permuted, ds, n_points=3, max_pairs=2,
                                      matching=("weights", "activations"))
    assert rb.aligns == [None, "weights", "activations"]
    with pytest.warns(DeprecationWarning, match="aligns="):
        old = gl.symmetry.replica_barriers(permuted, ds, aligns=(None, "weights", "activations"),
                                           n_points=3, max_pairs=2)
    np.testing.assert_array_equal(old.barrier, rb.barrier)
    assert gl.symmetry.replica_barriers(permuted, ds, alignment="none", n_points=3,
                                        max_pairs=2).aligns == [None]


def test_permutation_interpolation_renames(permuted, ds):
    kw = dict(ks=[1], n_points=3, seed=0)
    new = gl.symmetry.permutation_interpolation(permuted, ds, n_trials=2, n_replica_pairs=2,
                                                matching="activations", **kw)
    assert new.replicas.aligns == [None, "activations"] and len(new.replicas.pairs) == 2
    assert int(np.sum(new.copies.k == 1)) == 2
    with pytest.warns(DeprecationWarning) as rec:
        old = gl.symmetry.permutation_interpolation(permuted, ds, trials=2, replica_pairs=2,
                                                    align="activations", **kw)
    assert {"trials=", "replica_pairs=", "align="} <= {
        k for k in ("trials=", "replica_pairs=", "align=") for w in rec if k in str(w.message)}
    np.testing.assert_array_equal(old.copies.barrier, new.copies.barrier)
    np.testing.assert_array_equal(old.replicas.barrier, new.replicas.barrier)
    # positional calls keep working (n_trials is where trials was)
    pos = gl.symmetry.permutation_interpolation(permuted, ds, [1], True, 2, 3, 2, "activations")
    np.testing.assert_array_equal(pos.copies.barrier, new.copies.barrier)


def test_probe_count_renames(permuted, ds):
    net = permuted[0]
    a = gl.probes.profile(net, ds, [0.0, 0.3], n_directions=3)
    assert a.train_loss.shape == (3, 2)
    with pytest.warns(DeprecationWarning, match="directions="):
        b = gl.probes.profile(net, ds, [0.0, 0.3], directions=3)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    w = gl.probes.random_walk(net, ds, n_steps=20, step_size=0.01, n_walkers=3, record_every=10)
    assert w.train_loss.shape == (3, 3)
    with pytest.warns(DeprecationWarning) as rec:
        v = gl.probes.random_walk(net, ds, steps=20, step_size=0.01, walkers=3, record_every=10)
    assert sorted(str(w.message).split()[2] for w in rec) == ["steps=", "walkers="]
    np.testing.assert_array_equal(w.train_loss, v.train_loss)
    ln = gl.probes.line(net, ds, n_points=4)
    assert ln.train_loss.shape == (4,)
    with pytest.warns(DeprecationWarning, match="n= of line"):
        np.testing.assert_array_equal(gl.probes.line(net, ds, n=4).train_loss, ln.train_loss)


def test_matching_count_renames(permuted):
    a, b = permuted[0], permuted[1]
    m = gl.symmetry.match_weights(a, b, n_restarts=3)
    assert len(m.restart_objectives) == 3
    with pytest.warns(DeprecationWarning, match="restarts="):
        assert gl.symmetry.match_weights(a, b, restarts=3).objective == m.objective
    p = gl.symmetry.random_permutation(12, n_transpositions=2, seed=1)
    assert int(np.sum(p != np.arange(12))) == 4
    with pytest.warns(DeprecationWarning, match="k_transpositions="):
        np.testing.assert_array_equal(
            gl.symmetry.random_permutation(12, k_transpositions=2, seed=1), p)


def test_effective_model_alignment_values():
    from glasslens.effective_model._pipeline import effective_alignments

    assert effective_alignments("none") == ("none",)
    assert effective_alignments("both") == ("none", "mean")
    assert effective_alignments(("none", "reference")) == ("none", "reference")
    with pytest.warns(DeprecationWarning, match="aligned"):
        assert effective_alignments("aligned") == ("mean",)
    with pytest.warns(DeprecationWarning, match="align_method"):
        assert effective_alignments("both", "medoid") == ("none", "medoid")
    with pytest.raises(ValueError, match="alignment must be one of"):
        effective_alignments("pairwise")


def test_cli_alignment_flags(capsys):
    from glasslens.cli import build_parser

    p = build_parser()
    a = p.parse_args(["replicas", "--alignment", "reference"])
    assert a.alignment == ("reference",)
    capsys.readouterr()
    a = p.parse_args(["replicas", "--align", "medoid"])
    assert a.alignment == ("medoid",) and "--align is deprecated" in capsys.readouterr().err
    a = p.parse_args(["permutation", "--align", "both"])
    assert a.matching == "both" and "use --matching" in capsys.readouterr().err
    a = p.parse_args(["effective-model", "--alignment", "both"])
    assert a.alignment == ("none", "mean") and "deprecated" in capsys.readouterr().err
    from glasslens.cli.effective_model import _settings  # the default: the preset's

    assert _settings(p.parse_args(["effective-model"])).alignment == ("none", "mean")
    with pytest.raises(SystemExit):
        p.parse_args(["replicas", "--alignment", "sideways"])
    assert "alignment must be one of" in capsys.readouterr().err
    assert main(["replicas", "--alignment", "none,pairwise", "--dataset", "teacher"]) == 2
    assert "alignment must be one of" in capsys.readouterr().err
