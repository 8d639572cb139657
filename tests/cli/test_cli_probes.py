"""Plots, command-line functions and the report section of Protocol 1."""
import argparse
import json
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens.probes import plotting as lp
from glasslens.cli import profile as profile_cmd, walk as walk_cmd
from glasslens.cli.profile import parse_radii
from glasslens.probes._section import section as report_section_protocol1

def engine_loss(net, X, y):
    """The landscape engines' own kernel: the profile's r = 0 curve and a walk's records (the
    reported loss0 comes from the one evaluator, gl.probes.network_loss / gl.nn.evaluate)."""
    from glasslens._lib._data import as_xy
    from glasslens.probes._landscape import _engine_loss

    d = as_xy(X, y)
    return _engine_loss(net, d.X_train, d.y_train, 1)



@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3)
    data = SimpleNamespace(X_train=X, y_train=y, X_test=X[:40], y_test=y[:40])
    net = gl.MLP.init([6, 8, 3], seed=1, scheme="pytorch")
    return data, net


def test_plots(small, tmp_path):
    from matplotlib.figure import Figure

    data, net = small
    pr = gl.probes.profile(net, data, np.linspace(0, 2, 6), n_directions=4, delta=0.05)
    wk = gl.probes.random_walk(net, data, 60, 0.05, n_walkers=3, record_every=10)
    ln = gl.probes.line(net, data, "random", n_points=7)
    pl = gl.probes.plane(net, data, n_points=5)
    figs = [lp.plot_profile(pr), lp.plot_walk(wk), lp.plot_msd(wk), lp.plot_line(ln),
            lp.plot_plane(pl), lp.plot_plane(pl, "test_acc")]
    for i, f in enumerate(figs):
        assert isinstance(f, Figure)
        f.savefig(tmp_path / f"f{i}.png")
        assert (tmp_path / f"f{i}.png").stat().st_size > 1000
    pl2 = gl.probes.plane(net, (data.X_train, data.y_train), n_points=3)
    with pytest.raises(ValueError, match="test"):
        lp.plot_plane(pl2, "test_loss")


def _parser():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command")
    profile_cmd.add_parser(sub)
    walk_cmd.add_parser(sub)
    return ap


def test_cli_profile_and_walk(small, tmp_path):
    data, net = small
    np.savez(tmp_path / "d.npz", X_train=data.X_train, y_train=data.y_train,
             X_test=data.X_test, y_test=data.y_test)
    net.save(tmp_path / "net.npz")
    ap = _parser()
    a = ap.parse_args(["profile", str(tmp_path / "net.npz"), "--data", str(tmp_path / "d.npz"),
                       "--radii", "0:1:5", "--directions", "3", "--threads", "1",
                       "-o", str(tmp_path / "prof.npz")])
    assert a.func(a) == 0
    z = np.load(tmp_path / "prof.npz", allow_pickle=False)
    assert z["train_loss"].shape == (3, 5)
    l0, _ = gl.probes.network_loss(net, data.X_train, data.y_train)
    assert np.all(z["train_loss"][:, 0] == engine_loss(net, data.X_train, data.y_train)[0])
    assert json.loads((tmp_path / "prof.json").read_text())["loss0"] == l0
    assert (tmp_path / "prof.png").exists()
    # an Ensemble file with --replica
    ens = gl.Ensemble.from_mlps([net, gl.MLP.init([6, 8, 3], seed=2)])
    ens.save(tmp_path / "ens.npz")
    a = ap.parse_args(["walk", str(tmp_path / "ens.npz"), "--replica", "1", "--data",
                       str(tmp_path / "d.npz"), "--steps", "40", "--walkers", "2",
                       "--move", "weight", "--record-every", "10", "-o", str(tmp_path / "w")])
    assert a.func(a) == 0
    z = np.load(tmp_path / "w.npz", allow_pickle=False)
    assert z["train_loss"].shape == (2, 5)
    l1, _ = engine_loss(ens[1], data.X_train, data.y_train)
    assert z["train_loss"][0, 0] == l1
    with pytest.raises(SystemExit):
        ap.parse_args(["profile", "x.npz", "--data", "d.npz", "--radii", "a:b", "-o", "o"])
    with pytest.raises(SystemExit):  # --data or --dataset is required
        ap.parse_args(["walk", "x.npz", "-o", "o"])
    # --out is the long form of -o
    a = ap.parse_args(["walk", "x.npz", "--dataset", "digits", "--out", "w.npz"])
    assert a.out == "w.npz"
    assert ap.parse_args(["walk", "x.npz", "--dataset", "digits"]).out == "walk.npz"
    assert parse_radii("0,0.5,2").tolist() == [0.0, 0.5, 2.0]
    assert parse_radii("0:1:3").tolist() == [0.0, 0.5, 1.0]


def test_report_section(small):
    data, net = small
    sections = []

    class FakeReport:
        def add_section(self, title, text="", figures=(), data=None, **kw):
            sections.append((title, text, figures, data))

    ctx = SimpleNamespace(dataset=data, ensemble=gl.Ensemble.from_mlps([net, net]),
                          report=FakeReport(), n_threads=1,
                          options={"extra": {"p1_steps": 40, "p1_walkers": 2,
                                             "p1_directions": 4}})
    report_section_protocol1(ctx)
    (title, text, figures, d), = sections
    assert "Protocol 1" in title and "basin radius" in text
    assert len(figures) == 3
    assert d["profile"]["loss0"] == gl.probes.network_loss(net, data.X_train, data.y_train)[0]
    assert d["walk_settings"]["steps"] == 40


def test_cli_with_named_dataset(tmp_path):
    datasets = pytest.importorskip("glasslens.datasets")
    ds = datasets.load("digits", n_train=200, n_test=100, classes=[0, 1, 2], seed=0)
    net = gl.MLP.init([ds.X_train.shape[1], 8, 3], seed=0)
    net.save(tmp_path / "net.npz")
    ap = _parser()
    a = ap.parse_args(["profile", str(tmp_path / "net.npz"), "--dataset", "digits",
                       "--n-train", "200", "--n-test", "100", "--classes", "0,1,2",
                       "--radii", "0,0.5", "--directions", "2", "-o", str(tmp_path / "p.npz")])
    assert a.func(a) == 0
    z = np.load(tmp_path / "p.npz", allow_pickle=False)
    l0, _ = engine_loss(net, ds.X_train, ds.y_train)
    assert z["train_loss"][0, 0] == l0
