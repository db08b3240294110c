"""Datasets: config, the adapter contract and registry, the built-in datasets, preprocessing cache, protocols."""

from __future__ import annotations

# every module of avtca/data/datasets/ registers its adapter (avtca.data.registry) when imported
from avtca.data import datasets
from avtca.data.adapter import DatasetAdapter, Inputs
from avtca.data.config import DataConfig
from avtca.data.dataset import ClipDataset, Splits, build_splits, to_device
from avtca.data.info import DatasetInfo, dataset_info, n_folds
from avtca.data.registry import DATASETS

__all__ = [
    "DATASETS",
    "ClipDataset",
    "DataConfig",
    "DatasetAdapter",
    "DatasetInfo",
    "Inputs",
    "Splits",
    "build_splits",
    "dataset_info",
    "datasets",
    "n_folds",
    "to_device",
]
