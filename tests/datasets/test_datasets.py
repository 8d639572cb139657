import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import glasslens
from glasslens import datasets as D


@pytest.fixture(scope="module")
def digits_raw():
    return D.load("digits", standardize=False)


@pytest.fixture(scope="module")
def sk_digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data, d.target


# ---- digits, splits, subsets -----------------------------------------------------------------
def test_digits_default_types_and_split(digits_raw, sk_digits):
    d = D.load("digits")
    assert d.name == "digits" and d.n_classes == 10 and d.n_features == 64
    for X in (d.X_train, d.X_test):
        assert X.dtype == np.float32 and X.flags.c_contiguous and X.ndim == 2
    for y in (d.y_train, d.y_test):
        assert y.dtype == np.int64
    X, y = sk_digits
    assert d.n_train + d.n_test == len(y)
    # fixed split: every 4th example of each class is a test example
    test_rows = np.concatenate([np.flatnonzero(y == c)[3::4] for c in range(10)])
    test_rows.sort()
    np.testing.assert_array_equal(digits_raw.X_test, (X[test_rows] / 16.0).astype(np.float32))
    np.testing.assert_array_equal(digits_raw.y_test, y[test_rows])
    assert digits_raw.X_train.min() == 0.0 and digits_raw.X_train.max() == 1.0
    # the split does not depend on the seed
    other = D.load("digits", standardize=False, seed=7)
    np.testing.assert_array_equal(other.X_test, digits_raw.X_test)
    assert glasslens.load_dataset is D.load


def test_standardize_uses_train_statistics(digits_raw):
    d = D.load("digits", standardize=True)
    Xr = digits_raw.X_train.astype(np.float64)
    mu, sd = Xr.mean(0), Xr.std(0)
    const = sd == 0
    assert const.sum() == d.meta["standardize"]["n_constant_features"] > 0
    Xs = d.X_train.astype(np.float64)
    np.testing.assert_allclose(Xs.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(Xs.std(0)[~const], 1.0, rtol=1e-5)
    assert np.all(d.X_train[:, const] == 0)
    scale = np.where(const, 1.0, sd)
    expect = (digits_raw.X_test - mu) / scale
    np.testing.assert_allclose(d.X_test, expect, rtol=1e-5, atol=1e-5)
    assert np.all(np.isfinite(d.X_test))


def test_subsets_seeded_reproducible_stratified(digits_raw):
    a = D.load("digits", n_train=200, n_test=50, seed=3, standardize=False)
    b = D.load("digits", n_train=200, n_test=50, seed=3, standardize=False)
    c = D.load("digits", n_train=200, n_test=50, seed=4, standardize=False)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.n_train == 200 and a.n_test == 50
    # stratified: class counts are the proportional quotas rounded
    full = np.bincount(digits_raw.y_train, minlength=10)
    got = np.bincount(a.y_train, minlength=10)
    assert got.sum() == 200 and np.all(np.abs(got - full * 200 / full.sum()) < 1)
    # subset rows are rows of the full set, without repetition, in file order
    rows = {r.tobytes(): i for i, r in enumerate(digits_raw.X_train)}
    pos = [rows[r.tobytes()] for r in a.X_train]
    assert pos == sorted(pos) and len(set(pos)) == 200
    np.testing.assert_array_equal(digits_raw.y_train[pos], a.y_train)
    with pytest.raises(ValueError, match="n_train=5000 exceeds"):
        D.load("digits", n_train=5000)


def test_subset_then_standardize_matches_manual():
    raw = D.load("digits", n_train=300, seed=1, standardize=False)
    std = D.load("digits", n_train=300, seed=1)
    mu, sd = raw.X_train.mean(0, dtype=np.float64), raw.X_train.std(0, dtype=np.float64)
    sd = np.where(sd == 0, 1.0, sd)
    np.testing.assert_allclose(std.X_train, (raw.X_train - mu) / sd, atol=1e-5)


# ---- PCA ---------------------------------------------------------------------------------------
def _match_up_to_sign(a, b, atol):
    for j in range(a.shape[1]):
        s = np.sign(np.dot(a[:, j], b[:, j])) or 1.0
        np.testing.assert_allclose(a[:, j], s * b[:, j], atol=atol)


def test_pca_matches_sklearn():
    from sklearn.decomposition import PCA

    base = D.load("digits")
    d = D.load("digits", pca=12)
    assert d.n_features == 12 and d.X_train.dtype == np.float32 and d.X_train.flags.c_contiguous
    p = PCA(n_components=12, svd_solver="full").fit(base.X_train.astype(np.float64))
    _match_up_to_sign(d.X_train, p.transform(base.X_train.astype(np.float64)), 2e-4)
    _match_up_to_sign(d.X_test, p.transform(base.X_test.astype(np.float64)), 2e-4)
    np.testing.assert_allclose(d.meta["pca"]["explained_variance"], p.explained_variance_,
                               rtol=1e-5)
    np.testing.assert_allclose(d.meta["pca"]["explained_variance_ratio"],
                               p.explained_variance_ratio_, rtol=1e-5)
    # projections are centred on the training set and ordered by variance
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-4)
    v = d.X_train.var(0)
    assert np.all(np.diff(v) <= 1e-4)


