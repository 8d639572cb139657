import json
import os
import zipfile

import numpy as np
import pytest

from glasslens import MLP, Ensemble
from glasslens.nn import n_params
from glasslens.nn import layer_slices, replica_seeds


def _ref_logits(weights, biases, X):
    """Independent float64 per-sample forward pass."""
    out = []
    for x in np.asarray(X, np.float64):
        h = x
        for i, W in enumerate(weights):
            z = np.array([np.dot(row, h) for row in np.asarray(W, np.float64)])
            if biases is not None:
                z = z + biases[i]
            h = np.maximum(z, 0) if i < len(weights) - 1 else z
        out.append(h)
    return np.array(out)


# ---- flat layout -------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_flat_layout_and_roundtrip(bias):
    widths = [5, 4, 3, 2]
    net = MLP.init(widths, seed=1, bias=bias)
    theta = net.flat()
    P = sum(widths[i + 1] * widths[i] + (widths[i + 1] if bias else 0) for i in range(3))
    assert theta.shape == (P,) and theta.dtype == np.float32 and n_params(widths, bias) == P
    assert net.n_params == P and net.depth == 3 and net.widths == widths
    # explicit layout [W0 row-major, b0, W1, b1, ...]
    pos = 0
    for i in range(3):
        nw = widths[i + 1] * widths[i]
        np.testing.assert_array_equal(theta[pos:pos + nw], net.weights[i].reshape(-1))
        pos += nw
        if bias:
            np.testing.assert_array_equal(theta[pos:pos + widths[i + 1]], net.biases[i])
            pos += widths[i + 1]
    assert pos == P
    sl = layer_slices(widths, bias)
    np.testing.assert_array_equal(theta[sl[1]["weight"]].reshape(3, 4), net.weights[1])
    back = MLP.from_flat(widths, theta, bias=bias)
    np.testing.assert_array_equal(back.flat(), theta)
    rng = np.random.default_rng(0)
    t2 = rng.standard_normal(P).astype(np.float32)
    np.testing.assert_array_equal(MLP.from_flat(widths, t2, bias).flat(), t2)
    with pytest.raises(ValueError, match="theta"):
        MLP.from_flat(widths, t2[:-1], bias)


def test_forward_matches_independent_reference(rng):
    net = MLP.init([6, 5, 4, 3], seed=3)
    net.biases = [rng.standard_normal(b.shape).astype(np.float32) for b in net.biases]
    X = rng.standard_normal((7, 6)).astype(np.float32)
    np.testing.assert_allclose(net.forward(X), _ref_logits(net.weights, net.biases, X), atol=1e-5)
    np.testing.assert_array_equal(net.predict(X), np.argmax(net.forward(X), axis=1))
    acts = net.hidden(X)
    assert [a.shape for a in acts] == [(7, 5), (7, 4)] and all((a >= 0).all() for a in acts)
    with pytest.raises(ValueError, match="X has 5 features, the network expects 6"):
        net.forward(X[:, :5])


def test_ensemble_flat_roundtrip_and_indexing(rng):
    widths = [4, 6, 3]
    P = n_params(widths)
    theta = rng.standard_normal((5, P)).astype(np.float32)
    hist = {"epoch": np.arange(3), "train_loss": rng.random((5, 3))}
    mets = {"test_acc": rng.random(5)}
    ens = Ensemble.from_flat(widths, theta, history=hist, metrics=mets, meta={"k": 1})
    assert len(ens) == ens.n_replicas == 5 and ens.widths == widths and ens.n_params == P
    assert ens.weights[0].shape == (5, 6, 4) and ens.biases[1].shape == (5, 3)
    np.testing.assert_array_equal(ens.flat(), theta)
    for r in (0, 3, -1):
        np.testing.assert_array_equal(ens[r].flat(), theta[r])
    with pytest.raises(IndexError, match="replica index 5"):
        ens[5]
    sub = ens[1:4]
    assert isinstance(sub, Ensemble) and len(sub) == 3
    np.testing.assert_array_equal(sub.flat(), theta[1:4])
    np.testing.assert_array_equal(sub.history["train_loss"], hist["train_loss"][1:4])
    np.testing.assert_array_equal(sub.history["epoch"], hist["epoch"])
    np.testing.assert_array_equal(sub.metrics["test_acc"], mets["test_acc"][1:4])
    pick = ens[[4, 0]]
    np.testing.assert_array_equal(pick.flat(), theta[[4, 0]])
    np.testing.assert_array_equal(np.stack([m.flat() for m in ens]), theta)
    again = Ensemble.from_mlps(list(ens))
    np.testing.assert_array_equal(again.flat(), theta)
    c = ens.copy()
    c.weights[0][0, 0, 0] += 1
    assert ens.weights[0][0, 0, 0] != c.weights[0][0, 0, 0]
    nb = Ensemble.from_flat(widths, theta[:, : n_params(widths, False)], bias=False)
    assert not nb.has_bias and nb.flat().shape == (5, n_params(widths, False))
    with pytest.raises(ValueError, match="nets\\[1\\] has widths"):
        Ensemble.from_mlps([MLP.init([4, 3]), MLP.init([4, 2])])
    with pytest.raises(ValueError, match="nets must not be empty"):
        Ensemble.from_mlps([])


