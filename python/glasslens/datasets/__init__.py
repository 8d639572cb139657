"""Datasets: ``load`` (digits, teacher-student, Fashion-MNIST, MNIST, CIFAR-10), ``Dataset``,
the IDX and CIFAR-10 binary readers, and ``available`` (which datasets are present).
"""
from __future__ import annotations

from ._cifar import read_cifar_batch, find_cifar_files
from ._datasets import (
    Dataset,
    load,
    load_dataset,
    read_idx,
    find_idx_files,
    available,
    DATASETS,
    DATA_ENV,
)

__all__ = [
    "Dataset",
    "load",
    "load_dataset",
    "read_idx",
    "find_idx_files",
    "read_cifar_batch",
    "find_cifar_files",
    "available",
    "DATASETS",
    "DATA_ENV",
]
