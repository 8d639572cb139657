import json

import numpy as np
import pytest

import glasslens
from glasslens._lib import _plotting as plots
from glasslens.nn import _section as nn_section
from glasslens.nn import plotting as nn_plots
from glasslens.report import _analyze as analyze
from glasslens.nn import Ensemble
from glasslens.report import Report, to_jsonable


def _strict_json(path):
    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(), parse_constant=no_constants)


def test_to_jsonable():
    got = to_jsonable({"a": np.arange(3), "b": np.float32(1.5), "c": (1, np.nan), 4: np.bool_(True),
                       "d": [np.inf, None, "s"]})
    assert got == {"a": [0, 1, 2], "b": 1.5, "c": [1, None], "4": True, "d": [None, None, "s"]}
    with pytest.raises(TypeError, match="cannot store a object"):
        to_jsonable({"x": object()})


def test_report_sections_figures_and_files(tmp_path):
    rep = Report(tmp_path / "r", title="T <1>", meta={"opt": np.int64(3)})
    fig = plots.histogram(np.random.default_rng(0).normal(size=50), "x")
    s1 = rep.add_section("First <section>", "para one\n\npara & two",
                         figures=[(fig, "a histogram")], data={"v": np.array([1.0, np.nan])})
    assert s1["key"] == "first-section" and s1["figures"][0]["path"] == "figures/first-section-1.png"
    png = tmp_path / "r" / s1["figures"][0]["path"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a figure already written into the report directory, referenced by path
    p = plots.save(plots.histogram([1, 2, 2, 3], "y"), rep.figure_path("custom"))
    s2 = rep.add_section("First <section>", figures=[p])
    assert s2["key"] == "first-section-2" and s2["figures"][0]["path"] == "figures/custom.png"
    summ = _strict_json(tmp_path / "r" / "summary.json")
    assert summ["title"] == "T <1>" and summ["meta"] == {"opt": 3}
    assert summ["glasslens"]["version"] == glasslens.__version__
    assert [s["key"] for s in summ["sections"]] == ["first-section", "first-section-2"]
    assert summ["sections"][0]["data"] == {"v": [1.0, None]}
    page = (tmp_path / "r" / "index.html").read_text()
    assert "First &lt;section&gt;" in page and "<section>" not in page.replace("<section id", "")
    assert "para &amp; two" in page and 'src="figures/first-section-1.png"' in page
    assert "a histogram" in page and 'href="summary.json"' in page


def test_report_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        Report(tmp_path / "file")
    rep = Report(tmp_path / "r")
    with pytest.raises(TypeError, match="matplotlib Figures or paths"):
        rep.add_section("s", figures=[42])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rep.add_section("s", figures=["figures/missing.png"])
    (tmp_path / "outside.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="outside the report directory"):
        rep.add_section("s", figures=[tmp_path / "outside.png"])
    with pytest.raises(TypeError, match="cannot store"):
        rep.add_section("s", data={"f": lambda: 0})
    with pytest.raises(ValueError, match="title"):
        rep.add_section("")


def test_plots_are_headless_figures():
    R, n = 3, 5
    rng = np.random.default_rng(1)
    h = {"epoch": np.arange(n), "train_loss": rng.random((R, n)) + 0.1,
         "test_loss": rng.random((R, n)) + 0.1, "train_acc": rng.random((R, n)),
         "test_acc": rng.random((R, n))}
    fig = nn_plots.training_curves(h, title="t")
    ax_l, ax_a = fig.axes
    assert ax_l.get_yscale() == "log" and len(ax_l.lines) == 2 * (R + 1)
    np.testing.assert_allclose(ax_a.lines[R].get_ydata(), np.median(h["train_acc"], axis=0))
    fig2 = nn_plots.final_metrics({k: v[:, -1] for k, v in h.items() if k != "epoch"})
    assert len(fig2.axes) == 2
    with pytest.raises(ValueError, match="epoch"):
        nn_plots.training_curves({"train_loss": h["train_loss"]})


def _fake_train(dataset, hidden=(8,), replicas=2, epochs=2, seed=0, **kw):
    """Stand-in for the training engine: random networks with made-up curves (tests the
    report orchestration only; the real engine is exercised in test_cli.py)."""
    ens = Ensemble.init([dataset.n_features, *hidden, dataset.n_classes], replicas, seed)
    rng = np.random.default_rng(seed)
    hist = {"epoch": np.arange(epochs + 1)}
    for k in ("train_loss", "test_loss", "train_acc", "test_acc"):
        hist[k] = rng.random((replicas, epochs + 1)) + 0.01
    ens.history = hist
    ens.metrics = {k: v[:, -1] for k, v in hist.items() if k != "epoch"}
    return ens


def test_registered_sections_run_in_order_and_failures_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(glasslens, "train_ensemble", _fake_train, raising=False)
    calls = []

    def good(ctx):
        calls.append(("good", ctx.options["extra"].get("alpha"), ctx.ensemble.n_replicas))
        ctx.results["seen"] = True
        ctx.report.add_section("Custom", "hello", data={"n": ctx.dataset.n_train})

    def bad(ctx):
        calls.append(("bad", ctx.results.get("seen")))
        raise RuntimeError("boom")

    monkeypatch.setitem(analyze._REGISTRY, "zz-good", analyze._Spec("zz-good", good, 15, True, "G",
                                                                    ("alpha",)))
    monkeypatch.setitem(analyze._REGISTRY, "zz-bad", analyze._Spec("zz-bad", bad, 16, False, "B"))
    assert analyze.sections().index("zz-good") < analyze.sections().index("zz-bad")
    assert "zz-bad" not in analyze.sections(include_optional=False)
    out = tmp_path / "rep"
    rep = analyze.run_analysis(out, dataset="digits", n_train=100, n_test=50, replicas=3,
                               sections=["zz-good", "setup"], extra={"alpha": 2}, progress=False)
    assert calls == [("good", 2, 3)]
    assert [s["key"] for s in rep.sections] == ["setup", "custom"]
    summ = _strict_json(out / "summary.json")
    assert summ["sections"][1]["data"] == {"n": 100}
    assert summ["meta"]["extra"] == {"alpha": 2} and summ["meta"]["replicas"] == 3
    assert (out / "ensemble.npz").exists()
    with pytest.raises(analyze.AnalysisError, match="zz-bad"):
        analyze.run_analysis(out, dataset="digits", n_train=100, n_test=50, replicas=2,
                             sections=["zz-good", "zz-bad", "training"], progress=False)
    summ = _strict_json(out / "summary.json")
    keys = [s["key"] for s in summ["sections"]]
    assert keys == ["training", "custom", "zz-bad-failed"]
    assert "boom" in summ["sections"][2]["text"]
    assert calls[-1] == ("bad", True)
    with pytest.raises(ValueError, match="unknown section"):
        analyze.run_analysis(out, sections=["nope"])


def test_register_section_decorator(monkeypatch):
    monkeypatch.setattr(analyze, "_REGISTRY", dict(analyze._REGISTRY))

    @analyze.register_section("early", order=-1)
    def early(ctx):
        pass

    assert analyze.sections()[0] == "early"
    with pytest.raises(ValueError, match="section name"):
        analyze.register_section("a,b", early)
    with pytest.raises(TypeError, match="callable"):
        analyze.register_section("x", 3)


def test_training_section_flags_diverged_replicas(tmp_path):
    h = {"epoch": np.arange(3),
         "train_loss": np.array([[2.3, 1.0, 0.5], [2.3, 5.0, 9.0], [2.3, 1.0, np.nan]])}
    m = {"train_loss": h["train_loss"][:, -1], "train_acc": np.array([0.9, 0.1, 0.1]),
         "test_acc": np.array([0.8, 0.1, 0.1])}
    assert nn_section._diverged(h, m) == [1, 2]
    ens = Ensemble.init([4, 3, 2], 3)
    ens.history, ens.metrics = h, m
    rep = Report(tmp_path)
    ctx = analyze.AnalysisContext(None, ens, {"lr": 0.5}, rep, 1)
    nn_section.training_section(ctx)
    sec = rep.sections[-1]
    assert sec["data"]["diverged"] == [1, 2] and "2 of 3 replicas diverged" in sec["text"]
    assert "--lr, now 0.5" in sec["text"]


def test_compact_json_is_json():
    from glasslens.report._report import _compact_json

    x = {"a": [1, 2.5, None], "b": {"c": [[1, 2], [3, {"z": "q"}]], "d": None}, "e": [], "f": {}}
    text = _compact_json(x)
    assert json.loads(text) == x
    assert '"a": [1, 2.5, null]' in text


class _Stop(Exception):
    pass


def test_run_analysis_takes_its_training_options_from_a_config(tmp_path, monkeypatch):
    from glasslens import nn
    from glasslens.report import ANALYSIS_TRAINING

    seen = []

    def spy(dataset, config=None, **kw):
        seen.append((config, kw))
        raise _Stop

    monkeypatch.setattr(nn, "train_ensemble", spy)
    for kwargs, want in [
        ({}, ANALYSIS_TRAINING),
        ({"replicas": 3, "lr": 0.2}, ANALYSIS_TRAINING.replace(replicas=3, lr=0.2)),
        ({"config": nn.TrainConfig(epochs=2)}, nn.TrainConfig(epochs=2)),
        ({"config": nn.TrainConfig(epochs=2), "sam_rho": 0.1},
         nn.TrainConfig(epochs=2, sam_rho=0.1)),
    ]:
        with pytest.raises(_Stop):
            analyze.run_analysis(tmp_path / "r", dataset="digits", n_train=50, n_test=20,
                                 progress=False, **kwargs)
        config, kw = seen[-1]
        assert config == want and set(kw) == {"n_threads", "progress"}
    with pytest.raises(TypeError, match="nope"):
        analyze.run_analysis(tmp_path / "r", nope=1)
    # the analysis preset differs from train_ensemble's defaults only where it says so
    assert {k for k, v in ANALYSIS_TRAINING.to_dict().items()
            if v != nn.TrainConfig().to_dict()[k]} == {"replicas", "epochs", "batch_size"}


def test_defaults_is_a_deprecated_alias_of_the_config():
    import glasslens.report as rep
    from glasslens.report import ANALYSIS_TRAINING, DATA_DEFAULTS

    with pytest.warns(DeprecationWarning, match="ANALYSIS_TRAINING"):
        d = rep.DEFAULTS
    assert d == {"dataset": "digits", "hidden": (32,), "replicas": 16, "epochs": 30,
                 "batch_size": 32, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0,
                 "family": "init", "seed": 0, "n_train": None, "n_test": None, "pca": None,
                 "classes": None, "data_path": None}
    assert d["replicas"] == ANALYSIS_TRAINING.replicas and d["dataset"] == DATA_DEFAULTS["dataset"]
    with pytest.warns(DeprecationWarning):
        assert analyze.DEFAULTS == d
    assert "DEFAULTS" not in rep.__all__


def test_interrupted_run_writes_a_report_that_says_so(tmp_path, monkeypatch):
    """A run stopped with Ctrl-C used to leave a report that looked complete."""
    monkeypatch.setattr(analyze, "_REGISTRY", dict(analyze._REGISTRY))

    @analyze.register_section("zz-stop", order=15)
    def stop(ctx):
        ctx.report.add_section("half done", "partial")
        raise KeyboardInterrupt

    out = tmp_path / "rep"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale-1.png").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        analyze.run_analysis(out, dataset="digits", n_train=100, n_test=50, replicas=2,
                             epochs=1, sections=["setup", "zz-stop", "weights"], progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["interrupted"] == {"during": "section zz-stop",
                                              "not_run": ["zz-stop", "weights"]}
    titles = [s["title"] for s in summary["sections"]]
    assert titles[0].startswith("INTERRUPTED") and "half done" not in titles
    assert "INTERRUPTED" in (out / "index.html").read_text()
    assert not (out / "figures" / "stale-1.png").exists()


def test_unknown_section_settings_are_refused(tmp_path):
    """`-O p2_trails=5` (a typo) used to be ignored silently."""
    with pytest.raises(ValueError, match=r"unknown -O setting\(s\) \['p2_trails'\].*p2_trials"):
        analyze.run_analysis(tmp_path / "r", dataset="digits", n_train=60, n_test=30,
                             replicas=2, epochs=1, sections=["setup", "protocol2"],
                             extra={"p2_trails": 5}, progress=False)
    # a key of a section that is not selected is refused too
    with pytest.raises(ValueError, match="p3_null"):
        analyze.run_analysis(tmp_path / "r", dataset="digits", n_train=60, n_test=30,
                             replicas=2, epochs=1, sections=["setup"], extra={"p3_null": 9},
                             progress=False)
    from glasslens.report._sections import BUILTIN_SECTIONS, SETTINGS

    assert set(SETTINGS) <= {s[0] for s in BUILTIN_SECTIONS}


def test_every_setting_a_section_reads_is_declared():
    import pathlib
    import re

    import glasslens
    from glasslens.report._sections import SETTINGS

    root = pathlib.Path(glasslens.__file__).parent
    declared = {k for v in SETTINGS.values() for k in v}
    read = set()
    for f in root.glob("*/_section.py"):
        read |= set(re.findall(r"\"((?:p[0-9]|em|flatness)_[a-z_]+)\"", f.read_text()))
    assert read == declared
