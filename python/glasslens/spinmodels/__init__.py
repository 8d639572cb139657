"""Reference spin systems for calibration: parallel tempering of SK, ferromagnet and
paramagnet, exact enumeration.
"""
from __future__ import annotations

from ._spinmodels import (
    PTResult,
    parallel_tempering,
    spin_couplings,
    spin_energies,
    exact_enumeration,
    geometric_temperatures,
    curie_weiss_magnetization,
    SK_GROUND_STATE_ENERGY,
)

__all__ = [
    "PTResult",
    "parallel_tempering",
    "spin_couplings",
    "spin_energies",
    "exact_enumeration",
    "geometric_temperatures",
    "curie_weiss_magnetization",
    "SK_GROUND_STATE_ENERGY",
]
