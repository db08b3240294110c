"""Datasets: config, adapters (RAVDESS, CREMA-D, CMU-MOSEI), preprocessing cache, protocols, synthetic data."""

from __future__ import annotations

from avtca.data.config import DataConfig
from avtca.data.dataset import ClipDataset, Splits, build_splits, to_device
from avtca.data.info import DatasetInfo, dataset_info, n_folds

__all__ = ["DataConfig", "DatasetInfo", "ClipDataset", "Splits", "build_splits", "dataset_info", "n_folds", "to_device"]
