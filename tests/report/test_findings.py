"""The report answers the papers' questions: findings panel and ``summary.json["findings"]``,
metadata of what ran, a browsable page (checked structurally and, where Chromium is installed,
rendered to a screenshot), progress feedback, ``glasslens analyze --options``."""
import html.parser
import json
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from scipy import stats

import glasslens
from glasslens import datasets
from glasslens.flatness._study import FLAT_SIGN
from glasslens.report import Report
from glasslens.report import _analyze as analyze
from glasslens.report._sections import FINDINGS, OPTION_HELP, SETTINGS

#: every default section, at sizes that take a few seconds together
SMALL = {"p1_steps": 40, "p1_walkers": 2, "p1_directions": 4, "p2_pairs": 3, "p2_points": 7,
         "p2_trials": 1, "p3_null": 9, "p3_spins": 32, "p3_sweeps": 60, "p3_ref_replicas": 6,
         "flatness_replicas": 4, "em_trainings": 3, "em_draws": 12, "em_epochs": 2}


QUICK = ["setup", "training", "weights", "protocol1", "protocol2", "protocol3"]


def _run(tmp_path_factory, sections):
    out = tmp_path_factory.mktemp("rep") / "report"
    ds = datasets.load("digits", n_train=240, n_test=120, seed=0)
    extra = {k: v for k, v in SMALL.items()
             if any(k in SETTINGS.get(s, ()) for s in (sections or SETTINGS))}
    rep = analyze.run_analysis(out, dataset=ds, replicas=5, epochs=4, hidden=(12,), extra=extra,
                               sections=sections, progress=False)
    summary = json.loads((out / "summary.json").read_text())
    return out, rep, summary, ds


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """One full default analysis at small sizes, from a Dataset object (not a name); the
    flatness and effective-model sections take ~15 s of CPU even at these sizes."""
    return _run(tmp_path_factory, None)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """Setup to Protocol 3 at small sizes (a few seconds), from a Dataset object."""
    return _run(tmp_path_factory, QUICK)


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.scripts, self.links, self.ids, self.details = [], [], [], set(), []
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a.get("src"))
        if tag == "script":
            self.scripts.append(a.get("src"))
        if tag in ("link", "a") and a.get("href"):
            self.links.append(a["href"])
        if tag == "details":
            self.details.append("open" in a)

    def handle_data(self, data):
        self.text.append(data)


def _parse(out):
    p = _Page()
    p.feed((out / "index.html").read_text())
    return p


@pytest.mark.slow
def test_findings_answer_every_question(small_report):
    out, rep, summary, _ = small_report
    f = summary["findings"]
    assert list(f) == ["probes", "symmetry", "replicas", "flatness", "effective_model"]
    keys = {s["key"] for s in summary["sections"]}
    for name, entry in f.items():
        assert set(entry) >= {"question", "verdict", "numbers", "calibration",
                              "calibration_status", "section"}, name
        assert entry["question"] == FINDINGS[name][0]
        assert not entry["verdict"].startswith("not answered"), (name, entry["verdict"])
        assert entry["numbers"], name
        assert entry["section"] in keys, name
        assert entry["calibration_status"] in ("ok", "warning", "not calibrated")
        assert entry["calibration"], name
    # calibration statements carry this run's numbers, not boilerplate
    assert f"{f['probes']['numbers']['free_msd_exponent']:.2f}" in f["probes"]["calibration"]
    assert "cosine" in f["symmetry"]["calibration"] and "SK" in f["replicas"]["calibration"]
    assert f["flatness"]["calibration"].startswith("not calibrated in this run")
    assert "landscape points" in f["effective_model"]["calibration"]


