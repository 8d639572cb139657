"""Wiring of glasslens.maxent: every public option reaches the computation (tests/wiring.py)."""

import numpy as np
import pytest

from glasslens import maxent as me

import wiring
W, w, With, SAME, differs, threads = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                      wiring.differs, wiring.threads)

MODEL = me.sk_model(8, beta=0.6, h_std=0.2, seed=0)
S = MODEL.sample(400, burn_in=50, seed=1)
S2 = MODEL.sample(400, burn_in=50, seed=2)
REF = S[0]
MOM = me.moments(S)
_BP = MODEL.bp()
MSG = _BP.messages
BPMOM = (_BP.m, _BP.C)  # moments that BP represents exactly: the Bethe start matches them

RUNNERS = {
    "sk_model": (lambda **k: me.sk_model(**k), dict(n=6)),
    "Ising.sample": (lambda **k: MODEL.sample(**k), dict(n=40, burn_in=10, chains=2)),
    "Ising.bp": (lambda **k: MODEL.bp(**k), dict(warn=False)),
    "Ising.exact_moments": (lambda **k: MODEL.exact_moments(**k), {}),
    "fit_pseudolikelihood": (lambda **k: me.fit_pseudolikelihood(S, **k), dict(max_iter=20)),
    # six iterations do not converge: the convergence warning is the subject of its own row
    "fit_boltzmann": (lambda **k: me.fit_boltzmann(**k),
                      dict(samples=S, iters=6, keep_after=3, init="random", explore=0,
                           warn=False)),
    "mean_field_init": (lambda **k: me.mean_field_init(**k), dict(samples=S)),
    "compare_moments": (lambda **k: me.compare_moments(S, S2, **k), {}),
    "planted_recovery": (lambda **k: me.planted_recovery(MODEL, **k), dict(
        sizes=(100, 200), sample_kwargs={"burn_in": 20}, fit_kwargs={"max_iter": 10})),
    "entropy_landscape": (lambda **k: me.entropy_landscape(MODEL, REF, **k),
                          dict(xs=np.linspace(-2, 2, 9))),
    "tap_free_energies": (lambda **k: me.tap_free_energies(MODEL, **k), dict(n_starts=6)),
    "block_summary": (lambda **k: me.block_summary(MODEL, *MOM, **k), {}),
}
SIGNATURES = {name: getattr(me, name) for name in RUNNERS if "." not in name}
SIGNATURES.update({"Ising.sample": me.Ising.sample, "Ising.bp": me.Ising.bp,
                   "Ising.exact_moments": me.Ising.exact_moments,
                   "check_spins": me.check_spins})

NOT_OBSERVABLE = {
    ("check_spins", "name"): "validation only: the name in the error message "
                             "(test_check_spins_options)",
    ("check_spins", "n"): "validation only: the expected width (test_check_spins_options)",
    ("fit_pseudolikelihood", "symmetrize"): "only True is supported (an Ising needs a symmetric "
                                            "J); False raises (test_check_spins_options)",
}

_J = lambda r: r.J  # noqa: E731

