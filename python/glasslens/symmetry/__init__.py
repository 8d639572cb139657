"""Protocol 2 of arXiv:2407.20724: the permutation symmetry of hidden units.

Assignment (``linear_sum_assignment``), function-preserving permutations (``permute``),
alignment of replicas (``match_weights``, ``align_to``, ``align_ensemble``,
``pairwise_alignment``), linear interpolation and barriers (``interpolate``, ``barrier``) and the
protocol driver ``permutation_interpolation``.
"""
from __future__ import annotations

from ._assignment import (
    linear_sum_assignment,
    linear_sum_assignment_batch,
)
from ._matching import (
    permute,
    random_permutation,
    match_weights,
    match_activations,
    align_to,
    align_ensemble,
    pairwise_alignment,
    Matching,
    Alignment,
    hidden_widths,
)
from ._interpolation import (
    interpolate,
    barrier,
    permutation_barrier_scan,
    replica_barriers,
    Curve,
    Barrier,
    ScanResult,
    ReplicaBarriers,
)
from ._permutation import (
    permutation_interpolation,
    PermutationInterpolation,
    default_ks,
)

__all__ = [
    "linear_sum_assignment",
    "linear_sum_assignment_batch",
    "permute",
    "random_permutation",
    "match_weights",
    "match_activations",
    "align_to",
    "align_ensemble",
    "pairwise_alignment",
    "Matching",
    "Alignment",
    "hidden_widths",
    "interpolate",
    "barrier",
    "permutation_barrier_scan",
    "replica_barriers",
    "Curve",
    "Barrier",
    "ScanResult",
    "ReplicaBarriers",
    "permutation_interpolation",
    "PermutationInterpolation",
    "default_ks",
]
