"""Typed training and evaluation configs (the `train` and `eval` sections of an experiment)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from avtca.config.base import Strict, runtime
from avtca.training.clipping import CLIPPING, ClipOff
from avtca.training.optimizers import OPTIMIZERS, SGD
from avtca.training.schedules import SCHEDULES, ScheduleStep
from avtca.training.stopping import EARLY_STOPPING, EarlyStoppingOff

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
    optimizer: Annotated[Strict, OPTIMIZERS] = Field(default_factory=SGD)  # avtca/training/optimizers.py
    scheduler: Annotated[Strict, SCHEDULES] = Field(default_factory=ScheduleStep)  # avtca/training/schedules.py
    warmup_epochs: NonNegativeInt = 0
    early_stopping: Annotated[Strict, EARLY_STOPPING] = Field(default_factory=EarlyStoppingOff)  # stopping.py
    # selects the best epoch (its weights are evaluated), early stopping and the plateau schedule;
    # auto = val/accuracy (classification), val/mae (regression), val/wacc (multi-label)
    monitor: str = "auto"
    mode: Literal["auto", "max", "min"] = "auto"
    clip: Annotated[Strict, CLIPPING] = Field(default_factory=ClipOff)  # avtca/training/clipping.py
    regression_loss: Literal["l1", "mse"] = "l1"
    label_smoothing: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    # per_fold: each (repeat, fold) of a seed starts from its own initial weights and batch order, seeded from
    # (seed, data.repeat, fold); shared: every fold of a seed from the same ones (train.seed itself; the only
    # behaviour before per_fold existed). The fold-level tests assume per_fold (docs/statistics.md).
    seeding: Literal["per_fold", "shared"] = "per_fold"
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
