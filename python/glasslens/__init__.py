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

# --- nn ---
from . import evaluation, training
from .evaluation import evaluate, loss_and_grad
from .training import train_ensemble

# --- datasets, report ---
from . import datasets, plots
from .analyze import register_section, run_analysis
from .datasets import Dataset, load_dataset
from .report import Report
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
    # --- nn ---
    "evaluate",
    "loss_and_grad",
    "train_ensemble",
    # --- datasets, report ---
    "datasets",
    "plots",
    "Dataset",
    "load_dataset",
    "Report",
    "register_section",
    "run_analysis",
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

# --- symmetry ---
from . import assignment, interpolation, symmetry  # noqa: E402
from .assignment import linear_sum_assignment, linear_sum_assignment_batch  # noqa: E402
from .symmetry import (  # noqa: E402
    align_ensemble,
    align_to,
    match_activations,
    match_weights,
    pairwise_alignment,
    permute,
    random_permutation,
)
from .interpolation import (  # noqa: E402
    barrier,
    interpolate,
    permutation_barrier_scan,
    replica_barriers,
)

__all__ += [
    "linear_sum_assignment",
    "linear_sum_assignment_batch",
    "permute",
    "random_permutation",
    "match_weights",
    "match_activations",
    "align_to",
    "align_ensemble",
    "pairwise_alignment",
    "interpolate",
    "barrier",
    "permutation_barrier_scan",
    "replica_barriers",
]


# --- replicas ---
from . import overlaps, replicas, spinmodels  # noqa: E402
from .overlaps import PackedSigns, overlap_matrix, pack_signs, sign_overlaps  # noqa: E402
from .replicas import (  # noqa: E402
    cluster,
    overlap_distribution,
    overlaps_to_distances,
    replica_analysis,
    replica_structure,
    replica_sweep,
    triangle_sides,
    ultrametricity,
)
from .spinmodels import exact_enumeration, parallel_tempering  # noqa: E402

__all__ += [
    "overlaps", "replicas", "spinmodels", "PackedSigns", "overlap_matrix", "pack_signs",
    "sign_overlaps", "cluster", "overlap_distribution", "overlaps_to_distances", "triangle_sides",
    "ultrametricity", "replica_structure", "replica_sweep", "replica_analysis",
    "exact_enumeration", "parallel_tempering",
]
# --- end replicas ---
# --- maxent ---
from . import maxent  # noqa: E402

__all__ += ["maxent"]


def build_info() -> Dict[str, Any]:
    """Version, compiler, OpenMP on/off, SIMD path in use and default thread count.

    ``x86_simd_kernels``: whether this build contains the AVX2/FMA kernels (False on non-x86
    CPUs and in ``GLASSLENS_X86_SIMD=OFF`` builds); ``cpu_has_avx2_fma``: whether they can run.
    """
    return {
        "version": __version__,
        "compiler": _core.compiler,
        "openmp": bool(_core.has_openmp),
        "simd_path": _core.simd_path(),
        "x86_simd_kernels": bool(_core.has_x86_simd),
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
from .effective_model import (  # noqa: E402
    BlockAnalysis,
    EffectiveModelResult,
    align_hidden_units,
    analyse_configurations,
    permute_configurations,
    run_effective_model,
)

__all__ += [
    "EffectiveModelResult",
    "BlockAnalysis",
    "run_effective_model",
    "analyse_configurations",
    "align_hidden_units",
    "permute_configurations",
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
# --- landscape ---
from . import landscape, walks  # noqa: E402
from .landscape import line, perturbation_direction, plane, profile  # noqa: E402
from .walks import WalkResult, autocorrelation, correlation_length, random_walk  # noqa: E402

__all__ += ["landscape", "walks", "line", "perturbation_direction", "plane", "profile",
            "WalkResult", "autocorrelation", "correlation_length", "random_walk"]
# --- end landscape ---
# --- protocols ---
from . import permutation  # noqa: E402
from .permutation import PermutationInterpolation, permutation_interpolation  # noqa: E402
from . import analyze_protocols  # noqa: E402,F401  (registers the protocol report sections)

__all__ += ["permutation", "permutation_interpolation", "PermutationInterpolation"]
# --- end protocols ---
