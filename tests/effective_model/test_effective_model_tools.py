"""Effective model: hidden-unit alignment, per-block analysis (TAP, liquid/solid summary), bad
input, figures, command line and report section (tiny sizes)."""
import argparse
import json
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from glasslens import effective_model as bn

em = pytest.importorskip("glasslens.effective_model")
maxent = pytest.importorskip("glasslens.maxent")
from glasslens import symmetry  # noqa: E402
from glasslens.nn import Ensemble  # noqa: E402

# The authors' released fits live in the project's shared folder (../shared beside the clone),
# never in the package; tests that need them skip when it is absent.
REF = next((p for p in (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "zou-huang-2021",
    Path("/work/shared/reference/zou-huang-2021"),
) if p.is_dir()), Path("/nonexistent/shared/reference/zou-huang-2021"))
W = [20, 15, 15, 10]


def _rand_spins(rng, shape):
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8)


# ---- permuting and aligning hidden units ---------------------------------------------------------
def test_permute_configurations_keeps_function_and_matches_symmetry():
    rng = np.random.default_rng(0)
    cfg = _rand_spins(rng, (9, 675))
    perms = [np.stack([rng.permutation(15) for _ in range(3)]) for _ in range(2)]
    net = rng.integers(0, 3, 9)
    out = em.permute_configurations(cfg, W, perms, net)
    assert out.dtype == np.int8 and out.shape == cfg.shape
    # the network function is unchanged (independent: the C++ evaluator)
    X = rng.normal(size=(60, 20)).astype(np.float32)
    y = rng.integers(0, 10, 60)
    a, la = bn.evaluate_configurations(cfg, W, X, y, return_loss=True)
    b, lb = bn.evaluate_configurations(out, W, X, y, return_loss=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    # same convention as glasslens.symmetry.permute
    ens = Ensemble.from_flat(W, cfg.astype(np.float32), bias=False)
    ref = symmetry.permute(ens, [p[net] for p in perms])
    np.testing.assert_array_equal(ref.flat().astype(np.int8), out)
    # identity permutations change nothing; a shallow net has no hidden units
    ident = [np.arange(15), np.arange(15)]
    np.testing.assert_array_equal(em.permute_configurations(cfg, W, ident), cfg)
    s = _rand_spins(rng, (4, 200))
    np.testing.assert_array_equal(em.permute_configurations(s, [20, 10], []), s)


def test_permute_configurations_bad_input():
    rng = np.random.default_rng(1)
    cfg = _rand_spins(rng, (4, 675))
    p = [np.arange(15), np.arange(15)]
    with pytest.raises(ValueError, match="hidden layers"):
        em.permute_configurations(cfg, W, p[:1])
    with pytest.raises(ValueError, match="not a permutation"):
        em.permute_configurations(cfg, W, [np.zeros(15, int), np.arange(15)])
    with pytest.raises(ValueError, match="shape"):
        em.permute_configurations(cfg, W, [np.arange(14), np.arange(15)])
    with pytest.raises(TypeError, match="integers"):
        em.permute_configurations(cfg, W, [np.arange(15.0) + 0.5, np.arange(15)])
    with pytest.raises(ValueError, match="network"):
        em.permute_configurations(cfg, W, [np.stack([np.arange(15)] * 2)] * 2)
    with pytest.raises(ValueError, match="0..1"):
        em.permute_configurations(cfg, W, [np.stack([np.arange(15)] * 2)] * 2, [0, 1, 2, 0])
    bad = cfg.copy()
    bad[0, 0] = 0
    with pytest.raises(ValueError):
        em.permute_configurations(bad, W, p)


def test_align_hidden_units_recovers_planted_permutations():
    """Replicas that are hidden-unit permutations of one network are brought back onto it."""
    rng = np.random.default_rng(2)
    base = Ensemble.from_flat(W, rng.normal(0, 2, (1, 675)).astype(np.float32), bias=False)
    R = 5
    perms = [np.stack([rng.permutation(15) for _ in range(R)]) for _ in range(2)]
    reps = symmetry.permute(Ensemble.from_flat(W, np.repeat(base.flat(), R, 0), bias=False), perms)
    ens = bn.BinaryEnsemble.from_flat(W, reps.flat())
    for method in ("reference", "mean"):
        al = em.align_hidden_units(ens, alignment=method)
        assert len(al["perms"]) == 2 and al["perms"][0].shape == (R, 15)
        np.testing.assert_allclose(al["cosine"], 1.0, atol=1e-6)
        # aligned samples of every network coincide with the reference network's
        cfg = np.sign(ens.mean_weights()).astype(np.int8)
        aligned = em.permute_configurations(cfg, W, al["perms"], np.arange(R))
        assert np.all(aligned == aligned[0])
    shallow = bn.BinaryEnsemble.from_flat([20, 10], rng.normal(size=(3, 200)))
    assert em.align_hidden_units(shallow)["perms"] == []
    with pytest.raises(TypeError, match="BinaryEnsemble"):
        em.align_hidden_units(base)
    with pytest.raises(ValueError, match="on must be"):
        em.align_hidden_units(ens, on="signs")


# ---- analysis of samples ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    """Samples of a weakly coupled 12-spin model (exact moments known)."""
    model = maxent.sk_model(12, beta=0.3, h_std=0.3, seed=5)
    X = model.sample(6000, chains=8, burn_in=200, thin=2, seed=1, n_threads=2)
    return model, X


def test_analyse_configurations_summary_tap_and_landscape(planted):
    model, X = planted
    blocks = {"A": np.arange(6), "B": np.arange(6, 12)}
    an = em.analyse_configurations(X, blocks, fit="pseudolikelihood", n_references=1,
                                   xs=np.round(np.arange(-2, 2.01, 0.5), 10), n_tap_starts=20,
                                   n_threads=2)
    assert set(an.fits) == {"A", "B"} and an.fits["A"].n == 6
    for b, idx in blocks.items():
        m, C = an.moments[b]
        S = X[:, idx].astype(float)
        np.testing.assert_allclose(m, S.mean(0))
        s = an.summaries[b]
        iu = np.triu_indices(6, 1)
        conn = (C - np.outer(m, m))[iu]
        assert s["mean_abs_conn_C"] == pytest.approx(np.abs(conn).mean())
        assert s["mean_abs_m"] == pytest.approx(np.abs(m).mean())
        assert s["J_std"] == pytest.approx(an.fits[b].J[iu].std())
        # weak couplings: one TAP state, s(d) just below the bound, no jump
        assert s["n_tap_states"] == 1 and an.tap[b]["n_converged"] == 20
        assert 0.8 < s["s_over_H2_min"] <= s["s_over_H2_mean"] <= s["s_over_H2_max"] <= 1 + 1e-9
        assert s["n_jumps"] == 0 and s["bp_nonconverged"] == 0 and s["n_constant"] == 0
        assert set(an.references[b]) == {"low", "medium", "high"}
    # the TAP free energy of the single state is -ln Z / N up to O(J^3)
    sub = an.fits["A"]
    F = an.tap["A"]["free_energy"][0] * sub.n
    assert F == pytest.approx(-sub.exact_moments()["logZ"], abs=0.02)


def test_analyse_configurations_bad_input(planted):
    _, X = planted
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        em.analyse_configurations(np.where(X > 0, 1, 0), {"A": np.arange(4)})
    with pytest.raises(ValueError, match="at least 2"):
        em.analyse_configurations(X[:1], {"A": np.arange(4)})
    with pytest.raises(ValueError, match="blocks\\['A'\\]"):
        em.analyse_configurations(X, {"A": np.arange(10, 14)})
    with pytest.raises(ValueError, match="fit must be"):
        em.analyse_configurations(X, {"A": np.arange(4)}, fit="magic")
    with pytest.raises(TypeError, match="blocks"):
        em.analyse_configurations(X, [np.arange(4)])


@pytest.mark.filterwarnings("ignore:Boltzmann learning did not converge")
def test_constant_spins_and_few_samples_are_warned():
    rng = np.random.default_rng(3)
    X = _rand_spins(rng, (400, 6))
    X[:, 2] = 1  # a weight frozen at +1 in every draw
    with pytest.warns(RuntimeWarning, match="constant in the data.*finite only"):
        an = em.analyse_configurations(X, {"A": np.arange(6)}, fit_kwargs={"iters": 20},
                                       landscape=False, n_tap_starts=0, n_threads=2)
    assert an.summaries["A"]["n_constant"] == 1
    assert np.all(np.isfinite(an.fits["A"].h)) and an.fits["A"].h[2] > 1.0
    with pytest.warns(RuntimeWarning, match="fewer samples"):
        em.analyse_configurations(_rand_spins(rng, (5, 8)), {"A": np.arange(8)},
                                  fit_kwargs={"iters": 5}, landscape=False, n_tap_starts=0)


@pytest.mark.filterwarnings("ignore:.*constant in the data:RuntimeWarning")
def test_bp_nonconvergence_is_counted_and_warned():
    """A spin-glass block: landscape BP capped at 2 sweeps fails even with damping; the
    warning gives the residual and the summary counts the points."""
    glass = maxent.sk_model(30, beta=3.0, h_std=0.5, seed=4)
    X = glass.sample(600, chains=4, burn_in=100, seed=2, n_threads=2)
    with pytest.warns(maxent.BPConvergenceWarning, match="residual"):
        an = em.analyse_configurations(X, {"A": np.arange(30)}, fit="pseudolikelihood",
                                       fit_kwargs={"l2": 1e-4}, n_references=1,
                                       xs=[-0.5, 0.0, 0.5],
                                       landscape_kwargs={"max_sweeps": 2, "tol": 1e-12},
                                       n_tap_starts=0)
    assert an.summaries["A"]["bp_nonconverged"] > 0


def test_alignment_changes_liquid_signal():
    """Networks that are hidden-unit permutations of one structured network: as drawn, the
    middle block looks structureless (|m| small); aligned, its magnetisations come back."""
    rng = np.random.default_rng(4)
    base = rng.normal(0, 3, 675)
    R, D = 12, 40
    perms = [np.stack([rng.permutation(15) for _ in range(R)]) for _ in range(2)]
    reps = symmetry.permute(Ensemble.from_flat(W, np.tile(base, (R, 1)).astype(np.float32),
                                               bias=False), perms)
    ens = bn.BinaryEnsemble.from_flat(W, reps.flat())
    cfg = ens.sample(D, seed=1)
    net = np.repeat(np.arange(R), D)
    al = em.align_hidden_units(ens, alignment="mean")
    aligned = em.permute_configurations(cfg, W, al["perms"], net)
    it = bn.block_indices(W)["ITER"]
    raw_m = np.abs(cfg[:, it].mean(0)).mean()
    al_m = np.abs(aligned[:, it].mean(0)).mean()
    true_m = np.abs(np.tanh(base[it] / 2)).mean()
    assert al_m == pytest.approx(true_m, abs=0.05)
    assert raw_m < 0.6 * al_m


# ---- figures, CLI, report ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_result():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + 2 * (X[:, 1] > 0)
    data = bn.ArrayDataset(X[:400], y[:400], X[400:], y[400:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return em.run_effective_model(
            data, "deep-under", n_replicas=6, epochs=8, n_per_network=50, blocks=["ITER", "RB"],
            fit="pseudolikelihood", fit_kwargs={"l2": 0.1}, n_references=1,
            xs=np.round(np.arange(-1, 1.01, 0.5), 10), landscape_kwargs={"max_sweeps": 100},
            n_tap_starts=10, tap_kwargs={"max_iter": 100}, alignment="both", seed=0, n_threads=2)


@pytest.mark.slow
def test_result_variants_json_and_figures(tiny_result, tmp_path):
    from glasslens.effective_model import plotting as ep

    r = tiny_result
    assert set(r.variants()) == {"raw", "aligned"}
    assert r.alignment["perms"][0].shape == (6, 15)
    d = r.to_dict(arrays=True)
    json.dumps(d, allow_nan=False)
    assert set(d["variants"]["aligned"]) == {"ITER", "RB"}
    assert "aligned" in r.report() and "| aligned | RB |" in em.liquid_solid_table(r)
    f1 = ep.plot_entropy_landscapes(r.aligned)
    f2 = ep.plot_tap_histograms(r)
    f3 = ep.plot_liquid_solid(r)
    assert len(f1.axes) == 2 and len(f2.axes) == 2 and len(f3.axes) == 4
    for i, f in enumerate((f1, f2, f3)):
        f.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="no landscapes"):
        ep.plot_entropy_landscapes(em.BlockAnalysis())
    with pytest.raises(TypeError):
        ep.plot_liquid_solid([1, 2])


@pytest.mark.slow
def test_run_effective_model_rejects_bad_options(tiny_result):
    data = bn.ArrayDataset(np.zeros((10, 20), np.float32), np.zeros(10, np.int64),
                           np.zeros((5, 20), np.float32), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match="alignment"):
        em.run_effective_model(data, "shallow", alignment="sorted")
    with pytest.raises(ValueError, match="alignment must be one of"):
        em.run_effective_model(data, "shallow", alignment="pairwise")
    with pytest.raises(ValueError, match="one common labelling"):
        em.run_effective_model(data, "shallow", alignment=("none", "mean", "medoid"))


@pytest.mark.slow
def test_cli_effective_model(tmp_path, monkeypatch):
    from glasslens import datasets
    from glasslens.cli import effective_model as cli

    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    cli.add_parser(sub)
    out = tmp_path / "em"
    args = ap.parse_args(["effective-model", "--dataset", "digits", "--regimes", "shallow",
                          "deep-under", "--trainings", "3", "--draws", "20", "--epochs", "10",
                          "--fit", "boltzmann", "--fit-iters", "6", "--references", "1",
                          "--x-max", "1", "--x-step",
                          "0.5", "--tap-starts", "5", "--out", str(out), "--threads", "2"])
    assert args.func is cli.run
    assert args.func(args) == 0
    s = json.loads((out / "summary.json").read_text())
    assert set(s["regimes"]) == {"shallow", "deep-under"}
    assert set(s["regimes"]["deep-under"]["variants"]) == {"raw", "aligned"}
    for name in s["regimes"]["deep-under"]["figures"] + s["regimes"]["shallow"]["figures"]:
        assert (out / name).stat().st_size > 1000
    assert "deep-under-landscapes.png" in s["regimes"]["deep-under"]["figures"]
    with pytest.raises(SystemExit):
        ap.parse_args(["effective-model", "--trainings", "0"])
    bad = ap.parse_args(["effective-model", "--x-step", "0", "--out", str(tmp_path / "b")])
    with pytest.raises(ValueError, match="x_step"):
        cli.run(bad)
    # --fit-iters belongs to Boltzmann learning; the quick preset fits by pseudo-likelihood
    bad = ap.parse_args(["effective-model", "--fit-iters", "6", "--out", str(tmp_path / "c")])
    with pytest.raises(ValueError, match="--fit-iters applies to --fit boltzmann"):
        cli.run(bad)
    assert datasets  # the CLI loads through glasslens.datasets


@pytest.mark.slow
def test_report_section(tmp_path):
    from glasslens import datasets
    from glasslens.effective_model._section import section as report_section_effective_model

    added = {}

    class Rep:
        def add_section(self, title, text="", figures=(), data=None, key=None):
            added.update(title=title, text=text, figures=figures, data=data, key=key)

    ctx = types.SimpleNamespace(dataset=datasets.load("digits"), ensemble=None,
                                options={"extra": {"em_trainings": 10}, "seed": 0},
                                report=Rep(), n_threads=2)
    report_section_effective_model(ctx)
    assert added["key"] == "effective-model" and "| aligned | ITER |" in added["text"]
    assert len(added["figures"]) == 2
    json.dumps(added["data"], allow_nan=False)
    # the table records what ran, not the preset's nominal "mnist" / all examples
    assert (added["data"]["dataset"], added["data"]["n_train"]) == ("digits", 1352)
    assert added["data"]["preset_dataset"] == "mnist"  # the preset's nominal data, kept apart
    # a context without a usable test set falls back to digits
    ctx.dataset = None
    report_section_effective_model(ctx)
    assert added["data"]["n_configurations"] > 0
    assert added["data"]["dataset"].startswith("digits (scikit-learn") and added["data"]["n_train"] == 1200


# ---- the authors' release ----------------------------------------------------------------------------
@pytest.mark.skipif(not (REF / "bp_ising_shallow.npz").exists(), reason="reference data absent")
def test_reference_tap_histograms():
    """TAP from random starts: two free-energy peaks for the authors' shallow fit (the broken
    space), a single state for their middle (ITER) block of the under-parametrised net."""
    z = np.load(REF / "bp_ising_shallow.npz", allow_pickle=False)
    r = maxent.tap_free_energies(maxent.Ising(z["h_FULL"], z["J_FULL"]), n_starts=100,
                                 damping=0.0, seed=0)
    F = r["free_energy"][r["converged"]]
    levels = np.unique(np.round(F, 3))
    assert r["n_states"] >= 2 and len(levels) == 2 and np.ptp(F) > 0.1
    u = np.load(REF / "bp_ising_under.npz", allow_pickle=False)
    ri = maxent.tap_free_energies(maxent.Ising(u["h_ITER"], u["J_ITER"]), n_starts=50, seed=0)
    assert ri["converged"].all() and ri["n_states"] == 1


@pytest.mark.filterwarnings("ignore::glasslens.maxent.BPConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Boltzmann learning did not converge")
def test_unstable_boltzmann_learning_is_warned():
    """Learning rates far too large make Boltzmann learning blow up after its first steps:
    the kept parameters are much worse than the best seen, and the pipeline says so."""
    rng = np.random.default_rng(0)
    mu = np.tanh(rng.normal(0, 1.5, (20, 60)))  # 20 "networks", 200 draws each
    X = np.where(rng.random((20, 200, 60)) < (1 + mu[:, None, :]) / 2, 1, -1)
    X = X.reshape(-1, 60).astype(np.int8)
    with pytest.warns(RuntimeWarning, match="unstable"):
        an = em.analyse_configurations(X, {"A": np.arange(60)}, landscape=False, n_tap_starts=0,
                                       fit_kwargs={"lr_J": 0.05, "step": "fixed"}, n_threads=2)
    assert an.summaries["A"]["fit_error"] > 0.1
