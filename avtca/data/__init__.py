"""Datasets: config, adapters (RAVDESS, CREMA-D, CMU-MOSEI), preprocessing cache, protocols, synthetic data."""

from __future__ import annotations

# the built-in datasets register their adapters (avtca.data.registry) when imported
from avtca.data import cremad, mosei, ravdess
from avtca.data.config import DataConfig
from avtca.data.dataset import ClipDataset, Splits, build_splits, to_device
from avtca.data.info import DatasetInfo, dataset_info, n_folds
from avtca.data.registry import DATASETS, DatasetAdapter, Inputs

__all__ = [
    "DATASETS",
    "ClipDataset",
    "DataConfig",
    "DatasetAdapter",
    "DatasetInfo",
    "Inputs",
    "Splits",
    "build_splits",
    "cremad",
    "dataset_info",
    "mosei",
    "n_folds",
    "ravdess",
    "to_device",
]
