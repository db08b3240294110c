"""Gradient clipping (`train.clip.kind`): off, norm, value; each a config class and a registered builder.

A builder returns `clip(parameters)`, called after the backward pass (and after unscaling under fp16), or None
for no clipping at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import torch
from pydantic import PositiveFloat

from avtca.config.base import Strict
from avtca.registry import Registry

Clip = Callable[[Iterable[torch.Tensor]], object]
CLIPPING: Registry[Clip | None] = Registry("train.clip", order="registration")


class ClipOff(Strict):
    """No gradient clipping."""

    kind: Literal["off"] = "off"


class ClipNorm(Strict):
    """Clip the global gradient L2 norm to max_norm."""

    kind: Literal["norm"] = "norm"
    max_norm: PositiveFloat = 1.0


class ClipValue(Strict):
    """Clamp every gradient element to [-value, value]."""

    kind: Literal["value"] = "value"
    value: PositiveFloat = 1.0


@CLIPPING.register(ClipOff)
def _off(cfg: ClipOff) -> Clip | None:
    return None


@CLIPPING.register(ClipNorm)
def _norm(cfg: ClipNorm) -> Clip | None:
    return lambda params: torch.nn.utils.clip_grad_norm_(params, cfg.max_norm)


@CLIPPING.register(ClipValue)
def _value(cfg: ClipValue) -> Clip | None:
    return lambda params: torch.nn.utils.clip_grad_value_(params, cfg.value)
