"""Every option of every command reaches the library function the command calls.

Each case runs ``glasslens.cli.main`` with the library functions replaced by spies that record
their (bound) arguments; the spy of the case's target raises ``Stop`` once called, so nothing
is computed. A last test checks that the cases cover every flag of every command's parser.
"""
import argparse
import functools
import inspect
import io
import json
import sys
from unittest import mock

import numpy as np
import pytest

import glasslens as gl
from glasslens import cli
from glasslens.cli import _common
from glasslens.nn import TrainConfig
from glasslens.nn._training import resolve_config
from glasslens.report import ANALYSIS_TRAINING


class Stop(Exception):
    """Raised by the target spy: the call arrived, stop the command here."""


@pytest.fixture(scope="module")
def tiny():
    ds = gl.datasets.load("digits", n_train=60, n_test=30)
    ens = gl.Ensemble.init([64, 4, 10], 3, seed=0)
    return ds, ens


@pytest.fixture
def files(tmp_path, tiny):
    ds, ens = tiny
    ens.save(tmp_path / "ens.npz")
    np.savez(tmp_path / "data.npz", X_train=ds.X_train, y_train=ds.y_train)
    return {"model": str(tmp_path / "ens.npz"), "data": str(tmp_path / "data.npz")}


def _flat_args(func, args, kwargs):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # a class without a usable signature
        return {"args": args, **kwargs}
    bound = dict(sig.bind(*args, **kwargs).arguments)
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD and p.name in bound:
            bound.update(bound.pop(p.name))
    return bound


def _config_fields(bound, config_key, overrides_default):
    cfg = resolve_config(bound.pop(config_key, None) or overrides_default, **{
        k: bound.pop(k) for k in list(bound) if k in TrainConfig.field_names()})
    bound.update({f: getattr(cfg, f) for f in TrainConfig.field_names()})
    return bound


def _install(monkeypatch, tiny, target):
    """Spies on every library function a command calls; returns the record of calls."""
    ds, ens = tiny
    calls = {}
    R = mock.MagicMock
    spies = [  # (owner, name, result)
        (gl.datasets, "load", lambda *a, **k: ds),
        (gl.nn, "train_ensemble", lambda *a, **k: ens),
        (gl.nn.Ensemble, "save", lambda *a, **k: None),
        (gl.report, "run_analysis", lambda *a, **k: R()),
        (gl.probes, "profile", lambda *a, **k: R()),
        (gl.probes, "random_walk", lambda *a, **k: R()),
        (gl.symmetry, "permutation_interpolation", lambda *a, **k: R()),
        (gl.replicas, "replica_analysis", lambda *a, **k: R()),
        (gl.replicas, "ReplicaSweep", lambda *a, **k: R(**{"__len__.return_value": 2})),
        (gl.flatness, "generalization_study", lambda *a, **k: R()),
        (gl.effective_model, "run_effective_model", lambda *a, **k: R()),
        (gl.effective_model, "tilt_grid", gl.effective_model.tilt_grid),
        (_common, "write_outputs", lambda *a, **k: []),
        (_common, "write_npz", lambda *a, **k: "x.npz"),
        (_common, "out_dir", _common.out_dir),
        (gl.probes.plotting, "plot_profile", lambda *a, **k: R()),
        (gl.probes.plotting, "plot_walk", lambda *a, **k: R()),
        (gl.campaign, "run", lambda *a, **k: R()),
        (gl.campaign, "export_csv", lambda *a, **k: "x.csv"),
        (gl.campaign, "write_report", lambda *a, **k: "r/index.html"),
    ]
    for owner, name, result in spies:
        real = getattr(owner, name)

        def spy(*a, _real=real, _name=name, _result=result, **k):
            bound = _flat_args(_real, a, k)
            if _name == "train_ensemble":
                bound = _config_fields(bound, "config", None)
            elif _name == "run_analysis":
                bound = _config_fields(bound, "config", ANALYSIS_TRAINING)
            calls.setdefault(_name, []).append(bound)
            if _name == target:
                raise Stop
            return _result(*a, **k)

        functools.update_wrapper(spy, real)  # the parser reads some defaults off signatures
        monkeypatch.setattr(owner, name, spy)
    return calls


