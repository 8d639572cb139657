"""glasslens.maxent: the Ising model, exact enumeration, samplers, belief propagation, landscape."""
from pathlib import Path

import numpy as np
import pytest

import glasslens
from glasslens import _core
from glasslens.maxent import (
    BPConvergenceWarning,
    Ising,
    binary_entropy,
    block_slices,
    block_summary,
    entropy_landscape,
    sk_model,
    tap_free_energies,
    tap_free_energy,
)

# The authors' released fits live in the project's shared folder (../shared beside the clone),
# never in the package; tests that need them skip when it is absent.
REF = next((p for p in (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "zou-huang-2021",
    Path("/work/shared/reference/zou-huang-2021"),
) if p.is_dir()), Path("/nonexistent/shared/reference/zou-huang-2021"))


def random_model(rng, n, scale=0.4, hscale=0.3):
    A = rng.normal(0, scale, (n, n))
    J = np.triu(A, 1)
    return Ising(rng.normal(0, hscale, n), J + J.T)


def tree_model(rng, n, scale=0.8):
    J = np.zeros((n, n))
    for i in range(1, n):
        p = int(rng.integers(0, i))
        J[i, p] = J[p, i] = rng.normal(0, scale)
    return Ising(rng.normal(0, 0.4, n), J)


def brute(model):
    """Independent reference: explicit sums over all states."""
    n = model.n
    S = np.array([[1 if (k >> i) & 1 else -1 for i in range(n)] for k in range(2 ** n)], float)
    lw = 0.5 * np.einsum("ki,ij,kj->k", S, model.J, S) + S @ model.h
    lz = lw.max() + np.log(np.exp(lw - lw.max()).sum())
    p = np.exp(lw - lz)
    return S, p, lz