def test_quick_findings(quick_report):
    out, rep, summary, _ = quick_report
    f = summary["findings"]
    assert list(f) == list(FINDINGS)
    for name in ("probes", "symmetry", "replicas"):
        assert not f[name]["verdict"].startswith("not answered"), name
        assert f[name]["calibration_status"] in ("ok", "warning"), name
    for name in ("flatness", "effective_model"):
        assert f[name]["verdict"].startswith("not answered: section"), name
    n = f["symmetry"]["numbers"]
    b = np.asarray(next(s for s in summary["sections"] if s["key"] == "protocol2")
                   ["data"]["replicas"]["barrier"], dtype=np.float64)
    np.testing.assert_allclose([n["barrier_raw_nats"], n["barrier_aligned_nats"]],
                               b.mean(axis=0)[:2], rtol=1e-12)
    assert f["replicas"]["numbers"]["null_network_p"] == next(
        s for s in summary["sections"] if s["key"] == "protocol3")["data"][
        "trained, aligned"]["null_network_p"]


@pytest.mark.slow
def test_findings_numbers_match_the_sections_data(small_report):
    out, rep, summary, _ = small_report
    f = summary["findings"]
    sec = {s["key"]: s for s in summary["sections"]}
    # Protocol 2: the raw and aligned means are the means over the pairs, the CI contains them
    p2 = sec["protocol2"]["data"]["replicas"]
    b = np.asarray(p2["barrier"], dtype=np.float64)
    n = f["symmetry"]["numbers"]
    np.testing.assert_allclose([n["barrier_raw_nats"], n["barrier_aligned_nats"]],
                               b.mean(axis=0)[:2], rtol=1e-12)
    for k in ("raw", "aligned"):
        lo, hi = n[f"barrier_{k}_ci95"]
        assert lo <= n[f"barrier_{k}_nats"] <= hi
    assert sec["protocol2"]["data"]["calibration"]["matched_cosine"] == pytest.approx(1, abs=1e-6)
    # Protocol 4: rho oriented so that flatter -> better is positive, against scipy
    rows = sec["protocol4"]["data"]["rows"]
    acc = [r["test_acc"] for r in rows]
    for m, c in sec["protocol4"]["data"]["correlations"].items():
        x = [r[m] for r in rows]
        want = FLAT_SIGN[m] * stats.spearmanr(x, acc).statistic
        got = c["flatter_better"]["spearman"]
        assert (np.isnan(want) and got is None) or got == pytest.approx(want, abs=1e-12), m
        assert f["flatness"]["numbers"][m]["verdict"] == c["verdict"]
        lo, hi = c["flatter_better"]["spearman_ci"]
        want_v = ("flatter -> better" if lo is not None and lo > 0 else
                  "flatter -> worse" if hi is not None and hi < 0 else "no evidence")
        assert c["verdict"] == want_v
    # effective model: the BP failures counted from the landscapes equal the fits' own count
    em = sec["effective-model"]["data"]
    own = sum(v["ITER"]["summary"]["bp_nonconverged"] for v in em["variants"].values())
    assert f["effective_model"]["numbers"]["bp_failed_points"] == own
    assert f"BP did not converge at {em['bp_points']['raw']['failed']} of" in \
        sec["effective-model"]["text"] or em["bp_points"]["raw"]["failed"] == 0


@pytest.mark.slow
def test_metadata_says_what_ran(small_report):
    out, rep, summary, ds = small_report
    meta = summary["meta"]
    assert meta["n_train"] == ds.n_train == 240 and meta["n_test"] == ds.n_test == 120
    assert meta["dataset"] == "digits" and meta["architecture"] == [64, 12, 10]
    assert meta["requested"]["n_train"] is None  # a Dataset object was passed
    em = next(s for s in summary["sections"] if s["key"] == "effective-model")["data"]
    assert em["dataset"] == "digits" and em["n_train"] == 240 and em["n_test"] == 120
    assert em["preset_dataset"] == "mnist"  # the preset's own metadata, kept apart
    page = (out / "index.html").read_text()
    assert "Architecture: 64-12-10" in page


def test_quick_metadata(quick_report):
    out, rep, summary, ds = quick_report
    meta = summary["meta"]
    assert (meta["n_train"], meta["n_test"], meta["architecture"]) == (240, 120, [64, 12, 10])
    assert meta["requested"]["n_train"] is None
    assert "Architecture: 64-12-10" in (out / "index.html").read_text()


