"""Wiring of glasslens.campaign: every public option reaches the computation (tests/wiring.py).

Runs are in this process (``workers=0``) on one tiny cell, except the rows that compare
executors."""
import copy
import itertools
import json

import numpy as np
import pytest

pytest.importorskip("xarray")
pytest.importorskip("zarr")

from glasslens import campaign  # noqa: E402

import wiring  # noqa: E402

w, SAME, differs = wiring.w, wiring.SAME, wiring.differs

BASE = {"data": {"dataset": "digits", "n_train": 120, "n_test": 60},
        "train": {"replicas": 3, "epochs": 1, "hidden": [6]},
        "grid": {"seed": [0]}, "protocols": {"replicas": {"n_null": 3}}}
_n = itertools.count()


def _result(store):
    ds = campaign.load(store)
    out = {v: ds[v].values for v in sorted(ds.data_vars) if v != "cell_seconds"}
    out["_coords"] = {c: np.asarray(ds[c].values).astype(str) for c in sorted(ds.coords)}
    return out


@pytest.fixture(autouse=True)
def _where(tmp_path_factory):
    global _TMP
    _TMP = tmp_path_factory.getbasetemp()


def _run(**kw):
    store = _TMP / f"wiring-{next(_n)}"
    kw.setdefault("workers", 0)
    kw.setdefault("progress", False)
    cfg = kw.pop("config")
    campaign.run(cfg, store, **kw)
    return _result(store)


def _camp(**kw):
    cfg = copy.deepcopy(BASE)
    cfg.update(kw)
    return _run(config=campaign.Campaign(**cfg))


_STORE = {}


def _store():
    """One small finished store (two widths) for the readers."""
    if "p" not in _STORE:
        p = _TMP / "wiring-readers"
        campaign.run({**BASE, "grid": {"hidden": [[6], [9]]}}, p, workers=0, progress=False)
        _STORE["p"] = p
    return _STORE["p"]


def _report(**k):
    if k.get("out") is not None:  # a name: inside the test's temporary directory
        k["out"] = _TMP / k["out"]
    index = campaign.write_report(_store(), **k)
    summary = json.loads((index.parent / "summary.json").read_text())
    return {"dir": index.parent.name,
            "sections": [(s["title"], s["text"], s["data"]) for s in summary["sections"]]}


RUNNERS = {
    "run": (lambda **k: _run(**k), {"config": BASE}),
    "Campaign": (lambda **k: _camp(**k), {}),
    "write_report": (_report, {"out": None}),
    "to_dataframe": (lambda **k: campaign.to_dataframe(_store(), **k).to_dict("list"), {}),
    "plan_workers": (lambda **k: campaign.plan_workers(24, None, None, **k), {"cores": 2}),
}
SIGNATURES = {"run": campaign.run, "Campaign": campaign.Campaign,
              "write_report": campaign.write_report, "to_dataframe": campaign.to_dataframe,
              "plan_workers": campaign.plan_workers}
NOT_OBSERVABLE = {
    ("run", "client"): "same store on Dask: test_campaign.py::"
                       "test_dask_with_a_killed_worker_gives_the_same_store",
}

CASES = [
    w("run", "workers", 1, SAME),  # a pool of one process: the same numbers
    w("run", "threads", 2, SAME, threads=1),
    w("run", "progress", True, SAME),
    w("Campaign", "data", {"dataset": "digits", "n_train": 90, "n_test": 60}),
    w("Campaign", "train", {"replicas": 3, "epochs": 2, "hidden": [6]}),
    w("Campaign", "grid", {"seed": [1]}),
    w("Campaign", "points", [{"seed": 2}], check=lambda a, b: (
        b["_coords"]["seed"].tolist() == ["0", "2"]) or pytest.fail(str(b["_coords"]))),
    w("Campaign", "protocols", {"replicas": {"n_null": 4}},
      check=differs(lambda r: r["um_p_network"])),
    w("Campaign", "run", {"save_ensembles": True, "workers": 0}, SAME),
    w("write_report", "out", "elsewhere-report", check=lambda a, b: (
        b["dir"] == "elsewhere-report" and a["dir"] == "wiring-readers-report"
        and a["sections"] == b["sections"]) or pytest.fail(str((a["dir"], b["dir"])))),
    w("write_report", "progress", True, SAME),
    w("to_dataframe", "inner", None, check=lambda a, b: (
        len(b["done"]) * 3 == len(a["done"]) and "test_acc" not in b) or pytest.fail()),
    w("plan_workers", "cores", 16),
]


@pytest.fixture(scope="module")
def runner():
    return wiring.Runner(RUNNERS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_option_reaches_the_computation(runner, case, capsys):
    runner.check(case, capsys)


def test_every_option_has_a_row():
    assert not wiring.missing_rows(SIGNATURES, CASES, NOT_OBSERVABLE)
    assert not wiring.stale_rows(SIGNATURES, CASES, NOT_OBSERVABLE)


def test_save_ensembles_reaches_the_store(tmp_path):
    cfg = {**BASE, "run": {"save_ensembles": True}}
    campaign.run(cfg, tmp_path / "st", workers=0, progress=False)
    assert len(list((tmp_path / "st" / "ensembles").glob("*.npz"))) == 1
    campaign.run(BASE, tmp_path / "st2", workers=0, progress=False)
    assert not list((tmp_path / "st2" / "ensembles").glob("*.npz"))
