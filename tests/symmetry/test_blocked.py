"""Blocked all-pairs alignment (pairwise_alignment(client=, block_size=), issue 16): the tiles
run here or as Dask tasks on a LocalCluster and give the single call's result bit for bit."""
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.optimize import linear_sum_assignment as scipy_lsa

import glasslens as gl
from glasslens import _core, replicas
from glasslens import symmetry as sy
from glasslens.symmetry import _blocked

# (widths, cost_dtype): the C++ path, the numpy float64 path, coordinate descent (deep)
KINDS = [([5, 7, 3], np.float32), ([5, 7, 3], np.float64), ([4, 5, 4, 3], np.float32)]


def _ens(widths, M, seed=3, bias=True):
    e = gl.Ensemble.init(widths, replicas=M, seed=seed)
    return e if bias else gl.Ensemble(e.weights, None)


def _equal(a, b):
    (pa, qa), (pb, qb) = a, b
    assert_array_equal(qa, qb)
    if isinstance(pa, list):
        assert len(pa) == len(pb)
        for x, y in zip(pa, pb):
            assert_array_equal(x, y)
    elif pa is None or pb is None:
        assert pa is None and pb is None
    else:
        assert pa.dtype == pb.dtype == np.int64
        assert_array_equal(pa, pb)


# ---- the tile kernel against lap_all_pairs and scipy ---------------------------------------------
def test_tile_kernel_equals_all_pairs_and_scipy(rng):
    U = rng.normal(size=(11, 9, 6)).astype(np.float32)
    P, T = _core.symmetry.lap_all_pairs(U, n_threads=1)
    p, t = _core.symmetry.lap_pairs_block(U[1:4], U[4:11], diagonal=False, n_threads=2)
    assert_array_equal(p, P[1:4, 4:11])
    assert_array_equal(t, T[1:4, 4:11])
    for a in range(3):
        for b in range(7):  # independent reference: scipy on the float64 cost U_b U_a^T
            C = U[4 + b].astype(np.float64) @ U[1 + a].astype(np.float64).T
            r, c = scipy_lsa(C, maximize=True)
            np.testing.assert_allclose(t[a, b], C[r, c].sum(), rtol=1e-5)
            # p[a, b, j]: the unit of b matched to unit j of a
            assert_array_equal(np.sort(p[a, b]), np.arange(9))
            np.testing.assert_allclose(C[p[a, b], np.arange(9)].sum(), C[r, c].sum(), rtol=1e-5)
    p, t = _core.symmetry.lap_pairs_block(U[2:8], U[2:8], diagonal=True, n_threads=2)
    iu = np.triu_indices(6)
    assert_array_equal(p[iu], P[2:8, 2:8][iu])
    assert_array_equal(t[iu], T[2:8, 2:8][iu])  # incl. the diagonal: squared norms
    assert np.all(t[np.tril_indices(6, -1)] == 0)


def test_tile_kernel_totals_only(rng):
    U = rng.normal(size=(7, 6, 4)).astype(np.float32)
    for diagonal, (A, B) in ((False, (U[:3], U[3:])), (True, (U[1:6], U[1:6]))):
        p, t = _core.symmetry.lap_pairs_block(A, B, diagonal=diagonal)
        none, t2 = _core.symmetry.lap_pairs_block(A, B, diagonal=diagonal, return_perms=False)
        assert none is None
        assert_array_equal(t2, t)