def test_pca_fewer_samples_than_features_matches_numpy_svd():
    base = D.load("digits", n_train=30, seed=2, standardize=False)
    d = D.load("digits", n_train=30, seed=2, standardize=False, pca=20)
    X = base.X_train.astype(np.float64)
    mu = X.mean(0)
    _, s, vt = np.linalg.svd(X - mu, full_matrices=False)
    _match_up_to_sign(d.X_train, (X - mu) @ vt[:20].T, 1e-4)
    _match_up_to_sign(d.X_test, (base.X_test - mu) @ vt[:20].T, 1e-4)
    np.testing.assert_allclose(d.meta["pca"]["explained_variance"], s[:20] ** 2 / 29, rtol=1e-5)
    with pytest.raises(ValueError, match="pca=31 exceeds the number of training samples"):
        D.load("digits", n_train=30, pca=31)
    with pytest.raises(ValueError, match="pca=65 exceeds the number of features"):
        D.load("digits", pca=65)


# ---- classes -----------------------------------------------------------------------------------
def test_classes_subset_and_remap(digits_raw):
    d = D.load("digits", classes=(3, 1), standardize=False)
    assert d.n_classes == 2 and d.meta["classes"] == [3, 1]
    assert set(np.unique(d.y_train)) == {0, 1}
    m = np.isin(digits_raw.y_train, (1, 3))
    np.testing.assert_array_equal(d.X_train, digits_raw.X_train[m])
    np.testing.assert_array_equal(d.y_train, np.where(digits_raw.y_train[m] == 3, 0, 1))
    sub = D.load("digits", classes=[0, 1], n_train=40, seed=5)
    assert sub.n_train == 40 and np.bincount(sub.y_train).tolist() == [20, 20]
    with pytest.raises(ValueError, match=r"unknown label\(s\) \[10\]"):
        D.load("digits", classes=(0, 10))
    with pytest.raises(ValueError, match="repeated"):
        D.load("digits", classes=(1, 1))
    with pytest.raises(ValueError, match="at least 2"):
        D.load("digits", classes=(1,))
    with pytest.raises(TypeError, match="classes"):
        D.load("digits", classes=3)
    with pytest.raises(TypeError, match="classes"):
        D.load("digits", classes=("a", "b"))


# ---- teacher -----------------------------------------------------------------------------------
def _numpy_teacher_argmax(t, X):
    h = X.astype(np.float64)
    for i, W in enumerate(t.weights):
        h = h @ W.astype(np.float64).T
        if i < len(t.weights) - 1:
            h = np.maximum(h, 0)
    return np.argmax(h, axis=1)


def test_teacher_labels_reproduce_teacher_argmax():
    d = D.load("teacher", n_train=500, n_test=300, n_features=12, teacher_hidden=(8, 6),
               n_classes=4, standardize=False, seed=11)
    assert d.teacher is not None and d.teacher.widths == [12, 8, 6, 4]
    assert d.n_classes == 4 and d.n_features == 12 and d.n_train == 500 and d.n_test == 300
    np.testing.assert_array_equal(d.y_train, _numpy_teacher_argmax(d.teacher, d.X_train))
    np.testing.assert_array_equal(d.y_test, _numpy_teacher_argmax(d.teacher, d.X_test))
    assert abs(d.X_train.mean()) < 0.05 and abs(d.X_train.std() - 1) < 0.05
    assert len(np.unique(d.y_train)) > 1
    again = D.load("teacher", n_train=500, n_test=300, n_features=12, teacher_hidden=(8, 6),
                   n_classes=4, standardize=False, seed=11)
    np.testing.assert_array_equal(again.X_train, d.X_train)
    np.testing.assert_array_equal(again.teacher.weights[0], d.teacher.weights[0])
    other = D.load("teacher", n_train=500, n_test=300, n_features=12, teacher_hidden=(8, 6),
                   n_classes=4, standardize=False, seed=12, teacher_seed=11)
    np.testing.assert_array_equal(other.teacher.weights[1], d.teacher.weights[1])
    assert not np.array_equal(other.X_train, d.X_train)
    lin = D.load("teacher", n_train=50, n_test=10, teacher_hidden=(), standardize=False)
    assert lin.teacher.depth == 1
    np.testing.assert_array_equal(lin.y_train, _numpy_teacher_argmax(lin.teacher, lin.X_train))


