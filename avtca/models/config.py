"""ModelConfig: one registry-backed slot per model part; "off" is a kind, never a boolean.

Each slot accepts exactly the kinds registered in its registry when a config is validated, so a kind
registered in the user's own module is valid here, in study factors and in presets with no other edit.
The config classes live beside their builders (avtca/models/<slot>.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from avtca.config.base import Strict
from avtca.models.audio import AUDIO_ENCODERS, AudioMFCC
from avtca.models.cross_attention import CROSS_ATTENTION, CrossAttentionBidirectional
from avtca.models.fusion import FUSIONS, FusionIT
from avtca.models.heads import HEADS, Classification
from avtca.models.modality_dropout import MODALITY_DROPOUT, ModalityDropoutSoftHard
from avtca.models.video import VIDEO_ENCODERS, VideoFrames
from avtca.models.video_attention import CHANNEL_ATTENTION, LOCAL_FEATURES, SPATIAL_ATTENTION

# slot types: `Annotated[Strict, REGISTRY]` validates through the registry (see avtca.registry)
ChannelAttentionCfg = Annotated[Strict, CHANNEL_ATTENTION]
SpatialAttentionCfg = Annotated[Strict, SPATIAL_ATTENTION]
LocalFeaturesCfg = Annotated[Strict, LOCAL_FEATURES]
VideoCfg = Annotated[Strict, VIDEO_ENCODERS]
AudioCfg = Annotated[Strict, AUDIO_ENCODERS]
FusionCfg = Annotated[Strict, FUSIONS]
CrossAttentionCfg = Annotated[Strict, CROSS_ATTENTION]
HeadCfg = Annotated[Strict, HEADS]
ModalityDropoutCfg = Annotated[Strict, MODALITY_DROPOUT]


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
    def _fusion_heads_divide_stage1_widths(cls, fusion: Any, info: ValidationInfo) -> Any:
        # a fusion that mixes between the stages attends over both stage-1 widths (facts of the kinds)
        video, audio = info.data.get("video"), info.data.get("audio")  # validated before fusion (field order)
        heads = getattr(fusion, "heads", None)
        if getattr(fusion, "mixes_at", None) == "intermediate" and heads and video is not None and audio is not None:
            widths = (video.stage1_dim, audio.stage1_dim)
            if any(w % heads for w in widths):
                raise ValueError(
                    f"heads ({heads}) must divide video.temporal_dim ({widths[0]}) and the audio width {widths[1]}"
                )
        return fusion


def n_outputs(head: Any) -> int:
    """Width of the model output for a head config (each head kind says it: `head.n_outputs`)."""
    return head.n_outputs
