"""Tiny CPU-sized inputs and configs shared by the model tests."""

from __future__ import annotations

import torch

from tests.tiny import FRAMES, IMAGE_SIZE
from tests.tiny import MODEL as TINY  # noqa: F401 - the one tiny configuration (tests/tiny.py)

B, T, SIZE, N_MFCC, L = 2, FRAMES, IMAGE_SIZE, 10, 16


def audio_batch(c: int = N_MFCC, length: int = L, requires_grad: bool = False) -> torch.Tensor:
    """(B, C, L) standard-normal audio features."""
    return torch.randn(B, c, length).requires_grad_(requires_grad)


def video_batch(requires_grad: bool = False) -> torch.Tensor:
    """(B, T, 3, H, W) frames in [0, 1]."""
    return torch.rand(B, T, 3, SIZE, SIZE).requires_grad_(requires_grad)
