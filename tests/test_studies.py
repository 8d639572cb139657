"""The study configs of issue 17 (studies/*.toml): each validates through Campaign.from_toml,
states its cell count truthfully, and has the sizes the issue asks for. Fast: no training.
Also the Study 2 analysis (studies/analyze_p2.py) recovers a known power law."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from glasslens.campaign import Campaign

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
PAPER = sorted(STUDIES.glob("*.toml"))
REDUCED = sorted((STUDIES / "reduced").glob("*.toml"))
ALL = PAPER + REDUCED


def _load(p):
    return Campaign.from_toml(p)


def _widths(c):
    return sorted({w for cell in c.cells() for w in cell.train["hidden"]})


def _by_protocol(name):
    return [p for p in PAPER if name in _load(p).protocols]


def test_the_studies_are_there():
    names = {p.name for p in PAPER}
    assert len(PAPER) >= 5, names
    for proto in ("symmetry", "replicas", "flatness", "effective_model"):
        assert _by_protocol(proto), f"no study config runs {proto}"
    assert REDUCED, "the reduced run's config is missing"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.relative_to(STUDIES).as_posix())
def test_config_validates_and_states_its_size(path):
    c = _load(path)
    text = path.read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Tests" in header and "Run: glasslens sweep studies/" in header
    assert re.search(r"(Estimated time|Time):", header), "no time estimate in the header"
    m = re.search(r"= (\d+) cells\b", header) or re.search(r"Cells: (\d+)\b", header)
    assert m, "no cell count in the header"
    stated = int(m.group(1))
    assert stated == len(c.cells()), (stated, len(c.cells()))
    assert str(path.relative_to(ROOT)) in header  # the run line names this very file


def _pairs(c, cell):
    R = cell.train["replicas"]
    return min(R * (R - 1) // 2, c.protocols["symmetry"].get("max_pairs", 45))


@pytest.mark.parametrize("path", _by_protocol("symmetry"), ids=lambda p: p.name)
def test_study2_sizes(path):
    c = _load(path)
    assert min(_pairs(c, cell) for cell in c.cells()) >= 20
    w = _widths(c)
    assert w[0] <= 16 and w[-1] >= 1024, w
    assert len(c.grid.get("seed", [])) >= 3, "CIs need several independent seeds"


def test_study2_has_fashion_and_teacher_variants():
    ds = {_load(p).data["dataset"] for p in _by_protocol("symmetry")}
    assert {"fashion-mnist", "teacher"} <= ds
    t = [_load(p) for p in _by_protocol("symmetry") if _load(p).data["dataset"] == "teacher"][0]
    tw = t.data["teacher_hidden"]
    w = _widths(t)
    assert w[0] <= tw < w[-1], "the student widths must bracket the teacher width"


@pytest.mark.parametrize("path", _by_protocol("replicas"), ids=lambda p: p.name)
def test_study3_sizes(path):
    c = _load(path)
    assert min(cell.train["replicas"] for cell in c.cells()) >= 100
    assert {cell.train["family"] for cell in c.cells()} == {"init", "order"}
    w = _widths(c)
    assert w[0] <= 16 and w[-1] >= 1024, w
    assert c.protocols["replicas"].get("n_null", 39) >= 19  # p-values down to 0.05


@pytest.mark.parametrize("path", _by_protocol("flatness"), ids=lambda p: p.name)
def test_study4_sizes(path):
    c = _load(path)
    cap = c.protocols["flatness"].get("max_replicas", 8)
    nets = sum(min(cell.train["replicas"], cap) for cell in c.cells())
    assert nets >= 200, nets
    for opt in ("batch_size", "lr", "sam_rho", "weight_decay", "label_noise"):
        assert len({cell.train[opt] for cell in c.cells()}) >= 2, f"{opt} is not varied"


def test_study5_paper_settings():
    from glasslens._lib._alignment import check_alignments
    from glasslens.effective_model import paper_preset

    regimes = set()
    for p in _by_protocol("effective_model"):
        o = _load(p).protocols["effective_model"]
        pre = paper_preset(o["regime"])
        regimes.add(o["regime"])
        assert o["n_replicas"] >= 100 and o["n_per_network"] >= 100
        assert o["fit"] == "boltzmann" and o["epochs"] == pre.epochs
        al = o["alignment"]
        check_alignments(tuple(al) if isinstance(al, list) else al)
    assert regimes == {"deep-under", "deep-over", "shallow"}


def _analysis():
    spec = importlib.util.spec_from_file_location("analyze_p2", STUDIES / "analyze_p2.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_analysis_recovers_a_known_exponent():
    import xarray as xr

    mod = _analysis()
    rng = np.random.default_rng(0)
    w = np.array([16, 32, 64, 128, 256])
    S, P = 4, 10
    aligned = 0.3 * w[:, None, None] ** -0.5 * np.exp(rng.normal(0, 0.05, (len(w), S, P)))
    raw = np.full((len(w), S, P), 0.2) + rng.normal(0, 0.01, (len(w), S, P))
    acc = np.ones((len(w), S, 3))
    ds = xr.Dataset(
        {"barrier_aligned": (("hidden", "seed", "pair"), aligned),
         "barrier_raw": (("hidden", "seed", "pair"), raw),
         "test_acc": (("hidden", "seed", "replica"), acc),
         "train_acc": (("hidden", "seed", "replica"), acc),
         "cell_seconds": (("hidden", "seed"), np.ones((len(w), S))),
         "train_loss": (("hidden", "seed", "replica"), np.full((len(w), S, 3), 0.01)),
         "pair_a": (("hidden", "seed", "pair"), np.zeros((len(w), S, P))),
         "pair_b": (("hidden", "seed", "pair"), np.ones((len(w), S, P)))},
        coords={"hidden": [str(x) for x in w], "width": ("hidden", w)})
    s = mod.analyse(ds, min_width=16, n_boot=200)
    a = s["aligned"]
    lo, hi = a["exponent_ci95_seeds"]
    assert lo < -0.5 < hi and hi - lo < 0.1, a
    blo, bhi = a["exponent_ci95_bootstrap_pairs"]
    assert blo < -0.5 < bhi, a
    # independent reference: numpy polyfit on the pooled means
    ref = np.polyfit(np.log(w), np.log(aligned.mean(axis=2).mean(axis=1)), 1)[0]
    assert a["exponent_pooled"] == pytest.approx(ref, rel=1e-10)
    assert abs(s["raw"]["exponent_mean"]) < 0.05
    assert s["min_width_fit"] == 16
    # a constant end loss: the relative barrier has the same exponent
    assert a["relative_exponent_mean"] == pytest.approx(a["exponent_mean"], abs=1e-12)

    # known answer of the loss-confound checks: barrier = 0.3 m^-1/2 L with a cell loss L that
    # varies across seeds independently of the width -> width coefficient -1/2, loss coefficient
    # 1 given the loss, and the relative barrier (barrier / L) decays as m^-1/2
    L = 0.05 * np.exp(rng.normal(0, 0.7, (len(w), 8)))
    tl = np.repeat(L[:, :, None], 3, axis=2) * np.exp(rng.normal(0, 0.01, (len(w), 8, 3)))
    pa = rng.integers(0, 3, (len(w), 8, P))
    pb = (pa + 1) % 3
    ends = 0.5 * (np.take_along_axis(tl, pa, 2) + np.take_along_axis(tl, pb, 2))
    bar = 0.3 * w[:, None, None] ** -0.5 * ends * np.exp(rng.normal(0, 0.02, (len(w), 8, P)))
    ds2 = ds.drop_dims("seed").assign(
        barrier_aligned=(("hidden", "seed", "pair"), bar),
        barrier_raw=(("hidden", "seed", "pair"), bar),
        train_loss=(("hidden", "seed", "replica"), tl),
        test_acc=(("hidden", "seed", "replica"), np.ones_like(tl)),
        train_acc=(("hidden", "seed", "replica"), np.ones_like(tl)),
        cell_seconds=(("hidden", "seed"), np.ones((len(w), 8))),
        pair_a=(("hidden", "seed", "pair"), pa.astype(float)),
        pair_b=(("hidden", "seed", "pair"), pb.astype(float)))
    a2 = mod.analyse(ds2, min_width=16, n_boot=200)["aligned"]
    assert a2["width_coef_given_loss"] == pytest.approx(-0.5, abs=0.02), a2
    assert a2["loss_coef"] == pytest.approx(1.0, abs=0.03), a2
    lo, hi = a2["width_coef_given_loss_ci95"]
    assert lo < -0.5 < hi
    assert a2["relative_exponent_mean"] == pytest.approx(-0.5, abs=0.02)
    # the absolute exponent is blurred by the loss spread, the relative one is not
    assert abs(a2["exponent_mean"] + 0.5) > abs(a2["relative_exponent_mean"] + 0.5)
    s32 = mod.analyse(ds, min_width=32, n_boot=10)
    assert s32["aligned"]["exponent_pooled"] == pytest.approx(
        np.polyfit(np.log(w[1:]), np.log(aligned.mean(axis=2).mean(axis=1)[1:]), 1)[0])
