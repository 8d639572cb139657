"""Fully connected ReLU networks: ``MLP``, ``Ensemble`` (stacked replicas), training of many
replicas in C++ (``train_ensemble``, with every training option in one ``TrainConfig``) and the
one loss evaluator every protocol uses (``evaluate``, ``loss_and_grad``, ``logits``).
"""
from __future__ import annotations

from ._network import (
    n_params,
    layer_slices,
    MLP,
    Ensemble,
    replica_seeds,
)
from ._config import TrainConfig
from ._training import (
    train_ensemble,
    lr_schedule,
    epoch_order,
    noisy_labels,
    derived_seeds,
    TrainingDiverged,
)
from ._evaluation import (
    evaluate,
    loss_and_grad,
    logits,
)

__all__ = [
    "n_params",
    "layer_slices",
    "MLP",
    "Ensemble",
    "replica_seeds",
    "TrainConfig",
    "train_ensemble",
    "lr_schedule",
    "epoch_order",
    "noisy_labels",
    "derived_seeds",
    "TrainingDiverged",
    "evaluate",
    "loss_and_grad",
    "logits",
]
