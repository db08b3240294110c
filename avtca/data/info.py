"""DatasetInfo: what a dataset gives the model and the protocol, known without decoding anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avtca.data.config import DataConfig
from avtca.data.protocols import K_FOLDS, is_subject_independent, n_folds_of
from avtca.data.registry import DATASETS


@dataclass(frozen=True)
class DatasetInfo:
    """Task, output size, tensor shapes and the protocol's name; `model_inputs` is merged into the model config."""

    name: str
    task: str  # "classification" | "regression" | "multilabel"
    n_outputs: int
    class_names: tuple[str, ...]
    subject_independent: bool
    protocol: str
    protocol_label: str
    n_folds: int
    audio_channels: int
    audio_length: int
    video_kind: str  # "frames" | "features"
    video_shape: tuple[int, ...]  # per item: (T, 3, H, W) or (35, L)
    model_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    synthetic: bool = False


def n_folds(cfg: DataConfig) -> int:
    """Number of folds of the configured protocol (1 for fixed, random and official splits)."""
    k = n_folds_of(cfg.protocol_name)
    return min(k, _n_actors(cfg)) if cfg.protocol_name in K_FOLDS else k


def _n_actors(cfg: DataConfig) -> int:
    if cfg.is_synthetic:
        return cfg.synthetic.actors
    actors = DATASETS.get(cfg.name).n_actors
    if actors is None:
        raise ValueError(f"dataset '{cfg.name}' has no actor count; its protocols cannot be actor k-fold")
    return actors


def protocol_label(cfg: DataConfig) -> str:
    """Human-readable protocol name used in every table and plot."""
    title = DATASETS.get(cfg.name).title + (" (synthetic)" if cfg.is_synthetic else "")
    proto = cfg.protocol_name
    if proto in K_FOLDS:
        k = min(K_FOLDS[proto], _n_actors(cfg))
        per = _n_actors(cfg) / k
        size = f"{int(per)}" if per == int(per) else f"{int(per)}-{int(per) + 1}"
        return f"{title} {k}-fold subject-independent ({size} actors/fold; val = next fold)"
    if proto == "avtca_release":
        return f"{title} AVT-CA release split (test actors 1-4, val 5-8, train 9-24; subject-independent)"
    if proto == "ecm_fixed":
        return f"{title} fixed split (test actors 5,10,16,19; val 11,13,18,22; subject-independent)"
    if proto == "official":
        return f"{title} official split (train/valid/test)"
    return f"{title} random clip-level 80/20 split, val carved from the 80 (NOT subject-independent)"


def dataset_info(cfg: DataConfig) -> DatasetInfo:
    """Cheap description of the configured dataset (reads no media)."""
    inputs = DATASETS.get(cfg.name).describe(cfg)
    return DatasetInfo(
        name=cfg.name,
        task=inputs.task,
        n_outputs=len(inputs.class_names) or 1,  # one output per class or label; 1 for regression
        class_names=tuple(inputs.class_names),
        subject_independent=is_subject_independent(cfg.protocol_name),
        protocol=cfg.protocol_name,
        protocol_label=protocol_label(cfg),
        n_folds=n_folds(cfg),
        audio_channels=inputs.audio_channels,
        audio_length=inputs.audio_length,
        video_kind=inputs.video_kind,
        video_shape=inputs.video_shape,
        model_inputs=inputs.model_inputs,
        synthetic=cfg.is_synthetic,
    )