# (command argv, target function, argument name, expected value or predicate)
DATA = [("--dataset", "teacher", "name", "teacher"), ("--n-train", "50", "n_train", 50),
        ("--n-test", "20", "n_test", 20), ("--pca", "8", "pca", 8),
        ("--classes", "0,1", "classes", (0, 1)), ("--data-path", "/x", "path", "/x")]
TRAINING = [("--hidden", "16,8", (16, 8)), ("--replicas", "5", 5), ("--epochs", "7", 7),
            ("--batch-size", "10", 10), ("--lr", "0.123", 0.123), ("--momentum", "0.5", 0.5),
            ("--weight-decay", "0.001", 0.001), ("--schedule", "cosine", "cosine"),
            ("--warmup-epochs", "2", 2), ("--target-train-acc", "0.9", 0.9),
            ("--family", "both", "both"), ("--seed", "7", 7), ("--init-scheme", "xavier", "xavier"),
            ("--no-bias", None, False), ("--bias", None, True), ("--label-noise", "0.1", 0.1),
            ("--label-noise-shared", None, True), ("--no-label-noise-shared", None, False),
            ("--sam-rho", "0.05", 0.05), ("--record-every", "3", 3), ("--record", "final", "final"),
            ("--record-subsample", "500", 500)]


def _flag(name, value):
    return [name] if value is None else [name, value]


CASES = []
for cmd in ("train", "permutation", "replicas"):
    for flag, value, key, want in DATA:
        CASES.append(([cmd, flag, value], "load", key, want))
    for flag, value, want in TRAINING:
        key = flag.lstrip("-").replace("-", "_").replace("no_", "")
        CASES.append(([cmd, *_flag(flag, value)], "train_ensemble", key, want))
    CASES.append(([cmd, "--schedule", "0.1,0.2", "--epochs", "2"], "train_ensemble", "schedule",
                  (0.1, 0.2)))
    CASES.append(([cmd, "--threads", "3"], "train_ensemble", "n_threads", 3))
    CASES.append(([cmd, "--no-progress"], "train_ensemble", "progress", False))
    CASES.append(([cmd, "--progress"], "train_ensemble", "progress", True))
for flag, value, key, want in DATA:
    CASES.append((["analyze", flag, value], "run_analysis",
                  {"name": "dataset", "path": "data_path"}.get(key, key), want))
for flag, value, want in TRAINING:
    key = flag.lstrip("-").replace("-", "_").replace("no_", "")
    CASES.append((["analyze", *_flag(flag, value)], "run_analysis", key, want))
CASES += [
    (["train", "--out", "e.npz"], "save", "path", "e.npz"),
    (["train", "-o", "e.npz"], "save", "path", "e.npz"),
    (["analyze", "--out", "rep"], "run_analysis", "out", "rep"),
    (["analyze", "-o", "rep"], "run_analysis", "out", "rep"),
    (["analyze", "--threads", "3"], "run_analysis", "n_threads", 3),
    (["analyze", "--no-progress"], "run_analysis", "progress", False),
    (["analyze", "--progress"], "run_analysis", "progress", True),
    (["analyze", "--sections", "setup,training"], "run_analysis", "sections",
     ["setup", "training"]),
    (["analyze", "-O", "a=1"], "run_analysis", "extra", {"a": 1}),
    (["analyze", "--option", "a=x"], "run_analysis", "extra", {"a": "x"}),
    (["analyze", "-q"], "run_analysis", "log", None),
    (["analyze", "--quiet"], "run_analysis", "log", None),
]
# profile and walk: a saved network and its data
for cmd, target in (("profile", "profile"), ("walk", "random_walk")):
    base = [cmd, "{model}", "--dataset", "digits"]
    for flag, value, key, want in DATA:
        argv = [cmd, "{model}", flag, value] if flag == "--dataset" else [*base, flag, value]
        CASES.append((argv, "load", key, want))
    CASES += [
        ([cmd, "{model}", "--data", "{data}"], target, "data",
         lambda d: d.X_train.shape == (60, 64) and d.X_test is None),
        ([*base, "--data-seed", "4"], "load", "seed", 4),
        ([*base, "--replica", "1"], target, "net",
         lambda net: np.array_equal(net.flat(), gl.Ensemble.init([64, 4, 10], 3, seed=0)[1].flat())),
        ([*base, "--seed", "5"], target, "seed", 5),
        ([*base, "--threads", "3"], target, "n_threads", 3),
        ([*base, "--no-progress"], target, None, None),  # accepted; these probes show no bar
        ([*base, "--progress"], target, None, None),
        ([*base, "--out", "p.npz"], "write_npz", "out", "p.npz"),
        ([*base, "-o", "p.npz"], "write_npz", "out", "p.npz"),
        ([*base, "--delta", "0.2"], target, "delta", 0.2),
    ]
