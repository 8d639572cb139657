"""Protocol 1 of arXiv:2407.20724: perturbation probes of the loss around a solution
(``profile``, ``line``, ``plane``) and random walks in parameter space (``random_walk``).
Figures in :mod:`glasslens.probes.plotting`.
"""
from __future__ import annotations

from ._landscape import (
    perturbation_direction,
    profile,
    line,
    plane,
    ProfileResult,
    SliceResult,
    network_loss,
)
from ._walks import (
    random_walk,
    WalkResult,
    autocorrelation,
    correlation_length,
    msd_exponent,
)
from . import plotting

__all__ = [
    "perturbation_direction",
    "profile",
    "line",
    "plane",
    "ProfileResult",
    "SliceResult",
    "network_loss",
    "random_walk",
    "WalkResult",
    "autocorrelation",
    "correlation_length",
    "msd_exponent",
    "plotting",
]
