"""Parallel tempering calibrated on models with known answers (exact enumeration, mean-field
results), and the replica instruments applied to them."""
import itertools

import numpy as np
import pytest

import glasslens.replicas as rp
import glasslens.spinmodels as sm
from glasslens.replicas import sign_overlaps


def test_exact_enumeration_vs_bruteforce(rng):
    N = 5
    J = np.triu(rng.standard_normal((N, N)), 1)
    J = (J + J.T).astype(np.float32)
    h = rng.standard_normal(N)
    T = 0.7
    ex = sm.exact_enumeration(J, h, T)
    Z = e = m = 0.0
    states = [np.array(s) for s in itertools.product([-1, 1], repeat=N)]
    ws = []
    for s in states:
        E = -sum(J[i, j] * s[i] * s[j] for i in range(N) for j in range(i + 1, N)) - h @ s
        w = np.exp(-E / T)
        ws.append(w)
        Z += w
        e += w * E / N
        m += w * abs(s.mean())
    np.testing.assert_allclose(ex["energy"], e / Z, rtol=1e-6)
    np.testing.assert_allclose(ex["abs_magnetization"], m / Z, rtol=1e-6)
    p = np.array(ws) / Z
    pq = np.zeros(N + 1)
    for a, sa in enumerate(states):
        for b, sb in enumerate(states):
            pq[int(np.sum(sa != sb))] += p[a] * p[b]
    np.testing.assert_allclose(ex["p_q"], pq, atol=1e-12)


def test_couplings_keyed_by_seed_and_sample():
    J3 = sm.spin_couplings("sk", 40, n_samples=3, seed=7)
    J1 = sm.spin_couplings("sk", 40, n_samples=1, seed=7)
    np.testing.assert_array_equal(J3[0], J1[0])
    assert not np.array_equal(J3[0], J3[1])
    for J in J3:
        np.testing.assert_array_equal(J, J.T)
        assert np.all(np.diag(J) == 0)
    big = sm.spin_couplings("sk", 400, seed=1)[0]
    off = big[np.triu_indices(400, 1)]
    assert abs(off.var() * 400 - 1) < 0.02 and abs(off.mean()) < 0.003
    pm = sm.spin_couplings("sk", 16, couplings="pm1", J=2.0)[0]
    np.testing.assert_allclose(np.abs(pm[np.triu_indices(16, 1)]), 0.5)
    cw = sm.spin_couplings("ferromagnet", 8)[0]
    np.testing.assert_allclose(cw[np.triu_indices(8, 1)], 1 / 8)
    r = sm.parallel_tempering("sk", 40, [1.0], n_samples=3, n_replicas=1, n_equilibrate=0,
                              n_measure=1, record_every=1, seed=7)
    np.testing.assert_array_equal(r.couplings, J3)


CASES = [
    ("sk", dict()),
    ("sk", dict(couplings="pm1", field=0.3)),
    ("ferromagnet", dict()),
    ("paramagnet", dict(field_sigma=0.8)),
]


@pytest.mark.parametrize("model,kw", CASES)
def test_energy_and_magnetization_vs_exact_enumeration(model, kw):
    Ts = np.array([0.5, 0.8, 1.2, 2.0])
    r = sm.parallel_tempering(model, 10, Ts, n_samples=2, n_replicas=4, n_equilibrate=500,
                              n_measure=20000, record_every=20, seed=11, **kw)
    for s in range(2):
        for k, T in enumerate(Ts):
            ex = sm.exact_enumeration(r.couplings[s], r.fields[s], T)
            assert abs(r.energy[s, :, k].mean() - ex["energy"]) < 0.006
            assert abs(r.energy_sq[s, :, k].mean() - ex["energy_sq"]) < 0.006
            assert abs(r.abs_magnetization[s, :, k].mean() - ex["abs_magnetization"]) < 0.01
    assert np.all((r.swap_acceptance > 0) & (r.swap_acceptance <= 1))
    # the last record is the final state at the lowest temperature
    last = r.configs[:, :, -1, 0, :]
    for s in range(2):
        e = sm.spin_energies(r.couplings[s], r.fields[s], last[s])
        np.testing.assert_allclose(e, r.final_energy[s, :, 0], atol=1e-12)


