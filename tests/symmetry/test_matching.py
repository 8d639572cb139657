"""Permutation symmetry: permute, matching (planted recovery, brute force), ensemble alignment."""
import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

import glasslens as gl
from glasslens import symmetry as S
from glasslens.nn import MLP, Ensemble


def _noisy(net, rng, scale=0.05):
    Ws = [W + scale * W.std() * rng.normal(size=W.shape) for W in net.weights]
    bs = None if net.biases is None else [b + 0.01 * rng.normal(size=b.shape) for b in net.biases]
    return MLP(Ws, bs)


def _structured(widths, seed):
    """A random MLP with structure: non-zero biases and units of different scales."""
    rng = np.random.default_rng(seed)
    net = MLP.init(widths, seed=seed, scheme="pytorch")
    Ws = [W * rng.uniform(0.5, 2.0, size=(W.shape[0], 1)) for W in net.weights]
    return MLP(Ws, net.biases)


@pytest.mark.parametrize("widths", [[7, 5, 3], [6, 8, 5, 4], [5, 4, 6, 3, 2]])
@pytest.mark.parametrize("bias", [True, False])
def test_permute_preserves_function(rng, widths, bias):
    net = MLP.init(widths, seed=3, scheme="pytorch", bias=bias)
    X = rng.normal(size=(40, widths[0])).astype(np.float32)
    perms = [S.random_permutation(h, seed=l) for l, h in enumerate(widths[1:-1])]
    pn = S.permute(net, perms)
    np.testing.assert_allclose(pn.forward(X), net.forward(X), rtol=1e-5, atol=1e-5)
    # hidden unit j of the copy is unit perms[l][j] of the original
    for l, (h0, h1) in enumerate(zip(net.hidden(X), pn.hidden(X))):
        np.testing.assert_allclose(h1, h0[:, perms[l]], rtol=1e-5, atol=1e-6)
    # an Ensemble with one permutation per replica
    ens = Ensemble.init(widths, 3, seed=1, bias=bias)
    per = [np.stack([S.random_permutation(h, seed=10 * r + l) for r in range(3)])
           for l, h in enumerate(widths[1:-1])]
    pe = S.permute(ens, per)
    for r in range(3):
        ref = S.permute(ens[r], [p[r] for p in per])
        np.testing.assert_array_equal(pe.flat()[r], ref.flat())
        np.testing.assert_allclose(pe[r].forward(X), ens[r].forward(X), rtol=1e-5, atol=1e-5)


def test_random_permutation():
    for k in (0, 1, 3, 5):
        p = S.random_permutation(10, n_transpositions=k, seed=k)
        assert sorted(p) == list(range(10))
        moved = np.flatnonzero(p != np.arange(10))
        assert len(moved) == 2 * k
        np.testing.assert_array_equal(p[p], np.arange(10))  # involution
    d = S.random_permutation(12, kind="derangement", seed=2)
    assert not np.any(d == np.arange(12)) and sorted(d) == list(range(12))
    np.testing.assert_array_equal(S.random_permutation(9, seed=4), S.random_permutation(9, seed=4))
    with pytest.raises(ValueError, match="2k"):
        S.random_permutation(5, n_transpositions=3)
    with pytest.raises(ValueError, match="kind"):
        S.random_permutation(5, kind="cyclic")