def test_teacher_label_noise():
    clean = D.load("teacher", n_train=400, n_test=100, n_classes=3, standardize=False, seed=4)
    noisy = D.load("teacher", n_train=400, n_test=100, n_classes=3, standardize=False, seed=4,
                   label_noise=0.25)
    np.testing.assert_array_equal(clean.X_train, noisy.X_train)
    diff = np.flatnonzero(clean.y_train != noisy.y_train)
    assert diff.tolist() == noisy.meta["source"]["teacher"]["flipped"]
    assert len(diff) == 100
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)  # test labels stay clean
    with pytest.raises(ValueError, match="label_noise"):
        D.load("teacher", label_noise=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        D.load("teacher", n_classes=1)
    with pytest.raises(TypeError, match="unknown option"):
        D.load("teacher", n_hidden=3)


# ---- IDX files ---------------------------------------------------------------------------------
def _idx_bytes(arr, code=0x08):
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    dt = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    return head + arr.astype(dt).tobytes()


def _write_set(root, n_tr=12, n_te=6, gz=False, rows=3, cols=4, seed=0, names=None):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    data = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_tr, rows, cols)),
        "train-labels-idx1-ubyte": np.arange(n_tr) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_te, rows, cols)),
        "t10k-labels-idx1-ubyte": np.arange(n_te) % 10,
    }
    for stem, arr in data.items():
        b = _idx_bytes(arr)
        stem = (names or {}).get(stem, stem)
        if gz:
            (root / (stem + ".gz")).write_bytes(gzip.compress(b))
        else:
            (root / stem).write_bytes(b)
    return data


def test_read_idx_plain_gzip_and_types(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (5, 3, 4))
    (tmp_path / "a").write_bytes(_idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx_bytes(a)))
    for f in ("a", "a.gz"):
        got = D.read_idx(tmp_path / f)
        assert got.dtype == np.uint8 and got.shape == (5, 3, 4)
        np.testing.assert_array_equal(got, a)
    s = np.array([[-3, 1000], [7, -32768]])
    (tmp_path / "s").write_bytes(_idx_bytes(s, 0x0B))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "s"), s)
    f = np.array([1.5, -2.25, 3e10])
    (tmp_path / "f").write_bytes(_idx_bytes(f, 0x0D))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "f"), f.astype(np.float32))


def test_read_idx_rejects_corrupt_files(tmp_path):
    good = _idx_bytes(np.zeros((4, 2, 2), dtype=np.uint8))
    cases = {
        "trunc": (good[:-3], "truncated IDX file"),
        "trunc_head": (good[:6], "truncated IDX header"),
        "magic": (b"\x01\x02" + good[2:], "bad magic"),
        "code": (good[:2] + b"\x07" + good[3:], "type code 0x07"),
        "rank": (good[:3] + b"\x09" + good[4:], "rank 9"),
        "trailing": (good + b"\x00\x00", "trailing bytes"),
        "zero_dim": (bytes([0, 0, 8, 1]) + struct.pack(">I", 0), "zero dimension"),
        "tiny": (b"\x00", "no header"),
        "absurd": (bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 2**31), "absurd"),
    }
    for name, (blob, msg) in cases.items():
        p = tmp_path / f"{name}-idx"
        p.write_bytes(blob)
        with pytest.raises(ValueError, match=msg) as ei:
            D.read_idx(p)
        assert str(p) in str(ei.value)
    gz = gzip.compress(good)
    p = tmp_path / "cut.gz"
    p.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(ValueError, match="gzip") as ei:
        D.read_idx(p)
    assert str(p) in str(ei.value)
    p = tmp_path / "trunc_in.gz"
    p.write_bytes(gzip.compress(good[:-1]))
    with pytest.raises(ValueError, match="truncated IDX file"):
        D.read_idx(p)
    with pytest.raises(FileNotFoundError, match="no such IDX file"):
        D.read_idx(tmp_path / "nope")


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_dataset_from_path(tmp_path, gz):
    data = _write_set(tmp_path / "fm", gz=gz)
    d = D.load("fashion-mnist", path=tmp_path / "fm", standardize=False)
    assert d.n_features == 12 and d.n_train == 12 and d.n_test == 6 and d.n_classes == 10
    np.testing.assert_allclose(
        d.X_train, (data["train-images-idx3-ubyte"].reshape(12, -1) / 255.0).astype(np.float32))
    np.testing.assert_array_equal(d.y_test, data["t10k-labels-idx1-ubyte"])
    assert d.meta["class_names"][9] == "Ankle boot"
    # path/<name> works as well, and the dotted spelling of the file names
    _write_set(tmp_path / "top" / "mnist", names={"train-images-idx3-ubyte": "train-images.idx3-ubyte"})
    m = D.load("mnist", path=tmp_path / "top")
    assert m.n_train == 12 and m.name == "mnist"


