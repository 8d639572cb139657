"""Campaign runs: values equal the protocol functions called directly (and numpy), the same
store from every executor (in-process, local processes, Dask with a killed worker), resume
after SIGTERM, refusal of foreign / corrupt / other-config stores, failed cells retried once and
reported, CSV export and the report page."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import glasslens as gl
from glasslens import campaign
from glasslens.campaign import StoreError

from campaign_tiny import TINY, results


def _n_cells(st):
    """Cells committed so far (directories under cells/)."""
    d = st / "cells"
    return sum(1 for p in d.iterdir() if p.is_dir()) if d.is_dir() else 0


def _kill_after_first_cell(st, pid_of, poll):
    """Start a thread that SIGKILLs the process ``pid_of()`` (None: nobody) once the first cell
    of store ``st`` is committed (polling every ``poll`` s, for at most 60 s); returns the
    thread and the list of killed pids."""
    import threading

    killed = []

    def killer():
        t0 = time.time()
        while time.time() - t0 < 60:
            if _n_cells(st):
                pid = pid_of()
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                return
            time.sleep(poll)

    th = threading.Thread(target=killer)
    th.start()
    return th, killed


def test_values_equal_direct_calls(reference_store):
    ds = campaign.load(reference_store)
    assert dict(ds.sizes) == {"hidden": 2, "seed": 2, "replica": 3, "pair": 3, "q": 40,
                              "radius": 4}
    assert ds["width"].values.tolist() == [8, 12]
    assert (ds["done"] == 1).all()
    data = gl.load_dataset("digits", n_train=200, n_test=100)
    ens = gl.train_ensemble(data, hidden=(12,), replicas=3, epochs=1, batch_size=32, seed=1)
    cell = ds.sel(hidden="12", seed=1)
    np.testing.assert_array_equal(cell["test_acc"].values, ens.metrics["test_acc"])
    np.testing.assert_array_equal(cell["train_loss"].values, ens.metrics["train_loss"])
    rs = gl.replicas.replica_structure(ens, n_null=9, bins=np.linspace(-1, 1, 41), seed=1)
    # P(q) moments against numpy on the overlap matrix itself
    q = rs.Q[np.triu_indices(3, 1)]
    assert cell["pq_mean"].item() == pytest.approx(q.mean(), rel=1e-12)
    assert cell["pq_q_ea"].item() == rs.distribution.q_ea
    assert cell["um_p_network"].item() == rs.ultrametricity.nulls["network"].p_value
    rb = gl.symmetry.replica_barriers(ens, data, n_points=11, seed=1)
    np.testing.assert_array_equal(cell["barrier_raw"].values, rb.barrier[:, 0])
    np.testing.assert_array_equal(cell["barrier_aligned"].values, rb.barrier[:, 1])
    pr = gl.probes.profile(ens[1], data, [0.0, 0.25, 0.5, 1.0], n_directions=4,
                           normalization="filter", seed=1)
    assert cell["basin_radius"].values[1] == pr.basin_radius
    np.testing.assert_allclose(cell["profile_train_loss"].values[1], pr.train_loss.mean(0))
    fm = gl.flatness.measures(ens[0], data, which=["local_energy", "hessian_top"], balance=True,
                              seed=1)
    assert cell["flat_hessian_top"].values[0] == fm.values["hessian_top"]
    # the histogram is a density on the fixed bins
    dens = ds["pq_density"].values
    np.testing.assert_allclose(np.nansum(dens, axis=-1) * 0.05, 1.0)
    attrs = ds.attrs
    assert json.loads(attrs["config"])["grid"]["seed"] == [0, 1]
    assert json.loads(attrs["versions"])["glasslens"] == gl.__version__


def test_local_processes_give_the_same_store(reference_store, tmp_path):
    s = campaign.run(TINY, tmp_path / "st", workers=2, threads=1, progress=False)
    assert s.complete and s.executor == "local processes" and len(s.computed) == 4
    assert results(tmp_path / "st").identical(results(reference_store))


def test_rerun_skips_finished_cells_and_refuses_other_configs(reference_store, tmp_path):
    st = tmp_path / "st"
    shutil.copytree(reference_store, st)
    s = campaign.run(TINY, st, workers=0, progress=False)
    assert s.computed == [] and len(s.skipped) == 4 and s.complete
    other = {**TINY, "train": {**TINY["train"], "epochs": 2}}
    with pytest.raises(StoreError, match="different campaign"):
        campaign.run(other, st, workers=0, progress=False)


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore:Port .* is already in use",
                            "ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_with_a_killed_worker_gives_the_same_store(reference_store, tmp_path):
    distributed = pytest.importorskip("distributed")

    from glasslens.campaign._executor import preserved_environ

    env = dict(os.environ)
    with preserved_environ(), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            scheduler_port=0) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        st = tmp_path / "st"
        # kill one worker process once the first cell is stored
        th, killed = _kill_after_first_cell(st, lambda: next(iter(pids.values())), 0.02)
        s = campaign.run(TINY, st, client=client, threads=1, progress=False)
        th.join()
    assert dict(os.environ) == env  # the Nanny's OMP_NUM_THREADS=1 did not leak into this process
    assert killed and s.complete and not s.failed
    assert sorted(s.computed) == sorted(c.id for c in campaign.Campaign.from_dict(TINY).cells())
    assert results(st).identical(results(reference_store))


def test_killed_local_worker_is_replaced(reference_store, tmp_path):
    import multiprocessing

    st = tmp_path / "st"
    def first_child():
        kids = multiprocessing.active_children()
        return kids[0].pid if kids else None

    # SIGKILL one pool process once the first cell is stored
    th, killed = _kill_after_first_cell(st, first_child, 0.01)
    s = campaign.run(TINY, st, workers=2, threads=1, progress=False)
    th.join()
    assert killed and s.complete and not s.failed
    assert results(st).identical(results(reference_store))


def test_sigterm_then_resume_gives_the_same_store(reference_store, tmp_path):
    st = tmp_path / "st"
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        from campaign_tiny import TINY
        from glasslens import campaign
        campaign.run(TINY, {str(st)!r}, workers=0, threads=1, progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE,
                            text=True)
    t0 = time.time()
    while time.time() - t0 < 60 and proc.poll() is None:
        if _n_cells(st):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode != 0, err
    done = _n_cells(st)
    assert 1 <= done < 4, (done, err)
    assert "INTERRUPTED" in err or "SIGTERM" in err
    s = campaign.run(TINY, st, workers=0, threads=1, progress=False)
    assert len(s.skipped) == done and s.complete
    assert not any((st / ".tmp").iterdir())  # what the killed run was writing is gone
    assert results(st).identical(results(reference_store))


def test_foreign_and_corrupt_stores_are_refused(reference_store, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a glasslens campaign store"):
        campaign.run(TINY, foreign, workers=0, progress=False)
    with pytest.raises(StoreError, match="not a glasslens campaign store"):
        campaign.load(foreign)
    import zarr

    zarr.open_group(str(tmp_path / "otherzarr"), mode="w").attrs["x"] = 1
    with pytest.raises(StoreError, match="not a glasslens campaign store"):
        campaign.load(tmp_path / "otherzarr")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        campaign.load(tmp_path / "absent")
    bad = tmp_path / "bad"
    shutil.copytree(reference_store, bad)
    cid = sorted(p.name for p in (bad / "cells").iterdir() if p.is_dir())[0]
    (bad / "cells" / cid / "zarr.json").write_text("{ not json")
    with pytest.raises(StoreError, match=f"corrupt cell {cid}"):
        campaign.load(bad)
    with pytest.raises(StoreError, match=f"corrupt cell {cid}"):
        campaign.run(TINY, bad, workers=0, progress=False)
    (bad / "zarr.json").write_text("garbage")
    with pytest.raises(StoreError, match="corrupt campaign store"):
        campaign.load(bad)
    mixed = tmp_path / "mixed"
    shutil.copytree(reference_store, mixed)
    shutil.copytree(mixed / "cells" / cid, mixed / "cells" / "0123456789abcdef")
    with pytest.raises(StoreError, match="not a cell of this campaign"):
        campaign.load(mixed)


def test_failed_cell_is_retried_once_reported_and_the_rest_goes_on(tmp_path, capsys):
    # pca=100 > the 64 digits features: the cell fails when it loads its data
    cfg = {"data": TINY["data"], "train": {"epochs": 1, "hidden": [8], "replicas": 2},
           "grid": {"pca": [100, 8]}, "protocols": {"symmetry": {"n_points": 5}}}
    s = campaign.run(cfg, tmp_path / "st", workers=0, progress=True)
    assert len(s.computed) == 1 and len(s.failed) == 1 and not s.complete
    (cid, tb), = s.failed.items()
    assert "pca=100 exceeds" in tb and "Traceback" in tb
    err = capsys.readouterr().err
    assert "1 failed" in err and "pca=100 exceeds" in err and "pca=100" in err
    rec = json.loads((tmp_path / "st" / "failed" / f"{cid}.json").read_text())
    assert rec["attempts"] == 2
    ds = campaign.load(tmp_path / "st")
    assert ds.attrs["failed"] == [cid]
    assert ds["done"].values.tolist() == [0.0, 1.0]
    assert np.isnan(ds["test_acc"].sel(pca=100)).all()
    assert np.isfinite(ds["barrier_raw"].sel(pca=8)).all()


def test_save_ensembles_and_csv(tmp_path, reference_store):
    cfg = {**TINY, "grid": {"hidden": [[8]]}, "protocols": {}, "run": {"save_ensembles": True}}
    campaign.run(cfg, tmp_path / "st", workers=0, progress=False)
    (cell,) = campaign.Campaign.from_dict(cfg).cells()
    ens = gl.Ensemble.load(tmp_path / "st" / "ensembles" / f"{cell.id}.npz")
    ds = campaign.load(tmp_path / "st")
    np.testing.assert_array_equal(ens.metrics["test_acc"] if ens.metrics else
                                  ds["test_acc"].values[0], ds["test_acc"].values[0])
    ref = gl.train_ensemble(gl.load_dataset("digits", n_train=200, n_test=100), hidden=(8,),
                            replicas=3, epochs=1, batch_size=32, seed=0)
    np.testing.assert_array_equal(ens.flat(), ref.flat())
    path = campaign.export_csv(reference_store, tmp_path / "t.csv")
    import pandas as pd

    df = pd.read_csv(path)
    assert len(df) == 4 * 3  # cells x replicas
    full = campaign.load(reference_store)
    row = df[(df.hidden == 12) & (df.seed == 1) & (df.replica == 0)].iloc[0]
    assert row["test_acc"] == full["test_acc"].sel(hidden="12", seed=1, replica=0).item()
    assert row["pq_mean"] == full["pq_mean"].sel(hidden="12", seed=1).item()


def test_report_from_the_store_alone(reference_store, tmp_path):
    from scipy.stats import spearmanr

    from glasslens.campaign._report import sweep_correlations

    index = campaign.write_report(reference_store, tmp_path / "rep")
    html = index.read_text()
    for title in ("Against width", "P(q) across the sweep", "Flatness correlations"):
        assert title in html
    assert len(list((tmp_path / "rep" / "figures").glob("*.png"))) == 2
    ds = campaign.load(reference_store)
    corr = sweep_correlations(ds)
    x = ds["flat_hessian_top"].values.ravel()
    a = ds["test_acc"].values.ravel()
    assert corr["hessian_top"]["spearman_test_acc"] == pytest.approx(spearmanr(x, a)[0])
    assert corr["hessian_top"]["n"] == 12


def test_cli_sweep_and_report(tmp_path, capsys):
    from glasslens import cli

    cfg = tmp_path / "c.toml"
    cfg.write_text(textwrap.dedent("""
        [data]
        dataset = "digits"
        n_train = 200
        [train]
        replicas = 3
        epochs = 1
        [grid]
        hidden = [[8], [12]]
        [protocols.replicas]
        n_null = 9
    """))
    st = tmp_path / "st"
    assert cli.main(["sweep", str(cfg), "--store", str(st), "--workers", "0",
                     "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "2 computed" in out and (tmp_path / "t.csv").is_file()
    assert cli.main(["sweep", str(cfg), "--store", str(st), "--workers", "0"]) == 0
    assert "2 already stored" in capsys.readouterr().out
    assert cli.main(["report", str(st), "-o", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "index.html").is_file()
    cfg.write_text("[train]\nlrr = 1\n")
    assert cli.main(["sweep", str(cfg), "--store", str(st)]) == 2
    assert "train.lrr" in capsys.readouterr().err


def test_local_cluster_leaves_the_environment_alone(tmp_path):
    pytest.importorskip("distributed")
    env = dict(os.environ)
    cfg = {**TINY, "grid": {"hidden": [[8]]}, "protocols": {}}
    s = campaign.run(cfg, tmp_path / "st", client="local", workers=1, threads=1, progress=False)
    assert s.complete and s.executor == "dask LocalCluster"
    assert dict(os.environ) == env


def test_scheduler_without_dask_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "glasslens\[dask\]"'):
        campaign.run(TINY, tmp_path / "st", client="local", progress=False)
    assert not (tmp_path / "st").exists()


def test_plan_workers_never_oversubscribes():
    from glasslens.campaign import plan_workers

    assert plan_workers(24, None, None, cores=16) == (16, 1)
    assert plan_workers(2, None, None, cores=16) == (2, 8)
    assert plan_workers(24, None, 4, cores=16) == (4, 4)
    assert plan_workers(24, 2, None, cores=16) == (2, 8)
    assert plan_workers(24, 0, None, cores=2) == (0, 2)
    with pytest.raises(ValueError, match="workers"):
        plan_workers(4, -1, None)
    with pytest.raises(ValueError, match="threads"):
        plan_workers(4, None, 0)


def test_effective_model_protocol_equals_the_pipeline(tmp_path):
    from glasslens.effective_model._section import _small_data

    opts = {"n_replicas": 3, "epochs": 2, "n_per_network": 10, "n_tap_starts": 5}
    cfg = {"data": {"dataset": "digits", "n_train": 300}, "train": {"replicas": 1, "epochs": 1,
                                                                   "hidden": [8], "seed": 4},
           "protocols": {"effective_model": opts}}
    s = campaign.run(cfg, tmp_path / "st", workers=0, progress=False)
    assert s.complete, s.failed
    ds = campaign.load(tmp_path / "st")
    small, _ = _small_data(gl.load_dataset("digits", n_train=300), 3000, 1000, 4)
    import warnings

    from glasslens.campaign._cell import PROTOCOLS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gl.effective_model.run_effective_model(
            small, **{**PROTOCOLS["effective_model"][0], **opts, "seed": 4})
    summ = r.variants()["raw"].summaries["ITER"]
    got = ds.sel(em_variant="raw", em_block="ITER")
    assert got["em_J_std"].item() == summ["J_std"]
    assert got["em_n_tap_states"].item() == summ["n_tap_states"]
    assert got["em_test_acc"].item() == np.nanmean(r.samples.accuracy)


def test_data_are_loaded_once_per_process(tmp_path, monkeypatch):
    from glasslens import datasets
    from glasslens.campaign import _cell

    calls = []
    real = datasets.load
    monkeypatch.setattr(datasets, "load", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(_cell, "_DATA", {})
    cfg = {**TINY, "grid": {"hidden": [[4], [5], [6]]}, "protocols": {}}
    s = campaign.run(cfg, tmp_path / "st", workers=0, progress=False)
    assert s.complete and len(s.computed) == 3
    assert len(calls) == 1
