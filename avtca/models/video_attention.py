"""The hierarchical modulator's three swappable parts: channel gate, spatial gate, local feature extractor.

A gate returns logits (or None when off); the modulator multiplies the present logits and applies one
sigmoid, as the released code does: `sigmoid(channel * spatial) * x`. With both gates off it is identity.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import PositiveInt
from torch import nn

from avtca.config.base import Strict
from avtca.models.blocks import depthwise
from avtca.registry import Registry

CHANNEL_ATTENTION: Registry[nn.Module] = Registry("model.video.channel_attention")
SPATIAL_ATTENTION: Registry[nn.Module] = Registry("model.video.spatial_attention")
LOCAL_FEATURES: Registry[nn.Module] = Registry("model.video.local_features")

# ---------------------------------------------------------------- configs (one per kind)


class ChannelAttentionOff(Strict):
    """No channel gate."""

    kind: Literal["off"] = "off"


class ChannelAttentionSE(Strict):
    """Squeeze-excite style gate of the released modulator: pool -> FC -> BN -> ReLU -> FC."""

    kind: Literal["se"] = "se"
    reduction: PositiveInt = 16
    layers: PositiveInt = 1


class ChannelAttentionECA(Strict):
    """Efficient channel attention: pool -> 1-D conv across channels (kernel adaptive when None)."""

    kind: Literal["eca"] = "eca"
    kernel_size: PositiveInt | None = None


class SpatialAttentionOff(Strict):
    """No spatial gate."""

    kind: Literal["off"] = "off"


class SpatialAttentionConv(Strict):
    """Spatial gate of the released modulator: 1x1 reduce, dilated 3x3 convs, 1x1 to one map."""

    kind: Literal["conv"] = "conv"
    reduction: PositiveInt = 16
    dilated_convs: PositiveInt = 2
    dilation: PositiveInt = 4


class SpatialAttentionCBAM(Strict):
    """CBAM spatial gate: channel mean and max -> kxk conv -> one map."""

    kind: Literal["cbam"] = "cbam"
    kernel_size: PositiveInt = 7


class LocalFeaturesOff(Strict):
    """No local (patch) branch."""

    kind: Literal["off"] = "off"


class LocalFeaturesLFE(Strict):
    """EfficientFace local feature extractor: depthwise convs on the four quadrants of the stage input."""

    kind: Literal["lfe"] = "lfe"


class Off(nn.Module):
    """A switched-off part: contributes nothing (returns None), has no parameters."""

    def forward(self, x: torch.Tensor) -> None:
        return None


class ChannelSE(nn.Module):
    """(B, C, H, W) -> channel logits (B, C, 1, 1) from the global mean through a bottleneck MLP."""

    def __init__(self, channels: int, reduction: int = 16, layers: int = 1):
        super().__init__()
        hidden = max(1, channels // reduction)
        mods: list[nn.Module] = []
        width = channels
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
            width = hidden
        mods.append(nn.Linear(width, channels))
        self.gate = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(x.mean((2, 3)))[:, :, None, None]


class ChannelECA(nn.Module):
    """(B, C, H, W) -> channel logits (B, C, 1, 1) from a 1-D conv over the pooled channel vector."""

    def __init__(self, channels: int, kernel_size: int | None = None):
        super().__init__()
        if kernel_size is None:  # ECA-Net's adaptive size: odd k near (log2 C + 1) / 2
            k = int(abs((math.log2(channels) + 1) / 2))
            kernel_size = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.mean((2, 3))[:, None, :])  # (B, 1, C)
        return y[:, 0, :, None, None]


class SpatialConv(nn.Module):
    """(B, C, H, W) -> spatial logits (B, 1, H, W): 1x1 reduce, dilated 3x3 convs, 1x1 to one map."""

    def __init__(self, channels: int, reduction: int = 16, dilated_convs: int = 2, dilation: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        mods: list[nn.Module] = [nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU()]
        for _ in range(dilated_convs):
            conv = nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation)
            mods += [conv, nn.BatchNorm2d(hidden), nn.ReLU()]
        mods.append(nn.Conv2d(hidden, 1, 1))
        self.gate = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(x)


class SpatialCBAM(nn.Module):
    """(B, C, H, W) -> spatial logits (B, 1, H, W) from the channel mean and max maps."""

    def __init__(self, channels: int, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), dim=1)  # (B, 2, H, W)
        return self.bn(self.conv(pooled))


class LocalFeatureExtractor(nn.Module):
    """(B, Cin, H, W) -> (B, Cout, ceil(H/2), ceil(W/2)): a depthwise branch per quadrant, quadrants re-tiled.

    The released code cuts fixed 28-pixel patches of the 56x56 map. Cutting at 2*ceil(H/4) is the same
    there (H divisible by 4) and makes the re-tiled map match the stride-2 stage output, ceil(H/2), for
    any H >= 3, so small CPU inputs (e.g. 48x48 frames) work.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        if out_channels % in_channels:
            raise ValueError(
                f"local_features: out channels {out_channels} must be a multiple of in channels {in_channels}"
            )

        def branch() -> nn.Sequential:
            return nn.Sequential(
                depthwise(in_channels, out_channels, 2),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
                depthwise(out_channels, out_channels, 1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            )

        # branch order as released: top-left, bottom-left, top-right, bottom-right
        self.branches = nn.ModuleList(branch() for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = 2 * math.ceil(x.shape[2] / 4), 2 * math.ceil(x.shape[3] / 4)
        quads = (x[:, :, :h, :w], x[:, :, h:, :w], x[:, :, :h, w:], x[:, :, h:, w:])
        tl, bl, tr, br = (b(q) for b, q in zip(self.branches, quads))
        return torch.cat((torch.cat((tl, bl), dim=2), torch.cat((tr, br), dim=2)), dim=3)


class Modulator(nn.Module):
    """(B, C, H, W) -> same shape: `sigmoid(product of present gate logits) * x`; identity with both gates off."""

    def __init__(self, channel: nn.Module, spatial: nn.Module):
        super().__init__()
        self.channel = channel
        self.spatial = spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates = [g for g in (self.channel(x), self.spatial(x)) if g is not None]
        if not gates:
            return x
        logits = gates[0] if len(gates) == 1 else gates[0] * gates[1]  # (B,C,1,1)*(B,1,H,W) -> (B,C,H,W)
        return torch.sigmoid(logits) * x


@CHANNEL_ATTENTION.register(ChannelAttentionOff)
@SPATIAL_ATTENTION.register(SpatialAttentionOff)
def _off(cfg, channels: int) -> nn.Module:
    return Off()


@LOCAL_FEATURES.register(LocalFeaturesOff)
def _local_off(cfg, in_channels: int, out_channels: int) -> nn.Module:
    return Off()


@CHANNEL_ATTENTION.register(ChannelAttentionSE)
def _se(cfg: ChannelAttentionSE, channels: int) -> nn.Module:
    return ChannelSE(channels, cfg.reduction, cfg.layers)


@CHANNEL_ATTENTION.register(ChannelAttentionECA)
def _eca(cfg: ChannelAttentionECA, channels: int) -> nn.Module:
    return ChannelECA(channels, cfg.kernel_size)


@SPATIAL_ATTENTION.register(SpatialAttentionConv)
def _spatial_conv(cfg: SpatialAttentionConv, channels: int) -> nn.Module:
    return SpatialConv(channels, cfg.reduction, cfg.dilated_convs, cfg.dilation)


@SPATIAL_ATTENTION.register(SpatialAttentionCBAM)
def _cbam(cfg: SpatialAttentionCBAM, channels: int) -> nn.Module:
    return SpatialCBAM(channels, cfg.kernel_size)


@LOCAL_FEATURES.register(LocalFeaturesLFE)
def _lfe(cfg: LocalFeaturesLFE, in_channels: int, out_channels: int) -> nn.Module:
    return LocalFeatureExtractor(in_channels, out_channels)