def test_load_idx_env_and_missing(tmp_path, monkeypatch):
    _write_set(tmp_path / "data" / "mnist", seed=3)
    monkeypatch.setenv("GLASSLENS_DATA", str(tmp_path / "data"))
    d = D.load("mnist", standardize=False)
    assert d.meta["source"]["files"]["train_images"].startswith(str(tmp_path / "data" / "mnist"))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GLASSLENS_DATA", str(empty))
    if not Path("/usr/share/datasets/mnist").exists():
        with pytest.raises(FileNotFoundError) as ei:
            D.load("mnist")
        msg = str(ei.value)
        assert str(empty / "mnist") in msg and str(empty) in msg
        assert "/usr/share/datasets/mnist" in msg and "GLASSLENS_DATA" in msg
    part = tmp_path / "partial"
    _write_set(part)
    (part / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as ei:
        D.load("fashion-mnist", path=part)
    msg = str(ei.value)
    assert "missing t10k-labels-idx1-ubyte" in msg and str(part / "fashion-mnist") in msg
    assert "apt-get install dataset-fashion-mnist" in msg


def test_load_idx_inconsistent_sets(tmp_path):
    root = tmp_path / "bad"
    _write_set(root)
    (root / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.arange(5) % 10))
    with pytest.raises(ValueError, match="5 labels but") as ei:
        D.load("mnist", path=root)
    assert "t10k-labels-idx1-ubyte" in str(ei.value)
    (root / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.array([0, 1, 2, 3, 4, 11])))
    with pytest.raises(ValueError, match="label 11 out of range"):
        D.load("mnist", path=root)
    (root / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.arange(6) % 10))
    (root / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros(12 * 12), 0x08))
    with pytest.raises(ValueError, match="rank-3"):
        D.load("mnist", path=root)
    (root / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        D.load("mnist", path=root)


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (FASHION / "t10k-labels-idx1-ubyte.gz").exists()
                    and not (FASHION / "t10k-labels-idx1-ubyte").exists(),
                    reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv("GLASSLENS_DATA", raising=False)
    d = D.load("fashion-mnist", n_train=1000, n_test=500, standardize=False, seed=1)
    assert d.n_features == 784 and d.n_classes == 10
    assert d.n_train == 1000 and d.n_test == 500
    assert np.bincount(d.y_train).tolist() == [100] * 10
    assert np.bincount(d.y_test).tolist() == [50] * 10
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert d.meta["n_available"] == {"train": 60000, "test": 10000}


# ---- save / load -------------------------------------------------------------------------------
def test_save_load_roundtrip(tmp_path):
    d = D.load("teacher", n_train=60, n_test=20, n_classes=3, pca=5, label_noise=0.1, seed=2)
    f = tmp_path / "t.npz"
    d.save(f)
    e = D.Dataset.load(f)
    for k in ("X_train", "X_test", "y_train", "y_test"):
        a, b = getattr(d, k), getattr(e, k)
        assert a.dtype == b.dtype and b.flags.c_contiguous
        np.testing.assert_array_equal(a, b)
    assert e.name == d.name and e.n_classes == 3 and e.meta == d.meta
    for Wa, Wb in zip(d.teacher.weights, e.teacher.weights):
        np.testing.assert_array_equal(Wa, Wb)
    g = D.load("digits", n_train=50, n_test=20)
    g.save(tmp_path / "g.npz")
    h = D.Dataset.load(tmp_path / "g.npz")
    assert h.teacher is None
    np.testing.assert_array_equal(h.X_test, g.X_test)
    # plain npz reading needs no pickle
    with np.load(tmp_path / "g.npz", allow_pickle=False) as z:
        assert "X_train" in z.files


def test_load_corrupt_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(os.urandom(200))
    with pytest.raises(ValueError, match="junk.npz is not a valid glasslens dataset"):
        D.Dataset.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        D.Dataset.load(tmp_path / "other.npz")
    glasslens.Ensemble.init([4, 3, 2], 2).save(tmp_path / "ens.npz")
    with pytest.raises(ValueError, match="ens.npz"):
        D.Dataset.load(tmp_path / "ens.npz")
    d = D.load("digits", n_train=20, n_test=10)
    d.save(tmp_path / "d.npz")
    blob = (tmp_path / "d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        D.Dataset.load(tmp_path / "cut.npz")
    # labels tampered out of range
    with np.load(tmp_path / "d.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["y_train"] = arrays["y_train"] + 100
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="y_train has labels"):
        D.Dataset.load(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        D.Dataset.load(tmp_path / "missing.npz")


# ---- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(name="cifar"), ValueError, "unknown dataset 'cifar'"),
    (dict(name=3), TypeError, "name must be a str"),
    (dict(n_train=0), ValueError, "n_train must be >= 1"),
    (dict(n_train="5"), TypeError, "n_train must be an int"),
    (dict(n_test=-2), ValueError, "n_test must be >= 1"),
    (dict(pca=0), ValueError, "pca must be >= 1"),
    (dict(pca=2.5), TypeError, "pca must be an int"),
    (dict(standardize="yes"), TypeError, "standardize must be a bool"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(path="/tmp"), ValueError, "path= only applies"),
    (dict(n_features=3), TypeError, "unknown option"),
])
def test_bad_arguments(kwargs, exc, msg):
    kwargs = dict(kwargs)
    name = kwargs.pop("name", "digits")
    with pytest.raises(exc, match=msg):
        D.load(name, **kwargs)


def test_dataset_constructor_validation():
    X = np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 0, 1])
    d = D.Dataset(X, y, X, y, "toy", 2)
    assert d.n_features == 3 and d.y_train.dtype == np.int64
    with pytest.raises(ValueError, match="y_train has 3 labels"):
        D.Dataset(X, y[:3], X, y, "toy", 2)
    with pytest.raises(ValueError, match=r"y_train has labels in \[0, 1\], expected \[0, 1\)"):
        D.Dataset(X, y, X, y, "toy", 1)
    with pytest.raises(ValueError, match="X_test has 2 features"):
        D.Dataset(X, y, X[:, :2], y, "toy", 2)
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="X_train contains NaN"):
        D.Dataset(Xn, y, X, y, "toy", 2)
    with pytest.raises(TypeError, match="meta must be JSON"):
        D.Dataset(X, y, X, y, "toy", 2, meta={"a": object()})
    with pytest.raises(TypeError, match="teacher must be an MLP"):
        D.Dataset(X, y, X, y, "toy", 2, teacher=[np.zeros((2, 3))])


