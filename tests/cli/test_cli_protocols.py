"""The protocol subcommands of ``glasslens``: profile, walk, flatness, permutation, replicas,
and the protocol sections of ``glasslens analyze``."""
import json

import numpy as np
import pytest

import glasslens as gl
from glasslens import datasets
from glasslens.cli import main

DATA = ["--dataset", "digits", "--n-train", "200", "--n-test", "80"]

def engine_loss(net, X, y):
    """The landscape engines' own kernel: the profile's r = 0 curve and a walk's records (the
    reported loss0 comes from the one evaluator, gl.probes.network_loss / gl.nn.evaluate)."""
    from glasslens._lib._data import as_xy
    from glasslens.probes._landscape import _engine_loss

    d = as_xy(X, y)
    return _engine_loss(net, d.X_train, d.y_train, 1)



@pytest.fixture(scope="module")
def model(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "ens.npz"
    assert main(["train", *DATA, "--hidden", "8", "--replicas", "4", "--epochs", "5",
                 "--no-progress", "--out", str(p)]) == 0
    return p


def test_help_lists_protocol_commands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for cmd in ("profile", "walk", "flatness", "permutation", "replicas", "effective-model"):
        assert cmd in out


def test_profile_and_walk(model, tmp_path, capsys):
    out = tmp_path / "prof.npz"
    assert main(["profile", str(model), "--replica", "1", *DATA, "--data-seed", "0",
                 "--radii", "0,0.5", "--directions", "2", "--threads", "1", "-o", str(out)]) == 0
    z = np.load(out, allow_pickle=False)
    ens = gl.Ensemble.load(model)
    ds = datasets.load("digits", n_train=200, n_test=80, seed=0)
    l0, _ = gl.probes.network_loss(ens[1], ds.X_train, ds.y_train)
    assert z["train_loss"].shape == (2, 2)
    assert np.all(z["train_loss"][:, 0] == engine_loss(ens[1], ds.X_train, ds.y_train)[0])
    assert json.loads(out.with_suffix(".json").read_text())["loss0"] == l0
    assert main(["walk", str(model), *DATA, "--steps", "20", "--walkers", "2",
                 "--record-every", "10", "-o", str(tmp_path / "w")]) == 0
    assert np.load(tmp_path / "w.npz")["train_loss"].shape == (2, 3)
    capsys.readouterr()
    # bad arguments: unparsable radii (argparse), metropolis walk without a temperature
    with pytest.raises(SystemExit) as ei:
        main(["profile", str(model), *DATA, "--radii", "a:b", "-o", str(out)])
    assert ei.value.code == 2
    assert main(["walk", str(model), *DATA, "--walk-mode", "metropolis", "--steps", "5",
                 "-o", str(tmp_path / "w2")]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["profile", str(tmp_path / "missing.npz"), *DATA, "-o", str(out)]) == 2


def test_flatness(tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["flatness", *DATA, "--hidden", "6", "--replicas", "2", "--epochs", "2",
                 "--checkpoints", "1", "--variants", '[{"batch_size": 16}, {"batch_size": 200}]',
                 "--measures", "hessian_top", "--n-boot", "10", "--threads", "2",
                 "--out", str(out)]) == 0
    assert "hessian_top" in (out / "flatness.md").read_text()
    assert json.loads((out / "flatness.json").read_text())
    capsys.readouterr()
    with pytest.raises(SystemExit) as ei:
        main(["flatness", "--variants", "{bad json"])
    assert ei.value.code == 2
    assert "--variants" in capsys.readouterr().err


def test_permutation_trains_or_loads(model, tmp_path, capsys):
    out = tmp_path / "p"
    argv = ["permutation", *DATA, "--hidden", "8", "--replicas", "3", "--epochs", "3",
            "--trials", "2", "--n-points", "5", "--pairs", "2", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| copy, k = 1 |" in text and "replica pairs, weights-aligned" in text
    for name in ("permutation.md", "permutation.png", "permutation.json", "ensemble.npz"):
        assert (out / name).is_file()
    summ = json.loads((out / "permutation.json").read_text())
    assert summ["options"]["ks"] == [1, 2, 4] and len(summ["replicas"]["pairs"]) == 2
    # the same numbers from the library on the saved ensemble
    ens = gl.Ensemble.load(out / "ensemble.npz")
    ds = datasets.load("digits", n_train=200, n_test=80, seed=0)
    res = gl.symmetry.permutation_interpolation(ens, ds, n_trials=2, n_points=5, n_replica_pairs=2, seed=0)
    np.testing.assert_allclose(summ["copies"]["barrier"], res.copies.barrier, rtol=1e-12)
    # from a saved model, both alignments, error barrier
    assert main(["permutation", "--model", str(model), *DATA, "--ks", "1,4", "--no-full",
                 "--trials", "1", "--n-points", "3", "--pairs", "1", "--matching", "both",
                 "--metric", "error", "--out", str(tmp_path / "p2")]) == 0
    md = (tmp_path / "p2" / "permutation.md").read_text()
    assert "activations-aligned" in md and "full permutation" not in md
    assert not (tmp_path / "p2" / "ensemble.npz").exists()
    capsys.readouterr()
    # bad arguments
    assert main(["permutation", "--model", str(model), *DATA, "--ks", "5",
                 "--out", str(tmp_path / "p3")]) == 2
    assert "more than H/2" in capsys.readouterr().err
    assert main(["permutation", "--model", str(model), "--dataset", "teacher",
                 "--out", str(tmp_path / "p3")]) == 2
    assert "widths" in capsys.readouterr().err
    assert main(["permutation", "--model", str(model), *DATA, "--n-points", "1",
                 "--out", str(tmp_path / "p3")]) == 2
    assert "n_points" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["permutation", "--ks", "1,x"])


def test_replicas_single_and_sweep(model, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["replicas", "--model", str(model), *DATA, "--n-null", "3",
                 "--methods", "average", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| ensemble | 4 |" in text
    summ = json.loads((out / "replicas.json").read_text())
    ens = gl.Ensemble.load(model)
    ref = gl.replicas.replica_analysis(ens, n_null=3, methods=("average",), seed=0)
    np.testing.assert_allclose(summ["Q"]["ensemble"], ref.Q, rtol=1e-12)
    assert (out / "replicas.png").stat().st_size > 5000
    # a sweep over widths trains one ensemble per value
    assert main(["replicas", *DATA, "--replicas", "3", "--epochs", "2", "--n-null", "2",
                 "--sweep", "hidden=4,8", "--alignment", "reference", "--no-progress",
                 "--out", str(tmp_path / "s")]) == 0
    summ = json.loads((tmp_path / "s" / "replicas.json").read_text())
    assert list(summ["runs"]) == ["hidden=4", "hidden=8"]
    capsys.readouterr()
    # bad arguments
    assert main(["replicas", *DATA, "--replicas", "2", "--epochs", "1",
                 "--out", str(tmp_path / "x")]) == 2
    assert "at least 3 replicas" in capsys.readouterr().err
    assert main(["replicas", "--model", str(model), *DATA, "--sweep", "hidden=4",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--sweep" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["replicas", "--sweep", "depth=1,2"])
    with pytest.raises(SystemExit):
        main(["replicas", "--alignment", "sideways"])


@pytest.mark.slow
def test_analyze_protocol_sections(tmp_path, capsys):
    out = tmp_path / "a"
    assert main(["analyze", *DATA, "--hidden", "8", "--replicas", "4", "--epochs", "3",
                 "--sections", "setup,protocol2,protocol3", "--no-progress", "-q",
                 "-O", "p2_trials=1", "-O", "p2_points=5", "-O", "p3_null=3",
                 "-O", "p3_sweeps=20", "-O", "p3_spins=32", "-O", "p3_ref_replicas=5",
                 "--out", str(out)]) == 0
    summ = json.loads((out / "summary.json").read_text())
    keys = [s["key"] for s in summ["sections"]]
    assert keys == ["setup", "protocol2", "protocol3"]
    p2, p3 = summ["sections"][1], summ["sections"][2]
    assert "| copy, k = 1 |" in p2["text"] and len(p2["figures"]) == 1
    assert set(p3["data"]) >= {"trained, aligned", "trained, raw", "SK, T = 0.5",
                               "paramagnet, T = 2"}
    assert p3["data"]["SK, T = 0.5"]["M"] == 5 and len(p3["figures"]) == 5
    page = (out / "index.html").read_text()
    assert "<th>path</th>" in page  # Markdown tables are rendered as HTML tables
    # a bad section option is reported as a failed section, the others still run
    capsys.readouterr()
    assert main(["analyze", *DATA, "--hidden", "8", "--replicas", "3", "--epochs", "1",
                 "--sections", "protocol2", "-O", "p2_points=1", "--no-progress", "-q",
                 "--out", str(tmp_path / "b")]) == 1
    summ = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summ["sections"][-1]["key"] == "protocol2-failed"


def test_effective_model_subcommand_is_wired(tmp_path):
    from glasslens import cli
    from glasslens.report import sections

    assert "effective_model" in sections()
    with pytest.raises(SystemExit) as exc:
        cli.main(["effective-model", "--help"])
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        cli.main(["effective-model", "--trainings", "0"])
    assert exc.value.code != 0
