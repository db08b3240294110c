"""Checkpoints: ours, the released training script's, and the EfficientFace AffectNet-7 file.

Every key is accounted for: loaded, or deliberately ignored (listed in the report: parameters the
released model holds but never uses), or an error that lists the missing and unexpected keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avtca.config.base import validate
from avtca.models.config import ModelConfig

FORMAT = "avtca-ablations/1"

# released key -> our key; applied in order, first match wins
_RELEASED_RULES: list[tuple[str, str]] = [
    (r"^audio_model\.conv1d_([01])\.", r"audio_encoder.block1.\1."),
    (r"^audio_model\.conv1d_2\.", "audio_encoder.block2.0."),
    (r"^audio_model\.conv1d_3\.", "audio_encoder.block2.1."),
    (r"^visual_model\.conv1d_([01])\.", r"video_encoder.block1.\1."),
    (r"^visual_model\.conv1d_2\.", "video_encoder.block2.0."),
    (r"^visual_model\.conv1d_3\.", "video_encoder.block2.1."),
    (r"^visual_model\.", "video_encoder."),  # then the EfficientFace trunk rules below
    (r"^(av1?|va1?)\.(q|kv)\.", r"fusion.\1.\2."),  # "ia": bare attention
    (r"^(av1?|va1?)\.norm1_q\.", r"fusion.\1.norm_q."),
    (r"^(av1?|va1?)\.norm1_k\.", r"fusion.\1.norm_k."),
    (r"^(av1?|va1?)\.norm2\.", r"fusion.\1.norm_mlp."),
    (r"^(av1?|va1?)\.mlp\.fc1\.", r"fusion.\1.mlp.0."),
    (r"^(av1?|va1?)\.mlp\.fc2\.", r"fusion.\1.mlp.2."),
    (r"^(av1?|va1?)\.attn\.", r"fusion.\1.attn."),
    (r"^finalAttention\.", "cross_attention.attn."),
    (r"^classifier_1\.0\.", "head.linear."),
]
_FUSION_NAMES = {
    "av": "audio_from_video",
    "av1": "audio_from_video",
    "va": "video_from_audio",
    "va1": "video_from_audio",
}

# EfficientFace trunk (also the visual part of the released model): exact key prefixes, old -> ours
_GATE_C = "modulator.channel_att.gate_c.gate_c_"
_GATE_S = "modulator.spatial_att.gate_s.gate_s_"
_TRUNK_PREFIXES: dict[str, str] = {
    "conv1.": "stem.",
    **{f"stage{s}.": f"stages.stage{s}." for s in (2, 3, 4)},
    # local branch i (1-based; top-left, bottom-left, top-right, bottom-right) -> branches.{i-1}
    **{
        f"local.{layer}{i}_{j}.": f"local.stage2.branches.{i - 1}.{idx}."
        for i in (1, 2, 3, 4)
        for layer, j, idx in (("conv", 1, 0), ("bn", 1, 1), ("conv", 2, 3), ("bn", 2, 4))
    },
    f"{_GATE_C}fc_0.": "modulators.stage2.channel.gate.0.",
    f"{_GATE_C}bn_1.": "modulators.stage2.channel.gate.1.",
    f"{_GATE_C}fc_final.": "modulators.stage2.channel.gate.3.",
    # spatial gate: reduce conv/bn at 0/1, dilated conv/bn i at 3+3i / 4+3i, final conv at 9 (ReLUs between)
    f"{_GATE_S}conv_reduce0.": "modulators.stage2.spatial.gate.0.",
    f"{_GATE_S}bn_reduce0.": "modulators.stage2.spatial.gate.1.",
    **{f"{_GATE_S}conv_di_{i}.": f"modulators.stage2.spatial.gate.{3 + 3 * i}." for i in (0, 1)},
    **{f"{_GATE_S}bn_di_{i}.": f"modulators.stage2.spatial.gate.{4 + 3 * i}." for i in (0, 1)},
    f"{_GATE_S}conv_final.": "modulators.stage2.spatial.gate.9.",
}

# parameters the released model holds but its forward never uses (reported as ignored, not loaded)
_RELEASED_UNUSED = (
    r"^audio_model\.classifier_1\.",  # unimodal heads, unused by MultiModalCNN.forward
    r"^visual_model\.classifier_1\.",
    r"^(av1|va1)\.proj\.",  # 'ia' reads only the attention map
)
_EFFICIENTFACE_UNUSED = (r"^fc\.",)  # the AffectNet-7 classifier


@dataclass
class LoadReport:
    """What a weight file contributed: its detected format and every key that did not load."""

    source_format: str
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class WeightsError(RuntimeError):
    """A weight file does not fit the model; the message lists the keys."""


def _strip_module(state: Mapping[str, Any]) -> dict[str, Any]:
    # nn.DataParallel saves every key with a 'module.' prefix
    return {k.removeprefix("module."): v for k, v in state.items()}


def _trunk_key(key: str) -> str:
    for old, new in _TRUNK_PREFIXES.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def released_fusion(state: Mapping[str, Any]) -> str:
    """Which fusion a released state dict was trained with: 'it', 'ia' or 'lt'."""
    keys = _strip_module(state)
    if "av.attn.q.weight" in keys:
        return "lt"
    return "ia" if "av1.q.weight" in keys else "it"


def convert_released(state: Mapping[str, Any], drop_final_attention: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Released MultiModalCNN state dict -> (our keys, ignored released keys).

    The released forward uses `finalAttention` only with 'it' fusion; `drop_final_attention` ignores it
    (for 'ia'/'lt' checkpoints loaded into a model without cross attention, which then matches exactly).
    """
    unused = _RELEASED_UNUSED + ((r"^finalAttention\.",) if drop_final_attention else ())
    out, ignored = {}, []
    for key, value in _strip_module(state).items():
        if any(re.match(p, key) for p in unused):
            ignored.append(key)
            continue
        new = key
        for pattern, repl in _RELEASED_RULES:
            if re.match(pattern, key):
                new = re.sub(pattern, repl, key, count=1)
                break
        if new.startswith("video_encoder."):
            new = "video_encoder." + _trunk_key(new.removeprefix("video_encoder."))
        m = re.match(r"^fusion\.(av1?|va1?)\.", new)
        if m:
            new = f"fusion.{_FUSION_NAMES[m.group(1)]}." + new[m.end() :]
        out[new] = value
    return out, ignored


