import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glasslens
from glasslens import datasets
from glasslens.cli import main


def _run_module(*args, timeout=300):
    """``python -m glasslens ...`` in a subprocess that imports the same glasslens as we do."""
    env = dict(os.environ)
    pkg_parent = str(Path(glasslens.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([sys.executable, "-m", "glasslens", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_info(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == json.loads(json.dumps(glasslens.build_info()))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "simd_path" in out and glasslens.__version__ in out
    # which datasets are present here, and why the others are not
    line = next(l for l in out.splitlines() if l.startswith("datasets"))
    got = glasslens.datasets.available()
    assert all(n in line for n, why in got.items() if why is None)
    assert all(why in line for why in got.values() if why is not None)


def test_python_m_glasslens_info():
    r = _run_module("info", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == glasslens.__version__


def test_console_script_if_installed():
    exe = shutil.which("glasslens", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the glasslens console script is not installed next to this Python")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"glasslens {glasslens.__version__}"


@pytest.mark.parametrize("argv, msg", [
    (["analyze", "--hidden", "abc"], "--hidden must be comma-separated"),
    (["analyze", "--hidden", "8,-1"], "must be positive"),
    (["analyze", "--threads", "0"], "--threads must be positive or negative"),
    (["analyze", "--replicas", "0"], "expected a positive integer"),
    (["analyze", "--classes", "0,x"], "comma-separated integers"),
    (["analyze", "-O", "novalue"], "KEY=VALUE"),
    (["train", "--family", "bogus"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    (["replicas", "--alignment", "foo"], "alignment must be one of 'none', 'pairwise'"),
    (["effective-model", "--alignment", "none,bogus"], "got 'bogus'"),
])
def test_parser_errors(argv, msg, capsys):
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    assert msg in capsys.readouterr().err


def test_no_command_and_version(capsys):
    assert main([]) == 2
    assert "analyze" in capsys.readouterr().out
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"glasslens {glasslens.__version__}"


def test_analyze_reports_bad_options_cleanly(tmp_path, capsys):
    assert main(["analyze", "--dataset", "cifar", "--out", str(tmp_path / "r")]) == 2
    assert "unknown dataset 'cifar'" in capsys.readouterr().err
    assert main(["analyze", "--sections", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown section" in capsys.readouterr().err
    assert main(["analyze", "--sections", "list"]) == 0
    names = capsys.readouterr().out.split()
    assert names[:3] == ["setup", "training", "weights"]


def _softmax_ce(logits, y):
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y])), float(np.mean(z.argmax(1) == y))


@pytest.mark.slow
def test_analyze_end_to_end(tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["analyze", "--out", str(out), "--replicas", "3", "--epochs", "2", "--n-train", "200",
            "--n-test", "100", "--hidden", "16,8", "--seed", "1", "--threads", "1",
            "--no-progress", "-O", "p1_steps=100", "-O", "p3_sweeps=50", "-O", "p3_null=5",
            "-O", "flatness_replicas=2"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "report written to" in captured.out and "test accuracy" in captured.out
    for name in ("summary.json", "index.html", "ensemble.npz"):
        assert (out / name).is_file()
    summ = json.loads((out / "summary.json").read_text())
    meta = summ["meta"]
    assert meta["replicas"] == 3 and meta["hidden"] == [16, 8] and meta["epochs"] == 2
    assert meta["extra"] == {"p1_steps": 100, "p3_sweeps": 50, "p3_null": 5, "flatness_replicas": 2}
    assert meta["n_threads"] == 1
    keys = [s["key"] for s in summ["sections"]]
    assert keys[:3] == ["setup", "training", "weights"]
    assert {"protocol2", "protocol3"} <= set(keys) and not any(k.endswith("-failed") for k in keys)
    assert len([k for k in keys if k.startswith("protocol")]) == 4
    setup, training = summ["sections"][0], summ["sections"][1]
    assert setup["data"]["dataset"]["n_train"] == 200
    assert setup["data"]["model"]["widths"] == [64, 16, 8, 10]
    page = (out / "index.html").read_text()
    figs = [f["path"] for s in summ["sections"] for f in s["figures"]]
    assert len(figs) >= 3
    for f in figs:
        assert (out / f).read_bytes()[:4] == b"\x89PNG" and f'src="{f}"' in page
    # the reported metrics are those of the saved networks, recomputed here in numpy
    ens = glasslens.Ensemble.load(out / "ensemble.npz")
    assert ens.n_replicas == 3 and ens.widths == [64, 16, 8, 10]
    ds = datasets.load("digits", n_train=200, n_test=100, seed=1)
    per = training["data"]["per_replica"]
    for r in range(3):
        loss, acc = _softmax_ce(ens[r].forward(ds.X_test), ds.y_test)
        assert per["test_loss"][r] == pytest.approx(loss, rel=1e-4, abs=1e-5)
        assert per["test_acc"][r] == pytest.approx(acc, abs=1e-9)
        loss, acc = _softmax_ce(ens[r].forward(ds.X_train), ds.y_train)
        assert per["train_loss"][r] == pytest.approx(loss, rel=1e-4, abs=1e-5)
    assert len(ens.history["epoch"]) >= 2 and ens.history["train_loss"].shape[0] == 3


def test_python_m_glasslens_analyze(tmp_path):
    out = tmp_path / "r"
    r = _run_module("analyze", "--out", str(out), "--replicas", "2", "--epochs", "1",
                    "--n-train", "100", "--sections", "setup,training", "--dataset", "teacher",
                    "--no-progress")
    assert r.returncode == 0, r.stderr
    summ = json.loads((out / "summary.json").read_text())
    assert [s["key"] for s in summ["sections"]] == ["setup", "training"]
    assert summ["sections"][0]["data"]["dataset"]["name"] == "teacher"


def test_train_command_seeded(tmp_path, capsys):
    base = ["train", "--dataset", "teacher", "--n-train", "150", "--n-test", "50",
            "--replicas", "2", "--epochs", "2", "--hidden", "6", "--no-progress"]
    for name, seed in (("a.npz", "1"), ("b.npz", "1"), ("c.npz", "2")):
        assert main(base + ["--seed", seed, "--out", str(tmp_path / name)]) == 0
    assert "saved" in capsys.readouterr().out
    a, b, c = (glasslens.Ensemble.load(tmp_path / n) for n in ("a.npz", "b.npz", "c.npz"))
    assert a.widths == [20, 6, 2] and a.n_replicas == 2
    np.testing.assert_array_equal(a.flat(), b.flat())
    assert not np.array_equal(a.flat(), c.flat())


@pytest.mark.slow
def test_analyze_defaults(tmp_path, monkeypatch, capsys):
    """`glasslens analyze` with no options (the README's first command), run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--no-progress", "-q"]) == 0
    out = tmp_path / "glasslens-report"
    summ = json.loads((out / "summary.json").read_text())
    from glasslens.report import ANALYSIS_TRAINING

    R = ANALYSIS_TRAINING.replicas
    assert summ["meta"]["dataset"] == "digits" and summ["meta"]["replicas"] == R
    assert summ["meta"]["training"] == ANALYSIS_TRAINING.to_dict()
    acc = np.asarray(summ["sections"][1]["data"]["per_replica"]["test_acc"])
    assert acc.shape == (R,) and acc.mean() > 0.9  # digits is easy
    assert (out / "index.html").is_file()


def test_analyze_passes_data_options(tmp_path):
    out = tmp_path / "r"
    assert main(["analyze", "--out", str(out), "--classes", "3,5", "--pca", "8", "--hidden", "4",
                 "--replicas", "2", "--epochs", "1", "--sections", "setup", "--no-progress",
                 "-q"]) == 0
    data = json.loads((out / "summary.json").read_text())["sections"][0]["data"]
    assert data["model"]["widths"] == [8, 4, 2]
    assert data["dataset"]["classes"] == [3, 5] and data["dataset"]["pca"]["k"] == 8