# ---- initialisation ----------------------------------------------------------------------------
@pytest.mark.parametrize("scheme, std", [
    ("kaiming", lambda fi, fo: np.sqrt(2 / fi)),
    ("xavier", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("lecun", lambda fi, fo: np.sqrt(1 / fi)),
    ("pytorch", lambda fi, fo: 1 / np.sqrt(fi) / np.sqrt(3)),
])
def test_init_scheme_statistics(scheme, std):
    fi, fo = 300, 400
    net = MLP.init([fi, fo, 2], seed=5, scheme=scheme)
    W = net.weights[0].astype(np.float64)
    n = W.size
    s = std(fi, fo)
    assert abs(W.mean()) < 4 * s / np.sqrt(n)
    assert abs(W.std() / s - 1) < 4 * np.sqrt(2 / n) + 1e-3
    if scheme == "pytorch":
        bound = 1 / np.sqrt(fi)
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
        b = net.biases[0]
        assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    else:
        assert np.all(net.biases[0] == 0)
        # Gaussian: about 4.55% of entries beyond 2 sigma
        frac = np.mean(np.abs(W) > 2 * s)
        assert abs(frac - 0.0455) < 0.005
    np.testing.assert_array_equal(MLP.init([fi, fo, 2], seed=5, scheme=scheme).flat(), net.flat())
    assert not np.array_equal(MLP.init([fi, fo, 2], seed=6, scheme=scheme).flat(), net.flat())


def test_init_errors_and_ensemble_seeds():
    with pytest.raises(ValueError, match="scheme must be one of"):
        MLP.init([3, 2], scheme="orthogonal")
    assert MLP.init([3, 2], bias=False).biases is None
    seeds = replica_seeds(7, 5)
    assert seeds.dtype == np.uint64 and len(set(seeds.tolist())) == 5
    np.testing.assert_array_equal(replica_seeds(7, 3), seeds[:3])  # keyed by (seed, r)
    ens = Ensemble.init([3, 4, 2], replicas=5, seed=7)
    for r in range(5):
        np.testing.assert_array_equal(ens[r].flat(), MLP.init([3, 4, 2], int(seeds[r])).flat())
    with pytest.raises(ValueError, match="replicas must be >= 1"):
        Ensemble.init([3, 2], replicas=0)


# ---- shape validation ----------------------------------------------------------------------------
def test_shape_validation():
    W0, W1 = np.zeros((4, 3)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"weights\[1\] expects 5 inputs"):
        MLP([W0, np.zeros((2, 5))])
    with pytest.raises(ValueError, match="biases has 1 layers"):
        MLP([W0, W1], [np.zeros(4)])
    with pytest.raises(ValueError, match=r"biases\[1\] has size 3"):
        MLP([W0, W1], [np.zeros(4), np.zeros(3)])
    with pytest.raises(ValueError, match=r"weights\[0\] must have 2 dimension"):
        MLP([np.zeros(3)])
    bad = W0.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"weights\[0\] contains NaN or inf"):
        MLP([bad])
    with pytest.raises(TypeError, match=r"weights\[0\] must be numeric"):
        MLP([np.array([["a"]])])
    with pytest.raises(ValueError, match="at least one layer"):
        MLP([])
    with pytest.raises(ValueError, match=r"weights\[1\] holds 3 replicas"):
        Ensemble([np.zeros((2, 4, 3)), np.zeros((3, 2, 4))])
    with pytest.raises(ValueError, match=r"metrics\['x'\] must have shape \(2,\)"):
        Ensemble([np.zeros((2, 4, 3))], metrics={"x": np.zeros(3)})
    for widths, exc, msg in [([3], ValueError, "at least an input"),
                             ([3, 0], ValueError, "positive"),
                             ([3, 2_000_000], ValueError, "absurdly large"),
                             ([3, 2.5], TypeError, "sequence of ints"),
                             (5, TypeError, "sequence of ints")]:
        with pytest.raises(exc, match=msg):
            MLP.init(widths)


