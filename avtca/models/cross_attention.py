"""Attention after stage 2 and before pooling: off, shared_self (released code), bidirectional (paper), gated.

Inputs and outputs are channel-first: audio (B, in_dim, La), video (B, in_dim, T) -> (B, out_dim, La), (B, out_dim, T).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field, PositiveInt, model_validator
from torch import nn

from avtca.config.base import Strict
from avtca.registry import Registry

CROSS_ATTENTION: Registry[nn.Module] = Registry("model.cross_attention")

# ---------------------------------------------------------------- configs (one per kind)


class _HeadsDivideDim(Strict):
    """Shared check: attention heads split `dim` evenly."""

    @model_validator(mode="after")
    def _heads_divide_dim(self):
        if self.dim % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide dim ({self.dim})")
        return self


class CrossAttentionOff(Strict):
    """No attention after stage 2."""

    kind: Literal["off"] = "off"
    crosses: ClassVar[bool] = False  # whether each output reads the other modality


class CrossAttentionSharedSelf(_HeadsDivideDim):
    """The released code: one shared MultiheadAttention used as self-attention on each modality."""

    kind: Literal["shared_self"] = "shared_self"
    crosses: ClassVar[bool] = False
    dim: PositiveInt = 128
    heads: PositiveInt = 8


class CrossAttentionBidirectional(_HeadsDivideDim):
    """The paper: audio queries video and video queries audio; residual + LayerNorm + feed-forward."""

    kind: Literal["bidirectional"] = "bidirectional"
    crosses: ClassVar[bool] = True
    dim: PositiveInt = 128
    heads: PositiveInt = 8
    ff_mult: PositiveInt = 2
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1


class CrossAttentionGated(_HeadsDivideDim):
    """Bidirectional cross attention whose update is gated by the agreement of query and attended context."""

    kind: Literal["gated"] = "gated"
    crosses: ClassVar[bool] = True
    dim: PositiveInt = 128
    heads: PositiveInt = 8
    ff_mult: PositiveInt = 2
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1


Pair = tuple[torch.Tensor, torch.Tensor]


def _project(in_dim: int, dim: int) -> nn.Module:
    return nn.Identity() if in_dim == dim else nn.Linear(in_dim, dim)


class CrossAttentionOffModule(nn.Module):
    """Identity: features go straight to pooling."""

    def __init__(self, in_dim: int):
        super().__init__()
        self.out_dim = in_dim

    def forward(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        return a, v


class SharedSelfAttention(nn.Module):
    """One MultiheadAttention shared by both modalities, each attending to itself (no residual, as released)."""

    def __init__(self, in_dim: int, dim: int, heads: int):
        super().__init__()
        self.out_dim = dim
        self.proj = _project(in_dim, dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def _self(self, x: torch.Tensor) -> torch.Tensor:
        s = self.proj(x.transpose(1, 2))  # (B, L, dim)
        return self.attn(s, s, s, need_weights=False)[0].transpose(1, 2)

    def forward(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        return self._self(a), self._self(v)


class CrossLayer(nn.Module):
    """Post-norm transformer layer whose attention queries one modality and reads the other.

    With `gated`, the attended context is scaled by sigmoid(W (x * context)): the update is let through
    where the query and what it found in the other modality agree.
    """

    def __init__(self, dim: int, heads: int, ff_mult: int, dropout: float, gated: bool = False):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(dim, dim) if gated else None
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_mult * dim, dim)
        )
        self.norm2 = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """x (B, Lq, dim) queries context (B, Lk, dim) -> (B, Lq, dim)."""
        found = self.attn(x, context, context, need_weights=False)[0]
        if self.gate is not None:
            found = torch.sigmoid(self.gate(x * found)) * found
        x = self.norm1(x + self.drop(found))
        return self.norm2(x + self.drop(self.ff(x)))


class BidirectionalCrossAttention(nn.Module):
    """Audio queries video and video queries audio, each with its own layer, computed from the same inputs."""

    def __init__(self, in_dim: int, dim: int, heads: int, ff_mult: int, dropout: float, gated: bool = False):
        super().__init__()
        self.out_dim = dim
        self.proj_audio = _project(in_dim, dim)
        self.proj_video = _project(in_dim, dim)
        self.audio_from_video = CrossLayer(dim, heads, ff_mult, dropout, gated)
        self.video_from_audio = CrossLayer(dim, heads, ff_mult, dropout, gated)

    def forward(self, a: torch.Tensor, v: torch.Tensor) -> Pair:
        sa, sv = self.proj_audio(a.transpose(1, 2)), self.proj_video(v.transpose(1, 2))  # (B, La, dim), (B, T, dim)
        return self.audio_from_video(sa, sv).transpose(1, 2), self.video_from_audio(sv, sa).transpose(1, 2)


@CROSS_ATTENTION.register(CrossAttentionOff)
def _off(cfg: CrossAttentionOff, in_dim: int) -> nn.Module:
    return CrossAttentionOffModule(in_dim)


@CROSS_ATTENTION.register(CrossAttentionSharedSelf)
def _shared_self(cfg: CrossAttentionSharedSelf, in_dim: int) -> nn.Module:
    return SharedSelfAttention(in_dim, cfg.dim, cfg.heads)


@CROSS_ATTENTION.register(CrossAttentionBidirectional)
def _bidirectional(cfg: CrossAttentionBidirectional, in_dim: int) -> nn.Module:
    return BidirectionalCrossAttention(in_dim, cfg.dim, cfg.heads, cfg.ff_mult, cfg.dropout)


@CROSS_ATTENTION.register(CrossAttentionGated)
def _gated(cfg: CrossAttentionGated, in_dim: int) -> nn.Module:
    return BidirectionalCrossAttention(in_dim, cfg.dim, cfg.heads, cfg.ff_mult, cfg.dropout, gated=True)