CASES += [(["profile", "{model}", "--dataset", "digits", *_flag(f, v)], "profile", k, w) for f, v, k, w in [
    ("--radii", "0,0.5", "radii", lambda r: list(r) == [0.0, 0.5]),
    ("--directions", "3", "n_directions", 3), ("--normalization", "layer", "normalization", "layer"),
    ("--kind", "rademacher", "kind", "rademacher"), ("--mode", "multiplicative", "mode", "multiplicative"),
    ("--bias-mode", "zero", "bias_mode", "zero")]]
CASES += [(["walk", "{model}", "--dataset", "digits", *_flag(f, v)], "random_walk", k, w) for f, v, k, w in [
    ("--steps", "20", "n_steps", 20), ("--step-size", "0.05", "step_size", 0.05),
    ("--walk-mode", "threshold", "mode", "threshold"), ("--threshold", "0.5", "threshold", 0.5),
    ("--threshold-on", "error", "threshold_on", "error"), ("--temperature", "0.1", "temperature", 0.1),
    ("--move", "unit", "move", "unit"), ("--walkers", "3", "n_walkers", 3),
    ("--record-every", "5", "record_every", 5), ("--refresh-every", "50", "refresh_every", 50)]]
_P = "permutation_interpolation"
CASES += [(["permutation", *_flag(f, v)], _P, k, w) for f, v, k, w in [
    ("--ks", "1,2", "ks", (1, 2)), ("--no-full", None, "full", False), ("--trials", "2", "n_trials", 2),
    ("--n-points", "5", "n_points", 5), ("--pairs", "2", "n_replica_pairs", 2),
    ("--matching", "both", "matching", ["weights", "activations"]),
    ("--align", "activations", "matching", ["activations"]), ("--layer", "1", "layer", 1),
    ("--replica", "2", "replica", 2), ("--metric", "error", "metric", "error"),
    ("--barrier-kind", "midpoint", "kind", "midpoint"), ("--reference", "mean", "reference", "mean"),
    ("--split", "test", "split", "test"), ("--seed", "3", "seed", 3), ("--threads", "3", "n_threads", 3),
    ("--model", "{model}", "net_or_ensemble", lambda e: e.widths == [64, 4, 10] and e.n_replicas == 3)]]
CASES += [([cmd, flag, "odir"], "write_outputs", "out", "odir")
          for cmd in ("permutation", "replicas") for flag in ("-o", "--out")]
CASES += [(["replicas", *_flag(f, v)], "replica_analysis", k, w) for f, v, k, w in [
    ("--kind", "function", "kind", "function"), ("--alignment", "reference", "alignment", "reference"),
    ("--align", "medoid", "alignment", "medoid"),
    ("--alignment", "none", "alignment", "none"),
    ("--alignment", "medoid", "alignment", "medoid"),
    ("--distance", "sqrt", "distance", "sqrt"), ("--methods", "average", "methods", ["average"]),
    ("--n-null", "5", "n_null", 5), ("--seed", "3", "seed", 3), ("--threads", "3", "n_threads", 3),
    ("--model", "{model}", "data", lambda e: e.widths == [64, 4, 10])]]
