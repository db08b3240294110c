"""AVTCA: the model assembled from registered components, and `create_model`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avtca.config.base import ConfigError, Strict, apply_overrides, suggest, validate
from avtca.models.audio import AUDIO_ENCODERS
from avtca.models.config import ModelConfig
from avtca.models.cross_attention import CROSS_ATTENTION
from avtca.models.fusion import FUSIONS
from avtca.models.heads import HEADS
from avtca.models.modality_dropout import MODALITY_DROPOUT
from avtca.models.presets import PRESETS
from avtca.models.video import OUT_DIM, VIDEO_ENCODERS
from avtca.models.weights import load_weights, read_model_checkpoint

Maybe = torch.Tensor | None


class AVTCA(nn.Module):
    """Audio-video transformer with cross attention; `model(audio, video) -> (B, n_outputs)`.

    With `modalities` 'audio' or 'video' the other encoder, the fusion and the cross attention are not
    built and the other input is never read (pass None), so no information can flow from it.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.uses_audio = cfg.modalities in ("audio_video", "audio")
        self.uses_video = cfg.modalities in ("audio_video", "video")
        both = self.uses_audio and self.uses_video
        self.audio_encoder = AUDIO_ENCODERS.build(cfg.audio) if self.uses_audio else None
        self.video_encoder = VIDEO_ENCODERS.build(cfg.video) if self.uses_video else None
        self.modality_dropout = MODALITY_DROPOUT.build(cfg.modality_dropout) if both else None
        self.fusion, self.cross_attention, head_in = None, None, OUT_DIM
        if both:
            a1, v1 = self.audio_encoder.dim1, self.video_encoder.dim1
            self.fusion = FUSIONS.build(cfg.fusion, audio_dim=a1, video_dim=v1, dim=OUT_DIM)
            self.cross_attention = CROSS_ATTENTION.build(cfg.cross_attention, in_dim=OUT_DIM)
            head_in = 2 * self.cross_attention.out_dim
        self.head = HEADS.build(cfg.head, in_dim=head_in)

    def drop_modality(self, audio: Maybe, video: Maybe) -> tuple[Maybe, Maybe]:
        """Training-time modality dropout on the raw inputs (identity in eval or with one modality)."""
        if self.modality_dropout is None:
            return audio, video
        return self.modality_dropout(audio, video)

    def encode_audio(self, audio: Maybe) -> Maybe:
        """(B, n_mfcc, L) -> stage-1 features (B, 128, L - 6); None when audio is unused."""
        return self.audio_encoder.stage1(audio) if self.audio_encoder is not None else None

    def encode_video(self, video: Maybe) -> Maybe:
        """(B, T, 3, H, W) -> stage-1 features (B, 64, T); None when video is unused."""
        return self.video_encoder.stage1(video) if self.video_encoder is not None else None

    def fuse(self, a: Maybe, v: Maybe) -> tuple[Maybe, Maybe]:
        """Intermediate fusion, the encoders' stage 2, late fusion: -> (B, 128, La'), (B, 128, T)."""
        if self.fusion is not None:
            a, v = self.fusion.intermediate(a, v)
        a = self.audio_encoder.stage2(a) if a is not None else None
        v = self.video_encoder.stage2(v) if v is not None else None
        if self.fusion is not None:
            a, v = self.fusion.late(a, v)
        return a, v

    def cross_attend(self, a: Maybe, v: Maybe) -> tuple[Maybe, Maybe]:
        """(B, 128, La'), (B, 128, T) -> (B, dim, La'), (B, dim, T)."""
        return self.cross_attention(a, v) if self.cross_attention is not None else (a, v)

    def classify(self, a: Maybe, v: Maybe) -> torch.Tensor:
        """Mean-pool each present modality over time, concatenate, linear -> (B, n_outputs)."""
        return self.head(*[x for x in (a, v) if x is not None])

    def forward(self, audio: Maybe, video: Maybe) -> torch.Tensor:
        for name, x, used in (("audio", audio, self.uses_audio), ("video", video, self.uses_video)):
            if used and x is None:
                raise ValueError(f"{name} input is None but model.modalities is '{self.cfg.modalities}'")
        if not self.uses_audio:
            audio = None  # never read: audio-free by construction
        if not self.uses_video:
            video = None
        audio, video = self.drop_modality(audio, video)
        a = self.encode_audio(audio)  # (B, 128, La)
        v = self.encode_video(video)  # (B, 64, T)
        a, v = self.fuse(a, v)  # (B, 128, La'), (B, 128, T)
        a, v = self.cross_attend(a, v)  # (B, dim, La'), (B, dim, T)
        return self.classify(a, v)  # (B, n_outputs)


