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

__version__: str = _core.__version__

__all__ = [
    "MLP",
    "Ensemble",
    "n_params",
    "build_info",
    "set_threads",
    "resolve_threads",
    "__version__",
]

# --- maxent ---
from . import maxent  # noqa: E402

__all__ += ["maxent"]


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


# --- binarynet ---
from .binarynet import (  # noqa: E402
    BinaryEnsemble,
    BinaryNet,
    BinarySamples,
    PaperPreset,
    block_indices,
    paper_preset,
    sample_configurations,
    train_binary,
)
from .effective_model import EffectiveModelResult, run_effective_model  # noqa: E402

__all__ += [
    "EffectiveModelResult",
    "run_effective_model",
    "BinaryEnsemble",
    "BinaryNet",
    "BinarySamples",
    "PaperPreset",
    "block_indices",
    "paper_preset",
    "sample_configurations",
    "train_binary",
]
# --- end binarynet ---
