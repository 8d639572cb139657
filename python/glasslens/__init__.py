"""glasslens: loss landscapes of neural networks through the lens of spin-glass physics.

Train many small ReLU networks in C++ (:mod:`glasslens.nn`), probe the landscape around them
(:mod:`glasslens.probes`, Protocol 1), align them modulo the permutation symmetry of hidden
units (:mod:`glasslens.symmetry`, Protocol 2), measure whether their solutions organise like
the states of a spin glass (:mod:`glasslens.replicas`, Protocol 3), relate flatness to
generalisation (:mod:`glasslens.flatness`, Protocol 4), and fit maximum-entropy models of the
weight space of binary networks (:mod:`glasslens.maxent`, :mod:`glasslens.effective_model`).
:mod:`glasslens.spinmodels` holds the reference spin systems used for calibration and
:mod:`glasslens.report` the report that ``glasslens analyze`` writes; :mod:`glasslens.campaign`
runs sweeps of all of it (``glasslens sweep``) into one labelled store.

The top level holds the names used every day; everything else lives in its subpackage.
"""
from __future__ import annotations

from typing import List

from ._lib import _deprecation
from ._lib._build import __version__, build_info
from ._lib._threads import resolve_threads, set_threads
from . import nn, datasets, probes, symmetry, replicas, flatness, spinmodels, maxent
from . import effective_model, report, campaign
from .datasets import Dataset, load_dataset
from .nn import MLP, Ensemble, TrainConfig, evaluate, train_ensemble
from .report import Report, run_analysis

__all__ = [
    "__version__",
    "build_info",
    "set_threads",
    "resolve_threads",
    "MLP",
    "Ensemble",
    "TrainConfig",
    "train_ensemble",
    "evaluate",
    "Dataset",
    "load_dataset",
    "Report",
    "run_analysis",
    # subpackages
    "nn",
    "datasets",
    "probes",
    "symmetry",
    "replicas",
    "flatness",
    "spinmodels",
    "maxent",
    "effective_model",
    "report",
    "campaign",
]

#: names that lived at the top level before 0.2: name -> (module, attribute) now
_MOVED_NAMES = {
    "n_params": ("glasslens.nn", "n_params"),
    "loss_and_grad": ("glasslens.nn", "loss_and_grad"),
    "register_section": ("glasslens.report", "register_section"),
    "HessianOperator": ("glasslens.flatness", "HessianOperator"),
    "hvp": ("glasslens.flatness", "hvp"),
    "hessian_top": ("glasslens.flatness", "hessian_top"),
    "hessian_trace": ("glasslens.flatness", "hessian_trace"),
    "hessian_density": ("glasslens.flatness", "hessian_density"),
    "hessian_explicit": ("glasslens.flatness", "hessian_explicit"),
    "flatness_measures": ("glasslens.flatness", "measures"),
    "generalization_study": ("glasslens.flatness", "generalization_study"),
    "linear_sum_assignment": ("glasslens.symmetry", "linear_sum_assignment"),
    "linear_sum_assignment_batch": ("glasslens.symmetry", "linear_sum_assignment_batch"),
    "permute": ("glasslens.symmetry", "permute"),
    "random_permutation": ("glasslens.symmetry", "random_permutation"),
    "match_weights": ("glasslens.symmetry", "match_weights"),
    "match_activations": ("glasslens.symmetry", "match_activations"),
    "align_to": ("glasslens.symmetry", "align_to"),
    "align_ensemble": ("glasslens.symmetry", "align_ensemble"),
    "pairwise_alignment": ("glasslens.symmetry", "pairwise_alignment"),
    "interpolate": ("glasslens.symmetry", "interpolate"),
    "barrier": ("glasslens.symmetry", "barrier"),
    "permutation_barrier_scan": ("glasslens.symmetry", "permutation_barrier_scan"),
    "replica_barriers": ("glasslens.symmetry", "replica_barriers"),
    "PackedSigns": ("glasslens.replicas", "PackedSigns"),
    "overlap_matrix": ("glasslens.replicas", "overlap_matrix"),
    "pack_signs": ("glasslens.replicas", "pack_signs"),
    "sign_overlaps": ("glasslens.replicas", "sign_overlaps"),
    "cluster": ("glasslens.replicas", "cluster"),
    "overlap_distribution": ("glasslens.replicas", "overlap_distribution"),
    "overlaps_to_distances": ("glasslens.replicas", "overlaps_to_distances"),
    "triangle_sides": ("glasslens.replicas", "triangle_sides"),
    "ultrametricity": ("glasslens.replicas", "ultrametricity"),
    "replica_structure": ("glasslens.replicas", "replica_structure"),
    "replica_sweep": ("glasslens.replicas", "replica_sweep"),
    "replica_analysis": ("glasslens.replicas", "replica_analysis"),
    "exact_enumeration": ("glasslens.spinmodels", "exact_enumeration"),
    "parallel_tempering": ("glasslens.spinmodels", "parallel_tempering"),
    "EffectiveModelResult": ("glasslens.effective_model", "EffectiveModelResult"),
    "BlockAnalysis": ("glasslens.effective_model", "BlockAnalysis"),
    "run_effective_model": ("glasslens.effective_model", "run_effective_model"),
    "analyse_configurations": ("glasslens.effective_model", "analyse_configurations"),
    "align_hidden_units": ("glasslens.effective_model", "align_hidden_units"),
    "permute_configurations": ("glasslens.effective_model", "permute_configurations"),
    "BinaryEnsemble": ("glasslens.effective_model", "BinaryEnsemble"),
    "BinaryNet": ("glasslens.effective_model", "BinaryNet"),
    "BinarySamples": ("glasslens.effective_model", "BinarySamples"),
    "PaperPreset": ("glasslens.effective_model", "PaperPreset"),
    "block_indices": ("glasslens.effective_model", "block_indices"),
    "paper_preset": ("glasslens.effective_model", "paper_preset"),
    "sample_configurations": ("glasslens.effective_model", "sample_configurations"),
    "train_binary": ("glasslens.effective_model", "train_binary"),
    "line": ("glasslens.probes", "line"),
    "perturbation_direction": ("glasslens.probes", "perturbation_direction"),
    "plane": ("glasslens.probes", "plane"),
    "profile": ("glasslens.probes", "profile"),
    "WalkResult": ("glasslens.probes", "WalkResult"),
    "autocorrelation": ("glasslens.probes", "autocorrelation"),
    "correlation_length": ("glasslens.probes", "correlation_length"),
    "random_walk": ("glasslens.probes", "random_walk"),
    "permutation_interpolation": ("glasslens.symmetry", "permutation_interpolation"),
    "PermutationInterpolation": ("glasslens.symmetry", "PermutationInterpolation"),
}

_deprecation.install_finder()
__getattr__ = _deprecation.moved_names("glasslens", _MOVED_NAMES)


def __dir__() -> List[str]:
    return list(__all__)