def test_tile_kernel_checks_shapes(rng):
    U = rng.normal(size=(4, 5, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="UB"):
        _core.symmetry.lap_pairs_block(U, U[:, :4], diagonal=False)
    with pytest.raises(ValueError, match="UB"):
        _core.symmetry.lap_pairs_block(U, U[:3], diagonal=True)


def test_tiles_cover_every_pair_once():
    for M in (1, 2, 7, 12, 13):
        for b in (1, 3, 5, 12, 20):
            seen = np.zeros((M, M), int)
            tl = _blocked.tiles(M, b)
            nb = -(-M // b)
            assert len(tl) == nb * (nb + 1) // 2
            for i0, i1, j0, j1 in tl:
                assert i0 <= j0 and i1 - i0 <= b and j1 - j0 <= b
                for a in range(i0, i1):
                    for c in range(max(j0, a + 1), j1):
                        seen[a, c] += 1
            assert_array_equal(seen, np.triu(np.ones((M, M), int), 1))


def test_default_block_size_bounds_memory_and_balances():
    # M = 2,000 of 784-256-10 on 64 threads: the tasks stay under TILE_BYTES
    b = _blocked.default_block_size(2000, [256], 795, 64)
    assert _blocked.tile_bytes(b, [256], 795) <= _blocked.TILE_BYTES
    assert _blocked.tile_bytes(b + 1, [256], 795) > _blocked.TILE_BYTES * 0.5
    # 4 tiles per thread where every tile keeps >= MIN_PAIRS_PER_TILE pairs ...
    b = _blocked.default_block_size(2000, [32], 75, 2)
    assert len(_blocked.tiles(2000, b)) >= 4 * 2
    # ... fewer where it would not (M = 400, 79,800 pairs: 3 tiles of 200, 2 x 1 balanced)
    assert _blocked.default_block_size(400, [32], 75, 2) == 200
    assert _blocked.default_block_size(3, [4], 5, 100) == 3
    for M in (2, 50, 400, 2000):
        for T in (1, 2, 16):
            tl = _blocked.tiles(M, _blocked.default_block_size(M, [32], 75, T))
            assert len(tl) == 1 or min(_blocked._n_pairs(t) for t in tl) >= 0.4 * (
                _blocked.MIN_PAIRS_PER_TILE)


# ---- local tiles (no Dask) ----------------------------------------------------------------------
@pytest.mark.parametrize("widths,cost_dtype", KINDS, ids=["f32", "f64", "deep"])
@pytest.mark.parametrize("bias", [True, False])
def test_local_tiles_equal_single_call(widths, cost_dtype, bias):
    for M in (1, 2, 7, 12):
        ens = _ens(widths, M, seed=M, bias=bias)
        ref = sy.pairwise_alignment(ens, cost_dtype=cost_dtype, n_threads=2)
        for b in (1, 3, 5, M, M + 4):  # 3 and 5 divide neither M nor the pair count
            _equal(sy.pairwise_alignment(ens, cost_dtype=cost_dtype, block_size=b,
                                         n_threads=2), ref)
            _equal(sy.pairwise_alignment(ens, cost_dtype=cost_dtype, block_size=b,
                                         n_threads=1, return_perms=False), (None, ref[1]))


def test_local_tiles_trained_networks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    ens = gl.train_ensemble((X, y), hidden=(16,), replicas=9, epochs=3, batch_size=16,
                            lr=0.1, seed=0)
    ref = sy.pairwise_alignment(ens)
    _equal(sy.pairwise_alignment(ens, block_size=4), ref)
    # the permutations are real matchings: permute(b, perms[a, b]) aligns b with a
    P, Q = ref
    al = sy.permute(ens[5], P[2, 5])
    fa, fb = ens[2].flat().astype(np.float64), al.flat().astype(np.float64)
    np.testing.assert_allclose(Q[2, 5], fa @ fb / np.linalg.norm(fa) / np.linalg.norm(fb),
                               rtol=1e-5)


def test_return_perms_false_single_call():
    ens = _ens([5, 7, 3], 6)
    P, Q = sy.pairwise_alignment(ens)
    p, q = sy.pairwise_alignment(ens, return_perms=False)
    assert p is None
    assert_array_equal(q, Q)


def test_return_perms_false_tiles_when_the_perms_would_be_large(monkeypatch):
    ens = _ens([5, 7, 3], 12)
    ref = sy.pairwise_alignment(ens)
    calls = []
    orig = _blocked.run_tiles

    def spy(kind, data, M, block_size, *a, **k):
        calls.append(block_size)
        return orig(kind, data, M, block_size, *a, **k)

    monkeypatch.setattr(_blocked, "run_tiles", spy)
    sy.pairwise_alignment(ens, return_perms=False)
    assert calls == []  # 12 x 12 x 7 permutations: one call
    monkeypatch.setattr(_blocked, "TILE_BYTES", 4000)
    _equal(sy.pairwise_alignment(ens, return_perms=False), (None, ref[1]))
    assert len(calls) == 1 and calls[0] < 12
    assert _blocked.tile_bytes(calls[0], [7], 9, perms=False) <= 4000


def test_progress_bar(capsys):
    ens = _ens([5, 7, 3], 6)
    sy.pairwise_alignment(ens, block_size=2, progress=True)
    err = capsys.readouterr().err
    assert "pairwise alignment of 6 replicas" in err and "6/6" in err
    sy.pairwise_alignment(ens, progress=True)
    assert "one call" in capsys.readouterr().err


# ---- option errors ------------------------------------------------------------------------------
def test_option_errors_name_the_argument():
    ens = _ens([5, 7, 3], 4)
    with pytest.raises(ValueError, match="block_size"):
        sy.pairwise_alignment(ens, block_size=0)
    with pytest.raises(TypeError, match="block_size"):
        sy.pairwise_alignment(ens, block_size=2.5)
    with pytest.raises(TypeError, match="client"):
        sy.pairwise_alignment(ens, client="tcp://localhost:8786")
    with pytest.raises(TypeError, match="return_perms"):
        sy.pairwise_alignment(ens, return_perms="no")
    with pytest.raises(TypeError, match="progress"):
        sy.pairwise_alignment(ens, progress=1)
    with pytest.raises(ValueError, match="block_size"):
        replicas.overlap_matrix(ens, alignment="none", block_size=2)
    with pytest.raises(ValueError, match="block_size"):
        replicas.overlap_matrix(ens, block_size=-1)


def test_without_dask_the_message_says_how_to_install(monkeypatch):
    ens = _ens([5, 7, 3], 4)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r'pip install "glasslens\[dask\]"'):
        sy.pairwise_alignment(ens, client=object())
    with pytest.raises(ImportError, match=r'pip install "glasslens\[dask\]"'):
        replicas.overlap_matrix(ens, client=object())
    # the local paths need no dask
    _equal(sy.pairwise_alignment(ens, block_size=2), sy.pairwise_alignment(ens))


# ---- a LocalCluster of 2 worker processes (kept small: CI runs it) ------------------------------
@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        yield c


def test_local_cluster_equals_single_call(cluster_client):
    for widths, cost_dtype in KINDS:
        for M, blocks in ((9, (None, 2, 4, 9)), (2, (None, 1))):
            ens = _ens(widths, M, seed=M)
            ref = sy.pairwise_alignment(ens, cost_dtype=cost_dtype, n_threads=2)
            for b in blocks:
                _equal(sy.pairwise_alignment(ens, cost_dtype=cost_dtype, client=cluster_client,
                                             block_size=b), ref)
    ens = _ens([5, 7, 3], 9)
    ref = sy.pairwise_alignment(ens)
    _equal(sy.pairwise_alignment(ens, client=cluster_client, block_size=4, n_threads=2,
                                 return_perms=False), (None, ref[1]))
    assert_array_equal(replicas.overlap_matrix(ens, client=cluster_client, block_size=3),
                       replicas.overlap_matrix(ens))
    # nothing is left on the cluster: the scattered blocks and the tiles are released
    assert _wait_released(cluster_client) == 0


def _scheduler_tasks(client):
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def _wait_released(client):
    import time

    for _ in range(50):
        if not _scheduler_tasks(client):
            return 0
        time.sleep(0.1)
    return _scheduler_tasks(client)


def test_local_cluster_task_error_reaches_the_caller(cluster_client):
    U = np.zeros((6, 3, 2), np.float32)
    with pytest.raises(AssertionError, match="bogus"):
        list(_blocked.run_tiles("bogus", U, 6, 2, 1, True, cluster_client, False, chunk=16,
                                max_iter=1, seed=0))
    assert _wait_released(cluster_client) == 0  # the other tiles are cancelled