# ---- persistence -----------------------------------------------------------------------------
def test_save_load_roundtrip(tmp_path, rng):
    net = MLP.init([5, 4, 3], seed=2)
    f = tmp_path / "net"  # no suffix: the file is written at exactly this path
    net.save(f)
    assert f.exists()
    back = MLP.load(f)
    np.testing.assert_array_equal(back.flat(), net.flat())
    nb = MLP.init([5, 3], seed=2, bias=False)
    nb.save(tmp_path / "nb.npz")
    assert MLP.load(tmp_path / "nb.npz").biases is None
    ens = Ensemble.init([5, 4, 3], replicas=3, seed=1)
    ens.history = {"epoch": np.arange(4), "train_loss": rng.random((3, 4))}
    ens.metrics = {"test_acc": rng.random(3)}
    ens.meta = {"lr": 0.1, "hidden": [4]}
    ens.save(tmp_path / "e.npz")
    e2 = Ensemble.load(tmp_path / "e.npz")
    np.testing.assert_array_equal(e2.flat(), ens.flat())
    np.testing.assert_array_equal(e2.history["train_loss"], ens.history["train_loss"])
    np.testing.assert_array_equal(e2.metrics["test_acc"], ens.metrics["test_acc"])
    assert e2.meta == ens.meta
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        assert json.loads(str(z["__meta__"]))["kind"] == "Ensemble"


def _rewrite(src, dst, drop=(), change=None):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in drop}
    if change:
        change(arrays)
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)


def test_load_corrupt_files(tmp_path):
    net = MLP.init([5, 4, 3], seed=2)
    good = tmp_path / "good.npz"
    net.save(good)
    Ensemble.init([5, 3], 2).save(tmp_path / "ens.npz")
    (tmp_path / "junk.npz").write_bytes(os.urandom(300))
    blob = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    _rewrite(good, tmp_path / "nometa.npz", drop=("__meta__",))
    _rewrite(good, tmp_path / "noW1.npz", drop=("W1",))

    def bad_widths(a):
        m = json.loads(str(a["__meta__"]))
        m["widths"] = "five"
        a["__meta__"] = np.array(json.dumps(m))

    def wrong_shape(a):
        a["W1"] = np.zeros((3, 7), np.float32)

    def swapped_widths(a):
        m = json.loads(str(a["__meta__"]))
        m["widths"] = [5, 4, 2]
        a["__meta__"] = np.array(json.dumps(m))

    _rewrite(good, tmp_path / "badw.npz", change=bad_widths)
    _rewrite(good, tmp_path / "shape.npz", change=wrong_shape)
    _rewrite(good, tmp_path / "hdr.npz", change=swapped_widths)
    cases = {"junk.npz": "not a glasslens MLP file", "cut.npz": "not a glasslens MLP file",
             "nometa.npz": "not a glasslens MLP file", "noW1.npz": "missing array 'W1'",
             "badw.npz": "bad 'widths'", "shape.npz": "corrupt", "hdr.npz": "header says",
             "ens.npz": "found 'Ensemble'"}
    for name, msg in cases.items():
        with pytest.raises(ValueError, match=msg) as ei:
            MLP.load(tmp_path / name)
        assert name in str(ei.value)
    with pytest.raises(ValueError, match="found 'MLP'"):
        Ensemble.load(good)
    with pytest.raises(FileNotFoundError, match="no such file"):
        MLP.load(tmp_path / "missing.npz")
    # a zip that is not an npz
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ValueError, match="zip.npz"):
        Ensemble.load(tmp_path / "zip.npz")


# ---- PyTorch interop ---------------------------------------------------------------------------
def test_torch_roundtrip_outputs(rng):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(),
                          nn.Linear(4, 3))
    net = MLP.from_torch(model)
    assert net.widths == [6, 5, 4, 3] and net.has_bias
    X = rng.standard_normal((9, 6)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), ref, atol=1e-5)
    back = net.to_torch()
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(X)).numpy(), ref, atol=1e-5)
    np.testing.assert_array_equal(MLP.from_torch(back).flat(), net.flat())
    sd_net = MLP.from_torch(model.state_dict())
    np.testing.assert_array_equal(sd_net.flat(), net.flat())
    nb = MLP.init([6, 4, 2], seed=1, bias=False)
    tm = nb.to_torch()
    assert tm[0].bias is None
    with torch.no_grad():
        np.testing.assert_allclose(tm(torch.from_numpy(X)).numpy(), nb.forward(X), atol=1e-5)
    np.testing.assert_array_equal(MLP.from_torch(tm.state_dict()).flat(), nb.flat())
    single = MLP.from_torch(nn.Linear(6, 2))
    assert single.widths == [6, 2]


def test_torch_rejects_unsupported_modules():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    with pytest.raises(ValueError, match="Sigmoid"):
        MLP.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="without a ReLU"):
        MLP.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="ends with a ReLU"):
        MLP.from_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    with pytest.raises(ValueError, match="every Linear layer has a bias or none"):
        MLP.from_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2, bias=False)))
    with pytest.raises(ValueError, match="no nn.Linear"):
        MLP.from_torch(nn.Sequential(nn.Flatten()))
    with pytest.raises(ValueError, match="no '\\*.weight'"):
        MLP.from_torch({"x": torch.zeros(2)})
    with pytest.raises(TypeError, match="nn.Module or a state dict"):
        MLP.from_torch([1, 2])
