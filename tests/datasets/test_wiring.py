"""Wiring of glasslens.datasets: every public option reaches the computation (tests/wiring.py)."""
import struct

import numpy as np
import pytest

from glasslens import datasets as D

import wiring
W, w, With, SAME, differs, threads = (wiring.W, wiring.w, wiring.With, wiring.SAME,
                                      wiring.differs, wiring.threads)


def _write_mnist(root, seed):
    """A tiny MNIST-format set (12 train, 6 test 3x4 images) under ``root``."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for stem, arr in {"train-images-idx3-ubyte": rng.integers(0, 256, (12, 3, 4)),
                      "train-labels-idx1-ubyte": np.arange(12) % 10,
                      "t10k-images-idx3-ubyte": rng.integers(0, 256, (6, 3, 4)),
                      "t10k-labels-idx1-ubyte": np.arange(6) % 10}.items():
        arr = np.asarray(arr)
        head = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
        (root / stem).write_bytes(head + arr.astype(">u1").tobytes())
    return root


@pytest.fixture(scope="module")
def mnist_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("idx")
    return _write_mnist(base / "a", 0), _write_mnist(base / "b", 1)


_arrays = lambda d: (d.X_train, d.y_train, d.X_test, d.y_test)  # noqa: E731
TEACHER = dict(name="teacher", n_train=40, n_test=20, n_features=5, teacher_hidden=4)

RUNNERS = {
    "load": (lambda **k: D.load(**k), dict(n_train=150, n_test=50)),
    "teacher": (lambda **k: D.load(**k), TEACHER),
}
# load(**kw): the dataset-specific options of "teacher"
TEACHER_OPTIONS = ["n_features", "teacher_hidden", "n_classes", "label_noise", "teacher_seed"]
SIGNATURES = {"load": D.load, "load_dataset": D.load_dataset, "teacher": TEACHER_OPTIONS,
              "find_idx_files": D.find_idx_files, "find_cifar_files": D.find_cifar_files,
              "available": D.available}

NOT_OBSERVABLE = {}

CASES = [
    w("load", "name", "teacher", check=lambda a, b: (a.name, b.name) == ("digits", "teacher")
      or pytest.fail()),
    w("load", "n_train", 120, check=lambda a, b: len(b.y_train) == 120 or pytest.fail()),
    w("load", "n_test", 40, check=lambda a, b: len(b.y_test) == 40 or pytest.fail()),
    w("load", "standardize", False, check=lambda a, b: abs(float(a.X_train.mean())) < 1e-3
      < abs(float(b.X_train.mean())) or pytest.fail()),
    w("load", "pca", 7, check=lambda a, b: b.X_train.shape[1] == 7 or pytest.fail()),
    w("load", "classes", [3, 1], check=lambda a, b: b.n_classes == 2
      and set(np.unique(b.y_train)) == {0, 1} or pytest.fail()),
    w("load", "seed", 1, check=differs(_arrays)),
    threads("load", pca=5, label="pca"),
    w("teacher", "n_features", 6, check=lambda a, b: b.X_train.shape[1] == 6 or pytest.fail()),
    w("teacher", "teacher_hidden", 3, check=lambda a, b: b.teacher.widths[1] == 3
      or pytest.fail()),
    w("teacher", "n_classes", 3, check=lambda a, b: b.n_classes == 3 or pytest.fail()),
    w("teacher", "label_noise", 0.5, check=differs(lambda d: d.y_train)),
    w("teacher", "teacher_seed", 7, check=differs(lambda d: d.teacher)),
]

RUN = wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_option_reaches_computation(case):
    RUN.check(case)


def test_path_reaches_the_idx_reader(mnist_dirs):
    a, b = (D.load("mnist", path=p) for p in mnist_dirs)
    assert a.X_train.shape == (12, 12) and not np.array_equal(a.X_train, b.X_train)
    fa, fb = (D.find_idx_files("mnist", path=p) for p in mnist_dirs)
    assert {str(v.parent) for v in fa.values()} == {str(mnist_dirs[0])}
    assert {str(v.parent) for v in fb.values()} == {str(mnist_dirs[1])}


def test_load_dataset_is_load():
    kw = {"n_train": 150, "n_test": 30, "seed": 2, "pca": 4, "classes": [1, 2, 5],
          "standardize": False}
    a, b = D.load(**kw), D.load_dataset(**kw)
    assert wiring.fingerprint(_arrays(a)) == wiring.fingerprint(_arrays(b))
    assert wiring.fingerprint(_arrays(a)) != wiring.fingerprint(_arrays(D.load_dataset()))


def test_every_option_has_a_wiring_row():
    # load_dataset: every option of load (test_load_dataset_is_load checks the forwarding);
    # path: test_path_reaches_the_idx_reader, and for CIFAR-10 test_cifar_path_reaches_the_reader
    have = CASES + [W("load", "path", None), W("find_idx_files", "path", None),
                    W("find_cifar_files", "path", None), W("available", "path", None)]
    have += [W("load_dataset", o, None) for o in wiring.keyword_parameters(D.load)]
    assert wiring.missing_rows(SIGNATURES, have, NOT_OBSERVABLE) == []
    assert wiring.stale_rows(SIGNATURES, have, NOT_OBSERVABLE) == []


def test_cifar_path_reaches_the_reader(tmp_path):
    """path= of load, find_cifar_files and available picks the directory read."""
    def _write_cifar(root, seed):  # 5 + 1 batches of 5 records: label byte + 3072 pixels
        rng = np.random.default_rng(seed)
        d = root / "cifar-10-batches-bin"
        d.mkdir(parents=True)
        for f in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
            rec = rng.integers(0, 256, (5, 3073)).astype(np.uint8)
            rec[:, 0] %= 10
            (d / f).write_bytes(rec.tobytes())
        return d

    da, db = _write_cifar(tmp_path / "a", 0), _write_cifar(tmp_path / "b", 1)
    a, b = (D.load("cifar10", path=tmp_path / s) for s in ("a", "b"))
    assert a.X_train.shape == (25, 3072) and not np.array_equal(a.X_train, b.X_train)
    assert D.find_cifar_files(tmp_path / "a")["test"].parent == da
    assert D.find_cifar_files(tmp_path / "b")["test"].parent == db
    assert D.available(tmp_path / "a")["cifar10"] is None
    assert D.available(tmp_path / "nowhere")["cifar10"] is not None