def convert_efficientface(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """EfficientFace checkpoint state dict -> (our video-encoder keys, ignored keys)."""
    out, ignored = {}, []
    for key, value in _strip_module(state).items():
        if any(re.match(p, key) for p in _EFFICIENTFACE_UNUSED):
            ignored.append(key)
        else:
            out[_trunk_key(key)] = value
    return out, ignored


def detect_format(obj: Any) -> str:
    """'avtca' (ours), 'released' (MultiModalCNN training script), 'efficientface', or 'state_dict'."""
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT:
        return "avtca"
    state = obj.get("state_dict", obj) if isinstance(obj, Mapping) else {}
    keys = [k.removeprefix("module.") for k in state]
    if any(k.startswith(("audio_model.", "visual_model.")) for k in keys):
        return "released"
    if any(k.startswith("stage2.") for k in keys) and any(k.startswith("conv1.") for k in keys):
        return "efficientface"
    return "state_dict"


def _load(module: nn.Module, state: dict[str, Any], report: LoadReport, allowed_missing: tuple[str, ...] = ()) -> None:
    own = module.state_dict()
    report.missing = sorted(k for k in own if k not in state and not k.startswith(allowed_missing))
    report.unexpected = sorted(k for k in state if k not in own)
    shapes = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and v.shape != own[k].shape
    ]
    if report.missing or report.unexpected or shapes:
        lines = [f"weights ({report.source_format} format) do not fit the model:"]
        groups = (
            ("missing in the file", report.missing),
            ("unexpected in the file", report.unexpected),
            ("shape mismatch", shapes),
        )
        for title, keys in groups:
            if keys:
                lines.append(f"  {title} ({len(keys)}): " + ", ".join(keys[:20]) + (" ..." if len(keys) > 20 else ""))
        raise WeightsError("\n".join(lines))
    module.load_state_dict(state, strict=False)  # dtype is converted on copy (fp16 files load into fp32)
    report.loaded = len(state)


def read_checkpoint(path: str | Path) -> Any:
    """torch.load with weights_only (no code execution), on CPU; the error names the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights: file not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_weights(model: nn.Module, source: str | Path | Mapping[str, Any]) -> LoadReport:
    """Load a checkpoint of any supported format into an AVTCA model; mismatches raise WeightsError."""
    obj = read_checkpoint(source) if isinstance(source, (str, Path)) else source
    fmt = detect_format(obj)
    report = LoadReport(fmt)
    if fmt == "efficientface":
        if getattr(model, "video_encoder", None) is None or not hasattr(model.video_encoder, "stem"):
            raise WeightsError(
                "weights: an EfficientFace file needs a 'frames' video encoder (model.video.kind=frames)"
            )
        state, report.ignored = convert_efficientface(obj.get("state_dict", obj))
        # the file has only the per-frame trunk; the temporal Conv1d stages keep their initialisation
        _load(model.video_encoder, state, report, allowed_missing=("block1.", "block2."))
        return report
    raw = obj.get("state_dict", obj) if isinstance(obj, Mapping) else obj
    if fmt == "released":
        # released 'ia'/'lt' never apply finalAttention: with cross_attention off its weights are unused
        no_ca = getattr(getattr(model, "cfg", None), "cross_attention", None)
        drop = released_fusion(raw) != "it" and no_ca is not None and no_ca.kind == "off"
        state, report.ignored = convert_released(raw, drop_final_attention=drop)
    else:
        state = _strip_module(raw)
    _load(model, state, report)
    return report


def write_checkpoint(path: str | Path, config: ModelConfig, state_dict: Mapping[str, Any], **extra: Any) -> Path:
    """The one checkpoint writer: weights with the config that builds them, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": config.model_dump(mode="json"), "state_dict": state_dict, **extra}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # a reader never sees a half-written checkpoint
    return path


def save_checkpoint(model: nn.Module, path: str | Path, **extra: Any) -> Path:
    """Save a model's weights with its config (`load_model` rebuilds the model from the file alone)."""
    return write_checkpoint(path, model.cfg, model.state_dict(), **extra)


def read_model_checkpoint(path: str | Path) -> tuple[ModelConfig, Mapping[str, Any]]:
    """The model config and checkpoint object of a file written by `save_checkpoint` (models.model.load_model)."""
    obj = read_checkpoint(path)
    if detect_format(obj) != "avtca":
        raise WeightsError(f"{path}: not an avtca checkpoint (use create_model(name, weights=...) for other formats)")
    return validate(ModelConfig, obj["config"], str(path)), obj