def test_page_structure(quick_report):
    out, rep, summary, _ = quick_report
    p = _parse(out)
    # every image exists and is a PNG; one naming scheme: figures/<section key>-<n>.png
    keys = {s["key"] for s in summary["sections"]}
    assert p.imgs.count(None) == 1  # the (empty) lightbox
    p.imgs = [src for src in p.imgs if src is not None]
    assert p.imgs
    for src in p.imgs:
        assert (out / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
        m = re.fullmatch(r"figures/(.+)-(\d+)\.png", src)
        assert m and m.group(1) in keys, src
    assert sorted(x.name for x in (out / "figures").iterdir()) == sorted(
        src.split("/")[1] for src in p.imgs)
    # offline: no external scripts, styles or images
    assert p.scripts == [None]  # one inline script
    assert not any(s.startswith(("http:", "https:", "//")) for s in p.imgs)
    assert all(not h.startswith(("http:", "https:", "//")) for h in p.links)
    # findings panel first, linked from the contents; links to sections resolve
    assert "findings" in p.ids and "#findings" in p.links
    for h in p.links:
        if h.startswith("#"):
            assert h[1:] in p.ids, h
    # raw data collapsed; sortable tables; figures enlarge on click
    assert p.details and not any(p.details)
    page = (out / "index.html").read_text()
    assert 'class="sortable"' in page and 'id="lightbox"' in page and "position:sticky" in page
    # no stray timing lines, no None / nan where a value is expected
    assert 'class="time"' not in page
    prose = [s["text"] for s in summary["sections"]] + [
        f["verdict"] + " " + f["calibration"] for f in summary["findings"].values()]
    for t in prose:
        assert not re.search(r"\b(None|nan|NaN)\b", t), t[:300]


def test_page_renders_in_headless_chromium(quick_report, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")
    if exe is None:
        pytest.skip("no Chromium installed")
    from matplotlib.image import imread

    out = quick_report[0]
    shot = tmp_path / "shot.png"
    try:
        subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox",
                        "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1280,1600",
                        (out / "index.html").as_uri()], check=True, timeout=90,
                       capture_output=True)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        pytest.skip(f"Chromium could not render here: {exc}")
    img = imread(shot)
    assert img.shape[:2] == (1600, 1280)
    rgb = img[..., :3].astype(np.float64)
    inked = (rgb.min(axis=2) < 0.9).mean()  # pixels that are not (near) white
    assert 0.02 < inked < 0.9, inked
    # the contents column (sticky, grey) and the text column both carry ink
    assert (rgb[:, :200].min(axis=2) < 0.5).mean() > 0.002
    assert (rgb[:, 300:].min(axis=2) < 0.5).mean() > 0.005


def test_findings_of_sections_not_run_say_so(tmp_path):
    rep = analyze.run_analysis(tmp_path / "r", dataset="digits", n_train=60, n_test=30,
                               replicas=2, epochs=1, sections=["setup"], progress=False)
    f = json.loads((tmp_path / "r" / "summary.json").read_text())["findings"]
    assert set(f) == set(FINDINGS)
    assert f["replicas"]["verdict"] == "not answered: section protocol3 was not run"
    assert f["replicas"]["calibration"] == "not calibrated in this run"
    assert "Findings" in (tmp_path / "r" / "index.html").read_text()
    assert rep.findings == f


def test_report_add_finding_and_bad_input(tmp_path):
    rep = Report(tmp_path / "r")
    with pytest.raises(ValueError, match="verdict"):
        rep.add_finding("x", {"numbers": {}})
    with pytest.raises(ValueError, match="name"):
        rep.add_finding("", {"verdict": "v"})
    rep.add_section("S", "text", key="s")
    rep.add_finding("q", {"question": "Q <1>?", "verdict": "yes & no", "numbers": {"a": np.nan},
                          "calibration": "c", "calibration_status": "ok", "section": "s"})
    rep.write()
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["findings"]["q"]["numbers"] == {"a": None}
    page = (tmp_path / "r" / "index.html").read_text()
    assert "Q &lt;1&gt;?" in page and "yes &amp; no" in page and 'href="#s"' in page
    from glasslens._lib._sections import put_finding

    with pytest.raises(ValueError, match="calibration_status"):
        put_finding(types.SimpleNamespace(report=rep), "probes", verdict="", numbers={},
                    calibration="", calibration_status="fine")
    with pytest.raises(ValueError, match="name"):
        put_finding(types.SimpleNamespace(report=rep), "q", verdict="", numbers={},
                    calibration="", calibration_status="ok")
    # the question and the link come from FINDINGS; a test double without add_finding is fine
    f = put_finding(types.SimpleNamespace(report=object()), "effective_model", verdict="v",
                    numbers={}, calibration="", calibration_status="ok")
    assert f["question"] == FINDINGS["effective_model"][0]
    assert f["section"] == "effective-model"


