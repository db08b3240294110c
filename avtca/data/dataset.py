"""Torch datasets over the in-memory cache, the protocol splits, and moving a batch to a device."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from avtca.data.cache import Prepared
from avtca.data.config import DataConfig
from avtca.data.info import DatasetInfo, dataset_info
from avtca.data.prepare import ensure_prepared
from avtca.data.protocols import split_indices
from avtca.data.registry import DATASETS


class ClipDataset(Dataset):
    """Rows `index` of whole in-memory tensors; items are dicts {audio, video, target, id, actor}."""

    def __init__(self, audio: torch.Tensor, video: torch.Tensor, target: torch.Tensor,
                 ids: list[str], actors: list[str], index: np.ndarray):  # fmt: skip
        self.audio, self.video, self.target = audio, video, target
        self.ids, self.actors = ids, actors
        self.index = np.asarray(index, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        j = int(self.index[i])
        return {"audio": self.audio[j], "video": self.video[j], "target": self.target[j],
                "id": self.ids[j], "actor": self.actors[j]}  # fmt: skip

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The whole part as (audio, video, target) tensors (for loops that batch by slicing)."""
        idx = torch.from_numpy(self.index)
        return self.audio[idx], self.video[idx], self.target[idx]

    @property
    def item_ids(self) -> list[str]:
        """Clip ids of this part, in order."""
        return [self.ids[j] for j in self.index]

    @property
    def item_actors(self) -> list[str]:
        """Actor (speaker) of each clip of this part, in order."""
        return [self.actors[j] for j in self.index]


class Splits(NamedTuple):
    """The three parts of one (protocol, fold, seed) and the dataset description."""

    train: ClipDataset
    val: ClipDataset
    test: ClipDataset
    info: DatasetInfo


def _targets(cfg: DataConfig, prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Targets for the configured labels/task, and the rows that have one."""
    select = DATASETS.get(cfg.name).targets
    chosen = select(cfg, prepared) if select is not None else None  # the dataset's other labels, if configured
    if chosen is not None:
        return chosen
    return prepared.target, np.arange(len(prepared.ids))


def build_splits(cfg: DataConfig, fold: int = 0, seed: int = 0, progress: bool = True) -> Splits:
    """Train/val/test datasets for `cfg`'s protocol (actor grouping `cfg.repeat`); prepares the cache if missing."""
    info = dataset_info(cfg)
    prepared = ensure_prepared(cfg, progress=progress)
    target, usable = _targets(cfg, prepared)
    actors = [prepared.actors[i] for i in usable]
    official = [prepared.splits[i] for i in usable] if prepared.splits is not None else None
    protocol = DATASETS.get(cfg.name).protocol(cfg.protocol_name)
    parts = split_indices(protocol, actors, fold=fold, seed=seed, official=official, repeat=cfg.repeat)
    audio = torch.from_numpy(prepared.audio)
    video = torch.from_numpy(prepared.video)
    target_t = torch.from_numpy(np.ascontiguousarray(target))

    def part(rows: np.ndarray) -> ClipDataset:
        return ClipDataset(audio, video, target_t, prepared.ids, prepared.actors, usable[rows])

    return Splits(part(parts.train), part(parts.val), part(parts.test), info)


def to_device(batch: dict, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collated batch -> (audio, video, target) on `device`; uint8 frames become float in [0, 1] there."""
    non_blocking = torch.device(device).type == "cuda"
    audio = batch["audio"].to(device, non_blocking=non_blocking).float()
    video = batch["video"].to(device, non_blocking=non_blocking)
    video = video.float().div_(255.0) if video.dtype == torch.uint8 else video.float()
    target = batch["target"].to(device, non_blocking=non_blocking)
    return audio, video, target
