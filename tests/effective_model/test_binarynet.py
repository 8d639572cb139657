"""Tests of glasslens.binarynet: LR-net gradients, Adam, training, sampling, evaluation."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import _core
from glasslens import effective_model as bn


# ---- independent numpy references --------------------------------------------------------------
def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _split(widths, flat):
    out, pos = [], 0
    for i in range(len(widths) - 1):
        k = widths[i + 1] * widths[i]
        out.append(flat[pos:pos + k].reshape(widths[i + 1], widths[i]))
        pos += k
    return out


def _ce(z, y):
    z = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def ref_lr_loss(widths, theta, X, y, eps, l2=0.0):
    """LR-net loss with fixed noise, written directly from the model definition."""
    a = np.asarray(X, dtype=np.float64)
    col = 0
    Ts = _split(widths, theta)
    for i, T in enumerate(Ts):
        mu = 2.0 * _sig(T) - 1.0
        var = 1.0 - mu ** 2
        out = T.shape[0]
        z = a @ mu.T + np.sqrt((a ** 2) @ var.T) * eps[:, col:col + out]
        col += out
        if i < len(Ts) - 1:
            a = np.where(z > 0, z, 0.1 * z) / np.sqrt(T.shape[1])
        else:
            return _ce(z, y) + 0.5 * l2 * float(np.sum(theta ** 2))


def ref_binary_logits(widths, W, X):
    a = np.asarray(X, dtype=np.float64)
    Ws = _split(widths, np.asarray(W, dtype=np.float64))
    for i, M in enumerate(Ws):
        z = a @ M.T
        if i < len(Ws) - 1:
            a = np.where(z > 0, z, 0.1 * z) / np.sqrt(M.shape[1])
    return z


def ref_adam(theta, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mh = m / (1 - b1 ** t)
    vh = v / (1 - b2 ** t)
    return theta - lr * mh / (np.sqrt(vh) + eps), m, v


@pytest.fixture(scope="module")
def digits():
    """sklearn digits, pixels in [0, 1], PCA to 20 components scaled so PC1 has std 2.3 (like
    the paper's MNIST components), split 1200 / 597."""
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    X = d.data / 16.0
    X = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    Z = X @ Vt[:20].T
    Z *= 2.3 / Z[:, 0].std()
    perm = np.random.default_rng(0).permutation(len(d.target))
    tr, te = perm[:1200], perm[1200:]
    Z = Z.astype(np.float32)
    return bn.ArrayDataset(Z[tr], d.target[tr], Z[te], d.target[te], name="digits-pca20")


# ---- LR-net loss and gradient ------------------------------------------------------------------
@pytest.mark.parametrize("widths", [[5, 4, 3, 3], [4, 3], [6, 5, 4]])
def test_loss_matches_numpy_and_gradient_matches_finite_differences(widths, rng):
    P = bn.n_weights(widths)
    U = sum(widths[1:])
    n = 9
    theta = rng.normal(0.0, 1.0, P)
    X = rng.normal(size=(n, widths[0]))
    y = rng.integers(0, widths[-1], n)
    eps = rng.normal(size=(n, U))
    l2 = 0.01
    loss, grad = bn.lr_loss_grad(widths, theta, X, y, eps, l2=l2)
    assert loss == pytest.approx(ref_lr_loss(widths, theta, X, y, eps, l2), rel=1e-12)
    h = 1e-6
    fd = np.empty(P)
    for j in range(P):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        fd[j] = (ref_lr_loss(widths, tp, X, y, eps, l2) - ref_lr_loss(widths, tm, X, y, eps, l2)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    assert np.max(np.abs(grad)) > 1e-3  # the check is not vacuous


def test_gradient_with_saturated_weights_is_finite(rng):
    widths = [4, 3, 2]
    P = bn.n_weights(widths)
    theta = np.full(P, 200.0)  # P(w=+1) = 1: variance 0 everywhere
    X = rng.normal(size=(5, 4))
    loss, grad = bn.lr_loss_grad(widths, theta, X, rng.integers(0, 2, 5), rng.normal(size=(5, 5)))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


# ---- Adam ----------------------------------------------------------------------------------------
def test_adam_steps_match_numpy(rng):
    n = 50
    th = rng.normal(size=n).astype(np.float32)
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    th_r, m_r, v_r = th.astype(np.float64), np.zeros(n), np.zeros(n)
    for t in range(1, 8):
        g = rng.normal(size=n).astype(np.float32)
        th, m, v = _core.effective_model.adam_step(th, g, m, v, t, 0.3, 0.9, 0.999, 1e-8)
        th_r, m_r, v_r = ref_adam(th_r, g.astype(np.float64), m_r, v_r, t, 0.3)
    np.testing.assert_allclose(th, th_r, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m, m_r, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, v_r, rtol=1e-5, atol=1e-8)


def test_training_steps_match_reference(rng):
    """Two epochs of one minibatch each, re-done in numpy from the exposed random streams."""
    widths = [6, 5, 4, 3]
    n, seed, R = 11, 7, 2
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = rng.integers(0, 3, n)
    ens = gl.effective_model.train_binary((X, y), hidden=(5, 4), replicas=R, epochs=2, batch_size=n, seed=seed,
                          n_classes=3, n_threads=1)
    theta0 = _core.effective_model.init_theta(widths, seed, R, 0.1, 1)
    for r in range(R):
        th = theta0[r].astype(np.float64)
        m = np.zeros_like(th)
        v = np.zeros_like(th)
        for ep in range(2):
            perm = _core.effective_model.epoch_permutation(seed, r, ep, n)
            assert sorted(perm.tolist()) == list(range(n))
            eps = _core.effective_model.step_noise(widths, seed, r, ep, n)
            loss, g = bn.lr_loss_grad(widths, th, X[perm].astype(np.float64), y[perm], eps, l2=1e-5)
            loss_ce = loss - 0.5e-5 * np.sum(th ** 2)
            assert ens.history["train_loss"][r, ep] == pytest.approx(loss_ce, rel=1e-4)
            th, m, v = ref_adam(th, g, m, v, ep + 1, 0.3)
        np.testing.assert_allclose(ens.flat()[r], th, rtol=1e-4, atol=1e-4)


# ---- training ------------------------------------------------------------------------------------
def test_deep_training_reaches_good_binary_accuracy(digits):
    ens = gl.effective_model.train_binary(digits, hidden=(15, 15), replicas=4, epochs=60, seed=3, n_threads=2)
    assert ens.widths == [20, 15, 15, 10] and ens.n_weights == 675
    acc = ens.metrics["test_acc"]  # binary draws, chance = 0.1; measured ~0.82
    assert acc.shape == (4,)
    assert np.mean(acc) > 0.70, acc
    assert np.min(acc) > 0.55, acc
    loss = ens.history["train_loss"]
    assert loss.shape == (4, 60) and np.all(loss[:, -1] < loss[:, 0])


def test_shallow_training_reaches_good_binary_accuracy(digits):
    ens = gl.effective_model.train_binary(digits, hidden=(), replicas=3, epochs=20, seed=1, n_threads=2)
    assert ens.widths == [20, 10]
    assert np.mean(ens.metrics["test_acc"]) > 0.70, ens.metrics["test_acc"]  # measured ~0.79


def test_training_is_bit_identical_for_any_thread_count_and_resumable(digits):
    small = bn.ArrayDataset(digits.X_train[:300], digits.y_train[:300])
    kw = dict(hidden=(15, 15), replicas=5, epochs=3, seed=11)
    ref = gl.effective_model.train_binary(small, n_threads=1, **kw)
    for nt in (2, 3):
        other = gl.effective_model.train_binary(small, n_threads=nt, **kw)
        assert np.array_equal(other.flat(), ref.flat())
        assert np.array_equal(other.history["train_loss"], ref.history["train_loss"])
    prog = gl.effective_model.train_binary(small, n_threads=2, progress=True, **{**kw, "epochs": 1})
    resumed = gl.effective_model.train_binary(small, epochs=2, seed=11, init=prog, n_threads=2)
    assert np.array_equal(resumed.flat(), ref.flat())
    assert np.array_equal(resumed.history["train_loss"], ref.history["train_loss"])
    with pytest.raises(ValueError, match="batch_size"):
        gl.effective_model.train_binary(small, epochs=1, seed=11, init=prog, batch_size=100)
    # different seeds give different networks
    assert not np.array_equal(gl.effective_model.train_binary(small, n_threads=2, **{**kw, "seed": 12}).flat(),
                              ref.flat())


# ---- sampling and evaluation ---------------------------------------------------------------------
def test_sampled_configurations_follow_sigmoid_theta():
    widths = [8, 5, 3]
    P = bn.n_weights(widths)
    theta = np.linspace(-3.0, 3.0, 2 * P).reshape(2, P).astype(np.float32)
    ens = bn.BinaryEnsemble.from_flat(widths, theta)
    n = 4000
    S = ens.sample(n, seed=5, n_threads=2)
    assert S.dtype == np.int8 and S.shape == (2 * n, P)
    assert set(np.unique(S).tolist()) == {-1, 1}
    p = _sig(theta.astype(np.float64))
    for r in range(2):
        freq = (S[r * n:(r + 1) * n] == 1).mean(axis=0)
        sd = np.sqrt(p[r] * (1 - p[r]) / n)
        assert np.all(np.abs(freq - p[r]) < 5 * sd + 1e-12)
    np.testing.assert_allclose(ens.probabilities(), p)
    # deterministic for any thread count, and chunking by networks is consistent
    assert np.array_equal(ens.sample(n, seed=5, n_threads=1), S)
    part = _core.effective_model.sample(theta[1:], n, 5, 1, 1)
    assert np.array_equal(part, S[n:])


def test_evaluate_configurations_matches_numpy(rng):
    widths = [7, 6, 5, 4]
    P = bn.n_weights(widths)
    X = rng.normal(size=(300, 7)).astype(np.float32)
    W = np.where(rng.random((6, P)) < 0.5, 1, -1).astype(np.int8)
    # labels from one of the nets so that accuracies are spread out
    y = np.argmax(ref_binary_logits(widths, W[0], X), axis=1)
    acc, loss = bn.evaluate_configurations(W, widths, X, y, n_threads=2, return_loss=True)
    net = bn.BinaryNet(_split(widths, np.zeros(P)))
    for k in range(6):
        z = ref_binary_logits(widths, W[k], X)
        # +-1 weights make exact ties (duplicate hidden units) common: float32 and float64 may
        # resolve a mathematical tie differently, so only the near-tied rows may disagree
        top2 = np.sort(z, axis=1)[:, -2:]
        near_tie = (top2[:, 1] - top2[:, 0]) < 1e-4
        correct = np.argmax(z, axis=1) == y
        assert abs(acc[k] * len(y) - correct.sum()) <= near_tie.sum()
        zc = net.forward(X, W[k])
        np.testing.assert_allclose(zc, z, rtol=1e-5, atol=1e-5)
        pred = np.argmax(zc, axis=1)
        assert np.array_equal(pred[~near_tie], np.argmax(z, axis=1)[~near_tie])
        assert acc[k] == np.mean(pred == y)
        assert loss[k] == pytest.approx(_ce(z, y), rel=1e-5)
    assert acc[0] > 0.95
    assert np.array_equal(bn.evaluate_configurations(W, widths, X, y, n_threads=1), acc)


def test_sample_configurations_pools_networks_and_filters(digits):
    ens = gl.effective_model.train_binary(digits, hidden=(15, 15), replicas=3, epochs=15, seed=2, n_threads=2)
    out = gl.effective_model.sample_configurations(ens, 40, seed=9, X_test=digits.X_test, y_test=digits.y_test,
                                   n_threads=2)
    assert isinstance(out, gl.effective_model.BinarySamples)
    assert out.configurations.shape == (120, 675) and out.configurations.dtype == np.int8
    assert np.array_equal(out.network, np.repeat(np.arange(3), 40))
    direct = bn.evaluate_configurations(out.configurations, ens.widths, digits.X_test,
                                        digits.y_test)
    assert np.array_equal(out.accuracy, direct)
    thr = float(np.median(out.accuracy))
    filt = gl.effective_model.sample_configurations(ens, 40, seed=9, X_test=digits.X_test, y_test=digits.y_test,
                                    min_accuracy=thr, n_threads=1)
    keep = out.accuracy >= thr
    assert 0 < keep.sum() < 120
    assert np.array_equal(filt.configurations, out.configurations[keep])
    assert np.array_equal(filt.network, out.network[keep])
    assert np.all(filt.accuracy >= thr)
    # pooling a list of trainings numbers the networks in order
    pooled = gl.effective_model.sample_configurations([ens[0], ens[1], ens[2]], 40, seed=9)
    assert np.array_equal(pooled.configurations, out.configurations)
    assert np.all(np.isnan(pooled.accuracy))


def test_block_indices_and_presets():
    b = gl.effective_model.block_indices([20, 15, 15, 10])
    assert [len(b[k]) for k in ("LB", "ITER", "RB", "FULL")] == [300, 225, 150, 675]
    assert b["ITER"][0] == 300 and b["RB"][0] == 525 and b["RB"][-1] == 674
    g = gl.effective_model.block_indices([20, 10])
    assert set(g) == {"layer0", "FULL"} and len(g["FULL"]) == 200
    g4 = gl.effective_model.block_indices([4, 3, 3, 3, 2])
    assert list(g4) == ["layer0", "layer1", "layer2", "layer3", "FULL"]
    under, over, shallow = (gl.effective_model.paper_preset(r) for r in ("deep-under", "deep-over", "shallow"))
    assert under.widths == [20, 15, 15, 10] and under.n_weights == 675 and under.n_train is None
    assert over.n_train is not None and over.n_train < over.n_weights
    assert shallow.widths == [20, 10]
    data = bn.ArrayDataset(np.ones((600, 30), np.float32), np.arange(600) % 10,
                           np.ones((5, 30), np.float32), np.arange(5))
    d = over.prepare(data)
    assert d.X_train.shape == (500, 20) and d.X_test.shape == (5, 20)
    assert over.train_kwargs()["hidden"] == (15, 15)


def test_save_load_roundtrip(tmp_path, digits):
    small = bn.ArrayDataset(digits.X_train[:200], digits.y_train[:200], digits.X_test,
                            digits.y_test)
    ens = gl.effective_model.train_binary(small, replicas=2, epochs=2, seed=4, n_threads=1)
    p = tmp_path / "ens.npz"
    ens.save(p)
    back = bn.BinaryEnsemble.load(p)
    assert np.array_equal(back.flat(), ens.flat())
    assert np.array_equal(back.metrics["test_acc"], ens.metrics["test_acc"])
    assert back.state["epochs_done"] == 2
    s = gl.effective_model.sample_configurations(ens, 5, X_test=digits.X_test, y_test=digits.y_test)
    s.save(tmp_path / "s.npz", widths=ens.widths)
    s2 = gl.effective_model.BinarySamples.load(tmp_path / "s.npz")
    assert np.array_equal(s2.configurations, s.configurations)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError):
        bn.BinaryEnsemble.load(bad)
    with pytest.raises(ValueError):
        gl.effective_model.BinarySamples.load(p)  # wrong kind
    with pytest.raises(FileNotFoundError):
        bn.BinaryEnsemble.load(tmp_path / "missing.npz")


# ---- bad input -----------------------------------------------------------------------------------
def test_bad_inputs_raise(digits):
    X, y = digits.X_train[:50], digits.y_train[:50]
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="X_train"):
        gl.effective_model.train_binary((Xn, y), epochs=1)
    with pytest.raises(ValueError, match="y_train"):
        gl.effective_model.train_binary((X, y[:10]), epochs=1)
    with pytest.raises(ValueError, match="negative"):
        gl.effective_model.train_binary((X, -y - 1), epochs=1)
    with pytest.raises(ValueError, match="n_classes"):
        gl.effective_model.train_binary((X, y), epochs=1, n_classes=3)
    with pytest.raises(ValueError, match="epochs"):
        gl.effective_model.train_binary((X, y), epochs=-1)
    with pytest.raises(ValueError, match="lr"):
        gl.effective_model.train_binary((X, y), epochs=1, lr=0.0)
    with pytest.raises(ValueError, match="replicas"):
        gl.effective_model.train_binary((X, y), epochs=1, replicas=0)
    with pytest.raises(ValueError, match="widths"):
        gl.effective_model.train_binary((X, y), hidden=(15, 0), epochs=1)
    with pytest.raises(TypeError, match="dataset"):
        gl.effective_model.train_binary(42, epochs=1)
    with pytest.raises(ValueError, match="X_test"):
        gl.effective_model.train_binary({"X_train": X, "y_train": y, "X_test": X[:, :5], "y_test": y}, epochs=1)
    ens = bn.BinaryEnsemble.from_flat([20, 3, 10], np.zeros((2, 90), np.float32))
    with pytest.raises(ValueError, match="min_accuracy"):
        gl.effective_model.sample_configurations(ens, 3, min_accuracy=0.5)
    with pytest.raises(ValueError, match="min_accuracy"):
        gl.effective_model.sample_configurations(ens, 3, X_test=X, y_test=y, min_accuracy=1.5)
    with pytest.raises(ValueError, match="n_per_network"):
        gl.effective_model.sample_configurations(ens, 0)
    with pytest.raises(ValueError, match="features"):
        gl.effective_model.sample_configurations(ens, 2, X_test=X[:, :5], y_test=y)
    with pytest.raises(ValueError, match="y_test"):
        gl.effective_model.sample_configurations(ens, 2, X_test=X, y_test=y + 10)
    with pytest.raises(TypeError, match="binary_ensemble"):
        gl.effective_model.sample_configurations("nope", 2)
    with pytest.raises(ValueError, match="widths"):
        gl.effective_model.sample_configurations([ens, bn.BinaryEnsemble.from_flat([20, 10], np.zeros((1, 200)))], 2)
    with pytest.raises(ValueError, match=r"\+1 and -1"):
        bn.evaluate_configurations(np.zeros((2, 90)), [20, 3, 10], X, y)
    with pytest.raises(ValueError, match="shape"):
        bn.evaluate_configurations(np.ones((2, 91)), [20, 3, 10], X, y)
    with pytest.raises(ValueError, match="theta"):
        bn.lr_loss_grad([4, 3], np.zeros(11), np.zeros((2, 4)), [0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="eps"):
        bn.lr_loss_grad([4, 3], np.zeros(12), np.zeros((2, 4)), [0, 1], np.zeros((2, 4)))
    with pytest.raises(ValueError, match="regime"):
        gl.effective_model.paper_preset("deep")
    with pytest.raises(ValueError, match="columns"):
        bn.BinaryEnsemble.from_flat([20, 10], np.zeros((2, 199)))
    # the C++ layer validates on its own as well
    with pytest.raises(ValueError, match="out of range"):
        _core.effective_model.evaluate_binary([20, 3, 10], np.ones((1, 90), np.int8), X, y + 10,
                                              0.1, 1)
    with pytest.raises(ValueError, match="batch_size"):
        _core.effective_model.train(
            [20, 10], np.zeros((1, 200), np.float32), np.zeros((1, 200), np.float32),
            np.zeros((1, 200), np.float32), X, y.astype(np.int32), 0, 0, 1,
            _core.effective_model.TrainConfig(batch_size=0, lr=0.3, beta1=0.9, beta2=0.999,
                                              adam_eps=1e-8, l2=0.0, leak=0.1), 1)


# ---- random streams ------------------------------------------------------------------------------
def test_block_parallel_philox_equals_sequential_philox():
    for seed, stream, sub in [(0, 0, 0), (123, 5, (3 << 56) ^ 7), (2**64 - 1, 2**40 + 3, 2**63)]:
        a = _core.effective_model._philox_words(seed, stream, sub, 130, True)
        b = _core.effective_model._philox_words(seed, stream, sub, 130, False)
        assert np.array_equal(a, b)


def test_lr_noise_is_standard_normal():
    st = pytest.importorskip("scipy.stats")
    e = np.concatenate([_core.effective_model.step_noise([20, 15, 15, 10], 1, r, s, 200).ravel()
                        for r in range(3) for s in range(20)])
    assert abs(e.mean()) < 5 / np.sqrt(e.size)
    assert abs(e.std() - 1) < 0.005
    assert st.kstest(e, "norm").pvalue > 1e-3
    tail = np.mean(np.abs(e) > 3)  # exercised by the ziggurat's slow path
    assert abs(tail - 2 * st.norm.sf(3)) < 5 * np.sqrt(2 * st.norm.sf(3) / e.size)
    assert not np.array_equal(_core.effective_model.step_noise([4, 3], 1, 0, 0, 5),
                              _core.effective_model.step_noise([4, 3], 1, 0, 1, 5))


def test_gradient_matches_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    widths = [6, 5, 4, 3]
    P = bn.n_weights(widths)
    n = 13
    theta = rng.normal(0, 1.5, P)
    X = rng.normal(size=(n, 6))
    y = rng.integers(0, 3, n)
    eps = rng.normal(size=(n, sum(widths[1:])))
    loss, grad = bn.lr_loss_grad(widths, theta, X, y, eps, l2=1e-3)
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(X)
    E = torch.tensor(eps)
    pos = col = 0
    for i in range(3):
        o, k = widths[i + 1], widths[i]
        T = th[pos:pos + o * k].reshape(o, k)
        pos += o * k
        mu = torch.tanh(T / 2)
        z = a @ mu.T + torch.sqrt((a * a) @ (1 - mu * mu).T) * E[:, col:col + o]
        col += o
        a = torch.nn.functional.leaky_relu(z, 0.1) / np.sqrt(k) if i < 2 else z
    tl = torch.nn.functional.cross_entropy(a, torch.tensor(y)) + 0.5e-3 * (th * th).sum()
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(grad, th.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_scalar_and_avx2_kernels_agree(digits):
    if not _core.cpu_has_avx2_fma():
        pytest.skip("CPU without AVX2/FMA: only the scalar path exists")
    small = bn.ArrayDataset(digits.X_train[:400], digits.y_train[:400])
    before = _core.simd_path()
    out = {}
    try:
        for path in ("scalar", "avx2"):
            _core.set_simd_path(path)
            ens = gl.effective_model.train_binary(small, replicas=2, epochs=2, seed=5, n_threads=1)
            cfg = ens.sample(20, seed=1)
            acc = bn.evaluate_configurations(cfg, ens.widths, digits.X_test, digits.y_test,
                                             return_loss=True)
            noise = _core.effective_model.step_noise([20, 15, 15, 10], 3, 1, 7, 50)
            out[path] = (ens, acc, noise)
    finally:
        _core.set_simd_path(before)
    (e_s, a_s, n_s), (e_v, a_v, n_v) = out["scalar"], out["avx2"]
    assert np.array_equal(n_s, n_v)  # integer Philox words: identical noise on both paths
    np.testing.assert_allclose(e_s.history["train_loss"], e_v.history["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(e_s.flat(), e_v.flat(), atol=2e-3)
    np.testing.assert_allclose(a_s[1], a_v[1], rtol=1e-4)


def test_preset_load_dataset_uses_unstandardised_pca(monkeypatch):
    import sys
    import types

    calls = {}

    def fake_load(name, **kw):
        calls.update(kw, name=name)
        X = np.arange(700 * 25, dtype=np.float32).reshape(700, 25) % 7
        return bn.ArrayDataset(X, np.arange(700) % 10, X[:50], np.arange(50) % 10, name=name)

    fake = types.ModuleType("glasslens.datasets")
    fake.load = fake_load
    monkeypatch.setitem(sys.modules, "glasslens.datasets", fake)
    monkeypatch.setattr(gl, "datasets", fake, raising=False)
    d = gl.effective_model.paper_preset("deep-over", dataset="fashion-mnist").load_dataset(seed=3)
    assert calls == {"name": "fashion-mnist", "pca": 20, "standardize": False, "seed": 3}
    assert d.X_train.shape == (500, 20) and d.X_test.shape == (50, 20)
