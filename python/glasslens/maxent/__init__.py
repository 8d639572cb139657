"""Pairwise maximum-entropy (Ising) models of +-1 data, e.g. binary network weights
(Zou & Huang 2021, arXiv:2007.08093).

* ``Ising``: the model (energy, exact enumeration, Metropolis/Gibbs sampling, belief propagation).
* Inference: ``fit_pseudolikelihood``, ``fit_boltzmann`` (BP / MC / exact moments),
  ``mean_field_init`` (nMF, TAP); validation: ``compare_moments``, ``planted_recovery``.
* ``landscape.entropy_landscape``: tilted-BP entropy landscape with hysteresis sweeps;
  ``tap_free_energies``: TAP solutions from random starts (number of states).
"""
from __future__ import annotations


from ._inference import (
    FitConvergenceWarning,
    compare_moments,
    fit_boltzmann,
    fit_pseudolikelihood,
    mean_field_init,
    moment_error,
    moments,
    planted_recovery,
    reconstruction_error,
)
from ._ising import BPConvergenceWarning, BPState, Ising, block_slices, check_spins, sk_model
from ._landscape import (
    Landscape,
    binary_entropy,
    block_summary,
    entropy_landscape,
    tap_free_energies,
    tap_free_energy,
)

__all__ = [
    "FitConvergenceWarning",
    "Ising",
    "BPState",
    "BPConvergenceWarning",
    "sk_model",
    "block_slices",
    "check_spins",
    "moments",
    "moment_error",
    "fit_pseudolikelihood",
    "fit_boltzmann",
    "mean_field_init",
    "compare_moments",
    "reconstruction_error",
    "planted_recovery",
    "entropy_landscape",
    "binary_entropy",
    "Landscape",
    "tap_free_energy",
    "tap_free_energies",
    "block_summary",
]