def _idx_header(code, dims):
    import struct

    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


def test_gzip_bomb_is_refused_after_the_declared_payload(tmp_path):
    """A small gzip file whose stream expands far past its header used to be decompressed whole
    (2 MiB -> 2 GiB, 40 s, 4 GB) before the size check."""
    import gzip
    import resource
    import time

    from glasslens.datasets import read_idx

    p = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(p, "wb", compresslevel=9) as f:
        f.write(_idx_header(0x08, [10]) + bytes(10))
        block = bytes(1 << 20)
        for _ in range(160):  # 160 MiB of zeros after the 10 declared bytes
            f.write(block)
    assert p.stat().st_size < 1 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(p)
    assert time.perf_counter() - t0 < 2.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024  # never holds the expanded stream


def test_idx_header_larger_than_memory_is_refused_before_reading(tmp_path, monkeypatch):
    from glasslens._lib import _limits
    from glasslens.datasets import read_idx

    monkeypatch.setattr(_limits, "physical_memory_bytes", lambda: 1 << 30)
    p = tmp_path / "huge-idx3-ubyte"
    p.write_bytes(_idx_header(0x08, [60000, 200, 200]) + bytes(100))  # claims 2.4 GB
    with pytest.raises(ValueError, match="GiB of memory"):
        read_idx(p)
    q = tmp_path / "short-idx3-ubyte"
    q.write_bytes(_idx_header(0x08, [600, 28, 28]) + bytes(100))
    with pytest.raises(ValueError, match="truncated IDX file"):
        read_idx(q)