class _Root(Strict):
    # validating under a 'model' key makes error paths read `model.fusion.kind`, like study files
    model: ModelConfig


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    """Reject the spellings an override once had besides the one kept (see `model_config`), showing that one."""
    example = "e.g. create_model('avtca', **{'fusion.kind': 'lt'})"
    for key in overrides:
        path = key.replace("__", ".").removeprefix("model.")
        if key == "overrides":
            problem = "overrides={...} is not accepted; pass the dotted paths as keyword arguments"
        elif "__" in key:
            problem = f"'{key}=' is not accepted; write the dotted path **{{'{path}': ...}}"
        elif key.startswith("model."):
            problem = f"'{key}': paths are relative to the model config; write **{{'{path}': ...}}"
        else:
            continue
        raise TypeError(f"model override {problem} ({example})")


def model_config(name_or_cfg: str | Mapping[str, Any] | ModelConfig = "avtca", **overrides: Any) -> ModelConfig:
    """Resolve a preset name, dict or ModelConfig plus dotted overrides into a validated ModelConfig.

    An override is a dotted path relative to the model config, passed as a keyword argument:
    `model_config("avtca", **{"fusion.kind": "lt", "video.frames": 8})`, `modalities="audio"`, or a whole slot
    `video={"kind": "features"}`. It is the study file's and `--set`'s key (`model.fusion.kind=lt`) without
    the `model.` section, which these functions are about; the presets' variants use the same spelling. It is
    the only spelling: `fusion__kind=`, a `model.` prefix and `overrides={...}` raise TypeError, showing this one.
    """
    if isinstance(name_or_cfg, ModelConfig):
        data = name_or_cfg.model_dump(mode="json")
    elif isinstance(name_or_cfg, str):
        if name_or_cfg not in PRESETS:
            names = sorted(PRESETS)
            hint = suggest(name_or_cfg, names)
            raise ConfigError([f"preset: '{name_or_cfg}' is not one of {', '.join(names)}{hint}"])
        data = copy.deepcopy(PRESETS[name_or_cfg])
    elif isinstance(name_or_cfg, Mapping):
        data = copy.deepcopy(dict(name_or_cfg))
    else:
        raise TypeError(f"create_model: expected a preset name, dict or ModelConfig, got {type(name_or_cfg).__name__}")
    _check_overrides(overrides)
    data = apply_overrides(data, overrides)
    return validate(_Root, {"model": data}).model


def create_model(
    name_or_cfg: str | Mapping[str, Any] | ModelConfig = "avtca",
    weights: str | Path | None = None,
    **overrides: Any,
) -> AVTCA:
    """Build a model from a preset/dict/config with dotted overrides (`**{'fusion.kind': 'lt'}`, see `model_config`).

    `weights` may be one of our checkpoints, a checkpoint of the released training script, or the
    EfficientFace AffectNet-7 file (visual encoder only); mismatching keys raise, listing them.
    """
    model = AVTCA(model_config(name_or_cfg, **overrides))
    if weights is not None:
        load_weights(model, weights)
    return model


def load_model(path: str | Path) -> AVTCA:
    """Rebuild a model from a checkpoint written by `save_checkpoint` (the config travels with the weights)."""
    cfg, checkpoint = read_model_checkpoint(path)
    model = AVTCA(cfg)
    load_weights(model, checkpoint)
    return model
