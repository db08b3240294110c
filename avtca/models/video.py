"""Video encoders: 'frames' (EfficientFace per frame + temporal Conv1d) and 'features' (pre-extracted sequences).

An encoder has two temporal stages so intermediate fusion can sit between them:
`stage1(video) -> (B, dim1, T)` and `stage2(x) -> (B, 128, T)`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field, PositiveInt, field_validator, model_validator
from torch import nn

from avtca.config.base import Strict
from avtca.models.blocks import conv_bn_relu_1d, shuffle_stage
from avtca.models.video_attention import (
    CHANNEL_ATTENTION,
    LOCAL_FEATURES,
    SPATIAL_ATTENTION,
    ChannelAttentionSE,
    LocalFeaturesLFE,
    Modulator,
    SpatialAttentionConv,
)
from avtca.registry import Registry

VIDEO_ENCODERS: Registry[nn.Module] = Registry("model.video")

# ---------------------------------------------------------------- configs (one per kind)


class VideoFrames(Strict):
    """Face frames (B, T, 3, H, W) -> EfficientFace per frame -> temporal Conv1d stages."""

    kind: Literal["frames"] = "frames"
    frames: PositiveInt = 15
    image_size: Annotated[int, Field(ge=32)] = 224
    channel_attention: Annotated[Strict, CHANNEL_ATTENTION] = Field(default_factory=ChannelAttentionSE)
    spatial_attention: Annotated[Strict, SPATIAL_ATTENTION] = Field(default_factory=SpatialAttentionConv)
    local_features: Annotated[Strict, LOCAL_FEATURES] = Field(default_factory=LocalFeaturesLFE)
    # ShuffleNetV2 stages 2, 3, 4 that get a modulator (+ local branch); the released code uses stage 2
    modulator_stages: list[Literal[2, 3, 4]] = Field(default_factory=lambda: [2])
    stage_repeats: Annotated[list[PositiveInt], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: [4, 8, 4]
    )
    temporal_dim: PositiveInt = 64

    @property
    def stage1_dim(self) -> int:
        """Channels between the two temporal stages (where intermediate fusion mixes)."""
        return self.temporal_dim

    def input_shape(self, batch: int, steps: int) -> tuple[int, ...]:
        """The video tensor this encoder reads (`steps` is ignored: the clip has `frames` frames)."""
        return (batch, self.frames, 3, self.image_size, self.image_size)

    @model_validator(mode="after")
    def _maps_fit_local_branch(self) -> VideoFrames:
        if self.local_features.kind == "off":
            return self
        size = self.image_size
        for stage in (2, 3, 4):
            size = -(-size // 4) if stage == 2 else -(-size // 2)  # stem+maxpool / previous stage halve (ceil)
            if stage in self.modulator_stages and size < 3:
                raise ValueError(
                    f"image_size {self.image_size} is too small for local_features at stage {stage} "
                    f"(its input map would be {size}x{size}; needs >= 3x3)"
                )
        return self

    @field_validator("modulator_stages")
    @classmethod
    def _unique_stages(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError(f"stages must be unique, got {v}")
        return sorted(v)


class VideoFeatures(Strict):
    """Pre-extracted per-step visual features (MOSEI FACET), (B, in_dim, L)."""

    kind: Literal["features"] = "features"
    in_dim: PositiveInt = 35
    temporal_dim: PositiveInt = 64

    @property
    def stage1_dim(self) -> int:
        """Channels between the two temporal stages (where intermediate fusion mixes)."""
        return self.temporal_dim

    def input_shape(self, batch: int, steps: int) -> tuple[int, ...]:
        """The video tensor this encoder reads: (B, in_dim, steps)."""
        return (batch, self.in_dim, steps)


STAGE_CHANNELS = (29, 116, 232, 464)  # stem, stage2, stage3, stage4 (EfficientFace / ShuffleNetV2 x1.0 widths)
FRAME_DIM = 1024  # conv5 output, one vector per frame
OUT_DIM = 128  # stage-2 width shared by both encoders, fusion and cross attention


class FramesEncoder(nn.Module):
    """(B, T, 3, H, W) in [0, 1] -> per-frame 1024-d EfficientFace features -> temporal Conv1d stages."""

    def __init__(self, cfg: VideoFrames):
        super().__init__()
        self.frames, self.image_size = cfg.frames, cfg.image_size
        self.dim1, self.dim2 = cfg.temporal_dim, OUT_DIM
        c = STAGE_CHANNELS
        self.stem = nn.Sequential(nn.Conv2d(3, c[0], 3, 2, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        # ShuffleNetV2 stages keep their EfficientFace names: stage2 (c[1]), stage3 (c[2]), stage4 (c[3])
        self.stages = nn.ModuleDict(
            {f"stage{s}": shuffle_stage(c[s - 2], c[s - 1], r) for s, r in zip((2, 3, 4), cfg.stage_repeats)}
        )
        # modulator (+ local branch) after each configured stage; stage s maps c[s-2] -> c[s-1] channels
        self.modulators = nn.ModuleDict()
        self.local = nn.ModuleDict()
        for s in cfg.modulator_stages:
            c_in, c_out = c[s - 2], c[s - 1]
            channel = CHANNEL_ATTENTION.build(cfg.channel_attention, channels=c_out)
            spatial = SPATIAL_ATTENTION.build(cfg.spatial_attention, channels=c_out)
            self.modulators[f"stage{s}"] = Modulator(channel, spatial)
            self.local[f"stage{s}"] = LOCAL_FEATURES.build(cfg.local_features, in_channels=c_in, out_channels=c_out)
        self.conv5 = nn.Sequential(
            nn.Conv2d(c[3], FRAME_DIM, 1, bias=False), nn.BatchNorm2d(FRAME_DIM), nn.ReLU(inplace=True)
        )
        self.block1 = nn.Sequential(conv_bn_relu_1d(FRAME_DIM, self.dim1), conv_bn_relu_1d(self.dim1, self.dim1))
        self.block2 = nn.Sequential(conv_bn_relu_1d(self.dim1, OUT_DIM), conv_bn_relu_1d(OUT_DIM, OUT_DIM))

    def _stage(self, name: str, x: torch.Tensor) -> torch.Tensor:
        y = self.stages[name](x)
        if name in self.modulators:
            y = self.modulators[name](y)
            local = self.local[name](x)  # (B*T, c_out, H/2, W/2) from the stage input
            if local is not None:
                y = y + local
        return y

    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 1024): the EfficientFace trunk with global average pooling."""
        x = self.maxpool(self.stem(frames))  # (N, 29, H/4, W/4)
        for name in self.stages:
            x = self._stage(name, x)  # H/8, H/16, H/32
        return self.conv5(x).mean((2, 3))

    def stage1(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, temporal_dim, T)."""
        if video.dim() != 5 or video.shape[2] != 3 or tuple(video.shape[3:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"video: expected (B, T, 3, {self.image_size}, {self.image_size}) frames "
                f"(model.video.image_size={self.image_size}), got {tuple(video.shape)}"
            )
        b, t = video.shape[:2]
        if t != self.frames:
            raise ValueError(
                f"video: expected {self.frames} frames (model.video.frames), got {t} in {tuple(video.shape)}"
            )
        feats = self.frame_features(video.reshape(b * t, *video.shape[2:]))  # (B*T, 1024)
        return self.block1(feats.view(b, t, FRAME_DIM).transpose(1, 2))  # (B, 1024, T) -> (B, 64, T)

    def stage2(self, x: torch.Tensor) -> torch.Tensor:
        """(B, temporal_dim, T) -> (B, 128, T)."""
        return self.block2(x)


class VideoFeatureEncoder(nn.Module):
    """(B, in_dim, L) pre-extracted features -> Conv1d stages ('same' padding keeps L)."""

    def __init__(self, cfg: VideoFeatures):
        super().__init__()
        self.in_dim, self.dim1, self.dim2 = cfg.in_dim, cfg.temporal_dim, OUT_DIM
        self.block1 = nn.Sequential(conv_bn_relu_1d(cfg.in_dim, self.dim1), conv_bn_relu_1d(self.dim1, self.dim1))
        self.block2 = nn.Sequential(conv_bn_relu_1d(self.dim1, OUT_DIM), conv_bn_relu_1d(OUT_DIM, OUT_DIM))

    def stage1(self, video: torch.Tensor) -> torch.Tensor:
        """(B, in_dim, L) -> (B, temporal_dim, L)."""
        if video.dim() != 3 or video.shape[1] != self.in_dim:
            raise ValueError(
                f"video: expected features (B, {self.in_dim}, L) (model.video.in_dim), got {tuple(video.shape)}"
            )
        return self.block1(video)

    def stage2(self, x: torch.Tensor) -> torch.Tensor:
        """(B, temporal_dim, L) -> (B, 128, L)."""
        return self.block2(x)


@VIDEO_ENCODERS.register(VideoFrames)
def _frames(cfg: VideoFrames) -> nn.Module:
    return FramesEncoder(cfg)


@VIDEO_ENCODERS.register(VideoFeatures)
def _video_features(cfg: VideoFeatures) -> nn.Module:
    return VideoFeatureEncoder(cfg)
