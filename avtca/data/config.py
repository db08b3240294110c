"""DataConfig: which dataset, where it lives, which protocol, and how clips become tensors."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from avtca.config.base import Strict, runtime, suggest
from avtca.data.registry import DATASETS


class CropNone(Strict):
    """Keep the whole frame (resized, aspect ratio not preserved)."""

    kind: Literal["none"] = "none"


class CropCenter(Strict):
    """Centre square covering `scale` of the shorter side."""

    kind: Literal["center"] = "center"
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0


class CropFace(Strict):
    """Offline face detector (scikit-image's bundled LBP frontal-face cascade), one box per clip."""

    kind: Literal["face"] = "face"
    margin: Annotated[float, Field(ge=0, le=1)] = 0.25  # extra border around the detected box, fraction of its size
    detect_width: PositiveInt = 320  # frames are downscaled to this width for detection (speed)
    probes: PositiveInt = 3  # sampled frames the detector runs on; the median box is used
    fallback: Literal["center", "none"] = "center"  # what to crop when no face is found


CropCfg = Annotated[CropNone | CropCenter | CropFace, Field(discriminator="kind")]


class RavdessOptions(Strict):
    """RAVDESS: which vocal channel, and where a clip's audio comes from."""

    vocal_channel: Literal["speech", "song", "both"] = "speech"
    # 'wav' = the 03 audio-only file of the same clip (falls back to the mp4 track); 'mp4' = the 01 file's track
    audio_source: Literal["wav", "mp4"] = "wav"


class CremadOptions(Strict):
    """CREMA-D: intended labels (file name) or perceived labels (majority of crowd votes)."""

    labels: Literal["intended", "perceived"] = "intended"


class MoseiOptions(Strict):
    """CMU-MOSEI community feature pickle: file name under root, its format, task and sequence length."""

    file: str = "unaligned_50.pkl"
    format: Literal["auto", "mmsa", "mult"] = "auto"
    task: Literal["sentiment", "emotions"] = "sentiment"
    seq_len: PositiveInt = 50  # features are truncated / zero-padded to this many steps


class SyntheticOptions(Strict):
    """Generated dataset written in the real on-disk format (used when root is `synthetic`)."""

    actors: PositiveInt = 12
    statements: Annotated[int, Field(ge=1, le=2)] = 2
    repetitions: Annotated[int, Field(ge=1, le=2)] = 1
    clips: PositiveInt = 400  # MOSEI only: segments in total (split 70/10/20)
    size: PositiveInt = 96  # video width = height in pixels
    seconds: PositiveFloat = 3.6
    corrupt_audio: Annotated[float, Field(ge=0, le=1)] = 0.3  # fraction of clips whose audio is noise
    corrupt_video: Annotated[float, Field(ge=0, le=1)] = 0.3  # another fraction whose face is occluded
    seed: int = 0


def _default_cache() -> str:
    return os.environ.get("AVTCA_CACHE", ".cache/avtca")


class DataConfig(Strict):
    """One dataset, its evaluation protocol and its preprocessing (the cache key is derived from it)."""

    name: Annotated[str, DATASETS] = "ravdess"  # a registered dataset (avtca.data.registry)
    root: str = "synthetic"  # a directory, or `synthetic`: generate the dataset in its real format (cached)
    cache: str = runtime(default_factory=_default_cache)  # a location: outside a cell's identity
    protocol: str | None = None  # None = the dataset's default (the first of its adapter's protocols)
    frames: PositiveInt = 15
    image_size: PositiveInt = 224
    audio_features: Literal["mfcc", "logmel"] = "mfcc"
    n_mfcc: PositiveInt = 10
    n_mels: PositiveInt = 64  # log-mel channels; also the mel bank MFCCs are taken from is max(n_mels, 128)
    sample_rate: PositiveInt = 22050
    duration: PositiveFloat = 3.6  # seconds of each clip (centred window) for both audio and video
    hop_length: PositiveInt = 512
    n_fft: PositiveInt = 2048
    crop: CropCfg = Field(default_factory=CropCenter)
    n_jobs: int = runtime(1)  # preparation workers (joblib); -1 = all cores
    ravdess: RavdessOptions = Field(default_factory=RavdessOptions)
    cremad: CremadOptions = Field(default_factory=CremadOptions)
    mosei: MoseiOptions = Field(default_factory=MoseiOptions)
    synthetic: SyntheticOptions = Field(default_factory=SyntheticOptions)

    @field_validator("protocol", mode="after")
    @classmethod
    def _protocol_fits_dataset(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("name")
        allowed = DATASETS.get(name).protocols if name in DATASETS else ()
        if value is not None and allowed and value not in allowed:
            raise PydanticCustomError(
                "protocol_mismatch",
                "'{value}' is not a protocol of {name}; one of {allowed}{hint}",
                {"value": value, "name": name, "allowed": ", ".join(allowed), "hint": suggest(value, allowed)},
            )
        return value

    @property
    def protocol_name(self) -> str:
        """The protocol in effect (the dataset default when `protocol` is unset)."""
        return self.protocol or DATASETS.get(self.name).protocols[0]

    @property
    def is_synthetic(self) -> bool:
        """True when the dataset is generated rather than read from a real copy."""
        return self.root == "synthetic"

    @property
    def audio_length(self) -> int:
        """Frames of the audio feature map: 1 + n_samples // hop (torchaudio's centred STFT)."""
        return int(round(self.sample_rate * self.duration)) // self.hop_length + 1
