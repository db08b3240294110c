"""The dataset contract: a `DatasetAdapter` says everything dataset-specific that generic code asks.

Required: `name`, `describe` (what the dataset gives the model) and one of `scan` (media clips that `prepare`
decodes, crops and featurises) or `load` (arrays written to the cache as they are). Everything else has a
default. Register it with `DATASETS.register(DatasetAdapter(...))` (avtca.data.registry) in its own module:
docs/data.md, "Adding a dataset".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avtca.config.base import Strict
from avtca.data.cache import Prepared
from avtca.data.config import DataConfig
from avtca.data.protocols import RANDOM, Protocol, registered
from avtca.data.sources import Clip, Scan

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Inputs:
    """What a configured dataset gives the model, known without decoding anything."""

    task: str  # a task of avtca.metrics.TASKS
    class_names: tuple[str, ...]  # empty for regression
    audio_channels: int
    audio_length: int
    video_kind: str  # "frames" | "features"
    video_shape: tuple[int, ...]  # per item: (T, 3, H, W) or (C, L)
    model_inputs: dict[str, dict[str, Any]]  # merged into the model config: input slots and the head


@dataclass(frozen=True, kw_only=True)
class DatasetAdapter:
    """Everything dataset-specific; generic code (info, prepare, splits, studies, reports) asks this."""

    # ---- required
    name: str  # `data.name` in configs, the cache directory prefix
    describe: Callable[[DataConfig], Inputs]  # task, classes, shapes, the model's input slots and head
    # exactly one of: the media clips `prepare` decodes | the arrays (audio, video, target, ...) and the manifest
    # (ids, actors, and `splits` for OfficialSplit) written to the cache as they are
    scan: Callable[[Path, DataConfig], Scan] | None = None
    load: Callable[[Path, DataConfig], tuple[Arrays, dict[str, Any]]] | None = None
    # ---- optional
    title: str = ""  # display name in tables and figures (`CREMA-D`); default: the name
    protocols: tuple[Protocol, ...] = (RANDOM,)  # evaluation protocols it accepts; the first is the default
    options: type[Strict] | None = None  # its own config keys `data.<name>.*` (DataConfig validates them with it)
    # which of those options change the prepared arrays, so are part of the cache key (None: all of them, the
    # safe default; an option applied after the cache, such as a choice of labels, may be left out)
    cached_options: tuple[str, ...] | None = None
    # other targets than the cached `target` (another label set, a subset of clips): (targets, rows kept), or None
    targets: Callable[[DataConfig, Prepared], tuple[np.ndarray, np.ndarray] | None] | None = None
    clip_arrays: Callable[[list[Clip]], Arrays] | None = None  # media datasets: extra per-clip arrays to cache
    n_actors: int | None = None  # speakers of the real dataset (caps actor k-fold protocols)
    rank: int = 100  # position in tables that list every dataset (the paper's order first)
    # the built-ins' options were DataConfig fields once, so every config's JSON (and so every cell id) carries
    # their defaults; a new dataset's options are in a config's JSON only when it is that config's dataset or given
    options_in_every_config: bool = False

    def __post_init__(self) -> None:
        where = f"dataset '{self.name}'"
        if (self.scan is None) == (self.load is None):
            raise ValueError(f"{where}: give exactly one of scan (media clips) or load (arrays)")
        if self.name in DataConfig.model_fields:  # its options would sit beside that key (`data.<name>`)
            raise ValueError(f"{where}: its name is a key of DataConfig; register it under another name")
        if self.cached_options is not None and self.options is not None:
            unknown = sorted(set(self.cached_options) - set(self.options.model_fields))
            if unknown:
                raise ValueError(f"{where}: cached_options {unknown} are not keys of its options")
        names = [p.name for p in self.protocols]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{where}: protocols must be one or more protocols with distinct names, got {names}")
        for protocol in self.protocols:
            known = registered(protocol.name)
            if known is not None and known != protocol:  # reports and planners read a protocol by its name
                raise ValueError(f"{where}: protocol '{protocol.name}' is {protocol}, another dataset's is {known}")
        if not self.title:
            object.__setattr__(self, "title", self.name)

    def protocol(self, name: str | None = None) -> Protocol:
        """The protocol called `name` (None: the default, the first)."""
        for protocol in self.protocols:
            if name is None or protocol.name == name:
                return protocol
        names = ", ".join(p.name for p in self.protocols)
        raise ValueError(f"'{name}' is not a protocol of {self.name}; one of {names}")

    @property
    def default_task(self) -> str:
        """The task under default options (report columns of a dataset not yet run)."""
        return self.describe(DataConfig(name=self.name)).task


def media_inputs(cfg: DataConfig, task: str, class_names: tuple[str, ...]) -> Inputs:
    """`describe` of a dataset of decoded clips: frames (T, 3, S, S) and MFCC or log-mel audio."""
    if cfg.audio_features == "mfcc":
        channels, audio = cfg.n_mfcc, {"kind": "mfcc", "n_mfcc": cfg.n_mfcc}
    else:
        channels, audio = cfg.n_mels, {"kind": "logmel", "n_mels": cfg.n_mels}
    head = {"kind": "classification", "n_classes": len(class_names)} if task == "classification" else {"kind": task}
    return Inputs(
        task=task,
        class_names=class_names,
        audio_channels=channels,
        audio_length=cfg.audio_length,
        video_kind="frames",
        video_shape=(cfg.frames, 3, cfg.image_size, cfg.image_size),
        model_inputs={
            "video": {"kind": "frames", "frames": cfg.frames, "image_size": cfg.image_size},
            "audio": audio,
            "head": head,
        },
    )
