"""The run presets of ``glasslens effective-model`` and the estimate of a run's time."""
import pytest

from glasslens import effective_model as em
from glasslens.effective_model._setup import BOLTZMANN_ITER, COSTS


def test_effective_model_estimate_comes_from_the_sizes():
    """The printed estimate is the library's sizes x per-unit costs, recomputed here."""
    q, p = em.run_preset("quick"), em.run_preset("paper")
    eq = em.estimate_seconds(q, "shallow", 1352, 445)
    c = COSTS
    R, D, M, N = 20, 50, 1000, 200  # shallow 20-10: one block of 200 weights
    assert eq["train"] == pytest.approx(c["train"] * R * 50 * 1352 * 200)
    assert eq["fit"] == pytest.approx(c["pseudolikelihood"] * M * N ** 2)
    assert eq["landscapes"] == pytest.approx(c["landscape_pseudolikelihood"] * 3 * 9 * N ** 2)
    assert eq["tap"] == pytest.approx(c["tap"] * 30 * N ** 2)
    # twice the threads, half the time; the paper's scale is tens of minutes
    assert em.estimate_seconds(q, "shallow", 1352, 445, 4)["total"] == pytest.approx(
        eq["total"] / 2)
    paper = sum(em.estimate_seconds(p, r, 60000, 10000)["total"] for r in p.regimes)
    assert 300 < paper < 3 * 3600
    # the paper's deep net: 100 Boltzmann iterations of LB, ITER and RB, as drawn and aligned
    ep = em.estimate_seconds(p, "deep-under", 60000, 10000)
    # 2 labellings x (100 iterations + 200 Adam exploration steps) per block
    assert ep["fit"] == pytest.approx(2 * 300 * sum(BOLTZMANN_ITER[b] for b in ("LB", "ITER", "RB")))
    assert ep["landscapes"] == pytest.approx(2 * c["landscape_boltzmann"] * 3 * 61 * sum(
        N ** 2 for N in (300, 225, 150)))
    with pytest.raises(ValueError, match="preset must be one of"):
        em.run_preset("huge")


def test_presets_are_sized_as_documented():
    q, p = em.RUN_PRESETS["quick"], em.RUN_PRESETS["paper"]
    assert q.dataset == "digits" and p.dataset == "fashion-mnist"
    assert (q.n_replicas, q.n_per_network, q.fit) == (20, 50, "pseudolikelihood")
    # None: the paper's own 100 trainings x 100 draws
    assert (p.n_replicas, p.n_per_network, p.fit) == (None, None, "boltzmann")
    assert len(em.tilt_grid(q.x_max, q.x_step)) == 9 and len(em.tilt_grid(p.x_max, p.x_step)) == 61


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # tiny samples: constant spins
def test_result_records_the_data_that_ran():
    """to_dict (the report's effective-model table) says which data and how many examples
    ran, not the preset's nominal dataset ("mnist") and n_train (None = all)."""
    import numpy as np

    rng = np.random.default_rng(0)
    data = em.ArrayDataset(rng.normal(size=(120, 20)).astype(np.float32), rng.integers(0, 10, 120),
                           rng.normal(size=(40, 20)).astype(np.float32), rng.integers(0, 10, 40),
                           name="toy-data")
    r = em.run_effective_model(data, "shallow", n_replicas=2, epochs=1, n_per_network=5,
                               fit="pseudolikelihood", fit_kwargs={"max_iter": 5},
                               landscape=False, n_tap_starts=0, n_train=100)
    d = r.to_dict()
    assert (d["dataset"], d["n_train"], d["n_test"]) == ("toy-data", 100, 40)
    assert r.preset.dataset == "mnist"  # the preset's metadata is unchanged
