"""Protocol 4 of arXiv:2407.20724: flatness against generalisation.

Curvature (exact Hessian-vector products, ``hessian_top``, ``hessian_trace``,
``hessian_density``), flatness ``measures`` (rescaling-balanced) and the
``generalization_study`` over training recipes.
"""
from __future__ import annotations

from ._curvature import (
    HessianOperator,
    loss_and_gradient,
    hvp,
    hessian_top,
    hessian_trace,
    hessian_density,
    hessian_explicit,
    TopEigen,
    TraceEstimate,
    SpectralDensity,
)
from ._measures import (
    ALL_MEASURES,
    FlatnessResult,
    measures,
    balance,
    rescale,
    random_rescaling,
    batch_loss,
)
from ._study import (
    generalization_study,
    GeneralizationStudy,
    FLAT_SIGN,
    STUDY_MEASURES,
    rank_correlations,
    partial_rank_correlation,
    default_variants,
    analyse_rows,
)
from ._presets import VARIANT_PRESETS

__all__ = [
    "HessianOperator",
    "loss_and_gradient",
    "hvp",
    "hessian_top",
    "hessian_trace",
    "hessian_density",
    "hessian_explicit",
    "TopEigen",
    "TraceEstimate",
    "SpectralDensity",
    "ALL_MEASURES",
    "FlatnessResult",
    "measures",
    "balance",
    "rescale",
    "random_rescaling",
    "batch_loss",
    "generalization_study",
    "GeneralizationStudy",
    "FLAT_SIGN",
    "STUDY_MEASURES",
    "rank_correlations",
    "partial_rank_correlation",
    "default_variants",
    "analyse_rows",
    "VARIANT_PRESETS",
]
