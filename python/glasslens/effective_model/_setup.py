"""Setting up a run of the effective-model pipeline: the paper's data preprocessing, the grid of
tilts of the entropy landscapes, and the training-set size a regime can use."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._binarynet import paper_preset

__all__ = ["load_paper_data", "tilt_grid", "preset_n_train"]


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
