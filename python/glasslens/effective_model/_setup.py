"""Setting up a run of the effective-model pipeline: the paper's data preprocessing, the grid of
tilts of the entropy landscapes, the training-set size a regime can use, the run presets of
``glasslens effective-model`` (``RUN_PRESETS``: a quick default and the paper's scale) and the
estimate of a run's time from its sizes (``estimate_seconds``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ._binarynet import block_indices, paper_preset

__all__ = ["load_paper_data", "tilt_grid", "preset_n_train", "RunPreset", "RUN_PRESETS",
           "run_preset", "estimate_seconds", "COSTS", "BOLTZMANN_ITER"]


@dataclass(frozen=True)
class RunPreset:
    """What one ``glasslens effective-model`` run does: the data, the regimes and the size of
    every stage (None: the regime's :func:`paper_preset` value, 100 trainings x 100 draws, 50
    epochs). ``fit_kwargs`` go to the fit, ``tap_max_iter`` / ``max_sweeps`` bound the TAP
    iteration and the BP sweeps of a landscape point (None: the library defaults)."""

    name: str
    dataset: str
    regimes: Tuple[str, ...]
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    n_replicas: Optional[int] = None
    n_per_network: Optional[int] = None
    epochs: Optional[int] = None
    fit: str = "boltzmann"
    fit_kwargs: Dict[str, Any] = field(default_factory=dict)
    n_references: int = 1
    x_max: float = 3.0
    x_step: float = 0.1
    direction: str = "outward"
    max_sweeps: Optional[int] = None
    n_tap_starts: int = 200
    tap_max_iter: Optional[int] = None
    alignment: Tuple[str, ...] = ("none", "mean")
    description: str = ""


#: The run presets of ``glasslens effective-model``: ``quick`` (the default, like every other
#: command on the bundled digits data: about a minute on 2 cores) and ``paper`` (Zou & Huang's
#: scale on Fashion-MNIST: 100 trainings x 100 draws, Boltzmann learning with BP moments, a
#: fine tilt grid; tens of minutes, see ``estimate_seconds``).
RUN_PRESETS: Dict[str, RunPreset] = {
    "quick": RunPreset(
        "quick", "digits", ("deep-under", "shallow"), n_replicas=20, n_per_network=50,
        fit="pseudolikelihood", fit_kwargs={"l2": 3e-2, "l2_h": 1e-3}, x_max=2.0, x_step=0.5,
        max_sweeps=200, n_tap_starts=30, tap_max_iter=300,
        description="digits (1,352 training examples), 20 trainings x 50 draws, "
                    "pseudo-likelihood fits, 9 tilts, 30 TAP starts"),
    "paper": RunPreset(
        "paper", "fashion-mnist", ("deep-under", "shallow"),
        description="Fashion-MNIST (60,000 training examples), 100 trainings x 100 draws, "
                    "Boltzmann learning with BP moments, 61 tilts, 200 TAP starts"),
}


def run_preset(name: str) -> RunPreset:
    """The :data:`RUN_PRESETS` entry ``name`` (ValueError naming the choices otherwise)."""
    if name not in RUN_PRESETS:
        raise ValueError(f"preset must be one of {sorted(RUN_PRESETS)}, got {name!r}")
    return RUN_PRESETS[name]


#: Seconds per unit of work of each stage on 2 threads of 2 idle cores (measured on a loaded
#: machine, then scaled by the quick preset's measured 12.0 s idle vs 53 s loaded): training ``R x epochs x n_train x
#: n_weights`` (LR-net forward + backward), drawing ``R x draws x n_test x n_weights`` (each
#: draw's test accuracy), a pseudo-likelihood fit ``M x N^2`` (M samples, N spins), one
#: landscape point ``N^2`` (after a pseudo-likelihood fit, which BP converges on more slowly,
#: and after a Boltzmann fit), one TAP start ``N^2``.
COSTS: Dict[str, float] = {"train": 2.7e-10, "sample": 3.4e-11, "pseudolikelihood": 4.1e-09,
                           "landscape_pseudolikelihood": 1e-06, "landscape_boltzmann": 4.1e-07,
                           "tap": 9.1e-09}
#: Seconds per Boltzmann-learning iteration (BP moments) of each block of the paper's nets,
#: measured on Fashion-MNIST samples (10 trainings x 100 draws; the loaded machine's wall
#: seconds divided by its 2.3 x wall / CPU ratio; an Adam exploration step costs the same): the input
#: block LB is far slower than N^3 scaling says (BP converges slowly on it), so the blocks are
#: measured one by one; another block size costs ``BOLTZMANN_PER_N3 * N^3`` per iteration.
BOLTZMANN_ITER: Dict[str, float] = {"LB": 3.7, "ITER": 0.16, "RB": 0.07, "FULL": 0.4}
BOLTZMANN_PER_N3 = 1.7e-8
_COST_THREADS = 2


def estimate_seconds(preset: RunPreset, regime: str, n_train: int, n_test: int,
                     n_threads: int = _COST_THREADS) -> Dict[str, float]:
    """Estimated seconds of one regime of ``preset`` on ``n_train`` / ``n_test`` examples:
    ``{"train", "sample", "fit", "landscapes", "tap", "total"}``, the sizes of each stage times
    its measured per-unit cost (:data:`COSTS`, :data:`BOLTZMANN_ITER`; 2 threads, scaled by
    ``2 / n_threads``). An estimate: BP and TAP converge faster or slower with the data."""
    pp = paper_preset(regime)
    R = preset.n_replicas or pp.replicas
    D = preset.n_per_network or pp.n_per_network
    E = pp.epochs if preset.epochs is None else preset.epochs
    n = min(n_train, pp.n_train) if pp.n_train is not None else n_train
    P = pp.n_weights
    M = R * D
    blocks = block_indices(pp.widths)
    sizes = {k: len(v) for k, v in blocks.items() if (k != "FULL") == (len(pp.widths) > 2)}
    n_lab = len(preset.alignment) if len(pp.widths) > 2 else 1
    n_x = 2 * int(round(preset.x_max / preset.x_step)) + 1
    sweeps = 2 if preset.direction == "both" else 1
    iters = int(preset.fit_kwargs.get("iters", 100))
    # fit_boltzmann explores with 2 x iters Adam steps first (iters >= 100), each one BP solve
    explore = preset.fit_kwargs.get("explore")
    steps = iters + (int(explore) if explore is not None else (2 * iters if iters >= 100 else 0))
    c = COSTS
    t = {"train": c["train"] * R * E * n * P, "sample": c["sample"] * M * n_test * P}
    if preset.fit == "boltzmann":
        t["fit"] = n_lab * sum(steps * BOLTZMANN_ITER.get(b, BOLTZMANN_PER_N3 * N ** 3)
                               for b, N in sizes.items())
    else:
        t["fit"] = n_lab * sum(c["pseudolikelihood"] * M * N ** 2 for N in sizes.values())
    t["landscapes"] = n_lab * sum(c["landscape_" + preset.fit] * 3 * preset.n_references * n_x
                                  * sweeps * N ** 2 for N in sizes.values())
    t["tap"] = n_lab * sum(c["tap"] * preset.n_tap_starts * N ** 2 for N in sizes.values())
    scale = _COST_THREADS / max(1, int(n_threads))
    out = {k: v * scale for k, v in t.items()}
    out["total"] = float(sum(out.values()))
    return out


def load_paper_data(name: str = "fashion-mnist", *, n_train: Optional[int] = None,
                    n_test: Optional[int] = None, path: Optional[str] = None, seed: int = 0,
                    n_threads: Optional[int] = None) -> Any:
    """``glasslens.datasets.load(name)`` preprocessed as in Zou & Huang 2021: the first
    ``paper_preset().pca`` (20) principal components of the raw pixels (not standardised)."""
    from .. import datasets

    kw: dict = {"standardize": False, "n_threads": n_threads, "seed": seed}
    if path:
        kw["path"] = path
    if n_train:
        kw["n_train"] = n_train
    if n_test:
        kw["n_test"] = n_test
    return datasets.load(name, pca=paper_preset().pca, **kw)


def tilt_grid(x_max: float, step: float) -> np.ndarray:
    """Tilts ``x`` of the entropy landscapes: ``-x_max..x_max`` in steps of ``step`` (rounded
    to 10 decimals so that 0 is exactly 0)."""
    if not (np.isfinite(x_max) and x_max > 0):
        raise ValueError(f"x_max must be a positive number, got {x_max}")
    if not (np.isfinite(step) and 0 < step <= x_max):
        raise ValueError(f"x_step must be in (0, x_max], got {step}")
    n = int(round(x_max / step))
    if n > 10_000:
        raise ValueError(f"x_max / x_step gives {2 * n + 1} tilts; use a coarser step")
    return np.round(np.linspace(-n * step, n * step, 2 * n + 1), 10)


def preset_n_train(regime: str, n_available: int) -> Optional[int]:
    """The ``n_train`` override of ``run_effective_model`` for data with ``n_available``
    training examples: all of them when the regime's preset wants more (deep-over: 500),
    else None (the preset's own choice)."""
    want = paper_preset(regime).n_train
    return int(n_available) if want is not None and n_available < want else None
