"""Compatibility import: the model config moved beside the components (avtca.models.config and the
slot modules); import from there in new code."""

from avtca.models.audio import AudioFeatures, AudioLogMel, AudioMFCC
from avtca.models.config import (
    AudioCfg,
    ChannelAttentionCfg,
    CrossAttentionCfg,
    FusionCfg,
    HeadCfg,
    LocalFeaturesCfg,
    ModalityDropoutCfg,
    ModelConfig,
    SpatialAttentionCfg,
    VideoCfg,
    n_outputs,
)
from avtca.models.cross_attention import (
    CrossAttentionBidirectional,
    CrossAttentionGated,
    CrossAttentionOff,
    CrossAttentionSharedSelf,
)
from avtca.models.fusion import FusionIA, FusionIT, FusionLT, FusionNone
from avtca.models.heads import Classification, MultiLabel, Regression
from avtca.models.modality_dropout import ModalityDropoutNoise, ModalityDropoutOff, ModalityDropoutSoftHard
from avtca.models.video import VideoFeatures, VideoFrames
from avtca.models.video_attention import (
    ChannelAttentionECA,
    ChannelAttentionOff,
    ChannelAttentionSE,
    LocalFeaturesLFE,
    LocalFeaturesOff,
    SpatialAttentionCBAM,
    SpatialAttentionConv,
    SpatialAttentionOff,
)

__all__ = [
    "AudioCfg",
    "AudioFeatures",
    "AudioLogMel",
    "AudioMFCC",
    "ChannelAttentionCfg",
    "ChannelAttentionECA",
    "ChannelAttentionOff",
    "ChannelAttentionSE",
    "Classification",
    "CrossAttentionBidirectional",
    "CrossAttentionCfg",
    "CrossAttentionGated",
    "CrossAttentionOff",
    "CrossAttentionSharedSelf",
    "FusionCfg",
    "FusionIA",
    "FusionIT",
    "FusionLT",
    "FusionNone",
    "HeadCfg",
    "LocalFeaturesCfg",
    "LocalFeaturesLFE",
    "LocalFeaturesOff",
    "ModalityDropoutCfg",
    "ModalityDropoutNoise",
    "ModalityDropoutOff",
    "ModalityDropoutSoftHard",
    "ModelConfig",
    "MultiLabel",
    "Regression",
    "SpatialAttentionCBAM",
    "SpatialAttentionCfg",
    "SpatialAttentionConv",
    "SpatialAttentionOff",
    "VideoCfg",
    "VideoFeatures",
    "VideoFrames",
    "n_outputs",
]
