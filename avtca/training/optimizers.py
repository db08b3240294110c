"""Optimizers (`train.optimizer.kind`): each a config class and a registered builder over the trainable parameters.

A builder receives its config and `params`, `lr`, `weight_decay` (TrainConfig's, shared by every optimizer).
The released code trains with SGD(lr 0.06, momentum 0.9, dampening 0.9, weight decay 1e-3).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

import torch
from pydantic import Field, NonNegativeFloat, PositiveFloat

from avtca.config.base import Strict, runtime
from avtca.registry import Registry

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("train.optimizer", order="registration")


class SGD(Strict):
    """Stochastic gradient descent; defaults as in the released AVT-CA training script."""

    kind: Literal["sgd"] = "sgd"
    momentum: NonNegativeFloat = 0.9
    dampening: NonNegativeFloat = 0.9
    nesterov: bool = False
    # one fused kernel for the whole update instead of a loop over tensors: same algorithm, faster
    fused: bool = runtime(False)


class AdamW(Strict):
    """AdamW (decoupled weight decay)."""

    kind: Literal["adamw"] = "adamw"
    beta1: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    beta2: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.999
    eps: PositiveFloat = 1e-8
    fused: bool = runtime(False)  # one fused kernel for the update (see SGD.fused)


@OPTIMIZERS.register(SGD)
def _sgd(cfg: SGD, *, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        params,
        lr=lr,
        momentum=cfg.momentum,
        dampening=cfg.dampening,
        weight_decay=weight_decay,
        nesterov=cfg.nesterov,
        fused=cfg.fused or None,  # None = torch's default (for-each) implementation
    )


@OPTIMIZERS.register(AdamW)
def _adamw(cfg: AdamW, *, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        params, lr=lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=weight_decay, fused=cfg.fused or None
    )
