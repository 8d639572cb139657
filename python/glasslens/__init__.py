"""glasslens: loss landscapes of neural networks through the lens of spin-glass physics.

Train many small ReLU networks in C++, probe the landscape around them, align them modulo the
permutation symmetry of hidden units, and measure whether their solutions organise like the
states of a spin glass (overlaps, P(q), ultrametricity), plus maximum-entropy models of the
weight space of binary networks.
"""
from __future__ import annotations

from typing import Any, Dict

from . import _core
from ._threads import resolve_threads, set_threads
from .network import MLP, Ensemble, n_params

# --- datacli ---
from . import datasets
from .datasets import Dataset, load_dataset

# --- nn ---
from . import evaluation, training
from .evaluation import evaluate, loss_and_grad
from .training import train_ensemble

# --- flatness ---
from . import curvature, flatness, generalization
from .curvature import (HessianOperator, hessian_density, hessian_explicit, hessian_top,
                        hessian_trace, hvp)
from .flatness import measures as flatness_measures
from .generalization import generalization_study

__version__: str = _core.__version__

__all__ = [
    "MLP",
    "Ensemble",
    "n_params",
    "build_info",
    "set_threads",
    "resolve_threads",
    "__version__",
    # --- datacli ---
    "datasets",
    "Dataset",
    "load_dataset",
    # --- nn ---
    "evaluate",
    "loss_and_grad",
    "train_ensemble",
    # --- flatness ---
    "curvature",
    "flatness",
    "generalization",
    "HessianOperator",
    "hvp",
    "hessian_top",
    "hessian_trace",
    "hessian_density",
    "hessian_explicit",
    "flatness_measures",
    "generalization_study",
]


def build_info() -> Dict[str, Any]:
    """Version, compiler, OpenMP on/off, SIMD path in use and default thread count."""
    return {
        "version": __version__,
        "compiler": _core.compiler,
        "openmp": bool(_core.has_openmp),
        "simd_path": _core.simd_path(),
        "cpu_has_avx2_fma": bool(_core.cpu_has_avx2_fma()),
        "default_threads": resolve_threads(None),
    }