def test_p_of_q_vs_exact_enumeration():
    N, T = 8, 0.6
    r = sm.parallel_tempering("sk", N, [0.6, 0.9, 1.4], n_samples=1, n_replicas=8,
                              n_equilibrate=200, n_measure=20000, record_every=4, seed=2)
    q = r.replica_overlaps().ravel()
    ex = sm.exact_enumeration(r.couplings[0], r.fields[0], T)
    emp = np.array([np.mean(np.isclose(q, v)) for v in ex["q_values"]])
    assert 0.5 * np.abs(emp - ex["p_q"]).sum() < 0.03  # total variation distance


def test_spin_energies_vs_numpy(rng):
    J = sm.spin_couplings("sk", 20, seed=3)[0]
    h = rng.standard_normal(20)
    S = rng.choice(np.array([-1, 1], np.int8), (6, 20))
    ref = (-0.5 * np.einsum("ai,ij,aj->a", S, J.astype(np.float64), S) - S @ h) / 20
    np.testing.assert_allclose(sm.spin_energies(J, h, S), ref, atol=1e-12)


def test_deterministic_across_threads():
    kw = dict(n_samples=2, n_replicas=3, n_equilibrate=50, n_measure=60, record_every=20, seed=9,
              record_temperatures="all")
    outs = [sm.parallel_tempering("sk", 33, [0.5, 0.9, 1.5], n_threads=nt, **kw) for nt in (1, 2, 3)]
    for o in outs[1:]:
        np.testing.assert_array_equal(o.configs, outs[0].configs)
        np.testing.assert_array_equal(o.energy, outs[0].energy)
        np.testing.assert_array_equal(o.swap_acceptance, outs[0].swap_acceptance)
    assert outs[0].configs.shape == (2, 3, 3, 3, 33)


def test_sk_low_temperature_rsb_signatures():
    """SK at T = 0.5 < T_c = 1: broad P(q) with weight between +-q_EA, Binder ratio well below 1,
    and replica triangles more ultrametric than Gaussian points of the same dimension."""
    N, R, S = 64, 16, 4
    Ts = sm.geometric_temperatures(0.5, 1.6, 10)
    r = sm.parallel_tempering("sk", N, Ts, n_samples=S, n_replicas=R, n_equilibrate=600,
                              n_measure=600, record_every=60, seed=1)
    Qs = np.stack([sign_overlaps(r.configs[s, :, k, 0, :]) for s in range(S) for k in range(10)])
    d = rp.overlap_distribution(Qs, symmetric=True)
    assert 0.45 < d.q_ea < 0.9
    between = np.mean(np.abs(d.q) < 0.5 * d.q_ea)
    assert between > 0.05
    assert 0.3 < d.binder < 0.97
    n_more, below = 0, 0
    for s in range(S):
        D = rp.overlaps_to_distances(sign_overlaps(r.configs[s, :, -1, 0, :]), "1-|q|")
        u = rp.ultrametricity(D, null=("gaussian",), dim=N, metric="abs_cosine", seed=s)
        n_more += u.nulls["gaussian"].more_ultrametric
        below += u.mean_K < u.nulls["gaussian"].mean_K.mean()
    assert below == S and n_more >= S - 1
    # energy per spin: finite-N value above the large-N ground state -0.7633, loosely
    e = r.energy[:, :, 0].mean()
    assert sm.SK_GROUND_STATE_ENERGY < e < -0.6


