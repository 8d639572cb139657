"""CIFAR-10 binary batches: tiny files in the exact format, written here, read back against a
plain numpy parse of the bytes; truncated and foreign files are refused; missing batches are
said; ``available`` tells which datasets are present."""
import os

import numpy as np
import pytest

from glasslens import datasets as D
from glasslens.datasets import _cifar
from glasslens.datasets import _datasets

REC = 3073


def _records(rng, n, labels=None):
    """(raw bytes, labels, pixels) of n records: 1 label byte + 3072 pixel bytes each."""
    y = rng.integers(0, 10, n) if labels is None else np.asarray(labels)
    px = rng.integers(0, 256, (n, 3072))
    raw = b"".join(bytes([int(y[i])]) + px[i].astype(np.uint8).tobytes() for i in range(n))
    return raw, y, px


def _write_cifar(root, seed=0, n=(7, 6, 5, 4, 3), n_test=8, skip=()):
    """cifar-10-batches-bin under root with data_batch_k of n[k-1] records (none in skip)."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-bin"
    d.mkdir(parents=True, exist_ok=True)
    train_y, train_px = [], []
    for k, m in enumerate(n, 1):
        raw, y, px = _records(rng, m)
        if k in skip:
            continue
        (d / f"data_batch_{k}.bin").write_bytes(raw)
        train_y.append(y)
        train_px.append(px)
    raw, yt, pxt = _records(rng, n_test)
    (d / "test_batch.bin").write_bytes(raw)
    return d, np.concatenate(train_y), np.concatenate(train_px), yt, pxt


def _numpy_parse(path):
    """Independent reference: the records straight from the bytes."""
    b = np.fromfile(path, dtype=np.uint8)
    rec = b.reshape(-1, REC)
    return rec[:, 1:], rec[:, 0].astype(np.int64)


def test_batch_reader_matches_a_numpy_parse(tmp_path):
    d, *_ = _write_cifar(tmp_path)
    X, y = D.read_cifar_batch(d / "data_batch_2.bin")
    Xr, yr = _numpy_parse(d / "data_batch_2.bin")
    assert X.dtype == np.uint8 and X.shape == (6, 3072) and y.dtype == np.int64
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y, yr)
    # channel-major: the first 1024 bytes of an image are its red plane, row-major 32x32
    img = X[0].reshape(3, 32, 32)
    assert img[0, 1, 0] == Xr[0, 32] and img[2, 31, 31] == Xr[0, 3071]


def test_load_cifar10_flattened_scaled_standardised(tmp_path):
    d, ytr, pxtr, yte, pxte = _write_cifar(tmp_path)
    raw = D.load("cifar10", path=tmp_path, standardize=False)
    assert raw.name == "cifar10" and raw.n_features == 3072 and raw.n_classes == 10
    assert raw.n_train == 25 and raw.n_test == 8
    np.testing.assert_array_equal(raw.y_train, ytr)  # batches 1..5 in order
    np.testing.assert_array_equal(raw.y_test, yte)
    np.testing.assert_allclose(raw.X_train, (pxtr / 255.0).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(raw.X_test, (pxte / 255.0).astype(np.float32), rtol=1e-6)
    assert raw.meta["class_names"][0] == "airplane" and raw.meta["source"]["image_shape"] == [3, 32, 32]
    std = D.load("cifar-10", path=d)  # the alias, and the batch directory itself
    ref = pxtr / 255.0
    mu, sd = ref.mean(0), ref.std(0)
    np.testing.assert_allclose(std.X_train, (ref - mu) / np.where(sd > 0, sd, 1.0), atol=2e-5)
    np.testing.assert_allclose(std.X_test, (pxte / 255.0 - mu) / np.where(sd > 0, sd, 1.0),
                               atol=2e-5)
    sub = D.load("cifar10", path=tmp_path, n_train=10, pca=4, classes=list(range(10)))
    assert sub.X_train.shape == (10, 4)


def test_class_names_from_batches_meta(tmp_path):
    d, *_ = _write_cifar(tmp_path)
    names = [f"c{i}" for i in range(10)]
    (d / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    assert D.load("cifar10", path=tmp_path).meta["class_names"] == names


def test_missing_training_batches_are_said_and_the_rest_is_used(tmp_path):
    d, ytr, *_ = _write_cifar(tmp_path, skip=(4, 5))
    with pytest.warns(UserWarning, match="data_batch_4.bin, data_batch_5.bin not found.*3 "
                                         "batch\\(es\\) present \\(18 images\\)"):
        ds = D.load("cifar10", path=tmp_path)
    assert ds.n_train == 18 and ds.meta["source"]["missing_train_batches"] == [
        "data_batch_4.bin", "data_batch_5.bin"]
    np.testing.assert_array_equal(ds.y_train, ytr)


def test_no_files_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_datasets, "_SYSTEM_DIR", str(tmp_path / "sys"))
    monkeypatch.delenv("GLASSLENS_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="cifar10 binary batches not found") as ei:
        D.load("cifar10")
    assert "cifar-10-binary.tar.gz" in str(ei.value)
    only_train = tmp_path / "x"
    d, *_ = _write_cifar(only_train)
    (d / "test_batch.bin").unlink()
    with pytest.raises(FileNotFoundError, match="needs test_batch.bin"):
        D.load("cifar10", path=only_train)


@pytest.mark.parametrize("body, msg", [
    (b"\x03" + bytes(3072) + b"\x01" + bytes(100), "not a whole number of 3073-byte records "
                                                  "\\(1 records and 101 bytes left over"),
    (b"", "0 bytes is not a whole number"),
    (bytes([0, 0]) + bytes(3073 * 2 - 2), None),  # a valid 2-record file (labels 0)
    (b"\x0c" + bytes(3072), "record 0 has label 12"),
    (b"\x1f\x8b" + bytes(3071), "label 31"),  # gzip magic, one record long
])
def test_truncated_and_foreign_files_are_refused(tmp_path, body, msg):
    f = tmp_path / "data_batch_1.bin"
    f.write_bytes(body)
    if msg is None:
        X, y = D.read_cifar_batch(f)
        assert X.shape == (2, 3072) and y.tolist() == [0, 0]
        return
    with pytest.raises(ValueError, match=msg) as ei:
        D.read_cifar_batch(f)
    assert str(f) in str(ei.value)


def test_cifar100_records_are_refused(tmp_path):
    f = tmp_path / "train.bin"  # CIFAR-100: 2 label bytes + 3072 pixels = 3074 per record
    f.write_bytes(bytes(3074 * 3))
    with pytest.raises(ValueError, match="CIFAR-100"):
        D.read_cifar_batch(f)


def test_size_is_checked_before_reading(tmp_path, monkeypatch):
    f = tmp_path / "big.bin"
    f.write_bytes(bytes(REC * 3))
    monkeypatch.setattr(_cifar, "MAX_CIFAR_BATCH_BYTES", REC * 2)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    with pytest.raises(ValueError, match="far larger than a CIFAR-10 batch"):
        D.read_cifar_batch(f)
    assert not opened  # refused from the file size alone
    with pytest.raises(FileNotFoundError, match="no such CIFAR-10 batch file"):
        D.read_cifar_batch(tmp_path / "nope.bin")


def test_available_says_which_datasets_are_present(tmp_path, monkeypatch):
    monkeypatch.setattr(_datasets, "_SYSTEM_DIR", str(tmp_path / "sys"))
    monkeypatch.delenv("GLASSLENS_DATA", raising=False)
    got = D.available()
    assert got["digits"] is None and got["teacher"] is None
    assert got["cifar10"] == "cifar10 binary batches not found"
    assert got["mnist"] == "mnist IDX files not found"
    _write_cifar(tmp_path / "data")
    monkeypatch.setenv("GLASSLENS_DATA", str(tmp_path / "data"))
    assert D.available()["cifar10"] is None
    assert D.available(path=tmp_path / "data")["cifar10"] is None
    assert D.available(path=tmp_path / "sys")["cifar10"] is not None
    assert os.environ["GLASSLENS_DATA"]
