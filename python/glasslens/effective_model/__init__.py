"""The data-driven effective model of Zou & Huang (arXiv:2007.08093): binary-synapse networks
(``train_binary``, ``sample_configurations``), the per-block maximum-entropy fits and entropy
landscapes (``run_effective_model``). Figures in :mod:`glasslens.effective_model.plotting`.
"""
from __future__ import annotations

from ._binarynet import (
    BinaryNet,
    BinaryEnsemble,
    BinarySamples,
    ArrayDataset,
    PaperPreset,
    train_binary,
    sample_configurations,
    evaluate_configurations,
    block_indices,
    paper_preset,
    lr_loss_grad,
    n_weights,
)
from ._pipeline import (
    EffectiveModelResult,
    BlockAnalysis,
    run_effective_model,
    analyse_configurations,
    align_hidden_units,
    permute_configurations,
    liquid_solid_table,
)
from ._setup import (
    load_paper_data,
    tilt_grid,
    preset_n_train,
    RunPreset,
    RUN_PRESETS,
    run_preset,
    estimate_seconds,
)
from . import plotting

__all__ = [
    "BinaryNet",
    "BinaryEnsemble",
    "BinarySamples",
    "ArrayDataset",
    "PaperPreset",
    "train_binary",
    "sample_configurations",
    "evaluate_configurations",
    "block_indices",
    "paper_preset",
    "lr_loss_grad",
    "n_weights",
    "EffectiveModelResult",
    "BlockAnalysis",
    "run_effective_model",
    "analyse_configurations",
    "align_hidden_units",
    "permute_configurations",
    "liquid_solid_table",
    "load_paper_data",
    "tilt_grid",
    "preset_n_train",
    "RunPreset",
    "RUN_PRESETS",
    "run_preset",
    "estimate_seconds",
    "plotting",
]
