"""Training-time modality dropout on the raw inputs; identity in eval mode.

The released training script expands each batch (x4 for softhard, x3 for noise) with copies whose
audio or video is scaled, zeroed or replaced by noise. A model component cannot touch the targets, so
here each sample draws one of those variants instead: the same mixture, in expectation, at batch size B.
The first sample of every batch is always kept intact: a batch whose video (or audio) is zeroed in every
sample feeds constant inputs to every BatchNorm, whose backward then scales gradients by ~1/sqrt(eps)
per layer until they overflow (the released code's expanded batches always hold the originals too).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import PositiveFloat
from torch import nn

from avtca.config.base import Strict
from avtca.registry import Registry

MODALITY_DROPOUT: Registry[nn.Module] = Registry("model.modality_dropout")

# ---------------------------------------------------------------- configs (one per kind)


class ModalityDropoutOff(Strict):
    """Inputs pass unchanged."""

    kind: Literal["off"] = "off"


class ModalityDropoutSoftHard(Strict):
    """Released 'softhard': per sample one of {both, soft mix c/(1-c), audio zeroed, video zeroed}."""

    kind: Literal["softhard"] = "softhard"


class ModalityDropoutNoise(Strict):
    """Released 'noise': per sample one of {both, audio -> N(0, std), video -> N(0, std)}."""

    kind: Literal["noise"] = "noise"
    std: PositiveFloat = 1.0


Pair = tuple[torch.Tensor, torch.Tensor]


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)  # (B,) -> (B, 1, ..., 1)


class NoDropout(nn.Module):
    """Identity."""

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> Pair:
        return audio, video


class SoftHardDropout(nn.Module):
    """Per sample: keep both | audio*c and video*(1-c) with c ~ U{0, .01, ..., .99} | audio zeroed | video zeroed."""

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> Pair:
        if not self.training:
            return audio, video
        b, dev = audio.shape[0], audio.device
        variant = torch.randint(0, 4, (b,), device=dev)
        variant[0] = 0  # keep one intact sample per batch, see module docstring
        coef = torch.randint(0, 100, (b,), device=dev) / 100
        ones = torch.ones(b, device=dev)
        a_scale = torch.where(variant == 1, coef, torch.where(variant == 2, 0 * ones, ones))
        v_scale = torch.where(variant == 1, 1 - coef, torch.where(variant == 3, 0 * ones, ones))
        return audio * _per_sample(a_scale, audio), video * _per_sample(v_scale, video)


class NoiseDropout(nn.Module):
    """Per sample: keep both | audio replaced by N(0, std^2) noise | video replaced by noise."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> Pair:
        if not self.training:
            return audio, video
        variant = torch.randint(0, 3, (audio.shape[0],), device=audio.device)
        variant[0] = 0  # keep one intact sample per batch, see module docstring
        a_noise = _per_sample(variant == 1, audio).bool()
        v_noise = _per_sample(variant == 2, video).bool()
        audio = torch.where(a_noise, torch.randn_like(audio) * self.std, audio)
        video = torch.where(v_noise, torch.randn_like(video) * self.std, video)
        return audio, video


@MODALITY_DROPOUT.register(ModalityDropoutOff)
def _off(cfg: ModalityDropoutOff) -> nn.Module:
    return NoDropout()


@MODALITY_DROPOUT.register(ModalityDropoutSoftHard)
def _softhard(cfg: ModalityDropoutSoftHard) -> nn.Module:
    return SoftHardDropout()


@MODALITY_DROPOUT.register(ModalityDropoutNoise)
def _noise(cfg: ModalityDropoutNoise) -> nn.Module:
    return NoiseDropout(cfg.std)
