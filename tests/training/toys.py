"""Tiny in-test datasets and models in the data layer's batch format (dict of audio/video/target/id/actor)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

N_CLASSES = 4
AUDIO = (3, 8)  # (C, L)
VIDEO = (2, 3, 6, 6)  # (T, 3, H, W)


class ToyAV(Dataset):
    """Classes separable from the audio channel means and the video brightness; uint8 video like the cache."""

    def __init__(self, n: int, seed: int, task: str = "classification", signal: float = 1.0):
        rng = np.random.default_rng(seed)
        self.task = task
        labels = rng.integers(0, N_CLASSES, n)
        self.audio = rng.normal(size=(n, *AUDIO)).astype(np.float32)
        self.audio[:, 0, :] += signal * labels[:, None]
        base = rng.integers(40, 80, size=(n, *VIDEO))
        self.video = np.clip(base + 30 * labels[:, None, None, None, None], 0, 255).astype(np.uint8)
        if task == "classification":
            self.target = labels.astype(np.int64)
        elif task == "regression":
            self.target = (labels - 1.5).astype(np.float32)  # in [-1.5, 1.5], like a sentiment score
        else:  # multilabel: (6,) intensities, emotion j present iff label == j % 4
            onehot = np.eye(N_CLASSES, dtype=np.float32)[labels]
            self.target = np.concatenate([onehot, onehot[:, :2] * 0.5], axis=1)

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, i: int) -> dict:
        return {
            "audio": torch.from_numpy(self.audio[i]),
            "video": torch.from_numpy(self.video[i]),
            "target": torch.as_tensor(self.target[i]),
            "id": f"clip{i}",
            "actor": f"{i % 4:02d}",
        }


def unpack(batch: dict, device: torch.device):
    """The data contract's to_device: uint8 video -> float in [0, 1]."""
    video = batch["video"].to(device)
    if video.dtype == torch.uint8:
        video = video.float() / 255.0
    return batch["audio"].to(device), video, batch["target"].to(device)


class ToyModel(nn.Module):
    """Pools each modality and classifies the concatenation: (B, C, L), (B, T, 3, H, W) -> (B, n_out)."""

    def __init__(self, n_out: int = N_CLASSES, use: str = "both"):
        super().__init__()
        self.use = use
        self.audio = nn.Linear(AUDIO[0], 8)
        self.video = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(16, n_out)

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        a = self.audio(audio.mean(dim=2))  # (B, C, L) -> (B, 8)
        b, t = video.shape[:2]
        v = self.video(video.flatten(0, 1)).mean(dim=(2, 3)).view(b, t, -1).mean(dim=1)  # -> (B, 8)
        if self.use == "audio":
            v = torch.zeros_like(v)
        return self.head(torch.cat([a, v], dim=1))


def loaders(n_train: int = 64, n_eval: int = 32, seed: int = 0, task: str = "classification", batch: int = 16):
    """Train/val/test loaders over ToyAV; the train order is fixed by a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "train": DataLoader(ToyAV(n_train, 1, task), batch_size=batch, shuffle=True, generator=gen),
        "val": DataLoader(ToyAV(n_eval, 2, task), batch_size=batch),
        "test": DataLoader(ToyAV(n_eval, 3, task), batch_size=batch),
    }
