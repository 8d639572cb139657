"""fit_boltzmann's adaptive step (backtracking on the gradient norm) and its convergence report:
released data sets of Zou & Huang 2021 reach the authors' fit quality without blowing up,
a planted model does not drift, short runs are reported as not converged, TAP starts work
on frozen spins."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from glasslens.maxent import (BPConvergenceWarning, Ising, block_slices, fit_boltzmann,
                              moment_error, sk_model)
from glasslens.maxent._inference import FitConvergenceWarning

# The authors' released fits live in the project's shared folder (../shared beside the clone),
# never in the package; tests that need them skip when it is absent.
REF = next((p for p in (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "zou-huang-2021",
    Path("/work/shared/reference/zou-huang-2021"),
) if p.is_dir()), Path("/nonexistent/shared/reference/zou-huang-2021"))
needs_ref = pytest.mark.skipif(not (REF / "bp_ising_shallow.npz").exists(),
                               reason="reference data absent")


def _block(case, block):
    z = np.load(REF / f"bp_ising_{case}.npz", allow_pickle=False)
    sl = slice(0, 200) if case == "shallow" else block_slices((20, 15, 15, 10))[block]
    m, C = z["m_data"][sl], z["C_data"][sl, sl]
    st = Ising(z[f"h_{block}"], z[f"J_{block}"]).bp(warn=False, n_threads=2)
    return m, C, moment_error(st.m, st.C, m, C)


@needs_ref
@pytest.mark.slow
def test_shallow_reaches_authors_quality_and_stays():
    """The paper's settings (lr_J 0.01 as the maximum step) on the shallow data moments: the
    fixed step reached 0.26 (last iterate 0.46); the adaptive step ends at <= 0.03 (released
    fit 0.029), non-increasing, converged, and BP from zero messages agrees."""
    m, C, released = _block("shallow", "FULL")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_boltzmann(data_moments=(m, C), moments="bp", n_threads=2)
    i = fit.info
    assert i["final_error"] <= 0.03 and i["final_error"] <= 1.05 * released
    assert i["last_error"] <= 1.05 * min(i["errors"])
    assert i["converged"] and i["reason"] == ""
    assert i["cold_bp_error"] == pytest.approx(i["final_error"], rel=1e-3)
    assert 0 < i["steps"].min() < 0.5  # the step did shrink below the paper's lr_J
    # the old rule is still available, and its divergence is reported rather than hidden
    with pytest.warns(FitConvergenceWarning, match="diverged"):
        old = fit_boltzmann(data_moments=(m, C), moments="bp", step="fixed", iters=60,
                            keep_after=0, n_threads=2)
    assert not old.info["converged"] and old.info["last_error"] > 2 * old.info["best_error"]


@needs_ref
@pytest.mark.parametrize("case", ["under", "over"])
def test_deep_middle_block_improves_and_reports(case):
    """ITER blocks: the error falls below 1.25x the released fit's (or 0.004) and never blows
    up; a still-improving run says so. (LB and RB: see bench/results/maxent.md - learning
    stalls at a BP spinodal there and the fit reports it.)"""
    m, C, released = _block(case, "ITER")
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        fit = fit_boltzmann(data_moments=(m, C), moments="bp", iters=100, n_threads=2)
    i = fit.info
    assert i["final_error"] <= max(1.25 * released, 0.004)
    assert i["last_error"] <= 1.05 * min(i["errors"])
    assert i["cold_bp_error"] == pytest.approx(i["final_error"], rel=1e-2)
    assert i["converged"] == (not any(issubclass(w.category, FitConvergenceWarning) for w in wl))


@needs_ref
def test_tap_init_on_shallow_data_names_the_reason():
    """TAP/nMF on the shallow moments: 46 frozen spins (now started uncoupled) and a nearly
    singular connected correlation matrix among the rest give couplings ~30-1000, where BP's
    moments are NaN. The error says so instead of a bare FloatingPointError mid-learning."""
    m, C, _ = _block("shallow", "FULL")
    with pytest.raises(FloatingPointError, match="tap inversion gives couplings up to"):
        fit_boltzmann(data_moments=(m, C), moments="bp", init="tap", iters=5, n_threads=2)


def test_too_few_iterations_reported_not_converged():
    true = sk_model(12, beta=0.5, h_std=0.3, seed=2)
    ex = true.exact_moments()
    with pytest.warns(FitConvergenceWarning, match="still improving"):
        short = fit_boltzmann(data_moments=(ex["m"], ex["C"]), moments="exact", iters=5,
                              gamma=0.0, init="random")
    assert not short.info["converged"] and "still improving" in short.info["reason"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = fit_boltzmann(data_moments=(ex["m"], ex["C"]), moments="exact", iters=300,
                             gamma=0.0, lr_J=0.5, lr_h=0.5)
    assert full.info["converged"] and full.info["final_error"] < 1e-4
    assert full.info["iterations"] == 300 and len(full.info["errors"]) == 301
    assert len(full.info["steps"]) == 300


@pytest.mark.slow
def test_planted_n200_converges_without_drift():
    """Planted SK model, N = 200, 10^4 Metropolis samples: Boltzmann-BP converges, and 3x more
    iterations do not move the error or the couplings."""
    true = sk_model(200, beta=0.3, h_std=0.3, seed=5)
    X = true.sample(10_000, burn_in=300, thin=2, chains=16, seed=1, n_threads=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = fit_boltzmann(X, moments="bp", iters=300, n_threads=2)
        b = fit_boltzmann(X, moments="bp", iters=600, n_threads=2)
    assert a.info["converged"] and b.info["converged"]
    assert b.info["last_error"] <= a.info["last_error"] * 1.001
    assert a.info["last_error"] <= 0.25 / np.sqrt(len(X))  # within the data's sampling noise
    assert b.info["last_error"] <= 1.05 * min(b.info["errors"])  # no drift
    iu = np.triu_indices(200, 1)
    assert np.corrcoef(a.J[iu], b.J[iu])[0, 1] > 0.99
    assert np.corrcoef(b.J[iu], true.J[iu])[0, 1] > 0.5


@needs_ref
def test_stalled_fit_on_rb_block_is_reported():
    """The other side of the calibration: on the authors' under RB block the adaptive step
    stalls where the warm-started BP branch ends (error ~0.031 vs released 0.025, BP from zero
    messages lands elsewhere); the fit must say so rather than claim convergence."""
    m, C, released = _block("under", "RB")
    with pytest.warns(FitConvergenceWarning, match="step collapsed"), \
            pytest.warns(BPConvergenceWarning, match="different fixed point"):
        fit = fit_boltzmann(data_moments=(m, C), moments="bp", n_threads=2)
    assert not fit.info["converged"]
    assert fit.info["cold_bp_error"] > 2 * fit.info["final_error"]
