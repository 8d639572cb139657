"""Protocol 4 study: statistics against scipy, matched comparison logic, and a tiny end-to-end
run (study, CLI, report section)."""
import argparse
import json

import numpy as np
import pytest
from scipy import stats

import glasslens as gl
from glasslens import flatness as G
from glasslens.cli.flatness import add_parser as add_flatness_parser
from glasslens.flatness._section import section as report_section_protocol4


def test_rank_correlations_match_scipy_and_ci_covers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = 0.5 * x + rng.normal(size=60)
    c = G.rank_correlations(x, y, n_boot=300, seed=1)
    assert c["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert c["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic)
    lo, hi = c["spearman_ci"]
    assert lo < c["spearman"] < hi and lo > 0
    # group means
    g = np.repeat(np.arange(6), 10)
    cg = G.rank_correlations(x, y, n_boot=50, seed=1, groups=g)
    mx = [x[g == k].mean() for k in range(6)]
    my = [y[g == k].mean() for k in range(6)]
    assert cg["n"] == 6 and cg["spearman"] == pytest.approx(stats.spearmanr(mx, my).statistic)


def test_partial_correlation_removes_confounder():
    rng = np.random.default_rng(1)
    z = rng.normal(size=400)
    x = z + 0.3 * rng.normal(size=400)
    y = z + 0.3 * rng.normal(size=400)
    assert G.rank_correlations(x, y, n_boot=0)["spearman"] > 0.8
    p = G.partial_rank_correlation(x, y, z, n_boot=100)
    assert abs(p["spearman"]) < 0.15
    assert p["spearman_ci"][0] < 0 < p["spearman_ci"][1] or abs(p["spearman"]) < 0.1


def test_analyse_rows_matched_pairs():
    rows = []
    for v, (lab, losses, acc, sharp) in enumerate([("B=16", [0.5, 0.1, 0.01], 0.9, 1.0),
                                                    ("B=full", [1.0, 0.52, 0.2], 0.8, 3.0)]):
        for c, L in enumerate(losses):
            for r in range(2):
                rows.append({"variant": lab, "checkpoint": c, "train_loss": L, "replica": r,
                             "test_acc": acc + 0.01 * r + 0.001 * c, "gap": 0.05 * r + 0.01 * c,
                             "hessian_top": sharp + 0.1 * r + c})
    corr, m = G.analyse_rows(rows, ["hessian_top"], ["B=16", "B=full"], n_boot=20,
                             match_tol=0.1, small="B=16", large="B=full")
    # only (0.5 vs 0.52) matches: 2 x 2 replica pairs
    assert m["n_pairs"] == 4
    assert m["train_loss_small"] == pytest.approx(0.5) and m["train_loss_large"] == pytest.approx(0.52)
    assert m["measures"]["hessian_top"]["frac_small_flatter"] == 1.0
    assert set(corr["hessian_top"]) == {"test_acc", "gap"}


@pytest.fixture(scope="module")
def tiny_data():
    from glasslens import datasets
    return datasets.load("teacher", n_train=120, n_test=200, n_features=6, n_classes=3, seed=2)


FAST = {"ruggedness": {"steps": 12, "n_walks": 1}, "hessian_trace": {"n_samples": 4},
        "eps_sharpness": {"steps": 2}, "basin_radius": {"n_dirs": 2},
        "local_energy": {"n_dirs": 2}, "copy_barrier": {"n_copies": 1, "n_alpha": 5},
        "hessian_top": {"iters": 10}}


def test_study_end_to_end(tiny_data, tmp_path):
    st = G.generalization_study(
        tiny_data, hidden=(6,), variants={"batch_size": [8, "full"], "lr": [0.1]}, n_replicas=3,
        epochs=4, n_checkpoints=2, n_boot=20, measure_params=FAST, seed=1, n_threads=2)
    assert st.labels == ["B=8, lr=0.1", "B=full, lr=0.1"]
    assert len(st.final) == 6 and len(st.rows) == 12
    for r in st.rows:
        assert 0 <= r["test_acc"] <= 1 and r["gap"] == pytest.approx(r["train_acc"] - r["test_acc"])
        net_ok = np.isfinite([r[m] for m in st.measures]).all()
        assert net_ok
    tab = st.table()
    assert "hessian_top" in tab and "Spearman" in tab and "matched train loss" in tab
    assert st.matched["small"] == "B=8, lr=0.1"
    fig = st.plot()
    assert len(fig.axes) >= len(st.measures)
    st.save_json(tmp_path / "s.json")
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["params"]["replicas"] == 3
    # reproducible
    st2 = G.generalization_study(
        tiny_data, hidden=(6,), variants={"batch_size": [8, "full"], "lr": [0.1]}, n_replicas=3,
        epochs=4, n_checkpoints=2, n_boot=20, measure_params=FAST, seed=1, n_threads=1)
    assert [r["hessian_top"] for r in st2.rows] == [r["hessian_top"] for r in st.rows]


def test_cli_and_report_section(tmp_path, monkeypatch):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    add_flatness_parser(sub)
    args = ap.parse_args(["flatness", "--dataset", "digits", "--n-train", "150", "--n-test", "100",
                          "--hidden", "6", "--replicas", "2", "--epochs", "2", "--checkpoints", "1",
                          "--variants", '[{"batch_size": 16}, {"batch_size": 150}]',
                          "--measures", "hessian_top,local_energy", "--n-boot", "10",
                          "--out", str(tmp_path / "o"), "--threads", "2"])
    assert args.func(args) == 0
    assert (tmp_path / "o" / "flatness.md").read_text().count("hessian_top") >= 2
    assert (tmp_path / "o" / "flatness.png").stat().st_size > 0
    with pytest.raises(SystemExit):
        ap.parse_args(["flatness", "--variants", "{bad json"])

    from glasslens import datasets
    ds = datasets.load("digits", n_train=150, n_test=100)
    ens = gl.train_ensemble(ds, hidden=(6,), replicas=3, epochs=2, n_threads=2)

    class Rep:
        def __init__(self):
            self.sections = []

        def add_section(self, title, text="", figures=(), data=None, **kw):
            self.sections.append((title, text, figures, data))
            return {"title": title}

    class Ctx:
        dataset, ensemble, report, n_threads, options = ds, ens, Rep(), 2, {"seed": 0, "extra": {}}

    ctx = Ctx()
    report_section_protocol4(ctx, which=["hessian_top", "corr_length"], n_boot=10)
    title, text, figs, data = ctx.report.sections[0]
    assert "Protocol 4" in title and "hessian_top" in text and len(data["rows"]) == 3


def test_bad_input(tiny_data):
    with pytest.raises(ValueError, match="variant"):
        G.generalization_study(tiny_data, variants=[{"bogus": 1}], n_replicas=2, epochs=1)
    with pytest.raises(ValueError, match="measure"):
        G.generalization_study(tiny_data, measures=["nope"], n_replicas=2, epochs=1)
    with pytest.raises(ValueError, match="replicas"):
        G.generalization_study(tiny_data, n_replicas=1, epochs=1)
