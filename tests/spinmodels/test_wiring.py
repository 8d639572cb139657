"""Wiring of glasslens.spinmodels: every public option reaches the computation (tests/wiring.py)."""

import numpy as np
import pytest

from glasslens import spinmodels as sm

import wiring
W, w, With, SAME, differs, threads = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                      wiring.differs, wiring.threads)

_rng = np.random.default_rng(0)
J6 = sm.spin_couplings(n_spins=6)[0].astype(np.float64)
H6 = 0.1 * _rng.normal(size=6)
CONFIGS = np.where(_rng.random((5, 6)) < 0.5, -1, 1)

RUNNERS = {
    "parallel_tempering": (lambda **k: sm.parallel_tempering(**k), dict(
        n_spins=12, temperatures=(0.5, 1.0, 1.5), n_replicas=2, n_equilibrate=20, n_measure=20,
        record_every=5)),
    "spin_couplings": (lambda **k: sm.spin_couplings(**k), dict(n_spins=8)),
    "exact_enumeration": (lambda **k: sm.exact_enumeration(**k), dict(J=J6, h=H6, T=1.0)),
    "spin_energies": (lambda **k: sm.spin_energies(**k), dict(J=J6, h=H6, configs=CONFIGS)),
    "geometric_temperatures": (lambda **k: sm.geometric_temperatures(**k),
                               dict(t_min=0.5, t_max=2.0, n=4)),
    "curie_weiss_magnetization": (lambda **k: sm.curie_weiss_magnetization(**k), dict(T=0.8)),
}
SIGNATURES = {name: getattr(sm, name) for name in RUNNERS}

NOT_OBSERVABLE = {}

_E = lambda r: r.energy  # noqa: E731

CASES = [
    w("parallel_tempering", "model", "ferromagnet", check=differs(_E)),
    w("parallel_tempering", "n_spins", 10, check=lambda a, b: b.configs.shape[-1] == 10
      or pytest.fail()),
    w("parallel_tempering", "temperatures", (0.6, 1.0, 1.5), check=differs(_E)),
    w("parallel_tempering", "n_samples", 2, check=lambda a, b: b.energy.shape[0] == 2
      or pytest.fail()),
    w("parallel_tempering", "n_replicas", 3, check=lambda a, b: b.energy.shape[1] == 3
      or pytest.fail()),
    w("parallel_tempering", "n_equilibrate", 30, check=lambda a, b: b.n_sweeps == 50
      and not np.array_equal(a.energy, b.energy) or pytest.fail()),
    w("parallel_tempering", "n_measure", 30, check=lambda a, b: b.configs.shape[2] == 6
      or pytest.fail(f"{b.configs.shape}")),
    w("parallel_tempering", "record_every", 10, check=lambda a, b: b.configs.shape[2] == 2
      or pytest.fail(f"{b.configs.shape}")),
    w("parallel_tempering", "record_temperatures", "all",
      check=lambda a, b: list(b.record_temperatures) == [0, 1, 2] or pytest.fail()),
    w("parallel_tempering", "couplings", "pm1", check=differs(lambda r: r.couplings)),
    w("parallel_tempering", "J", 2.0, check=lambda a, b: np.testing.assert_allclose(
        b.couplings, 2 * a.couplings, rtol=1e-6)),
    w("parallel_tempering", "field", 0.5, check=lambda a, b: np.allclose(b.fields, 0.5)
      or pytest.fail()),
    w("parallel_tempering", "field_sigma", 0.5, check=lambda a, b: np.std(b.fields) > 0
      or pytest.fail()),
    w("parallel_tempering", "seed", 1, check=differs(lambda r: r.couplings)),
    threads("parallel_tempering"),
    w("spin_couplings", "model", "ferromagnet"),
    w("spin_couplings", "n_spins", 9, check=lambda a, b: b.shape[-1] == 9 or pytest.fail()),
    w("spin_couplings", "n_samples", 2, check=lambda a, b: b.shape[0] == 2 or pytest.fail()),
    w("spin_couplings", "couplings", "pm1"),
    w("spin_couplings", "J", 2.0, check=lambda a, b: np.testing.assert_allclose(b, 2 * a,
                                                                               rtol=1e-6)),
    w("spin_couplings", "seed", 1),
    w("exact_enumeration", "J", 2 * J6),
    w("exact_enumeration", "h", -H6),
    w("exact_enumeration", "T", 0.5),
    w("spin_energies", "J", 2 * J6),
    w("spin_energies", "h", -H6),
    w("spin_energies", "configs", -CONFIGS[:, ::-1]),
    w("geometric_temperatures", "t_min", 0.25),
    w("geometric_temperatures", "t_max", 4.0),
    w("geometric_temperatures", "n", 5, check=lambda a, b: b.shape == (5,) or pytest.fail()),
    w("curie_weiss_magnetization", "T", 0.9),
    w("curie_weiss_magnetization", "J", 2.0),
    w("curie_weiss_magnetization", "tol", 0.1, check=lambda a, b: abs(b - a) > 1e-3
      or pytest.fail()),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case):
    RUN.check(case)


def test_every_option_has_a_wiring_row():
    assert wiring.missing_rows(SIGNATURES, CASES, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, CASES, NOT_OBSERVABLE) == []