def test_bad_input():
    net = MLP.init([4, 5, 3], seed=0)
    with pytest.raises(ValueError, match="not a permutation"):
        S.permute(net, [np.array([0, 0, 1, 2, 3])])
    with pytest.raises(ValueError, match="length 5"):
        S.permute(net, [np.arange(4)])
    with pytest.raises(ValueError, match="hidden layers"):
        S.permute(net, [np.arange(5), np.arange(5)])
    with pytest.raises(TypeError, match="integers"):
        S.permute(net, [np.linspace(0, 1, 5)])
    with pytest.raises(TypeError, match="net"):
        S.permute("net", [np.arange(5)])
    other = MLP.init([4, 6, 3], seed=0)
    with pytest.raises(ValueError, match="same architecture"):
        S.match_weights(net, other)
    with pytest.raises(ValueError, match="features"):
        S.match_activations(net, net, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        S.match_activations(net, net, np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="alignment must be one of"):
        S.align_ensemble(Ensemble.init([4, 5, 3], 2), alignment="best")
    with pytest.raises(ValueError, match="out of range"):
        S.align_to(Ensemble.init([4, 5, 3], 2), 5)


@pytest.mark.parametrize("widths", [[20, 30, 10], [20, 50, 10], [20, 30, 30, 10], [16, 50, 50, 10]])
def test_planted_permutation_recovered_every_trial(widths):
    rng = np.random.default_rng(7)
    H = widths[1:-1]
    for trial in range(25):
        a = _structured(widths, seed=100 + trial)
        q = [S.random_permutation(h, seed=trial * 13 + l) for l, h in enumerate(H)]
        b = _noisy(S.permute(a, q), rng)
        truth = [np.argsort(p) for p in q]  # maps b back onto a
        m = S.match_weights(a, b, seed=trial)
        for p, t in zip(m.perms, truth):
            np.testing.assert_array_equal(p, t)
        assert m.cosine > 0.99
        # git-re-basin's identity start, with restarts, also recovers it
        m2 = S.match_weights(a, b, init="identity", n_restarts=2, seed=trial)
        for p, t in zip(m2.perms, truth):
            np.testing.assert_array_equal(p, t)


def test_one_layer_matching_is_exact_brute_force():
    rng = np.random.default_rng(0)
    for seed in range(4):
        a = MLP.init([3, 5, 2], seed=seed, scheme="pytorch")
        b = MLP.init([3, 5, 2], seed=seed + 50, scheme="pytorch")
        m = S.match_weights(a, b)
        fa = a.flat().astype(np.float64)
        best = max(fa @ S.permute(b, [np.array(p)]).flat().astype(np.float64)
                   for p in itertools.permutations(range(5)))
        assert m.objective == pytest.approx(best, rel=1e-9)
        assert m.iterations == 1
        assert m.cosine == pytest.approx(best / np.linalg.norm(fa)
                                         / np.linalg.norm(b.flat().astype(np.float64)), rel=1e-9)
    del rng


def test_two_layer_matching_vs_brute_force():
    """Coordinate descent with restarts reaches the exact optimum on tiny 2-hidden-layer nets."""
    hits = 0
    for seed in range(5):
        a = MLP.init([3, 4, 4, 2], seed=seed, scheme="pytorch")
        b = MLP.init([3, 4, 4, 2], seed=seed + 99, scheme="pytorch")
        fa = a.flat().astype(np.float64)
        best = max(
            fa @ S.permute(b, [np.array(p), np.array(q)]).flat().astype(np.float64)
            for p in itertools.permutations(range(4)) for q in itertools.permutations(range(4)))
        m = S.match_weights(a, b, n_restarts=8, seed=seed)
        assert m.objective <= best + 1e-9
        assert len(m.restart_objectives) == 8 and m.gap >= 0 and 1 <= m.n_best <= 8
        assert m.objective == pytest.approx(m.restart_objectives.max())
        hits += m.objective == pytest.approx(best, rel=1e-9)
        # the reported objective is the inner product after applying the permutations
        assert m.objective == pytest.approx(fa @ S.permute(b, m.perms).flat().astype(np.float64))
    assert hits == 5


def test_match_activations(rng):
    a = _structured([10, 12, 9, 3], seed=1)
    q = [S.random_permutation(12, seed=1), S.random_permutation(9, seed=2)]
    b = S.permute(a, q)
    X = rng.normal(size=(300, 10)).astype(np.float32)
    m = S.match_activations(a, b, X)
    Ha = a.hidden(X)
    for l, (p, t) in enumerate(zip(m.perms, q)):
        alive = Ha[l].std(axis=0) > 0
        np.testing.assert_array_equal(p[alive], np.argsort(t)[alive])
    # against scipy on an independent pair
    c = MLP.init([10, 12, 9, 3], seed=5)
    m2 = S.match_activations(a, c, X)
    for l, (A, B) in enumerate(zip(a.hidden(X), c.hidden(X))):
        h = A.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            Cm = np.corrcoef(A.T.astype(np.float64), B.T.astype(np.float64))[:h, h:]
        Cm = np.nan_to_num(Cm)  # dead units: correlation 0
        r0, c0 = scipy_lsa(Cm, maximize=True)
        assert Cm[r0, c0].sum() / Cm.shape[0] == pytest.approx(m2.per_layer[l], abs=1e-6)


def _planted_ensemble(widths, R, seed):
    rng = np.random.default_rng(seed)
    base = _structured(widths, seed)
    nets, qs = [], []
    for r in range(R):
        q = [S.random_permutation(h, seed=seed * 100 + 10 * r + l)
             for l, h in enumerate(widths[1:-1])]
        nets.append(_noisy(S.permute(base, q), rng, 0.02))
        qs.append(q)
    return Ensemble.from_mlps(nets), qs


@pytest.mark.parametrize("widths", [[12, 20, 4], [12, 16, 10, 4]])
def test_align_ensemble_methods(widths):
    ens, qs = _planted_ensemble(widths, 6, seed=3)
    for method in ("reference", "medoid", "mean"):
        res = S.align_ensemble(ens, alignment=method, n_threads=2)
        assert res.method == method
        # all replicas end in one labelling: aligned copies agree unit by unit
        flat = res.ensemble.flat().astype(np.float64)
        cos = flat @ flat.T / np.outer(np.linalg.norm(flat, axis=1), np.linalg.norm(flat, axis=1))
        assert cos.min() > 0.99
        assert res.mean_cosine > 0.99
        assert res.converged
        # the permutations are consistent: replica r's unit perms[r][j] is base unit
        # q_r[perms[r][j]], the same for every r
        for l in range(len(widths) - 2):
            lab = np.stack([qs[r][l][res.perms[l][r]] for r in range(6)])
            assert np.all(lab == lab[0])
    res = S.align_ensemble(ens, alignment="mean")
    assert res.iterations >= 1


def test_align_to_external_and_reference():
    ens, _ = _planted_ensemble([8, 10, 3], 4, seed=9)
    ref = ens[2]
    r1 = S.align_to(ens, ref)
    r2 = S.align_to(ens, 2)
    np.testing.assert_array_equal(r1.perms[0], r2.perms[0])
    np.testing.assert_array_equal(r2.perms[0][2], np.arange(10))
    assert r2.cosine[2] == pytest.approx(1.0)
    for r in range(4):  # equals the one-pair matching
        m = S.match_weights(ref, ens[r])
        np.testing.assert_array_equal(r1.perms[0][r], m.perms[0])


@pytest.mark.parametrize("bias", [True, False])
def test_pairwise_alignment_vs_loop(bias):
    ens = Ensemble.init([30, 24, 5], 7, seed=2, scheme="pytorch", bias=bias)
    flat = ens.flat().astype(np.float64)
    for nt, dt in ((1, np.float64), (2, np.float64), (3, np.float32)):
        perms, ov = S.pairwise_alignment(ens, n_threads=nt, chunk=2, cost_dtype=dt)
        assert perms.shape == (7, 7, 24) and ov.shape == (7, 7)
        np.testing.assert_allclose(ov, ov.T, rtol=1e-12)
        np.testing.assert_allclose(np.diag(ov), 1.0)
        for a in range(7):
            for b in range(7):
                aligned = S.permute(ens[b], [perms[a, b]]).flat().astype(np.float64)
                expect = flat[a] @ aligned / np.linalg.norm(flat[a]) / np.linalg.norm(aligned)
                assert ov[a, b] == pytest.approx(expect, abs=1e-6)
                if a < b and dt == np.float64:
                    m = S.match_weights(ens[a], ens[b])
                    assert m.cosine == pytest.approx(ov[a, b], abs=1e-9)
                np.testing.assert_array_equal(perms[b, a], np.argsort(perms[a, b]))


def test_pairwise_alignment_deep():
    ens, _ = _planted_ensemble([8, 9, 7, 3], 4, seed=4)
    perms, ov = S.pairwise_alignment(ens)
    assert isinstance(perms, list) and perms[0].shape == (4, 4, 9) and perms[1].shape == (4, 4, 7)
    assert ov.min() > 0.99
    for a in range(4):
        for b in range(4):
            m = S.match_weights(ens[a], ens[b]) if a != b else None
            if m is not None:
                assert ov[a, b] == pytest.approx(m.cosine, abs=1e-9)


def test_exported():
    for name in ("permute", "random_permutation", "match_weights", "match_activations",
                 "align_to", "align_ensemble", "pairwise_alignment"):
        assert name in S.__all__
        with pytest.warns(DeprecationWarning, match=f"glasslens.symmetry.{name}"):
            assert getattr(gl, name) is getattr(S, name)


def test_pairwise_alignment_thread_invariance():
    ens = Ensemble.init([20, 16, 4], 9, seed=5, scheme="pytorch")
    ref = S.pairwise_alignment(ens, n_threads=1, chunk=3)
    for nt, ch in ((2, 3), (3, 16)):
        p, ov = S.pairwise_alignment(ens, n_threads=nt, chunk=ch)
        np.testing.assert_array_equal(p, ref[0])
        np.testing.assert_array_equal(ov, ref[1])
