"""Audio encoders: 'mfcc' (as released), 'logmel', 'features' (pre-extracted, e.g. COVAREP).

`stage1(audio) -> (B, 128, L1)`, `stage2(x) -> (B, 128, L2)`; intermediate fusion sits between them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import PositiveInt
from torch import nn

from avtca.config.base import Strict
from avtca.models.blocks import conv_bn_relu_1d
from avtca.registry import Registry

AUDIO_ENCODERS: Registry[nn.Module] = Registry("model.audio")

OUT_DIM = 128  # both stages of every audio encoder

# ---------------------------------------------------------------- configs (one per kind)


class AudioMFCC(Strict):
    """MFCC (B, n_mfcc, L) -> Conv1d stages 10->64->128 | 128->256->128 (valid conv + maxpool), as released."""

    kind: Literal["mfcc"] = "mfcc"
    stage1_dim: ClassVar[int] = OUT_DIM  # channels where intermediate fusion mixes
    n_mfcc: PositiveInt = 10

    @property
    def in_channels(self) -> int:
        """Channels C of the (B, C, L) input."""
        return self.n_mfcc


class AudioLogMel(Strict):
    """Log-mel (B, n_mels, L): input BatchNorm (log-mel scales vary by band), then the MFCC conv stages."""

    kind: Literal["logmel"] = "logmel"
    stage1_dim: ClassVar[int] = OUT_DIM  # channels where intermediate fusion mixes
    n_mels: PositiveInt = 64

    @property
    def in_channels(self) -> int:
        """Channels C of the (B, C, L) input."""
        return self.n_mels


class AudioFeatures(Strict):
    """Pre-extracted acoustic features (MOSEI COVAREP), (B, in_dim, L); 'same' padding keeps short sequences."""

    kind: Literal["features"] = "features"
    stage1_dim: ClassVar[int] = OUT_DIM  # channels where intermediate fusion mixes
    in_dim: PositiveInt = 74

    @property
    def in_channels(self) -> int:
        """Channels C of the (B, C, L) input."""
        return self.in_dim


class ConvAudioEncoder(nn.Module):
    """(B, C, L) -> Conv1d stages C->64->128 | 128->256->128.

    With `valid=True` (released MFCC net) each conv+maxpool block shortens L by 3: 156 -> 150 -> 144.
    """

    def __init__(self, in_dim: int, valid: bool = True, input_norm: bool = False, path: str = "model.audio"):
        super().__init__()
        self.in_dim, self.path = in_dim, path
        self.dim1, self.dim2 = OUT_DIM, OUT_DIM
        pad = "valid" if valid else "same"
        self.input_norm = nn.BatchNorm1d(in_dim) if input_norm else nn.Identity()
        self.block1 = nn.Sequential(conv_bn_relu_1d(in_dim, 64, pad, valid), conv_bn_relu_1d(64, 128, pad, valid))
        self.block2 = nn.Sequential(conv_bn_relu_1d(128, 256, pad, valid), conv_bn_relu_1d(256, OUT_DIM, pad, valid))
        self.min_length = 13 if valid else 1  # four 'valid' blocks remove 12 steps

    def stage1(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, C, L) -> (B, 128, L - 6) ('valid') or (B, 128, L)."""
        if audio.dim() != 3 or audio.shape[1] != self.in_dim or audio.shape[2] < self.min_length:
            raise ValueError(
                f"audio: expected (B, {self.in_dim}, L>={self.min_length}) (see {self.path}), got {tuple(audio.shape)}"
            )
        return self.block1(self.input_norm(audio))

    def stage2(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 128, L1) -> (B, 128, L1 - 6) ('valid') or (B, 128, L1)."""
        return self.block2(x)


@AUDIO_ENCODERS.register(AudioMFCC)
def _mfcc(cfg: AudioMFCC) -> nn.Module:
    return ConvAudioEncoder(cfg.n_mfcc, path="model.audio.n_mfcc")


@AUDIO_ENCODERS.register(AudioLogMel)
def _logmel(cfg: AudioLogMel) -> nn.Module:
    return ConvAudioEncoder(cfg.n_mels, input_norm=True, path="model.audio.n_mels")


@AUDIO_ENCODERS.register(AudioFeatures)
def _audio_features(cfg: AudioFeatures) -> nn.Module:
    return ConvAudioEncoder(cfg.in_dim, valid=False, input_norm=True, path="model.audio.in_dim")
