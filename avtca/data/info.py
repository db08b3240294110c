"""DatasetInfo: what a dataset gives the model and the protocol, known without decoding anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avtca.data import cremad, mosei, ravdess
from avtca.data.config import DataConfig
from avtca.data.protocols import K_FOLDS, is_subject_independent, n_folds_of

TITLES = {"ravdess": "RAVDESS", "cremad": "CREMA-D", "mosei": "CMU-MOSEI"}


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
    return ravdess.N_ACTORS if cfg.name == "ravdess" else cremad.N_ACTORS


def protocol_label(cfg: DataConfig) -> str:
    """Human-readable protocol name used in every table and plot."""
    title = TITLES[cfg.name] + (" (synthetic)" if cfg.is_synthetic else "")
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
    if cfg.name == "mosei":
        task, names = ("regression", ()) if cfg.mosei.task == "sentiment" else ("multilabel", mosei.EMOTIONS)
        n_out = 1 if task == "regression" else len(names)
        head = {"kind": "regression"} if task == "regression" else {"kind": "multilabel", "n_labels": n_out}
        audio_c, audio_l = mosei.AUDIO_DIM, cfg.mosei.seq_len
        video_kind, video_shape = "features", (mosei.VISION_DIM, cfg.mosei.seq_len)
        inputs = {
            "video": {"kind": "features", "in_dim": mosei.VISION_DIM},
            "audio": {"kind": "features", "in_dim": mosei.AUDIO_DIM},
            "head": head,
        }
    else:
        names = ravdess.CLASS_NAMES if cfg.name == "ravdess" else cremad.CLASS_NAMES
        task, n_out = "classification", len(names)
        audio_l = cfg.audio_length
        if cfg.audio_features == "mfcc":
            audio_c, audio = cfg.n_mfcc, {"kind": "mfcc", "n_mfcc": cfg.n_mfcc}
        else:
            audio_c, audio = cfg.n_mels, {"kind": "logmel", "n_mels": cfg.n_mels}
        video_kind, video_shape = "frames", (cfg.frames, 3, cfg.image_size, cfg.image_size)
        inputs = {
            "video": {"kind": "frames", "frames": cfg.frames, "image_size": cfg.image_size},
            "audio": audio,
            "head": {"kind": "classification", "n_classes": n_out},
        }
    return DatasetInfo(
        name=cfg.name,
        task=task,
        n_outputs=n_out,
        class_names=tuple(names),
        subject_independent=is_subject_independent(cfg.protocol_name),
        protocol=cfg.protocol_name,
        protocol_label=protocol_label(cfg),
        n_folds=n_folds(cfg),
        audio_channels=audio_c,
        audio_length=audio_l,
        video_kind=video_kind,
        video_shape=video_shape,
        model_inputs=inputs,
        synthetic=cfg.is_synthetic,
    )
