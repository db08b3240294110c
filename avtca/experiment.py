"""The experiment config (model + data + train + eval) and its resolution from a preset and overrides.

The top of the library: it composes the data, model and training configs, which never import it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from avtca.config.base import ConfigError, Strict, apply_overrides, suggest, validate
from avtca.data import dataset_info
from avtca.data.config import DataConfig
from avtca.models.config import ModelConfig
from avtca.models.presets import PRESETS
from avtca.training.config import EvalConfig, TrainConfig


class ExperimentConfig(Strict):
    """Everything one training run needs; its dotted paths are the names used by studies and reports."""

    preset: str = "avtca"
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)


def _merge_inputs(model: dict, inputs: Mapping[str, Mapping[str, Any]]) -> dict:
    """Let the dataset decide input shapes: same kind -> update its dimensions; other kind -> replace."""
    out = copy.deepcopy(model)
    for slot, wanted in inputs.items():
        current = out.get(slot)
        if isinstance(current, dict) and current.get("kind", wanted.get("kind")) == wanted.get("kind"):
            out[slot] = {**current, **wanted}
        else:
            out[slot] = dict(wanted)
    return out


def resolve_experiment(
    preset: str | Mapping[str, Any] = "avtca",
    data: Mapping[str, Any] | None = None,
    train: Mapping[str, Any] | None = None,
    eval: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    source: str | None = None,
) -> ExperimentConfig:
    """Build a validated ExperimentConfig: preset model + dotted overrides, input dims taken from the dataset."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            names = sorted(PRESETS)
            raise ConfigError([f"preset: '{preset}' is not one of {', '.join(names)}{suggest(preset, names)}"], source)
        model, name = copy.deepcopy(PRESETS[preset]), preset
    else:
        model, name = copy.deepcopy(dict(preset)), "custom"
    raw: dict[str, Any] = {
        "preset": name,
        "model": model,
        "data": dict(data or {}),
        "train": dict(train or {}),
        "eval": dict(eval or {}),
    }
    raw = apply_overrides(raw, overrides)
    data_cfg = validate(DataConfig, raw["data"], source)
    info = dataset_info(data_cfg)
    raw["model"] = _merge_inputs(raw["model"], info.model_inputs)
    return validate(ExperimentConfig, raw, source)