CASES += [
    (["replicas", "--kind", "function"], "replica_analysis", "X", lambda X: X.shape == (30, 64)),
    (["replicas", "--sweep", "hidden=4,8"], "train_ensemble", "hidden", (4,)),
    (["replicas", "--sweep", "batch-size=16"], "train_ensemble", "batch_size", 16),
    (["replicas", "--sweep", "n-train=50,80"], "load", "n_train", 50),
]
# flatness: the study's own defaults, the training options it takes, and its protocol options
CASES += [(["flatness", flag, value], "load", key, want) for flag, value, key, want in DATA]
CASES += [(["flatness", *_flag(f, v)], "generalization_study", k, w) for f, v, k, w in [
    ("--hidden", "16,8", "hidden", (16, 8)), ("--replicas", "5", "n_replicas", 5),
    ("--epochs", "7", "epochs", 7), ("--lr", "0.123", "lr", 0.123),
    ("--momentum", "0.5", "momentum", 0.5), ("--seed", "7", "seed", 7),
    ("--checkpoints", "2", "n_checkpoints", 2),
    ("--variants", "sam", "variants", gl.flatness.VARIANT_PRESETS["sam"]),
    ("--variants", '[{"batch_size": 16}]', "variants", [{"batch_size": 16}]),
    ("--measures", "hessian_top", "measures", ["hessian_top"]),
    ("--no-balance", None, "balance", False), ("--n-boot", "10", "n_boot", 10),
    ("--match-tol", "0.3", "match_tol", 0.3), ("--threads", "3", "n_threads", 3),
    ("--no-progress", None, "progress", False), ("--progress", None, "progress", True)]]
CASES += [(["flatness", "-o", "fdir"], "write_outputs", "out", "fdir"),
          (["flatness", "--out", "fdir"], "write_outputs", "out", "fdir")]
# effective-model
_E = "run_effective_model"
CASES += [(["effective-model", f, v], "load", k, w) for f, v, k, w in [
    ("--dataset", "digits", "name", "digits"), ("--n-train", "50", "n_train", 50),
    ("--n-test", "20", "n_test", 20), ("--data-path", "/x", "path", "/x")]]
CASES += [(["effective-model", *_flag(f, v)], _E, k, w) for f, v, k, w in [
    ("--regimes", "deep-over", "regime", "deep-over"), ("--trainings", "3", "n_replicas", 3),
    ("--draws", "4", "n_per_network", 4), ("--epochs", "2", "epochs", 2),
    ("--min-accuracy", "0.5", "min_accuracy", 0.5), ("--fit", "boltzmann", "fit", "boltzmann"),
    ("--fit", "boltzmann", "fit_kwargs", {}),  # the quick preset's l2 is a pseudo-likelihood one
    ("--references", "2", "n_references", 2),
    ("--direction", "both", "landscape_kwargs", {"direction": "both", "max_sweeps": 200}),
    ("--tap-starts", "5", "n_tap_starts", 5),
    ("--alignment", "none,mean", "alignment", ("none", "mean")),
    ("--seed", "3", "seed", 3), ("--threads", "3", "n_threads", 3),
    ("--no-progress", None, "progress", False), ("--progress", None, "progress", True)]]
CASES += [
    (["effective-model", "--fit", "boltzmann", "--fit-iters", "6"], _E, "fit_kwargs",
     {"iters": 6, "keep_after": 3}),
    (["effective-model", "--preset", "paper"], "load", "name", "fashion-mnist"),
    (["effective-model", "--preset", "paper"], _E, "fit", "boltzmann"),
    (["effective-model", "--preset", "paper", "--fit-iters", "6"], _E, "fit_kwargs",
     {"iters": 6, "keep_after": 3}),
    (["effective-model"], "load", "name", "digits"),  # the quick preset is the default
    (["effective-model"], _E, "n_replicas", 20),
    (["effective-model", "--x-max", "1"], "tilt_grid", "x_max", 1.0),
    (["effective-model", "--x-step", "0.5"], "tilt_grid", "step", 0.5),
    (["effective-model", "--out", "edir"], "out_dir", "path", "edir"),
    (["effective-model", "-o", "edir"], "out_dir", "path", "edir"),
]