# ---- model, enumeration ---------------------------------------------------------------------------
def test_exact_moments_match_brute_force(rng):
    model = random_model(rng, 9)
    S, p, lz = brute(model)
    ex = model.exact_moments(n_threads=2)
    assert ex["logZ"] == pytest.approx(lz, abs=1e-10)
    np.testing.assert_allclose(ex["m"], p @ S, atol=1e-12)
    np.testing.assert_allclose(ex["C"], (S * p[:, None]).T @ S, atol=1e-12)
    states, probs = model.enumerate()
    np.testing.assert_allclose(probs, p, rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(states, S.astype(np.int8))


def test_exact_moments_thread_independent(rng):
    model = random_model(rng, 12)
    a = model.exact_moments(n_threads=1)
    b = model.exact_moments(n_threads=3)
    assert a["logZ"] == b["logZ"]
    np.testing.assert_array_equal(a["C"], b["C"])


def test_energy_matches_probabilities(rng):
    model = random_model(rng, 6)
    S, p, _ = brute(model)
    E = model.energy(S.astype(np.int8))
    np.testing.assert_allclose(np.log(p[1:] / p[0]), -(E[1:] - E[0]), atol=1e-10)
    assert model.energy(S[3].astype(np.int8)) == pytest.approx(E[3])


# ---- samplers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["metropolis", "gibbs"])
def test_sampler_moments_match_exact(rng, method):
    model = random_model(rng, 8, scale=0.35)
    ex = model.exact_moments()
    X = model.sample(48000, method=method, burn_in=100, thin=2, chains=8, seed=7, n_threads=2)
    assert X.dtype == np.int8 and X.shape == (48000, 8)
    Xf = X.astype(float)
    # ~48000 weakly correlated samples: standard errors ~0.005; 5 sigma bounds.
    np.testing.assert_allclose(Xf.mean(0), ex["m"], atol=0.025)
    np.testing.assert_allclose(Xf.T @ Xf / len(X), ex["C"], atol=0.025)


def test_sampler_deterministic_across_threads(rng):
    model = sk_model(30, beta=0.8, seed=3)
    a = model.sample(300, chains=6, seed=11, n_threads=1)
    b = model.sample(300, chains=6, seed=11, n_threads=2)
    c = model.sample(300, chains=6, seed=11, n_threads=3, method="metropolis")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    d = model.sample(300, chains=6, seed=12, n_threads=2)
    assert not np.array_equal(a, d)


def test_sampler_init_and_rate():
    # Strong ferromagnet started all +1 stays there for a few sweeps.
    n = 10
    J = np.full((n, n), 2.0)
    np.fill_diagonal(J, 0)
    model = Ising(np.zeros(n), J)
    X, rate = model.sample(20, burn_in=0, chains=2, init=np.ones((2, n), np.int8), seed=1,
                           return_rate=True)
    assert np.all(X == 1)
    assert 0 <= rate < 1e-3


# ---- belief propagation ---------------------------------------------------------------------------
@pytest.mark.parametrize("hscale", [0.4, 3.0])  # 3.0: polarised rows take the direct tanh path
def test_bp_exact_on_tree(rng, hscale):
    model = tree_model(rng, 11)
    model = Ising(model.h * hscale / 0.4, model.J)
    S, p, lz = brute(model)
    st = model.bp(tol=1e-13, max_sweeps=200, n_threads=2)
    assert st.converged
    np.testing.assert_allclose(st.m, p @ S, atol=1e-10)
    C = (S * p[:, None]).T @ S
    edge = (model.J != 0) | np.eye(11, dtype=bool)
    np.testing.assert_allclose(st.C[edge], C[edge], atol=1e-10)
    # BP pair beliefs exist only for coupled pairs: elsewhere C = m_i m_j.
    np.testing.assert_allclose(st.C[~edge], np.outer(st.m, st.m)[~edge], atol=1e-12)
    assert -st.free_energy == pytest.approx(lz, abs=1e-9)


def test_bethe_entropy_exact_on_tree(rng):
    """The landscape's entropy s = (-F + <E> - x N q)/N equals the exact entropy of the tilted
    distribution on a tree, and d, energy match too."""
    model = tree_model(rng, 10)
    ref = np.where(rng.random(10) < 0.5, 1, -1).astype(np.int8)
    xs = np.array([-0.7, 0.0, 0.4])
    L = entropy_landscape(model, ref, xs=xs, direction="forward", tol=1e-13)
    b = L.branches["forward"]
    for k, x in enumerate(xs):
        tilted = Ising(model.h + x * ref, model.J)
        S, p, _ = brute(tilted)
        H = -np.sum(p * np.log(p))
        q = (p @ S) @ ref / 10
        E = p @ model.energy(S.astype(np.int8))
        assert b.entropy[k] == pytest.approx(H / 10, abs=1e-9)
        assert b.d[k] == pytest.approx((1 - q) / 2, abs=1e-10)
        assert b.energy[k] == pytest.approx(E / 10, abs=1e-10)
    assert np.all(b.entropy <= b.H2 + 1e-12)


def test_bp_close_to_exact_for_weak_couplings(rng):
    model = sk_model(14, beta=0.15, h_std=0.3, seed=5)
    ex = model.exact_moments()
    st = model.bp(tol=1e-12)
    assert st.converged
    conn_bp = st.C - np.outer(st.m, st.m)
    conn_ex = ex["C"] - np.outer(ex["m"], ex["m"])
    iu = np.triu_indices(14, 1)
    # Loop corrections to m and ln Z are O(beta^3); BP pair beliefs miss the indirect
    # (loop) part of the correlations, O(beta) relative to the direct one.
    assert np.max(np.abs(st.m - ex["m"])) < 1e-3
    assert -st.free_energy == pytest.approx(ex["logZ"], abs=1e-3)
    assert np.mean(np.abs(conn_bp - conn_ex)[iu]) < 0.25 * np.mean(np.abs(conn_ex[iu]))
    assert np.corrcoef(conn_bp[iu], conn_ex[iu])[0, 1] > 0.98


def test_bp_deterministic_and_warm_start(rng):
    model = sk_model(300, beta=0.5, seed=2)  # large enough for BP to use 2 threads
    a = model.bp(n_threads=1)
    b = model.bp(n_threads=3)
    np.testing.assert_array_equal(a.messages, b.messages)
    assert a.free_energy == b.free_energy
    c = model.bp(messages=a.messages)
    assert c.sweeps < a.sweeps


def test_bp_auto_damping_rescues_oscillation():
    model = sk_model(30, beta=1.5, h_std=0.5, seed=1)
    plain = model.bp(max_sweeps=500, tol=1e-8, warn=False, auto_damping=0.0)
    assert not plain.converged
    st = model.bp(max_sweeps=500, tol=1e-8)  # no warning: the damped retry converges
    assert st.converged and st.sweeps > 500
    # a damped fixed point is a fixed point of the undamped equations
    again = model.bp(messages=st.messages, max_sweeps=1, tol=1e-6, auto_damping=0.0)
    assert again.converged and again.residual < 1e-6


def test_bp_nonconvergence_warns():
    model = sk_model(30, beta=3.0, h_std=0.5, seed=4)  # spin-glass phase
    with pytest.warns(BPConvergenceWarning, match="did not converge"):
        st = model.bp(max_sweeps=3, tol=1e-12)
    assert not st.converged and st.residual > 1e-12
    assert st.sweeps == 6  # 3 undamped + 3 with the automatic damping
    st2 = model.bp(max_sweeps=3, tol=1e-12, warn=False, auto_damping=0.0)
    assert not st2.converged and st2.sweeps == 3


# ---- landscape ------------------------------------------------------------------------------------
def test_binary_entropy():
    d = np.array([0.0, 0.1, 0.5, 1.0])
    np.testing.assert_allclose(binary_entropy(d), [0, -0.1 * np.log(0.1) - 0.9 * np.log(0.9), np.log(2), 0])


def test_landscape_hysteresis_curie_weiss():
    """A ferromagnet below T_c (J0 = 1.5) tilted towards s* = +1: first-order jumps of d with a
    hysteresis loop (forward jump at x > 0, backward jump at x < 0)."""
    n = 40
    J = np.full((n, n), 1.5 / n)
    np.fill_diagonal(J, 0)
    model = Ising(np.zeros(n), J)
    xs = np.round(np.arange(-0.5, 0.5001, 0.05), 10)
    L = entropy_landscape(model, np.ones(n, np.int8), xs=xs, direction="both", tol=1e-10)
    # the same loop started from the other end with a decreasing grid
    R = entropy_landscape(model, np.ones(n, np.int8), xs=xs[::-1], direction="both", tol=1e-10)
    np.testing.assert_allclose(R.branches["forward"].d, L.branches["backward"].d, atol=1e-8)
    out = entropy_landscape(model, np.ones(n, np.int8), xs=xs[::-1], direction="outward", tol=1e-10)
    assert out.branches["down"].x[0] == 0.0 and out.branches["up"].x[-1] == 0.5
    fw = [j for j in L.jumps if j["branch"] == "forward"]
    bw = [j for j in L.jumps if j["branch"] == "backward"]
    assert len(fw) == 1 and len(bw) == 1
    assert fw[0]["x_to"] > 0 and fw[0]["d_from"] > 0.8 and fw[0]["d_to"] < 0.2
    assert bw[0]["x_to"] < 0 and bw[0]["d_from"] < 0.2 and bw[0]["d_to"] > 0.8
    # Where both branches exist they are mirror images (s* -> -s* symmetry).
    f, b = L.branches["forward"], L.branches["backward"]
    # b runs over -xs (the grid is symmetric), so b.d[k] is at -xs[k].
    np.testing.assert_allclose(f.d, 1 - b.d, atol=1e-8)
    assert np.all(f.entropy <= f.H2 + 1e-9) and np.all(b.entropy <= b.H2 + 1e-9)
    assert "jump" in L.report()
    # A paramagnet's d(x) = (1 - tanh x) / 2 is steep near 0 on a coarse grid but continuous.
    para = Ising(np.zeros(5), np.zeros((5, 5)))
    P = entropy_landscape(para, np.ones(5, np.int8), xs=np.arange(-2, 2.01, 0.5), direction="both")
    assert np.max(np.abs(np.diff(P.branches["forward"].d))) > 0.2
    assert not P.has_jump
    np.testing.assert_allclose(P.branches["forward"].d, (1 - np.tanh(np.arange(-2, 2.01, 0.5))) / 2,
                               atol=1e-9)


def test_landscape_block_indices(rng):
    model = sk_model(12, beta=0.4, seed=9)
    ref = np.where(rng.random(12) < 0.5, 1, -1).astype(np.int8)
    idx = np.arange(3, 9)
    a = entropy_landscape(model, ref, xs=[0.0, 0.5], indices=idx, direction="forward")
    b = entropy_landscape(model.subset(idx), ref[idx], xs=[0.0, 0.5], direction="forward")
    np.testing.assert_array_equal(a.branches["forward"].d, b.branches["forward"].d)
    assert a.n == 6
    assert block_slices((20, 15, 15, 10)) == {"LB": slice(0, 300), "ITER": slice(300, 525),
                                              "RB": slice(525, 675), "FULL": slice(0, 675)}


@pytest.mark.skipif(not (REF / "bp_ising_shallow.npz").exists(), reason="reference data absent")
@pytest.mark.slow
def test_shallow_reference_jump():
    """The authors' shallow-net fit: tilted BP from x = 0 to -3 (step 0.1) jumps from d ~ 0.34
    to d ~ 0.995 at x = -1.6 / -1.7 (values measured independently with plain numpy BP)."""
    z = np.load(REF / "bp_ising_shallow.npz", allow_pickle=False)
    model = Ising(z["h_FULL"], z["J_FULL"])
    xs = np.round(np.arange(-3, 1e-9, 0.1), 10)
    expect = [(0.083, 0.342, -1.6, 0.996, 0.264, 0.020), (0.093, 0.327, -1.7, 0.996, 0.283, 0.018),
              (0.109, 0.373, -1.6, 0.995, 0.248, 0.020)]
    for r, (d0, d15, xj, dafter, sb, sa) in enumerate(expect):
        L = entropy_landscape(model, z["ref_l_sigma"][r], xs=xs, direction="backward", n_threads=2)
        b = L.branches["backward"]
        assert b.converged.all()
        assert b.d[0] == pytest.approx(d0, abs=0.01)
        assert b.d[np.argmin(np.abs(b.x + 1.5))] == pytest.approx(d15, abs=0.01)
        assert len(L.jumps) == 1
        j = L.jumps[0]
        assert j["x_to"] == pytest.approx(xj)
        assert j["d_to"] == pytest.approx(dafter, abs=0.01)
        assert j["s_from"] == pytest.approx(sb, abs=0.01) and j["s_to"] == pytest.approx(sa, abs=0.01)


def test_tap_free_energies():
    weak = sk_model(12, beta=0.2, h_std=0.3, seed=3)
    ex = weak.exact_moments()
    r = tap_free_energies(weak, n_starts=20, seed=1)
    assert r["converged"].all() and r["n_states"] == 1
    # second-order TAP: m and F are exact up to O(beta^3)
    assert np.max(np.abs(r["m"][0] - ex["m"])) < 5e-3
    assert r["free_energy"][0] * 12 == pytest.approx(-ex["logZ"], abs=5e-3)
    # the fixed point is stationary for the TAP free energy
    m0 = r["m"][0]
    g = np.array([(tap_free_energy(weak, m0 + 1e-6 * e)[0] - tap_free_energy(weak, m0 - 1e-6 * e)[0]) / 2e-6
                  for e in np.eye(12)])
    assert np.max(np.abs(g)) < 1e-3
    n = 40
    J = np.full((n, n), 1.5 / n)
    np.fill_diagonal(J, 0)
    cw = tap_free_energies(Ising(np.zeros(n), J), n_starts=30, seed=2)
    assert cw["n_states"] == 2  # +m and -m, same free energy
    assert np.ptp(cw["free_energy"][cw["converged"]]) < 1e-8


def test_block_summary(rng):
    model = sk_model(10, beta=0.3, seed=4)
    ex = model.exact_moments()
    refs = model.sample(2, chains=2, seed=3)
    s = block_summary(model, ex["m"], ex["C"], references=refs)
    iu = np.triu_indices(10, 1)
    assert s["J_std"] == pytest.approx(model.J[iu].std())
    conn = ex["C"] - np.outer(ex["m"], ex["m"])
    assert s["mean_abs_conn_C"] == pytest.approx(np.mean(np.abs(conn[iu])))
    assert 0 < s["s_over_H2_min"] <= s["s_over_H2_max"] <= 1 + 1e-9
    # a paramagnet (J = 0) sits on the bound
    para = Ising(np.zeros(6), np.zeros((6, 6)))
    p = block_summary(para, np.zeros(6), np.eye(6), references=np.ones((1, 6), np.int8))
    assert p["s_over_H2_min"] == pytest.approx(1.0, abs=1e-9)


# ---- I/O and bad input ----------------------------------------------------------------------------
def test_save_load_roundtrip(tmp_path, rng):
    model = random_model(rng, 7)
    p = tmp_path / "m.npz"
    model.save(p)
    back = Ising.load(p)
    np.testing.assert_array_equal(back.h, model.h)
    np.testing.assert_array_equal(back.J, model.J)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a glasslens Ising file"):
        Ising.load(bad)
    np.savez(tmp_path / "other.npz", h=model.h)
    with pytest.raises(ValueError, match="not a glasslens Ising file"):
        Ising.load(tmp_path / "other.npz")


def test_bad_models():
    J = np.array([[0.0, 1.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match="symmetric"):
        Ising(np.zeros(2), J)
    with pytest.raises(ValueError, match="diagonal"):
        Ising(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="h contains NaN"):
        Ising([0.0, np.nan], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="J has size"):
        Ising(np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="numeric"):
        Ising(["a", "b"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="N <= 20"):
        sk_model(21).enumerate()


def test_bad_sampler_and_bp_args(rng):
    model = random_model(rng, 5)
    with pytest.raises(ValueError, match="method"):
        model.sample(10, method="wolff")
    with pytest.raises(ValueError, match="thin"):
        model.sample(10, thin=0)
    with pytest.raises(ValueError, match="init has 3 rows"):
        model.sample(10, chains=2, init=np.ones((3, 5), np.int8))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        model.sample(10, chains=1, init=np.zeros((1, 5)))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        model.energy(np.array([1, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match="damping"):
        model.bp(damping=1.0)
    with pytest.raises(ValueError, match="messages has size"):
        model.bp(messages=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="reference"):
        entropy_landscape(model, np.ones((2, 5)))
    with pytest.raises(ValueError, match="increasing"):
        entropy_landscape(model, np.ones(5), xs=[0.0, -1.0, 0.5])
    with pytest.raises(ValueError, match="expected 5"):
        entropy_landscape(model, np.ones(4))
    # The raw bindings also refuse bad shapes instead of crashing.
    with pytest.raises(ValueError):
        _core.maxent.bp_run(np.zeros(3), np.zeros((3, 2)))
    assert "maxent" in glasslens.__all__


@pytest.mark.skipif(not (REF / "bp_ising_under.npz").exists(), reason="reference data absent")
def test_under_reference_middle_block_closest_to_bound():
    """Authors' deep-net block fits (under-parametrised): the middle block (ITER) sits closest to
    the H2 bound (s/H2 ~ 0.95-0.99 vs 0.84-0.94 for LB and RB, docs section 7), with no jump."""
    z = np.load(REF / "bp_ising_under.npz", allow_pickle=False)
    blocks = block_slices((20, 15, 15, 10))
    xs = np.round(np.arange(-3, 1e-9, 0.2), 10)
    lo, hi = {}, {}
    for name in ("LB", "ITER", "RB"):
        model = Ising(z[f"h_{name}"], z[f"J_{name}"])
        L = entropy_landscape(model, z["ref_l_sigma"][0][blocks[name]], xs=xs, direction="backward",
                              n_threads=2)
        b = L.branches["backward"]
        assert b.converged.all() and not L.has_jump
        assert np.all(b.entropy <= b.H2 + 1e-9)
        lo[name], hi[name] = np.nanmin(b.ratio), np.nanmax(b.ratio)
    assert 0.94 <= lo["ITER"] and hi["ITER"] <= 1.0
    for outer in ("LB", "RB"):
        assert 0.80 <= lo[outer] and hi[outer] <= 0.94
        assert lo["ITER"] > hi[outer]
