"""Tiny CPU-sized inputs and configs shared by the model tests."""

from __future__ import annotations

import torch

# 2 frames of 32x32, one ShuffleNet unit per stage: same code paths as 15 x 224x224, ~100x cheaper
# modality dropout is off so that gradient checks are deterministic (it has its own tests)
TINY = {"video.frames": 2, "video.image_size": 32, "video.stage_repeats": [1, 1, 1], "modality_dropout.kind": "off"}
B, T, SIZE, N_MFCC, L = 2, 2, 32, 10, 16


def audio_batch(c: int = N_MFCC, length: int = L, requires_grad: bool = False) -> torch.Tensor:
    """(B, C, L) standard-normal audio features."""
    return torch.randn(B, c, length).requires_grad_(requires_grad)


def video_batch(requires_grad: bool = False) -> torch.Tensor:
    """(B, T, 3, H, W) frames in [0, 1]."""
    return torch.rand(B, T, 3, SIZE, SIZE).requires_grad_(requires_grad)