_SW = ["sweep", "C.toml", "--store", "S"]
CASES += [(_SW, "run", "store", "S"), (["sweep", "C.toml", "-o", "S"], "run", "store", "S"),
          (["sweep", "C.toml", "--out", "S"], "run", "config", "C.toml")]
CASES += [([*_SW, *_flag(f, v)], t, k, w) for f, v, t, k, w in [
    ("--scheduler", "tcp://h:1", "run", "client", "tcp://h:1"),
    ("--workers", "3", "run", "workers", 3), ("--threads", "3", "run", "threads", 3),
    ("--no-progress", None, "run", "progress", False),
    ("--progress", None, "run", "progress", True), ("--csv", "t.csv", "export_csv", "path",
                                                         "t.csv")]]
CASES += [(["report", "S"], "write_report", "store", "S"),
          (["report", "S", "-o", "D"], "write_report", "out", "D"),
          (["report", "S", "--out", "D"], "write_report", "out", "D"),
          (["report", "S", "--no-progress"], "write_report", "progress", False),
          (["report", "S", "--progress"], "write_report", "progress", True),
          # --threads sets the default thread count around the call (set_threads)
          (["report", "S", "--threads", "1"], "write_report", None, None)]


def _ids():
    return [" ".join(c[0]).replace("{model}", "M").replace("{data}", "D") for c in CASES]


class _TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("argv, target, key, want", CASES, ids=_ids())
def test_option_reaches_the_library(argv, target, key, want, monkeypatch, tmp_path, tiny, files):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stderr", _TTY())  # progress bars would be on by default
    calls = _install(monkeypatch, tiny, target)
    with pytest.raises(Stop):
        cli.main([a.replace("{model}", files["model"]).replace("{data}", files["data"])
                  for a in argv])
    assert target in calls, f"{target} was not called"
    if key is None:
        return
    got = calls[target][0][key]
    if callable(want):
        assert want(got), got
    elif want is not None:
        assert got == want


