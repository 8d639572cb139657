"""First-call costs (issue 17): ``import glasslens`` loads no heavy optional library, and the
Protocol 3 analysis imports only what it computes with (scipy.cluster for the linkages), not
scipy.signal (about a second on the first call), whose peak finder is replaced by
``_prominent_peaks`` - checked here against scipy.signal.find_peaks."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glasslens.replicas._replicas import _prominent_peaks

import glasslens

# the directory holding the glasslens under test (the install in CI, python/ in development)
PY = str(Path(glasslens.__file__).resolve().parents[1])


def _modules_after(code):
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": PY, "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    return set(out.stdout.split())


def test_import_glasslens_loads_no_heavy_library():
    mods = _modules_after("import glasslens")
    heavy = {"scipy", "matplotlib", "sklearn", "torch", "pandas", "xarray", "dask", "zarr",
             "tqdm", "numba"}
    assert not {m.split(".")[0] for m in mods} & heavy


def test_replica_analysis_does_not_import_scipy_signal():
    mods = _modules_after(
        "import numpy as np, glasslens as gl\n"
        "X = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)\n"
        "e = gl.train_ensemble((X, (X[:, 0] > 0).astype(int)), hidden=(4,), replicas=5, epochs=1)\n"
        "r = gl.replicas.replica_structure(e, n_null=2)\n"
        "assert np.isfinite(r.distribution.q_ea)")
    assert "scipy.cluster.hierarchy" in mods  # the linkages themselves
    assert "scipy.signal" not in mods and "scipy.stats" not in mods


@pytest.mark.parametrize("kind", ["normal", "plateaus", "smooth"])
def test_prominent_peaks_equals_scipy_find_peaks(kind):
    from scipy.signal import find_peaks

    rng = np.random.default_rng({"normal": 0, "plateaus": 1, "smooth": 2}[kind])
    for _ in range(400):
        n = int(rng.integers(1, 60))
        if kind == "normal":
            x = rng.normal(size=n)
        elif kind == "plateaus":
            x = rng.integers(0, 4, n).astype(np.float64)
        else:
            x = np.convolve(rng.random(n + 8), np.ones(5) / 5, mode="valid")
        x = np.r_[0.0, x, 0.0]
        for thr in (0.0, 0.2 * x.max(), 0.5 * x.max(), 1.0, 3.0):
            np.testing.assert_array_equal(_prominent_peaks(x, thr), find_peaks(x, prominence=thr)[0])
    assert _prominent_peaks(np.zeros(0), 0.0).size == 0
    assert _prominent_peaks(np.array([0.0, 1.0, 1.0, 0.0]), 1.0).tolist() == [1]
