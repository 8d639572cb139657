"""Overlaps: bit-packed popcount kernel vs numpy, weight/function overlaps, alignment, bad input."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import _core
from glasslens.nn import MLP, Ensemble
from glasslens.replicas import (
    overlap_matrix,
    pack_signs,
    popcount_kernel,
    sign_overlaps,
)

KERNELS = [k for k in ("scalar", "avx2", "avx512")
           if _core.replicas.popcount_kernel_available(k)]


def _signs(rng, M, N, dtype=np.int8):
    return np.where(rng.random((M, N)) < 0.5, -1, 1).astype(dtype)


@pytest.fixture
def kernel(request):
    _core.replicas.set_popcount_kernel(request.param)
    yield request.param
    _core.replicas.set_popcount_kernel("auto")


@pytest.mark.parametrize("N", [1, 63, 64, 65, 511, 512, 1000, 4097 + 64 * 130])
@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_pack_roundtrip(rng, N, dtype):
    S = _signs(rng, 5, N, dtype)
    p = pack_signs(S)
    assert p.words.dtype == np.uint64 and p.words.shape[1] % 8 == 0
    np.testing.assert_array_equal(p.unpack(), S.astype(np.int8))
    # bit layout: bit j of row a set iff S[a, j] == -1
    bits = np.unpackbits(p.words.view(np.uint8), axis=1, bitorder="little")[:, :N]
    np.testing.assert_array_equal(bits, (S < 0).astype(np.uint8))


@pytest.mark.parametrize("kernel", KERNELS, indirect=True)
@pytest.mark.parametrize("M,N", [(1, 70), (3, 64), (37, 1000), (70, 9000), (33, 8193)])
def test_sign_overlaps_exact_vs_numpy(rng, kernel, M, N):
    assert popcount_kernel() == kernel
    S = _signs(rng, M, N)
    ref = (S.astype(np.int64) @ S.T.astype(np.int64)) / N
    Q = sign_overlaps(S)
    np.testing.assert_array_equal(Q, ref)  # exact
    B = _signs(rng, 7, N)
    np.testing.assert_array_equal(sign_overlaps(S, B),
                                  (S.astype(np.int64) @ B.T.astype(np.int64)) / N)
    H = _core.replicas.hamming_packed(pack_signs(S).words, N, None, 2)
    np.testing.assert_array_equal(H, (S[:, None, :] != S[None, :, :]).sum(axis=2))


def test_kernels_agree_and_threads_deterministic(rng):
    # large enough to run the threaded paths (small problems run serially)
    S = _signs(rng, 150, 8192)
    words = [pack_signs(S, n_threads=nt).words for nt in (1, 2, 3)]
    S2 = _signs(rng, 40, 110_000)
    words += [pack_signs(S2, n_threads=nt).words for nt in (1, 3)]
    np.testing.assert_array_equal(words[0], words[1])
    np.testing.assert_array_equal(words[0], words[2])
    np.testing.assert_array_equal(words[3], words[4])
    outs = []
    for k in KERNELS:
        _core.replicas.set_popcount_kernel(k)
        for nt in (1, 2, 3):
            outs.append(sign_overlaps(S, n_threads=nt))
    _core.replicas.set_popcount_kernel("auto")
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_pack_bad_input(rng):
    S = _signs(rng, 4, 100)
    for bad in (0, 2, 0.5):
        T = S.astype(np.float64)
        T[2, 17] = bad
        with pytest.raises(ValueError, match=r"configs.*\(2, 17\)"):
            pack_signs(T)
    T = S.astype(np.float32)
    T[1, 3] = np.nan
    with pytest.raises(ValueError, match="configs"):
        pack_signs(T)
    with pytest.raises(ValueError, match="2 dimensions"):
        pack_signs(S[0])
    with pytest.raises(TypeError, match="boolean"):
        pack_signs(S > 0)
    with pytest.raises(ValueError, match="only"):
        pack_signs(S.astype(np.int64) * 3)
    with pytest.raises(ValueError, match="spins per row"):
        sign_overlaps(S, _signs(rng, 2, 99))
    with pytest.raises(ValueError, match="words per row"):
        _core.replicas.overlap_packed(np.zeros((2, 3), np.uint64), 100, None, 1)
    with pytest.raises(ValueError, match="popcount kernel"):
        _core.replicas.set_popcount_kernel("sse9")


def _permuted_copies(rng, widths, R, noise=0.0):
    base = MLP.init(widths, seed=1)
    nets = []
    for r in range(R):
        n = base.copy()
        for l in range(len(widths) - 2):
            perm = rng.permutation(widths[l + 1])
            n.weights[l] = n.weights[l][perm]
            n.biases[l] = n.biases[l][perm]
            n.weights[l + 1] = n.weights[l + 1][:, perm]
        n.weights = [W + noise * rng.standard_normal(W.shape).astype(np.float32) for W in n.weights]
        nets.append(n)
    return Ensemble.from_mlps(nets)


def test_weight_overlaps_vs_numpy(rng):
    ens = Ensemble.init([10, 16, 3], replicas=6, seed=3)
    F = ens.flat().astype(np.float64)
    Q = overlap_matrix(ens, alignment="none")
    ref = (F @ F.T) / np.outer(np.linalg.norm(F, axis=1), np.linalg.norm(F, axis=1))
    np.testing.assert_allclose(Q, ref, atol=2e-6)
    np.testing.assert_array_equal(Q, Q.T)
    np.testing.assert_allclose(overlap_matrix(ens, normalize="q"), F @ F.T / F.shape[1], rtol=1e-5)
    # one layer: its weight block and bias
    W1 = np.concatenate([ens.weights[1].reshape(6, -1), ens.biases[1]], axis=1).astype(np.float64)
    ref1 = W1 @ W1.T / np.outer(np.linalg.norm(W1, axis=1), np.linalg.norm(W1, axis=1))
    np.testing.assert_allclose(overlap_matrix(ens, layer=1), ref1, atol=2e-6)
    # raw (R, P) matrix input equals the ensemble input
    np.testing.assert_allclose(overlap_matrix(ens.flat()), Q)
    # signs of the weights
    S = np.where(ens.flat() >= 0, 1, -1)
    np.testing.assert_array_equal(overlap_matrix(ens, kind="signs"), S @ S.T / S.shape[1])


def test_alignment_recovers_permuted_copies(rng):
    ens = _permuted_copies(rng, [12, 20, 4], R=5, noise=0.01)
    Q0 = overlap_matrix(ens, alignment="none")
    off = ~np.eye(5, dtype=bool)
    assert Q0[off].max() < 0.9
    for how in ("reference", "mean", "medoid", "pairwise"):
        Qa = overlap_matrix(ens, alignment=how)
        assert Qa[off].min() > 0.99, how
        np.testing.assert_array_equal(Qa, Qa.T)
    # the default is pairwise
    np.testing.assert_array_equal(overlap_matrix(ens), overlap_matrix(ens, alignment="pairwise"))
    # signs of aligned weights: equal up to the noise
    Qs = overlap_matrix(ens, kind="signs", alignment="reference")
    assert Qs[off].min() > 0.9
    with pytest.raises(ValueError, match="pairwise"):
        overlap_matrix(ens, alignment="pairwise", layer=0)
    with pytest.raises(ValueError, match="alignment must be one of 'none', 'pairwise'"):
        overlap_matrix(ens, alignment="best")


def test_function_overlaps(rng):
    ens = Ensemble.init([6, 8, 4], replicas=4, seed=0)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    preds = np.stack([m.predict(X) for m in ens])
    Q = overlap_matrix(ens, kind="function", X=X)
    ref = (preds[:, None, :] == preds[None, :, :]).mean(axis=2)
    np.testing.assert_allclose(Q, ref)
    logits = np.stack([m.forward(X).ravel() for m in ens]).astype(np.float64)
    np.testing.assert_allclose(overlap_matrix(ens, kind="function", X=X, output="logits"),
                               np.corrcoef(logits), atol=1e-6)
    # permutation symmetry: permuted copies have identical functions
    pc = _permuted_copies(rng, [6, 8, 4], R=3)
    np.testing.assert_allclose(overlap_matrix(pc, kind="function", X=X), 1.0)


def test_overlap_matrix_bad_input(rng):
    ens = Ensemble.init([4, 5, 2], replicas=3)
    with pytest.raises(ValueError, match="kind"):
        overlap_matrix(ens, kind="foo")
    with pytest.raises(ValueError, match="normalize"):
        overlap_matrix(ens, normalize="l3")
    with pytest.raises(ValueError, match="X"):
        overlap_matrix(ens, kind="function")
    with pytest.raises(ValueError, match="features"):
        overlap_matrix(ens, kind="function", X=np.zeros((3, 7)))
    with pytest.raises(ValueError, match="needs an Ensemble"):
        overlap_matrix(np.ones((3, 4)), alignment="reference")
    with pytest.raises(ValueError, match="all-zero"):
        overlap_matrix(np.array([[1.0, 2.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="NaN"):
        overlap_matrix(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="layer"):
        overlap_matrix(ens, layer=5)
    assert gl.replicas.overlap_matrix is overlap_matrix


def test_pack_simd_paths_agree(rng):
    paths = ["scalar"] + (["avx2"] if _core.cpu_has_avx2_fma() else [])
    S = _signs(rng, 9, 64 * 5 + 17)
    old = _core.simd_path()
    try:
        outs = []
        for p in paths:
            _core.set_simd_path(p)
            outs.append(pack_signs(S).words)
            T = S.copy()
            T[4, 64 * 2 + 5] = 3
            with pytest.raises(ValueError, match=r"\(4, 133\)"):
                pack_signs(T)
            T = S.copy()
            T[8, 64 * 5 + 16] = 0  # in the tail word
            with pytest.raises(ValueError, match=r"\(8, 336\)"):
                pack_signs(T)
        for o in outs[1:]:
            np.testing.assert_array_equal(o, outs[0])
    finally:
        _core.set_simd_path(old)
