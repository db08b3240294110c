"""AVT-CA components: one registry per slot, the assembled model, presets and weight loading."""

from __future__ import annotations

from avtca.models.audio import AUDIO_ENCODERS
from avtca.models.cross_attention import CROSS_ATTENTION
from avtca.models.fusion import FUSIONS
from avtca.models.heads import HEADS
from avtca.models.modality_dropout import MODALITY_DROPOUT
from avtca.models.model import AVTCA, count_parameters, create_model, load_model, model_config
from avtca.models.presets import DESCRIPTIONS, PRESETS
from avtca.models.video import VIDEO_ENCODERS
from avtca.models.video_attention import CHANNEL_ATTENTION, LOCAL_FEATURES, SPATIAL_ATTENTION
from avtca.models.weights import LoadReport, WeightsError, load_weights, save_checkpoint

REGISTRIES = {
    "model.video": VIDEO_ENCODERS,
    "model.video.channel_attention": CHANNEL_ATTENTION,
    "model.video.spatial_attention": SPATIAL_ATTENTION,
    "model.video.local_features": LOCAL_FEATURES,
    "model.audio": AUDIO_ENCODERS,
    "model.fusion": FUSIONS,
    "model.cross_attention": CROSS_ATTENTION,
    "model.head": HEADS,
    "model.modality_dropout": MODALITY_DROPOUT,
}

__all__ = [
    "AVTCA",
    "DESCRIPTIONS",
    "PRESETS",
    "REGISTRIES",
    "LoadReport",
    "WeightsError",
    "count_parameters",
    "create_model",
    "load_model",
    "load_weights",
    "model_config",
    "save_checkpoint",
]
