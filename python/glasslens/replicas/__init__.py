"""Protocol 3 of arXiv:2407.20724: replica structure.

Overlaps between replicas (``overlap_matrix``, bit-packed signs), the overlap distribution
P(q), hierarchical clustering, ultrametricity against null models and the protocol drivers
``replica_analysis`` / ``replica_structure`` / ``replica_sweep``.
"""
from __future__ import annotations

from ._overlaps import (
    PackedSigns,
    pack_signs,
    sign_overlaps,
    overlap_matrix,
    popcount_kernel,
)
from ._replicas import (
    OverlapDistribution,
    ClusterResult,
    UltrametricityResult,
    NullComparison,
    overlap_distribution,
    overlaps_to_distances,
    cluster,
    triangle_sides,
    ultrametricity,
    gaussian_null,
    shuffle_null,
    permutation_null,
    network_null,
    covariance_null,
    path_null,
    MAX_ALL_TRIANGLES,
    ReplicaStructure,
    replica_structure,
    plot_overlap_distributions,
    replica_sweep,
    ReplicaSweep,
    replica_analysis,
)

__all__ = [
    "PackedSigns",
    "pack_signs",
    "sign_overlaps",
    "overlap_matrix",
    "popcount_kernel",
    "OverlapDistribution",
    "ClusterResult",
    "UltrametricityResult",
    "NullComparison",
    "overlap_distribution",
    "overlaps_to_distances",
    "cluster",
    "triangle_sides",
    "ultrametricity",
    "gaussian_null",
    "shuffle_null",
    "permutation_null",
    "network_null",
    "covariance_null",
    "path_null",
    "MAX_ALL_TRIANGLES",
    "ReplicaStructure",
    "replica_structure",
    "plot_overlap_distributions",
    "replica_sweep",
    "ReplicaSweep",
    "replica_analysis",
]
