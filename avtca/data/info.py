"""DatasetInfo: what a dataset gives the model and the protocol, known without decoding anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avtca.data.config import DataConfig
from avtca.data.protocols import Protocol
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
    return _protocol(cfg).folds(_n_actors(cfg))


def _protocol(cfg: DataConfig) -> Protocol:
    protocol = DATASETS.get(cfg.name).protocol(cfg.protocol_name)
    if protocol.needs_actor_count and _n_actors(cfg) is None:
        raise ValueError(f"dataset '{cfg.name}' has no actor count; its protocols cannot be actor k-fold")
    return protocol


def _n_actors(cfg: DataConfig) -> int | None:
    return cfg.synthetic.actors if cfg.is_synthetic else DATASETS.get(cfg.name).n_actors


def protocol_label(cfg: DataConfig) -> str:
    """Human-readable protocol name used in every table and plot: the dataset's title, then the protocol's label."""
    title = DATASETS.get(cfg.name).title + (" (synthetic)" if cfg.is_synthetic else "")
    return f"{title} {_protocol(cfg).label(_n_actors(cfg))}"


def dataset_info(cfg: DataConfig) -> DatasetInfo:
    """Cheap description of the configured dataset (reads no media)."""
    inputs = DATASETS.get(cfg.name).describe(cfg)
    return DatasetInfo(
        name=cfg.name,
        task=inputs.task,
        n_outputs=len(inputs.class_names) or 1,  # one output per class or label; 1 for regression
        class_names=tuple(inputs.class_names),
        subject_independent=_protocol(cfg).subject_independent,
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