def test_sk_energy_near_parisi_value():
    """N = 128, T = 0.4: the energy per spin lies a little above the T = 0, N = inf Parisi value
    -0.7633 (finite-T and O(N^-2/3) finite-size corrections, together a few hundredths)."""
    r = sm.parallel_tempering("sk", 128, sm.geometric_temperatures(0.4, 1.6, 12), n_samples=4,
                              n_replicas=2, n_equilibrate=800, n_measure=600, record_every=600,
                              seed=5)
    e = r.energy[:, :, 0].mean()
    assert -0.7633 < e < -0.66


def test_paramagnet_and_high_temperature_sk():
    # independent spins: P(q) one peak at 0 with width 1/sqrt(N)
    for N in (64, 256):
        r = sm.parallel_tempering("paramagnet", N, [2.0], n_replicas=30, n_equilibrate=5,
                                  n_measure=100, record_every=10, seed=N)
        q = r.replica_overlaps().ravel()
        assert abs(q.mean()) < 0.02
        assert abs(q.std() * np.sqrt(N) - 1) < 0.1
        Qs = np.concatenate([r.overlap_matrices(record=k) for k in range(r.configs.shape[2])])
        d = rp.overlap_distribution(Qs, symmetric=True)
        assert abs(d.q_ea) < 2 / np.sqrt(N)
        assert abs(d.binder) < 0.2
    # SK above T_c: N <q^2> -> 1 / (1 - beta^2) (= 4/3 at T = 2)
    r = sm.parallel_tempering("sk", 96, [2.0, 2.5], n_samples=6, n_replicas=6, n_equilibrate=100,
                              n_measure=300, record_every=15, seed=4)
    q = r.replica_overlaps().ravel()
    assert abs(96 * np.mean(q**2) / (4 / 3) - 1) < 0.12
    # paramagnet triangles are no more ultrametric than Gaussian points
    r = sm.parallel_tempering("paramagnet", 128, [1.0], n_replicas=20, n_equilibrate=5,
                              n_measure=10, record_every=10, seed=1)
    D = rp.overlaps_to_distances(sign_overlaps(r.configs[0, :, 0, 0, :]), "1-|q|")
    u = rp.ultrametricity(D, null=("gaussian",), dim=128, metric="abs_cosine", seed=0)
    assert not u.nulls["gaussian"].more_ultrametric


def test_ferromagnet_overlap_near_m_squared():
    T = 0.5
    r = sm.parallel_tempering("ferromagnet", 128, sm.geometric_temperatures(T, 1.5, 8),
                              n_replicas=12, n_equilibrate=300, n_measure=400, record_every=25,
                              seed=5)
    m = sm.curie_weiss_magnetization(T)
    q = r.replica_overlaps().ravel()
    assert abs(np.abs(q).mean() - m**2) < 0.02
    assert np.mean(np.abs(q) < 0.5 * m**2) < 0.01
    assert abs(r.abs_magnetization[0, :, 0].mean() - m) < 0.01
    np.testing.assert_allclose(m, np.tanh(m / T), atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="model"):
        sm.parallel_tempering("potts")
    with pytest.raises(ValueError, match="couplings"):
        sm.parallel_tempering("sk", couplings="cauchy")
    with pytest.raises(ValueError, match="temperatures"):
        sm.parallel_tempering("sk", temperatures=[1.0, -0.5])
    with pytest.raises(ValueError, match="temperatures"):
        sm.parallel_tempering("sk", temperatures=[1.0, np.nan])
    with pytest.raises(ValueError, match="n_spins"):
        sm.parallel_tempering("sk", n_spins=0)
    with pytest.raises(ValueError, match="record_temperatures"):
        sm.parallel_tempering("sk", temperatures=[1.0], record_temperatures=[3])
    with pytest.raises(ValueError, match="GiB"):
        sm.parallel_tempering("sk", n_spins=4096, n_samples=200)
    with pytest.raises(ValueError, match="N <= 20"):
        sm.exact_enumeration(np.zeros((21, 21)), np.zeros(21), 1.0)
    with pytest.raises(ValueError, match="only"):
        sm.spin_energies(np.zeros((2, 2)), np.zeros(2), np.array([[1, 0]]))
    with pytest.raises(TypeError):
        sm.parallel_tempering("sk", seed=-1.5)