def test_defaults_come_from_the_config(monkeypatch, tmp_path, tiny):
    """Without options the training commands pass ANALYSIS_TRAINING, flatness the study's
    defaults, and progress bars are on when stderr is a terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stderr", _TTY())
    for cmd in ("train", "permutation", "replicas"):
        calls = _install(monkeypatch, tiny, "train_ensemble")
        with pytest.raises(Stop):
            cli.main([cmd])
        got = calls["train_ensemble"][0]
        assert {f: got[f] for f in TrainConfig.field_names()} == {
            f: getattr(ANALYSIS_TRAINING, f) for f in TrainConfig.field_names()}
        assert got["progress"] is True
    calls = _install(monkeypatch, tiny, "run_analysis")
    with pytest.raises(Stop):
        cli.main(["analyze"])
    got = calls["run_analysis"][0]
    assert {f: got[f] for f in TrainConfig.field_names()} == ANALYSIS_TRAINING.to_dict() | {
        "hidden": ANALYSIS_TRAINING.hidden}
    assert got["progress"] is None and got["out"] == "glasslens-report"
    calls = _install(monkeypatch, tiny, "generalization_study")
    with pytest.raises(Stop):
        cli.main(["flatness"])
    got = calls["generalization_study"][0]
    params = inspect.signature(gl.flatness.generalization_study).parameters
    for k in ("hidden", "n_replicas", "epochs", "lr", "momentum", "seed", "n_checkpoints",
              "n_boot", "match_tol"):
        assert got[k] == params[k].default, k
    assert got["progress"] is True


# the command, the function that receives ``progress``, and its value without a flag
_PROGRESS = [("train", "train_ensemble", "bool"), ("permutation", "train_ensemble", "bool"),
             ("replicas", "train_ensemble", "bool"), ("flatness", "generalization_study", "bool"),
             ("effective-model", "run_effective_model", "bool"), ("analyze", "run_analysis", None)]


@pytest.mark.parametrize("cmd, target, auto", _PROGRESS, ids=[c[0] for c in _PROGRESS])
def test_progress_flag_both_ways_on_every_command(cmd, target, auto, monkeypatch, tmp_path, tiny):
    """--progress turns bars on where stderr is not a terminal, --no-progress off where it is;
    no flag: bars exactly when stderr is a terminal (analyze passes None: run_analysis asks)."""
    monkeypatch.chdir(tmp_path)
    for tty, argv, want in ((False, [], False if auto else None), (False, ["--progress"], True),
                            (True, [], True if auto else None), (True, ["--no-progress"], False)):
        monkeypatch.setattr(sys, "stderr", _TTY() if tty else io.StringIO())
        calls = _install(monkeypatch, tiny, target)
        with pytest.raises(Stop):
            cli.main([cmd, *argv])
        assert calls[target][0]["progress"] is want, (tty, argv)


@pytest.mark.parametrize("cmd", [m.NAME for m in cli.COMMANDS if m.NAME != "info"])
def test_threads_is_parsed_one_way(cmd, capsys):
    for bad, msg in (("0", "--threads must be positive or negative"),
                     ("x", "expected an integer thread count")):
        argv = [cmd, "M.npz", "--dataset", "digits"] if cmd in ("profile", "walk") else [cmd]
        with pytest.raises(SystemExit) as ei:
            cli.main([*argv, "--threads", bad])
        assert ei.value.code == 2
        assert msg in capsys.readouterr().err


def _flags(parser):
    return {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}


def test_every_flag_of_every_command_is_covered():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.choices and "analyze" in a.choices).choices
    assert set(sub) == {m.NAME for m in cli.COMMANDS}
    covered = {}
    for argv, *_ in CASES:
        covered.setdefault(argv[0], set()).update(a for a in argv[1:] if a.startswith("-"))
    covered.setdefault("info", set()).add("--json")  # test_cli.py::test_info
    covered["analyze"].add("--options")  # tests/report/test_findings.py::test_analyze_options
    missing = {cmd: sorted(_flags(p) - covered.get(cmd, set())) for cmd, p in sub.items()}
    assert not any(missing.values()), missing


def test_every_command_takes_the_common_flags():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.choices and "analyze" in a.choices).choices
    for name, p in sub.items():
        if name != "info":
            assert {"-o", "--out", "--threads", "--progress", "--no-progress"} <= _flags(p), name
            # one definition (cli/_common.add_progress_option): the same flag everywhere
            act = next(a for a in p._actions if "--progress" in a.option_strings)
            assert isinstance(act, argparse.BooleanOptionalAction) and act.default is None
    usage = parser.format_usage()
    for m in cli.COMMANDS:
        assert m.NAME in usage


def test_help_shows_the_config_defaults():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.choices and "analyze" in a.choices).choices
    text = sub["train"].format_help()
    assert f"(default: {ANALYSIS_TRAINING.replicas})" in text
    for f in TrainConfig.field_names():
        assert "--" + f.replace("_", "-") in text, f


def test_legacy_cli_modules_offer_their_old_names():
    import importlib
    import warnings

    names = {"glasslens.landscape_cli": ["add_profile_parser", "add_walk_parser", "cli_profile",
                                         "cli_walk", "parse_radii", "report_section_protocol1"],
             "glasslens.flatness_cli": ["add_flatness_parser", "cli_flatness", "VARIANT_PRESETS",
                                        "report_section_protocol4"],
             "glasslens.effective_model_cli": ["add_effective_model_parser",
                                               "cli_effective_model",
                                               "report_section_effective_model"]}
    for mod, attrs in names.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            m = importlib.import_module(mod)
        for a in attrs:
            assert hasattr(m, a), (mod, a)
    from glasslens.cli import _legacy

    import argparse

    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers()
    _legacy.add_flatness_parser(sp)
    args = ap.parse_args(["flatness", "--variants", "sam"])
    assert args.func is _legacy.cli_flatness and args.variants == "sam"
    assert _legacy.VARIANT_PRESETS is gl.flatness.VARIANT_PRESETS
    json.dumps(_legacy.VARIANT_PRESETS)
