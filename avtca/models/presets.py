"""Named model variants as plain data: each value validates into ModelConfig (all default to RAVDESS's 8 classes)."""

from __future__ import annotations

from typing import Any

from avtca.config.base import apply_overrides

# the paper's AVT-CA: 'it' fusion + bidirectional cross attention + all three modulator parts
_AVTCA: dict[str, Any] = {
    "video": {
        "kind": "frames",
        "frames": 15,
        "image_size": 224,
        "channel_attention": {"kind": "se"},
        "spatial_attention": {"kind": "conv"},
        "local_features": {"kind": "lfe"},
        "modulator_stages": [2],
        "stage_repeats": [4, 8, 4],
        "temporal_dim": 64,
    },
    "audio": {"kind": "mfcc", "n_mfcc": 10},
    "fusion": {"kind": "it", "heads": 8},
    "cross_attention": {"kind": "bidirectional", "dim": 128, "heads": 8},
    "head": {"kind": "classification", "n_classes": 8},
    # the released training script's default (--mask softhard); identity in eval mode
    "modality_dropout": {"kind": "softhard"},
    "modalities": "audio_video",
}

# name -> (description, dotted overrides on the paper model)
_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "avtca": ("the paper: it fusion + bidirectional cross attention + channel/spatial/local", {}),
    "avtca-code": ("the released code: it fusion + one shared self-attention", {"cross_attention.kind": "shared_self"}),
    "avtca-no-ca": (
        "AVT-CA without the cross-attention stage (= intermediate-transformer fusion only)",
        {"cross_attention.kind": "off"},
    ),
    "avtca-gated-ca": ("AVT-CA with agreement-gated cross attention", {"cross_attention.kind": "gated"}),
    "avtca-no-channel": ("no channel gate in the modulator", {"video.channel_attention.kind": "off"}),
    "avtca-no-spatial": ("no spatial gate in the modulator", {"video.spatial_attention.kind": "off"}),
    "avtca-no-lfe": ("no local feature extractor", {"video.local_features.kind": "off"}),
    "avtca-no-modulator": (
        "neither gate nor local branch",
        {
            "video.channel_attention.kind": "off",
            "video.spatial_attention.kind": "off",
            "video.local_features.kind": "off",
        },
    ),
    "avtca-eca": ("ECA channel gate", {"video.channel_attention.kind": "eca"}),
    "avtca-cbam": ("CBAM spatial gate", {"video.spatial_attention.kind": "cbam"}),
    "avtca-late": ("late-transformer fusion", {"fusion.kind": "lt"}),
    "avtca-ia": ("intermediate-attention fusion", {"fusion.kind": "ia"}),
    "avtca-no-fusion": ("no fusion before cross attention (late concat)", {"fusion.kind": "none"}),
    "avtca-no-dropout": ("no modality dropout in training", {"modality_dropout.kind": "off"}),
    "avtca-audio": ("audio only (video encoder not built)", {"modalities": "audio"}),
    "avtca-video": ("video only (audio encoder not built)", {"modalities": "video"}),
}

# second names of the same model (one config, two names): alias -> preset
ALIASES: dict[str, str] = {"avtca-self-ca": "avtca-code", "baseline-it": "avtca-no-ca"}

PRESETS: dict[str, dict[str, Any]] = {name: apply_overrides(_AVTCA, ov) for name, (_, ov) in _VARIANTS.items()}
DESCRIPTIONS: dict[str, str] = {name: text for name, (text, _) in _VARIANTS.items()}
for _alias, _name in ALIASES.items():
    PRESETS[_alias] = PRESETS[_name]  # the same dict: validated configs of both names are equal
    DESCRIPTIONS[_alias] = f"alias of {_name}: {DESCRIPTIONS[_name]}"
