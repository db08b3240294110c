"""Fusion of the two encoders: hooks after stage 1 (`intermediate`) and after stage 2 (`late`).

Sequences are channel-first between stages: audio (B, Ca, La), video (B, Cv, T).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import PositiveFloat, PositiveInt, model_validator
from torch import nn

from avtca.config.base import Strict
from avtca.models.blocks import AttentionBlock, CrossAttention
from avtca.registry import Registry

FUSIONS: Registry[nn.Module] = Registry("model.fusion")

# ---------------------------------------------------------------- configs (one per kind)


class FusionNone(Strict):
    """Late concatenation only: the encoders never see each other."""

    kind: Literal["none"] = "none"
    # where the modalities first see each other: "intermediate" (between the encoders' stages 1 and 2),
    # "late" (after stage 2) or None; ModelConfig checks `heads` against the widths at that point
    mixes_at: ClassVar[str | None] = None


class FusionLT(Strict):
    """Late transformer: after stage 2, audio queries video and video queries audio."""

    kind: Literal["lt"] = "lt"
    mixes_at: ClassVar[str | None] = "late"
    heads: PositiveInt = 8
    mlp_ratio: PositiveFloat = 2.0

    @model_validator(mode="after")
    def _heads_divide_width(self) -> FusionLT:
        if 128 % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide the stage-2 width 128")
        return self


class FusionIT(Strict):
    """Intermediate transformer (the paper's): cross-attention blocks added residually after stage 1."""

    kind: Literal["it"] = "it"
    mixes_at: ClassVar[str | None] = "intermediate"
    heads: PositiveInt = 8
    mlp_ratio: PositiveFloat = 2.0


class FusionIA(Strict):
    """Intermediate attention: head-averaged attention maps gate the other modality after stage 1."""

    kind: Literal["ia"] = "ia"
    mixes_at: ClassVar[str | None] = "intermediate"
    heads: PositiveInt = 8


Pair = tuple[torch.Tensor, torch.Tensor]


def _seq(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(1, 2)  # (B, C, L) <-> (B, L, C)


class Fusion(nn.Module):
    """Base: both hooks are identity, so 'none' leaves the encoders independent until the head."""

    def intermediate(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        """Stage-1 outputs (B, Ca, La), (B, Cv, T) -> same shapes."""
        return a, v

    def late(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        """Stage-2 outputs (B, 128, La), (B, 128, T) -> same shapes."""
        return a, v


class IntermediateTransformer(Fusion):
    """'it': audio queries video and video queries audio after stage 1; outputs added residually."""

    def __init__(self, audio_dim: int, video_dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.audio_from_video = AttentionBlock(audio_dim, video_dim, audio_dim, heads, mlp_ratio)
        self.video_from_audio = AttentionBlock(video_dim, audio_dim, video_dim, heads, mlp_ratio)

    def intermediate(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        sa, sv = _seq(a), _seq(v)  # (B, La, 128), (B, T, 64)
        return a + _seq(self.audio_from_video(sa, sv)), v + _seq(self.video_from_audio(sv, sa))


class IntermediateAttention(Fusion):
    """'ia': head-averaged attention maps, summed over queries, scale the other modality's time steps."""

    def __init__(self, audio_dim: int, video_dim: int, heads: int):
        super().__init__()
        self.audio_from_video = CrossAttention(audio_dim, video_dim, audio_dim, heads, project=False)
        self.video_from_audio = CrossAttention(video_dim, audio_dim, video_dim, heads, project=False)

    def intermediate(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        sa, sv = _seq(a), _seq(v)
        attn_av, _ = self.audio_from_video.attention_map(sa, sv)  # (B, h, La, T)
        attn_va, _ = self.video_from_audio.attention_map(sv, sa)  # (B, h, T, La)
        video_weight = attn_av.mean(1).sum(1)[:, None, :]  # (B, 1, T): attention each video step receives
        audio_weight = attn_va.mean(1).sum(1)[:, None, :]  # (B, 1, La)
        return audio_weight * a, video_weight * v


class LateTransformer(Fusion):
    """'lt': after stage 2 each modality is replaced by its attention over the other (no residual, as released)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.audio_from_video = AttentionBlock(dim, dim, dim, heads, mlp_ratio)
        self.video_from_audio = AttentionBlock(dim, dim, dim, heads, mlp_ratio)

    def late(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        sa, sv = _seq(a), _seq(v)
        return _seq(self.audio_from_video(sa, sv)), _seq(self.video_from_audio(sv, sa))


@FUSIONS.register(FusionNone)
def _none(cfg: FusionNone, audio_dim: int, video_dim: int, dim: int) -> Fusion:
    return Fusion()


@FUSIONS.register(FusionIT)
def _it(cfg: FusionIT, audio_dim: int, video_dim: int, dim: int) -> Fusion:
    return IntermediateTransformer(audio_dim, video_dim, cfg.heads, cfg.mlp_ratio)


@FUSIONS.register(FusionIA)
def _ia(cfg: FusionIA, audio_dim: int, video_dim: int, dim: int) -> Fusion:
    return IntermediateAttention(audio_dim, video_dim, cfg.heads)


@FUSIONS.register(FusionLT)
def _lt(cfg: FusionLT, audio_dim: int, video_dim: int, dim: int) -> Fusion:
    return LateTransformer(dim, cfg.heads, cfg.mlp_ratio)
