"""End-to-end effective-model pipeline (train, sample, fit, landscape) on a tiny problem."""
import numpy as np
import pytest

import glasslens as gl
from glasslens import effective_model as bn

em = pytest.importorskip("glasslens.effective_model")
pytest.importorskip("glasslens.maxent")


@pytest.fixture(scope="module")
def digits20():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    X = d.data / 16.0
    X = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    Z = (X @ Vt[:20].T).astype(np.float32)
    Z *= 2.3 / Z[:, 0].std()
    return bn.ArrayDataset(Z[:1200], d.target[:1200], Z[1200:], d.target[1200:])


# Few short trainings leave some weights frozen at +-1 in every draw: maxent warns (correctly)
# that their fields are held finite only by the regulariser.
@pytest.mark.filterwarnings("ignore:.*constant in the data:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Boltzmann learning did not converge")
def test_pipeline_shallow_runs_end_to_end(digits20):
    r = em.run_effective_model(digits20, "shallow", n_replicas=3, epochs=3, n_per_network=100,
                               fit="boltzmann", fit_kwargs=dict(iters=20, keep_after=5),
                               n_references=1, xs=np.linspace(-1.0, 1.0, 5),
                               landscape_kwargs=dict(max_sweeps=300), seed=1, n_threads=2)
    assert r.samples.configurations.shape == (300, 200)
    assert list(r.fits) == ["FULL"]
    m, C = r.moments["FULL"]
    S = r.samples.configurations.astype(np.float64)
    np.testing.assert_allclose(m, S.mean(axis=0))
    np.testing.assert_allclose(C, S.T @ S / len(S))
    assert set(r.landscapes["FULL"]) == {"low", "medium", "high"}
    # references ordered by energy under the fit
    E = r.fits["FULL"].energy(S)
    refs = r.references["FULL"]
    assert E[refs["low"][0]] <= E[refs["medium"][0]] <= E[refs["high"][0]]
    s = r.summaries["FULL"]
    assert 0 < s["s_over_H2_max"] <= 1.0 + 1e-6 and np.isfinite(s["J_std"])
    assert "FULL" in r.report()


@pytest.mark.filterwarnings("ignore:.*constant in the data:RuntimeWarning")
@pytest.mark.slow
def test_pipeline_deep_blocks_and_filter(digits20):
    r = em.run_effective_model(digits20, "deep-under", n_replicas=2, epochs=15, n_per_network=200,
                               min_accuracy=0.3, blocks=["ITER"], fit="pseudolikelihood",
                               landscape=False, seed=2, n_threads=2)
    assert list(r.fits) == ["ITER"] and r.fits["ITER"].n == 225
    assert np.all(r.samples.accuracy >= 0.3)
    assert r.landscapes == {}
    with pytest.raises(ValueError, match="block"):
        em.run_effective_model(digits20, "shallow", n_replicas=1, epochs=1, n_per_network=5,
                               blocks=["ITER"])
    with pytest.raises(ValueError, match="fit"):
        em.run_effective_model(digits20, "shallow", fit="magic")
