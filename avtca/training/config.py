"""Typed training and evaluation configs (the `train` and `eval` sections of an experiment)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from avtca.config.base import Strict, runtime

# ---- optimizer: the released code trains with SGD(lr 0.06, momentum 0.9, dampening 0.9, wd 1e-3)


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


OptimizerCfg = Annotated[SGD | AdamW, Field(discriminator="kind")]

# ---- learning-rate schedule, stepped once per epoch


class ScheduleNone(Strict):
    """Constant learning rate (after the optional warmup)."""

    kind: Literal["none"] = "none"


class ScheduleCosine(Strict):
    """Cosine decay from lr to lr * min_ratio over the epochs after warmup."""

    kind: Literal["cosine"] = "cosine"
    min_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class ScheduleStep(Strict):
    """Multiply the lr by gamma from each milestone epoch on (1-based, as the released code's lr_steps)."""

    kind: Literal["step"] = "step"
    milestones: list[PositiveInt] = [40, 55, 65, 70]
    gamma: PositiveFloat = 0.1


class SchedulePlateau(Strict):
    """Multiply the lr by factor when the monitored metric has not improved for `patience` epochs."""

    kind: Literal["plateau"] = "plateau"
    factor: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    patience: NonNegativeInt = 10
    min_lr: NonNegativeFloat = 0.0


ScheduleCfg = Annotated[ScheduleNone | ScheduleCosine | ScheduleStep | SchedulePlateau, Field(discriminator="kind")]

# ---- early stopping and gradient clipping: "off" is a kind


class EarlyStoppingOff(Strict):
    """Train for all epochs (the best epoch's weights are still the ones evaluated)."""

    kind: Literal["off"] = "off"


class EarlyStoppingPatience(Strict):
    """Stop after `patience` epochs without an improvement of more than min_delta in the monitor."""

    kind: Literal["patience"] = "patience"
    patience: PositiveInt = 10
    min_delta: NonNegativeFloat = 0.0


EarlyStoppingCfg = Annotated[EarlyStoppingOff | EarlyStoppingPatience, Field(discriminator="kind")]


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


ClipCfg = Annotated[ClipOff | ClipNorm | ClipValue, Field(discriminator="kind")]

_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


class TrainConfig(Strict):
    """How one model is trained: optimizer, schedule, stopping, precision, seeding and runtime knobs."""

    epochs: PositiveInt = 100
    batch_size: PositiveInt = 8
    # drop the last incomplete training batch (kept when the split is smaller than one batch): BatchNorm on a
    # handful of samples is noisy, and modality dropout can blank one modality for all of them, which makes
    # every BatchNorm of that encoder see a constant input and overflow the gradient
    drop_last: bool = True
    lr: PositiveFloat = 0.06
    weight_decay: NonNegativeFloat = 1e-3
    optimizer: OptimizerCfg = Field(default_factory=SGD)
    scheduler: ScheduleCfg = Field(default_factory=ScheduleStep)
    warmup_epochs: NonNegativeInt = 0
    early_stopping: EarlyStoppingCfg = Field(default_factory=EarlyStoppingOff)
    # selects the best epoch (its weights are evaluated), early stopping and the plateau schedule;
    # auto = val/accuracy (classification), val/mae (regression), val/wacc (multi-label)
    monitor: str = "auto"
    mode: Literal["auto", "max", "min"] = "auto"
    clip: ClipCfg = Field(default_factory=ClipOff)
    regression_loss: Literal["l1", "mse"] = "l1"
    label_smoothing: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    deterministic: bool = False
    # runtime knobs: where and how fast a run goes, never its result (outside a cell's identity)
    device: str = runtime("auto")
    num_workers: NonNegativeInt = runtime(0)
    threads: PositiveInt | None = runtime(None)
    save_checkpoint: bool = runtime(False)

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not _DEVICE.match(value):
            raise ValueError(f"'{value}' is not one of auto, cpu, cuda, cuda:N, mps")
        return value

    @field_validator("monitor")
    @classmethod
    def _check_monitor(cls, value: str) -> str:
        if value != "auto" and not value.startswith("val/"):
            raise ValueError(f"'{value}' must be 'auto' or a validation metric such as val/accuracy")
        return value


class EvalConfig(Strict):
    """Final evaluation: robustness conditions applied to the listed splits with the best weights."""

    # zero one modality at a time -> <split>_robust/<modality>_off/<metric>
    modality_off: list[Literal["audio", "video"]] = ["audio", "video"]
    # Gaussian noise with std = level x the input's per-sample std, one modality at a time
    # -> <split>_robust/<modality>_noise_<level>/<metric>
    noise_levels: list[PositiveFloat] = [0.5, 1.0]
    splits: list[Literal["val", "test"]] = ["test"]
    batch_size: PositiveInt | None = None
    seed: int = 0
