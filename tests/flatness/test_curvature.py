"""Curvature engine: Hessian-vector products against float64 finite differences of a numpy
reference gradient and against torch double-backward; Lanczos / Hutchinson / SLQ against the
explicit Hessian of tiny networks."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import flatness as cv


# ---- independent float64 reference: loss and gradient in plain numpy -----------------------------
def _unpack(widths, bias, theta):
    out, p = [], 0
    for i in range(len(widths) - 1):
        W = theta[p:p + widths[i + 1] * widths[i]].reshape(widths[i + 1], widths[i])
        p += W.size
        b = None
        if bias:
            b = theta[p:p + widths[i + 1]]
            p += widths[i + 1]
        out.append((W, b))
    return out


def ref_loss_grad(widths, bias, theta, X, y):
    th = np.asarray(theta, np.float64)
    X = np.asarray(X, np.float64)
    layers = _unpack(widths, bias, th)
    acts, h = [X], X
    for i, (W, b) in enumerate(layers):
        z = h @ W.T + (b if b is not None else 0.0)
        if i < len(layers) - 1:
            h = np.maximum(z, 0.0)
            acts.append(h)
    m = z.max(1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(1, keepdims=True)
    n = len(y)
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[np.arange(n), y]))
    g = e / s
    g[np.arange(n), y] -= 1.0
    g /= n
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        W, b = layers[i]
        a = acts[i]
        grads.append((g.T @ a, g.sum(0)))
        if i > 0:
            g = (g @ W) * (a > 0)
    parts = []
    for gW, gb in grads[::-1]:
        parts.append(gW.ravel())
        if bias:
            parts.append(gb)
    return loss, np.concatenate(parts)


def make_problem(widths, bias, n, seed):
    rng = np.random.default_rng(seed)
    net = gl.MLP.init(widths, seed=seed, bias=bias, scheme="pytorch")  # nonzero biases: no ties at kinks
    X = rng.normal(size=(n, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], n)
    return net, X, y


# the last two: output layers of >= 16 classes (computed untransposed), one of them single-layer
CASES = [([5, 7, 3], True), ([4, 6, 5, 3], False), ([6, 3], True), ([5, 8, 7, 6, 4], True),
         ([5, 7, 18], True), ([6, 17], False)]


@pytest.mark.parametrize("widths,bias", CASES)
def test_loss_grad_and_hvp_vs_finite_differences(widths, bias):
    net, X, y = make_problem(widths, bias, 150, 3)  # 150 rows: three tiles, last one partial
    theta = net.flat().astype(np.float64)
    H = cv.HessianOperator(net, X, y, n_threads=2)
    loss, g = ref_loss_grad(widths, bias, theta, X, y)
    assert H.loss == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(H.grad(), g, rtol=0, atol=1e-6 * np.abs(g).max())
    rng = np.random.default_rng(7)
    for _ in range(3):
        v = rng.normal(size=theta.size)
        eps = 1e-5
        fd = (ref_loss_grad(widths, bias, theta + eps * v, X, y)[1]
              - ref_loss_grad(widths, bias, theta - eps * v, X, y)[1]) / (2 * eps)
        hv = cv.hvp(net, X, y, v.astype(np.float32), n_threads=2)
        assert hv.dtype == np.float32 and hv.shape == v.shape
        np.testing.assert_allclose(hv, fd, rtol=0, atol=2e-5 * np.abs(fd).max())


def test_hvp_batched_equals_single_and_threads_bit_identical():
    net, X, y = make_problem([20, 24, 16, 4], True, 600, 5)
    assert 600 * net.n_params > gl._core.flatness.serial_work  # large enough to run in parallel
    rng = np.random.default_rng(1)
    V = rng.normal(size=(3, net.n_params)).astype(np.float32)
    ref = cv.hvp(net, X, y, V, n_threads=1)
    for t in (2, 3):
        assert np.array_equal(cv.hvp(net, X, y, V, n_threads=t), ref)
    for i in range(3):
        assert np.array_equal(cv.hvp(net, X, y, V[i], n_threads=2), ref[i])
    l1, g1 = cv.loss_and_gradient(net, X, y, n_threads=1)
    l3, g3 = cv.loss_and_gradient(net, X, y, n_threads=3)
    assert l1 == l3 and np.array_equal(g1, g3)


def _sparse_problem():
    net, X, y = make_problem([30, 10, 8, 3], True, 700, 2)
    assert 700 * net.n_params > gl._core.flatness.serial_work
    X[np.abs(X) < 1.2] = 0.0  # ~23% nonzero, like raw pixels
    return net, X, y


@pytest.mark.parametrize("sparse", [False, True])
def test_simd_paths_agree(sparse):
    info = gl.build_info()
    if not info["cpu_has_avx2_fma"] or not hasattr(gl._core, "set_simd_path"):
        pytest.skip("needs an AVX2 CPU and _core.set_simd_path")
    net, X, y = _sparse_problem()
    v = np.random.default_rng(0).normal(size=net.n_params).astype(np.float32)
    old = gl._core.simd_path()
    out = {}
    try:
        for path in ("scalar", "avx2"):
            gl._core.set_simd_path(path)
            H = cv.HessianOperator(net, X, y, n_threads=1, sparse_input=sparse)
            out[path] = (H.matvec(v), H.grad(), H.loss)
    finally:
        gl._core.set_simd_path(old)
    np.testing.assert_allclose(out["scalar"][0], out["avx2"][0], rtol=1e-5,
                               atol=1e-6 * np.abs(out["avx2"][0]).max())
    np.testing.assert_allclose(out["scalar"][1], out["avx2"][1], rtol=1e-5,
                               atol=1e-6 * np.abs(out["avx2"][1]).max())
    assert out["scalar"][2] == pytest.approx(out["avx2"][2], rel=1e-6)


def test_sparse_and_dense_input_paths_agree_with_reference():
    net, X, y = _sparse_problem()
    theta = net.flat().astype(np.float64)
    v = np.random.default_rng(4).normal(size=theta.size)
    res = {}
    for sp in (False, True):
        H = cv.HessianOperator(net, X, y, n_threads=2, sparse_input=sp)
        assert H.sparse_input == sp
        res[sp] = (H.matvec(v), H.grad(), H.loss)
        # deterministic across threads on each path
        H3 = cv.HessianOperator(net, X, y, n_threads=3, sparse_input=sp)
        assert np.array_equal(H3.matvec(v), res[sp][0]) and np.array_equal(H3.grad(), res[sp][1])
    # automatic choice: zero-skipping below 10% nonzeros only (23% here -> dense GEMM)
    assert not cv.HessianOperator(net, X, y).sparse_input
    Xs = X * (np.abs(X) > 1.8)  # ~7% nonzero
    assert np.count_nonzero(Xs) < 0.1 * Xs.size
    assert cv.HessianOperator(net, Xs, y).sparse_input
    eps = 1e-8  # float64 reference; tiny step so that no ReLU kink is crossed
    fd = (ref_loss_grad(net.widths, True, theta + eps * v, X, y)[1]
          - ref_loss_grad(net.widths, True, theta - eps * v, X, y)[1]) / (2 * eps)
    loss, g = ref_loss_grad(net.widths, True, theta, X, y)
    for sp in (False, True):
        np.testing.assert_allclose(res[sp][0], fd, rtol=0, atol=2e-5 * np.abs(fd).max())
        np.testing.assert_allclose(res[sp][1], g, rtol=0, atol=1e-6 * np.abs(g).max())
        assert res[sp][2] == pytest.approx(loss, rel=1e-6)
    from glasslens.flatness import batch_loss
    T = theta[None, :] + 0.05 * np.random.default_rng(5).normal(size=(3, theta.size))
    lb, _ = batch_loss(net, T, X, y)
    for i in range(3):
        assert lb[i] == pytest.approx(ref_loss_grad(net.widths, True, T[i].astype(np.float32), X, y)[0],
                                      rel=1e-5)


def test_hvp_vs_torch_double_backward():
    torch = pytest.importorskip("torch")
    net, X, y = make_problem([6, 9, 7, 3], True, 80, 11)
    model = net.to_torch().double()
    params = list(model.parameters())
    Xt = torch.from_numpy(X.astype(np.float64))
    yt = torch.from_numpy(y)
    loss = torch.nn.functional.cross_entropy(model(Xt), yt)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = np.random.default_rng(3).normal(size=net.n_params)
    # torch parameter order is W0, b0, W1, b1, ... like our flat layout
    vs, p = [], 0
    for q in params:
        vs.append(torch.from_numpy(v[p:p + q.numel()].reshape(q.shape)))
        p += q.numel()
    dot = sum((g * vv).sum() for g, vv in zip(grads, vs))
    hv_t = torch.cat([h.reshape(-1) for h in torch.autograd.grad(dot, params)]).numpy()
    hv = cv.hvp(net, X, y, v.astype(np.float32))
    np.testing.assert_allclose(hv, hv_t, rtol=0, atol=1e-5 * np.abs(hv_t).max())


def test_explicit_hessian_symmetric_and_matches_fd():
    widths, bias = [4, 5, 3], True
    net, X, y = make_problem(widths, bias, 60, 4)
    Hx = cv.hessian_explicit(net, X, y)
    P = net.n_params
    assert Hx.shape == (P, P)
    np.testing.assert_allclose(Hx, Hx.T, rtol=0, atol=1e-6 * np.abs(Hx).max())
    theta = net.flat().astype(np.float64)
    j = 7
    e = np.zeros(P)
    e[j] = 1.0
    fd = (ref_loss_grad(widths, bias, theta + 1e-5 * e, X, y)[1]
          - ref_loss_grad(widths, bias, theta - 1e-5 * e, X, y)[1]) / 2e-5
    np.testing.assert_allclose(Hx[:, j], fd, rtol=0, atol=2e-5 * np.abs(fd).max())


def test_lanczos_top_k_vs_eigvalsh():
    net, X, y = make_problem([5, 6, 4], True, 90, 8)
    Hx = cv.hessian_explicit(net, X, y)
    ev = np.linalg.eigvalsh(0.5 * (Hx + Hx.T))[::-1]
    res = cv.hessian_top(net, (X, y), k=3, tol=1e-6, seed=1, return_vectors=True)
    np.testing.assert_allclose(res.values, ev[:3], rtol=1e-4, atol=1e-6 * abs(ev[0]))
    assert res.converged and res.n_matvec == res.n_iter
    # Ritz vectors are eigenvectors
    for lam, vec in zip(res.values, res.vectors):
        r = Hx @ vec - lam * vec
        assert np.linalg.norm(r) < 1e-3 * abs(ev[0])
    # full-length Lanczos on a tiny net recovers the whole top of the spectrum
    full = cv.hessian_top(net, X, y, k=5, max_iter=net.n_params, tol=0.0, seed=2)
    np.testing.assert_allclose(full.values, ev[:5], rtol=1e-4, atol=1e-5 * abs(ev[0]))


def test_hutchinson_trace_within_error():
    net, X, y = make_problem([5, 6, 4], True, 90, 9)
    Hx = cv.hessian_explicit(net, X, y)
    exact = float(np.trace(Hx))
    est = cv.hessian_trace(net, X, y, n_samples=400, seed=3)
    assert est.stderr > 0
    assert abs(est.value - exact) < 4 * est.stderr
    # reproducible from the seed
    assert cv.hessian_trace(net, X, y, n_samples=400, seed=3).value == est.value


def test_slq_density_moments():
    net, X, y = make_problem([5, 6, 4], True, 90, 10)
    Hx = cv.hessian_explicit(net, X, y)
    ev = np.linalg.eigvalsh(0.5 * (Hx + Hx.T))
    d = cv.hessian_density(net, X, y, n_probes=8, n_steps=net.n_params, seed=0, n_grid=2000)
    dx = d.grid[1] - d.grid[0]
    assert d.density.sum() * dx == pytest.approx(1.0, abs=1e-3)
    mean = (d.grid * d.density).sum() * dx
    assert abs(mean - ev.mean()) < 0.25 * ev.std()
    assert d.nodes.max() == pytest.approx(ev.max(), rel=1e-4)


def test_bad_input():
    net, X, y = make_problem([5, 6, 4], True, 20, 0)
    with pytest.raises(ValueError, match="X"):
        cv.hvp(net, X[:, :3], y, np.zeros(net.n_params))
    with pytest.raises(ValueError, match="y"):
        cv.hvp(net, X, y[:5], np.zeros(net.n_params))
    bad = y.copy()
    bad[0] = 4
    with pytest.raises(ValueError, match="y"):
        cv.hvp(net, X, bad, np.zeros(net.n_params))
    with pytest.raises(ValueError, match="v"):
        cv.hvp(net, X, y, np.zeros(net.n_params + 1))
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        cv.hessian_top(net, Xn, y)
    with pytest.raises(TypeError, match="net"):
        cv.hvp("net", X, y, np.zeros(3))
    with pytest.raises(ValueError, match="k"):
        cv.hessian_top(net, X, y, k=0)
    with pytest.raises(ValueError, match="max_params"):
        cv.hessian_explicit(net, X, y, max_params=10)
    with pytest.raises(TypeError, match="data"):
        cv.hessian_top(net, X)


@pytest.mark.parametrize("sparse", [False, True])
def test_split_weight_blocks_bit_identical_and_exact(sparse):
    """Wide layers: the weight blocks are split over column blocks when n_threads > 1 (both input
    paths); results must not depend on the split and must match the float64 reference."""
    widths = [160, 40, 12, 5]
    net, X, y = make_problem(widths, True, 520, 12)  # 520 rows: chunks of 256 + a partial one
    if sparse:
        X[np.abs(X) < 1.1] = 0.0
    theta = net.flat().astype(np.float64)
    V = np.random.default_rng(6).normal(size=(2, theta.size)).astype(np.float32)
    ref = cv.HessianOperator(net, X, y, n_threads=1, sparse_input=sparse)
    h1, g1 = ref.matmat(V), ref.grad()
    for t in (2, 3):
        H = cv.HessianOperator(net, X, y, n_threads=t, sparse_input=sparse)
        assert H.loss == ref.loss
        assert np.array_equal(H.matmat(V), h1) and np.array_equal(H.grad(), g1)
        assert np.array_equal(H.matvec(V[1]), h1[1])
    eps = 1e-8
    v = V[0].astype(np.float64)
    fd = (ref_loss_grad(widths, True, theta + eps * v, X, y)[1]
          - ref_loss_grad(widths, True, theta - eps * v, X, y)[1]) / (2 * eps)
    np.testing.assert_allclose(h1[0], fd, rtol=0, atol=2e-5 * np.abs(fd).max())
    loss, g = ref_loss_grad(widths, True, theta, X, y)
    np.testing.assert_allclose(g1, g, rtol=0, atol=1e-6 * np.abs(g).max())
    assert ref.loss == pytest.approx(loss, rel=1e-6)
