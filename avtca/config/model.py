"""ModelConfig: one discriminated union (on `kind`) per model slot; "off" is a kind, never a boolean."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator, model_validator

from avtca.config.base import Strict

# ---------------------------------------------------------------- video modulator parts (EfficientFace)


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


ChannelAttentionCfg = Annotated[
    ChannelAttentionECA | ChannelAttentionOff | ChannelAttentionSE, Field(discriminator="kind")
]
SpatialAttentionCfg = Annotated[
    SpatialAttentionCBAM | SpatialAttentionConv | SpatialAttentionOff, Field(discriminator="kind")
]
LocalFeaturesCfg = Annotated[LocalFeaturesLFE | LocalFeaturesOff, Field(discriminator="kind")]

# ---------------------------------------------------------------- encoders


class VideoFrames(Strict):
    """Face frames (B, T, 3, H, W) -> EfficientFace per frame -> temporal Conv1d stages."""

    kind: Literal["frames"] = "frames"
    frames: PositiveInt = 15
    image_size: Annotated[int, Field(ge=32)] = 224
    channel_attention: ChannelAttentionCfg = Field(default_factory=ChannelAttentionSE)
    spatial_attention: SpatialAttentionCfg = Field(default_factory=SpatialAttentionConv)
    local_features: LocalFeaturesCfg = Field(default_factory=LocalFeaturesLFE)
    # ShuffleNetV2 stages 2, 3, 4 that get a modulator (+ local branch); the released code uses stage 2
    modulator_stages: list[Literal[2, 3, 4]] = Field(default_factory=lambda: [2])
    stage_repeats: Annotated[list[PositiveInt], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: [4, 8, 4]
    )
    temporal_dim: PositiveInt = 64

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


class AudioMFCC(Strict):
    """MFCC (B, n_mfcc, L) -> Conv1d stages 10->64->128 | 128->256->128 (valid conv + maxpool), as released."""

    kind: Literal["mfcc"] = "mfcc"
    n_mfcc: PositiveInt = 10


class AudioLogMel(Strict):
    """Log-mel (B, n_mels, L): input BatchNorm (log-mel scales vary by band), then the MFCC conv stages."""

    kind: Literal["logmel"] = "logmel"
    n_mels: PositiveInt = 64


class AudioFeatures(Strict):
    """Pre-extracted acoustic features (MOSEI COVAREP), (B, in_dim, L); 'same' padding keeps short sequences."""

    kind: Literal["features"] = "features"
    in_dim: PositiveInt = 74


VideoCfg = Annotated[VideoFeatures | VideoFrames, Field(discriminator="kind")]
AudioCfg = Annotated[AudioFeatures | AudioLogMel | AudioMFCC, Field(discriminator="kind")]

# ---------------------------------------------------------------- fusion


class FusionNone(Strict):
    """Late concatenation only: the encoders never see each other."""

    kind: Literal["none"] = "none"


class FusionLT(Strict):
    """Late transformer: after stage 2, audio queries video and video queries audio."""

    kind: Literal["lt"] = "lt"
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
    heads: PositiveInt = 8
    mlp_ratio: PositiveFloat = 2.0


class FusionIA(Strict):
    """Intermediate attention: head-averaged attention maps gate the other modality after stage 1."""

    kind: Literal["ia"] = "ia"
    heads: PositiveInt = 8


FusionCfg = Annotated[FusionIA | FusionIT | FusionLT | FusionNone, Field(discriminator="kind")]

# ---------------------------------------------------------------- cross attention


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


class CrossAttentionSharedSelf(_HeadsDivideDim):
    """The released code: one shared MultiheadAttention used as self-attention on each modality."""

    kind: Literal["shared_self"] = "shared_self"
    dim: PositiveInt = 128
    heads: PositiveInt = 8


class CrossAttentionBidirectional(_HeadsDivideDim):
    """The paper: audio queries video and video queries audio; residual + LayerNorm + feed-forward."""

    kind: Literal["bidirectional"] = "bidirectional"
    dim: PositiveInt = 128
    heads: PositiveInt = 8
    ff_mult: PositiveInt = 2
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1


class CrossAttentionGated(_HeadsDivideDim):
    """Bidirectional cross attention whose update is gated by the agreement of query and attended context."""

    kind: Literal["gated"] = "gated"
    dim: PositiveInt = 128
    heads: PositiveInt = 8
    ff_mult: PositiveInt = 2
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1


CrossAttentionCfg = Annotated[
    CrossAttentionBidirectional | CrossAttentionGated | CrossAttentionOff | CrossAttentionSharedSelf,
    Field(discriminator="kind"),
]

# ---------------------------------------------------------------- heads


class Classification(Strict):
    """Single-label classification logits (B, n_classes)."""

    kind: Literal["classification"] = "classification"
    n_classes: Annotated[int, Field(ge=2)] = 8
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class Regression(Strict):
    """One real value per sample (B, 1), e.g. MOSEI sentiment."""

    kind: Literal["regression"] = "regression"
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class MultiLabel(Strict):
    """Independent per-label outputs (B, n_labels), e.g. MOSEI's six emotion intensities."""

    kind: Literal["multilabel"] = "multilabel"
    n_labels: PositiveInt = 6
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


HeadCfg = Annotated[Classification | MultiLabel | Regression, Field(discriminator="kind")]

# ---------------------------------------------------------------- modality dropout (training only)


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


ModalityDropoutCfg = Annotated[
    ModalityDropoutNoise | ModalityDropoutOff | ModalityDropoutSoftHard, Field(discriminator="kind")
]

# ---------------------------------------------------------------- the model


class ModelConfig(Strict):
    """The whole model; defaults are the paper's AVT-CA (preset `avtca`) on RAVDESS's 8 classes."""

    video: VideoCfg = Field(default_factory=VideoFrames)
    audio: AudioCfg = Field(default_factory=AudioMFCC)
    fusion: FusionCfg = Field(default_factory=FusionIT)
    cross_attention: CrossAttentionCfg = Field(default_factory=CrossAttentionBidirectional)
    head: HeadCfg = Field(default_factory=Classification)
    modality_dropout: ModalityDropoutCfg = Field(default_factory=ModalityDropoutSoftHard)
    modalities: Literal["audio_video", "audio", "video"] = "audio_video"

    @field_validator("fusion")
    @classmethod
    def _fusion_heads_divide_stage1_widths(cls, fusion: FusionCfg, info: ValidationInfo) -> FusionCfg:
        video = info.data.get("video")  # validated before fusion (field order)
        if fusion.kind in ("it", "ia") and video is not None:
            widths = (video.temporal_dim, 128)  # video and audio stage-1 widths
            if any(w % fusion.heads for w in widths):
                raise ValueError(
                    f"heads ({fusion.heads}) must divide video.temporal_dim ({widths[0]}) and the audio width 128"
                )
        return fusion


def n_outputs(head: Classification | Regression | MultiLabel) -> int:
    """Width of the model output for a head config."""
    if isinstance(head, Classification):
        return head.n_classes
    if isinstance(head, MultiLabel):
        return head.n_labels
    return 1
