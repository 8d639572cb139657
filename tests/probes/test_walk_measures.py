"""Measures of constrained walks used by the Protocol 1 report section: a free walk's MSD
exponent is 1 by construction; threshold and Metropolis walks measure the landscape (known
cases both ways: a generous threshold / hot walk ~ free, a tight one sub-diffuses)."""
from types import SimpleNamespace

import numpy as np
import pytest

import glasslens as gl
from glasslens.probes import _section as p1

STEPS, W = 200, 8


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    n, d = 150, 6
    X = rng.normal(size=(2 * n, d)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(d, 3)), axis=1)
    ds = SimpleNamespace(X_train=X[:n], y_train=y[:n], X_test=X[n:], y_test=y[n:], n_classes=3)
    net = gl.train_ensemble(ds, hidden=(10,), replicas=1, epochs=100, batch_size=16, lr=0.1,
                            seed=0, n_threads=1)[0]
    pr = gl.probes.profile(net, ds, np.linspace(0, 1, 11), n_directions=8,
                           normalization="filter", n_threads=1)
    eta = p1._walk_step(pr.basin_radius, STEPS)
    return ds, net, pr, eta


def _walk(case, **kw):
    ds, net, pr, eta = case
    return gl.probes.random_walk(net, ds, STEPS, eta, n_walkers=W, record_every=10, seed=3,
                                 eval_test=False, n_threads=1, **kw)


def test_default_step_reaches_twice_the_basin_radius(case):
    ds, net, pr, eta = case
    assert np.isfinite(pr.basin_radius)
    assert eta == pytest.approx(2 * pr.basin_radius / np.sqrt(STEPS))
    assert p1._walk_step(float("nan"), 100, r_max=1.0) == pytest.approx(0.2)
    m = p1._walk_measures(_walk(case))
    assert m["final_distance"] == pytest.approx(2 * pr.basin_radius, rel=0.25)


def test_free_walk_exponent_one_by_construction(case):
    m = p1._walk_measures(_walk(case))
    assert m["acceptance_rate"] == 1.0
    assert m["msd_exponent"] == pytest.approx(1.0, abs=0.05)
    # it walks out of the basin: the loss rises with distance
    assert m["stayed_fraction"] < 1 and np.isfinite(m["escape_distance"])


def test_generous_threshold_is_a_free_walk(case):
    ds, net, pr, eta = case
    free = _walk(case)
    wide = _walk(case, mode="threshold", threshold=pr.loss0 + 100.0)
    mw = p1._walk_measures(wide)
    assert mw["acceptance_rate"] == 1.0
    assert mw["msd_exponent"] == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(wide.distance, free.distance, rtol=1e-5)  # same proposals


def test_tight_threshold_sub_diffuses(case):
    ds, net, pr, eta = case
    free = p1._walk_measures(_walk(case))
    thr = pr.loss0 + 0.02
    w = _walk(case, mode="threshold", threshold=thr)
    m = p1._walk_measures(w)
    assert m["acceptance_rate"] < 0.9
    assert m["msd_exponent"] < 0.9 and m["msd_exponent"] < free["msd_exponent"] - 0.1
    assert m["final_distance"] < 0.9 * free["final_distance"]
    assert np.all(w.train_loss <= thr + 1e-6)
    # a looser threshold confines less
    looser = p1._walk_measures(_walk(case, mode="threshold", threshold=pr.loss0 + 0.2))
    assert looser["msd_exponent"] > m["msd_exponent"]
    assert looser["acceptance_rate"] > m["acceptance_rate"]


def test_metropolis_temperature_and_known_cases(case):
    ds, net, pr, eta = case
    T = p1._metropolis_temperature(net, ds, eta, W, seed=3, accept=0.5, n_threads=1)
    f = gl.probes.random_walk(net, ds, 10, eta, n_walkers=W, record_every=1, seed=3,
                              eval_test=False, n_threads=1)
    dl = np.abs(np.diff(f.train_loss.astype(np.float64), axis=1))
    assert T == pytest.approx(np.median(dl) / np.log(2.0))
    assert p1._metropolis_temperature(net, ds, eta, W, 3, accept=0.9, n_threads=1) > T
    with pytest.raises(ValueError):
        p1._metropolis_temperature(net, ds, eta, W, 3, accept=1.0)
    hot = p1._walk_measures(_walk(case, mode="metropolis", temperature=1e6))
    assert hot["acceptance_rate"] > 0.99 and hot["msd_exponent"] == pytest.approx(1.0, abs=0.05)
    cold = p1._walk_measures(_walk(case, mode="metropolis", temperature=T))
    free = p1._walk_measures(_walk(case))
    assert cold["acceptance_rate"] < 0.8
    assert cold["msd_exponent"] < free["msd_exponent"] - 0.05
    assert cold["final_distance"] < 0.8 * hot["final_distance"]
    assert cold["stayed_fraction"] > hot["stayed_fraction"]
    assert cold["final_train_loss"] < hot["final_train_loss"]


def test_walks_and_section_data(case):
    ds, net, pr, eta = case
    out = p1.walks(net, ds, 60, eta, 0.1, 2, seed=1, n_threads=1)
    assert set(out["measures"]) == {"free", "threshold", "metropolis"}
    assert out["measures"]["threshold"]["stayed_fraction"] == 1.0
    assert np.all(out["threshold"].train_loss <= out["loss0"] + 0.1 + 1e-6)
    sections = []
    report = SimpleNamespace(add_section=lambda title, text="", figures=(), data=None, **k:
                             sections.append((title, text, figures, data)))
    ctx = SimpleNamespace(dataset=ds, ensemble=gl.Ensemble.from_mlps([net]), report=report,
                          n_threads=1, options={"extra": {"p1_steps": 60, "p1_walkers": 2,
                                                          "p1_directions": 4}})
    p1.section(ctx)
    (title, text, figures, d), = sections
    assert len(figures) == 3
    assert d["measures"]["free"]["acceptance_rate"] == 1.0
    assert d["eta"] == pytest.approx(2 * d["profile"]["basin_radius"] / np.sqrt(60))
    # the acceptance panel shows the constrained walks only (no flat line at 1)
    acc_ax = figures[2][0].axes[1]
    assert [ln.get_label().split(":")[0] for ln in acc_ax.get_lines()] == ["threshold",
                                                                           "metropolis"]
    lvd = d["free_walk_loss_vs_distance"]
    assert len(lvd["distance"]) == len(lvd["train_loss"]) == len(lvd["profile_train_loss"])
    ctx.options["extra"].update(p1_eta=0.01, p1_delta=0.05)
    p1.section(ctx)
    assert sections[-1][3]["eta"] == 0.01 and sections[-1][3]["delta"] == 0.05
    for bad in ({"p1_eta": -1.0}, {"p1_accept": 1.5}, {"p1_delta": "x"}):
        ctx.options["extra"] = {"p1_steps": 20, "p1_walkers": 1, "p1_directions": 2, **bad}
        with pytest.raises(ValueError):
            p1.section(ctx)