def test_progress_and_log(tmp_path, capsys, monkeypatch):
    kw = dict(dataset="digits", n_train=60, n_test=30, replicas=2, epochs=1,
              sections=["setup", "weights"])
    analyze.run_analysis(tmp_path / "a", progress=None, **kw)  # not a terminal: quiet
    assert capsys.readouterr().err == ""
    analyze.run_analysis(tmp_path / "b", progress=True, **kw)
    err = capsys.readouterr().err
    assert re.search(r"\[glasslens\] section setup: \d+\.\d s", err)
    assert "section weights:" in err and "report 2/2" in err  # the bar over the sections
    lines = []
    analyze.run_analysis(tmp_path / "c", progress=False, log=lines.append, **kw)
    assert any(re.fullmatch(r"section weights: \d+\.\d s", s) for s in lines)
    # auto: a terminal or a Jupyter kernel
    monkeypatch.setattr(analyze, "_isatty", lambda: False)
    assert not analyze._interactive()
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert analyze._interactive()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not analyze._interactive()


def test_analyze_options(capsys):
    from glasslens import cli

    assert cli.main(["analyze", "--options"]) == 0
    out = capsys.readouterr().out
    declared = {k for keys in SETTINGS.values() for k in keys}
    assert set(OPTION_HELP) == declared
    for k in declared:
        line = next(ln for ln in out.splitlines() if ln.split()[0] == k)
        assert OPTION_HELP[k][0] in line, k


def test_zoomed_pq_panel():
    from matplotlib.figure import Figure

    from glasslens.replicas import overlap_distribution
    from glasslens.replicas.plotting import zoom_to_support

    rng = np.random.default_rng(0)

    def q_matrix(offdiag):
        M = 25
        Q = np.eye(M)
        iu = np.triu_indices(M, 1)
        Q[iu] = offdiag(len(iu[0]))
        return np.triu(Q, 1) + np.triu(Q, 1).T + np.eye(M)

    narrow = overlap_distribution(q_matrix(lambda n: 0.47 + 0.02 * rng.standard_normal(n)))
    ax = Figure().subplots()
    narrow.plot(ax)
    assert zoom_to_support(ax, narrow)
    lo, hi = ax.get_xlim()
    assert lo < narrow.q_min and hi > narrow.q_max and hi - lo < 0.5
    assert len(ax.child_axes) == 1 and ax.child_axes[0].get_xlim() == (-1, 1)
    broad = overlap_distribution(q_matrix(lambda n: rng.uniform(-0.9, 0.9, n)))
    ax2 = Figure().subplots()
    broad.plot(ax2)
    assert not zoom_to_support(ax2, broad) and not ax2.child_axes


def test_replicas_sweep_header_lists_every_point_s_widths():
    """The `glasslens replicas` header showed only the first sweep point's widths."""
    from glasslens.cli.replicas import _widths_text

    e = lambda w: types.SimpleNamespace(widths=w)  # noqa: E731
    assert _widths_text({"a": (e([64, 8, 10]), None), "b": (e([64, 8, 10]), None)}) == \
        "[64, 8, 10]"
    assert _widths_text({"h=8": (e([64, 8, 10]), None), "h=32": (e([64, 32, 10]), None)}) == \
        "h=8: [64, 8, 10], h=32: [64, 32, 10]"
