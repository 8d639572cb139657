"""Datasets: ``load`` (digits, teacher-student, Fashion-MNIST, MNIST), ``Dataset`` and the
IDX reader.
"""
from __future__ import annotations

from ._datasets import (
    Dataset,
    load,
    load_dataset,
    read_idx,
    find_idx_files,
    DATASETS,
    DATA_ENV,
)

__all__ = [
    "Dataset",
    "load",
    "load_dataset",
    "read_idx",
    "find_idx_files",
    "DATASETS",
    "DATA_ENV",
]
