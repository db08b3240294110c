"""Learning-rate schedules (`train.scheduler.kind`), stepped once per epoch; each a config class and a builder.

A builder receives its config and `epochs`, `warmup_epochs`, `higher_is_better` (the monitor's direction) and
returns a `Schedule`. Warmup is applied around every schedule by `avtca.training.optim.LRSchedule`: the schedule
is asked only for the epochs after it.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Protocol

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from avtca.config.base import Strict
from avtca.registry import Registry
from avtca.training.stopping import Improvement


class Schedule(Protocol):
    """Multiplier of the base learning rate per 0-based epoch, told the monitored value after each epoch."""

    min_lr: float | None  # a floor under the learning rate (warmup epochs included), or None

    def factor(self, epoch: int) -> float:
        """Multiplier of the base lr for 0-based `epoch` (an epoch after warmup)."""
        ...

    def observe(self, epoch: int, value: float) -> None:
        """The monitored value of 0-based `epoch` (an epoch after warmup)."""
        ...


SCHEDULES: Registry[Schedule] = Registry("train.scheduler", order="registration")


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


class _Fixed:
    """A schedule that ignores the monitor: factor(epoch) = f(epoch)."""

    min_lr = None

    def __init__(self, factor):
        self.factor = factor

    def observe(self, epoch: int, value: float) -> None:
        pass


class _Plateau:
    min_lr: float | None

    def __init__(self, cfg: SchedulePlateau, higher_is_better: bool):
        self.cfg, self.min_lr = cfg, cfg.min_lr
        self.scale = 1.0
        self._best = Improvement(higher_is_better, 0.0)

    def factor(self, epoch: int) -> float:
        return self.scale

    def observe(self, epoch: int, value: float) -> None:
        if self._best.update(value):
            return
        if self._best.stale > self.cfg.patience:
            self.scale *= self.cfg.factor
            self._best.stale = 0


@SCHEDULES.register(ScheduleNone)
def _none(cfg: ScheduleNone, *, epochs: int, warmup_epochs: int, higher_is_better: bool) -> Schedule:
    return _Fixed(lambda epoch: 1.0)


@SCHEDULES.register(ScheduleCosine)
def _cosine(cfg: ScheduleCosine, *, epochs: int, warmup_epochs: int, higher_is_better: bool) -> Schedule:
    span = max(epochs - warmup_epochs, 1)

    def factor(epoch: int) -> float:
        t = (epoch - warmup_epochs) / span
        return cfg.min_ratio + (1 - cfg.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    return _Fixed(factor)


@SCHEDULES.register(ScheduleStep)
def _step(cfg: ScheduleStep, *, epochs: int, warmup_epochs: int, higher_is_better: bool) -> Schedule:
    # released code: lr = base * 0.1 ** sum(epoch_1based >= lr_steps)
    return _Fixed(lambda epoch: cfg.gamma ** sum(epoch + 1 >= m for m in cfg.milestones))


@SCHEDULES.register(SchedulePlateau)
def _plateau(cfg: SchedulePlateau, *, epochs: int, warmup_epochs: int, higher_is_better: bool) -> Schedule:
    return _Plateau(cfg, higher_is_better)