def test_replica_overlaps_match_popcount_kernel():
    r = sm.parallel_tempering("sk", 70, [0.7, 1.2], n_samples=2, n_replicas=5, n_equilibrate=10,
                              n_measure=40, record_every=10, seed=3, record_temperatures="all")
    ro = r.replica_overlaps(temperature=1)
    iu = np.triu_indices(5, 1)
    for s in range(2):
        for k in range(4):
            np.testing.assert_array_equal(ro[s, k], sign_overlaps(r.configs[s, :, k, 1, :])[iu])
    Qm = r.overlap_matrices(record=-1, temperature=1)
    np.testing.assert_array_equal(Qm[1][iu], ro[1, -1])
    assert r.configurations(1, 1).shape == (5 * 4, 70)


def test_simd_paths_identical():
    from glasslens import _core

    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU without AVX2")
    old = _core.simd_path()
    outs = []
    try:
        for p in ("scalar", "avx2"):
            _core.set_simd_path(p)
            outs.append(sm.parallel_tempering("sk", 45, [0.5, 1.0], n_samples=2, n_replicas=2,
                                              n_equilibrate=30, n_measure=30, record_every=10,
                                              seed=4))
    finally:
        _core.set_simd_path(old)
    np.testing.assert_array_equal(outs[0].configs, outs[1].configs)
    np.testing.assert_array_equal(outs[0].energy, outs[1].energy)


def test_spin_energies_refuse_values_that_would_wrap_to_spins():
    """257 used to be cast to int8 (+1) before the +-1 check."""
    J = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match="only \\+1 and -1, found 257"):
        sm.spin_energies(J, np.zeros(3), np.array([[257, 1, -1]]))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        sm.spin_energies(J, np.zeros(3), np.array([[-255, 1, 1]]))


def test_integer_arrays_are_never_wrapped_on_conversion():
    from glasslens._lib._validate import as_array

    with pytest.raises(ValueError, match="outside the range of int8"):
        as_array(np.array([1, 300]), "x", np.int8)
    with pytest.raises(ValueError, match="outside the range of int32"):
        as_array(np.array([2**40]), "labels", np.int32)
    assert as_array(np.array([1, -1, 127]), "x", np.int8).dtype == np.int8


@pytest.mark.parametrize("every", [1, 2])
def test_zero_field_paramagnet_records_are_independent(every):
    """Metropolis accepted every dE = 0 flip, so each sweep flipped every spin of the free
    paramagnet and records alternated between s and -s (overlap exactly -1 or +1)."""
    N = 256
    r = sm.parallel_tempering("paramagnet", N, [2.0], n_replicas=2, n_samples=1,
                              n_equilibrate=10, n_measure=200 * every, record_every=every,
                              seed=3)
    c = r.configs[0, :, :, 0, :].astype(np.float64)  # replicas x records x N
    q = (c[:, 1:] * c[:, :-1]).mean(axis=2).ravel()
    assert abs(q.mean()) < 4.0 / np.sqrt(N * q.size)
    assert q.std() == pytest.approx(1.0 / np.sqrt(N), rel=0.25)


def test_free_ising_metropolis_records_are_independent():
    from glasslens.maxent import Ising

    N = 200
    model = Ising(np.zeros(N), np.zeros((N, N)))
    S = model.sample(400, method="metropolis", burn_in=5, thin=1, chains=1, seed=2).astype(float)
    q = (S[1:] * S[:-1]).mean(axis=1)
    assert abs(q.mean()) < 4.0 / np.sqrt(N * q.size)
    assert abs(S.mean()) < 4.0 / np.sqrt(S.size)
