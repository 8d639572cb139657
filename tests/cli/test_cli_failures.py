"""Failures that used to look like success: a diverged training is one line, exit 1 and no
file on every command that trains; effective-model's quick default and its printed estimate."""
import json
import struct

import numpy as np
import pytest

from glasslens import cli


def _write_idx(path, arr):
    arr = np.asarray(arr)
    head = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(head + arr.astype(">u1").tobytes())


@pytest.fixture(scope="module")
def fashion_like(tmp_path_factory):
    """Fashion-MNIST-format IDX files (600 train, 200 test 28x28 images) of correlated pixels:
    standardised, mean ||x||^2 = 784 like the real data, so the digits learning rate diverges."""
    root = tmp_path_factory.mktemp("fm") / "fashion-mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    n = 800
    Z = rng.standard_normal((n, 10))
    img = Z @ rng.standard_normal((10, 784)) + 0.5 * rng.standard_normal((n, 784))
    img = np.clip(128 + 30 * img, 0, 255).astype(np.uint8).reshape(n, 28, 28)
    y = np.argmax(Z[:, :5], axis=1).astype(np.uint8)
    _write_idx(root / "train-images-idx3-ubyte", img[:600])
    _write_idx(root / "train-labels-idx1-ubyte", y[:600])
    _write_idx(root / "t10k-images-idx3-ubyte", img[600:])
    _write_idx(root / "t10k-labels-idx1-ubyte", y[600:])
    return root


TRAIN = ["--hidden", "16", "--replicas", "4", "--epochs", "20", "--no-progress", "--threads", "2"]


def _diverged_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert "training diverged" in lines[0] and "--lr 0.003" in lines[0]
    assert "Traceback" not in err and "nothing was saved" in lines[0]
    return lines[0]


@pytest.mark.parametrize("cmd, out", [("train", "ens.npz"), ("permutation", "pdir"),
                                      ("replicas", "rdir"), ("analyze", "adir")])
def test_diverged_training_is_one_line_exit_1_and_no_file(cmd, out, fashion_like, tmp_path,
                                                          capsys):
    o = tmp_path / out
    argv = [cmd, "--dataset", "fashion-mnist", "--data-path", str(fashion_like), *TRAIN,
            "-o", str(o)]
    if cmd == "analyze":
        argv.append("-q")
    assert cli.main(argv) == 1
    line = _diverged_line(capsys.readouterr().err)
    assert line.startswith(f"glasslens {cmd}: error: training diverged by epoch")
    assert not o.exists() or not any(o.rglob("*.npz")) and not (o / "index.html").exists()


def test_flatness_divergence_is_one_line(fashion_like, tmp_path, capsys):
    o = tmp_path / "fdir"
    argv = ["flatness", "--dataset", "fashion-mnist", "--data-path", str(fashion_like),
            "--hidden", "16", "--replicas", "2", "--epochs", "20", "--checkpoints", "1",
            "--variants", '[{"batch_size": 32}]', "--no-progress", "-o", str(o)]
    assert cli.main(argv) == 1
    _diverged_line(capsys.readouterr().err)
    assert not (o / "flatness.json").exists()


def test_the_suggested_lr_trains(fashion_like, tmp_path, capsys):
    o = tmp_path / "ens.npz"
    base = ["train", "--dataset", "fashion-mnist", "--data-path", str(fashion_like), *TRAIN,
            "-o", str(o)]
    assert cli.main(base) == 1
    line = _diverged_line(capsys.readouterr().err)
    lr = line.split("--lr ")[1].split()[0]
    assert cli.main([*base, "--lr", lr]) == 0
    assert o.is_file()
    out = capsys.readouterr().out
    acc = float(out.split("test_acc")[1].split("mean")[1].split()[0])
    assert acc > 0.7, out  # 5 classes, chance 0.2


def test_debug_shows_the_traceback(fashion_like, tmp_path, monkeypatch):
    from glasslens.nn import TrainingDiverged

    monkeypatch.setenv("GLASSLENS_DEBUG", "1")
    with pytest.raises(TrainingDiverged):
        cli.main(["train", "--dataset", "fashion-mnist", "--data-path", str(fashion_like),
                  *TRAIN, "-o", str(tmp_path / "e.npz")])


# ---- effective-model -------------------------------------------------------------------------
TINY = ["--trainings", "2", "--draws", "5", "--epochs", "1", "--regimes", "shallow",
        "--tap-starts", "2", "--x-max", "1", "--x-step", "0.5", "--no-progress", "--threads", "1"]


def test_effective_model_default_is_digits_and_prints_an_estimate_first(tmp_path, capsys):
    o = tmp_path / "em"
    assert cli.main(["effective-model", *TINY, "-o", str(o)]) == 0
    err = capsys.readouterr().err.splitlines()
    est = next(i for i, l in enumerate(err) if "estimated" in l)
    assert est <= 1 and "on digits (1,352 training, 445 test examples)" in err[est]
    assert "2 trainings x 5 draws, pseudolikelihood fits, 5 tilts, 2 TAP starts" in err[est]
    summ = json.loads((o / "summary.json").read_text())
    assert summ["preset"] == "quick" and summ["dataset"] == "digits"
    assert summ["n_train"] == 1352 and summ["estimated_seconds"] > 0
    reg = summ["regimes"]["shallow"]
    # the table records what ran, not the preset's nominal metadata ("mnist", n_train None)
    assert reg["dataset"] == "digits" and reg["n_train"] == 1352 and reg["n_test"] == 445
    assert reg["trainings"] == 2 and reg["estimated_seconds"] > 0