CASES = [
    w("sk_model", "beta", 1.0, check=lambda a, b: np.testing.assert_allclose(b.J, 2 * a.J)),
    w("sk_model", "h_std", 0.5, check=differs(lambda r: r.h)),
    w("sk_model", "seed", 1, check=differs(_J)),
    w("Ising.sample", "n", 50, check=lambda a, b: len(b) == 50 or pytest.fail()),
    w("Ising.sample", "method", "gibbs"),
    w("Ising.sample", "burn_in", 11),
    w("Ising.sample", "thin", 3),
    w("Ising.sample", "chains", 4),
    w("Ising.sample", "seed", 1),
    w("Ising.sample", "init", np.ones((2, 8), np.int8), burn_in=0),
    threads("Ising.sample"),
    w("Ising.sample", "return_rate", True, check=lambda a, b: 0 < b[1] <= 1 or pytest.fail()),
    w("Ising.bp", "messages", MSG, check=lambda a, b: b.sweeps < a.sweeps or pytest.fail()),
    w("Ising.bp", "tol", 1e-2, check=lambda a, b: b.sweeps < a.sweeps or pytest.fail()),
    w("Ising.bp", "max_sweeps", 2, auto_damping=0.0,
      check=lambda a, b: (b.sweeps, b.converged) == (2, False) or pytest.fail()),
    w("Ising.bp", "criterion", "mean", check=differs(lambda r: r.sweeps)),
    w("Ising.bp", "damping", 0.5, check=differs(lambda r: r.sweeps)),
    w("Ising.bp", "with_C", False, check=lambda a, b: (a.C is not None and b.C is None)
      or pytest.fail()),
    w("Ising.bp", "auto_damping", 0.3, max_sweeps=2, check=differs(lambda r: r.messages)),
    threads("Ising.bp"),
    threads("Ising.exact_moments"),
    w("fit_pseudolikelihood", "l2", 1.0, check=lambda a, b: np.abs(b.J).sum() < np.abs(a.J).sum()
      or pytest.fail()),
    w("fit_pseudolikelihood", "l1", 0.05, check=lambda a, b: np.sum(b.J == 0) > np.sum(a.J == 0)
      or pytest.fail()),
    w("fit_pseudolikelihood", "l2_h", 10.0, check=lambda a, b: np.abs(b.h).sum()
      < np.abs(a.h).sum() or pytest.fail()),
    w("fit_pseudolikelihood", "max_iter", 2, check=differs(_J)),
    w("fit_pseudolikelihood", "tol", 0.5, check=differs(_J)),
    w("fit_pseudolikelihood", "history", 2, check=differs(_J)),
    w("fit_pseudolikelihood", "block", 3, SAME),
    threads("fit_pseudolikelihood"),
    w("fit_boltzmann", "samples", S2, check=differs(_J)),
    w("fit_boltzmann", "moments", "exact", check=differs(_J)),
    w("fit_boltzmann", "data_moments", With(me.moments(S2), samples=None), check=differs(_J)),
    w("fit_boltzmann", "lr_J", 0.05, check=differs(_J)),
    w("fit_boltzmann", "lr_h", 0.05, check=differs(lambda r: r.h)),
    w("fit_boltzmann", "gamma", 0.1, check=differs(_J)),
    w("fit_boltzmann", "iters", 7, check=differs(_J)),
    # large rates: the moment error is not monotonic, the kept best depends on the cut
    w("fit_boltzmann", "keep_after", 4, keep_after=2, lr_J=2.0, lr_h=2.0, moments="exact",
      step="fixed",
      check=lambda a, b: b.info["best_iter"] >= 4 > a.info["best_iter"] or pytest.fail()),
    w("fit_boltzmann", "init", "tap", check=differs(_J)),
    w("fit_boltzmann", "init", "auto", label="auto", data_moments=BPMOM, samples=None,
      check=differs(_J)),
    w("fit_boltzmann", "init", "bethe", label="bethe", check=differs(_J)),
    w("fit_boltzmann", "explore", 30, check=differs(_J)),
    w("fit_boltzmann", "adam_lr_J", 0.05, explore=30, check=differs(_J)),
    w("fit_boltzmann", "adam_lr_h", 0.3, explore=30, check=differs(_J)),
    w("fit_boltzmann", "init_scale", 0.1, check=differs(_J)),
    w("fit_boltzmann", "bp_tol", 0.1, check=differs(_J)),
    w("fit_boltzmann", "bp_criterion", "mean", bp_tol=0.05, check=differs(_J)),
    w("fit_boltzmann", "bp_max_sweeps", 1, check=differs(_J)),
    w("fit_boltzmann", "damping", 0.5, bp_max_sweeps=3, step="fixed", check=differs(_J)),
    w("fit_boltzmann", "mc_samples", 300, moments="mc", mc_samples=200, check=differs(_J)),
    w("fit_boltzmann", "mc_chains", 4, moments="mc", mc_samples=200, check=differs(_J)),
    w("fit_boltzmann", "mc_burn_in", 5, moments="mc", mc_samples=200, check=differs(_J)),
    w("fit_boltzmann", "seed", 1, check=differs(_J)),
    threads("fit_boltzmann", moments="mc", mc_samples=200),
    # the adaptive step: a large initial step is rejected and shrunk, then grows again
    w("fit_boltzmann", "step", "fixed", lr_J=5.0, lr_h=5.0, check=differs(_J)),
    w("fit_boltzmann", "lr_grow", 3.0, lr_J=2.0, lr_h=2.0, check=differs(_J)),
    w("fit_boltzmann", "lr_shrink", 0.1, lr_J=5.0, lr_h=5.0, check=differs(_J)),
    w("fit_boltzmann", "conv_window", 2, check=differs(lambda r: r.info["reason"])),
    w("fit_boltzmann", "conv_rtol", 0.9, check=lambda a, b: (not a.info["converged"]
                                                          and b.info["converged"]) or pytest.fail()),
    w("fit_boltzmann", "conv_atol", 1.0, check=lambda a, b: (not a.info["converged"]
                                                          and b.info["converged"]) or pytest.fail()),
    w("mean_field_init", "samples", S2, check=differs(_J)),
    w("mean_field_init", "method", "nmf", check=differs(_J)),
    w("mean_field_init", "data_moments", With(me.moments(S2), samples=None), check=differs(_J)),
    w("mean_field_init", "reg", 0.5, check=differs(_J)),
    w("mean_field_init", "m_clip", 0.1, check=differs(lambda r: r.h)),
    w("compare_moments", "n_triplets", 10),
    w("compare_moments", "seed", 1, n_triplets=10),
    w("planted_recovery", "sizes", (100, 300), check=lambda a, b: len(b) == 2 and b[1] != a[1]
      or pytest.fail()),
    w("planted_recovery", "fit", With("tap", fit_kwargs={})),
    w("planted_recovery", "sample_kwargs", {"burn_in": 20, "method": "gibbs"}),
    w("planted_recovery", "fit_kwargs", {"max_iter": 10, "l2": 1.0}),
    w("planted_recovery", "seed", 1),
    threads("planted_recovery"),
    w("entropy_landscape", "xs", np.linspace(-1, 1, 9)),
    w("entropy_landscape", "direction", "forward", check=lambda a, b: sorted(b.branches)
      != sorted(a.branches) or pytest.fail(f"{sorted(a.branches)}")),
    w("entropy_landscape", "indices", np.arange(5), check=lambda a, b: b.n == 5 or pytest.fail()),
    w("entropy_landscape", "tol", 1e-2),
    w("entropy_landscape", "max_sweeps", 2),
    w("entropy_landscape", "damping", 0.5, tol=1e-3),
    w("entropy_landscape", "jump_threshold", 0.5, jump_ratio=1.0,
      check=lambda a, b: len(b.jumps) < len(a.jumps) or pytest.fail()),
    w("entropy_landscape", "jump_ratio", 1.0, jump_threshold=1e-9,
      check=lambda a, b: len(b.jumps) > len(a.jumps) or pytest.fail()),
    threads("entropy_landscape"),
    w("tap_free_energies", "n_starts", 4),
    w("tap_free_energies", "damping", 0.1),
    w("tap_free_energies", "tol", 0.1),
    w("tap_free_energies", "max_iter", 2),
    w("tap_free_energies", "seed", 1),
    w("tap_free_energies", "distinct_tol", 1e-12, check=lambda a, b: b["n_states"]
      > a["n_states"] or pytest.fail(f'{a["n_states"]}')),
    w("block_summary", "references", S[:2], check=lambda a, b: len(b) > len(a)
      or pytest.fail()),
    w("block_summary", "xs", np.linspace(-1, 0, 5), references=S[:2]),
    threads("block_summary", references=S[:2]),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.filterwarnings("ignore::glasslens.maxent.BPConvergenceWarning")
def test_option_reaches_computation(case):
    RUN.check(case)


def test_bp_warn_option():
    with pytest.warns(me.BPConvergenceWarning):
        MODEL.bp(max_sweeps=2, auto_damping=0.0, warn=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MODEL.bp(max_sweeps=2, auto_damping=0.0, warn=False)


def test_check_spins_options():
    with pytest.raises(ValueError, match="my_name"):
        me.check_spins(np.zeros((2, 3)), name="my_name")
    with pytest.raises(ValueError):
        me.check_spins(np.ones((2, 3)), n=4)
    assert me.check_spins(np.ones((2, 3)), n=3).shape == (2, 3)
    with pytest.raises(ValueError, match="symmetrize"):
        me.fit_pseudolikelihood(S, symmetrize=False)


def test_every_option_has_a_wiring_row():
    have = CASES + [W("Ising.bp", "warn", None),  # test_bp_warn_option
                    W("fit_boltzmann", "warn", None)]  # test_fit_boltzmann_warn_reaches_...
    assert wiring.missing_rows(SIGNATURES, have, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, have, NOT_OBSERVABLE) == []


def test_fit_boltzmann_warn_reaches_the_convergence_warning():
    from glasslens.maxent._inference import FitConvergenceWarning

    with pytest.warns(FitConvergenceWarning, match="did not converge in 6 iterations"):
        me.fit_boltzmann(samples=S, iters=6, keep_after=3, init="random", explore=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        me.fit_boltzmann(samples=S, iters=6, keep_after=3, init="random", explore=0, warn=False)
