"""Early stopping (`train.early_stopping.kind`): off, or patience; each a config class and a registered builder.

A builder receives its config and `higher_is_better` (the monitor's direction) and returns a `Stopper`:
`update(value)` records the monitored value of an epoch and says whether training should stop now.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

from pydantic import NonNegativeFloat, PositiveInt

from avtca.config.base import Strict
from avtca.registry import Registry


class Stopper(Protocol):
    """Decides after each epoch whether training stops."""

    def update(self, value: float) -> bool:
        """Record the epoch's monitored value; True to stop."""
        ...


EARLY_STOPPING: Registry[Stopper] = Registry("train.early_stopping", order="registration")


class EarlyStoppingOff(Strict):
    """Train for all epochs (the best epoch's weights are still the ones evaluated)."""

    kind: Literal["off"] = "off"


class EarlyStoppingPatience(Strict):
    """Stop after `patience` epochs without an improvement of more than min_delta in the monitor."""

    kind: Literal["patience"] = "patience"
    patience: PositiveInt = 10
    min_delta: NonNegativeFloat = 0.0


class Improvement:
    """Tracks the best value of a metric and how many updates since it improved."""

    def __init__(self, higher_is_better: bool, min_delta: float):
        self.sign = 1.0 if higher_is_better else -1.0
        self.min_delta = min_delta
        self.best: float | None = None
        self.stale = 0

    def update(self, value: float) -> bool:
        """Record `value`; True if it is a new best (NaN never is)."""
        if math.isnan(value):
            self.stale += 1
            return False
        if self.best is None or self.sign * (value - self.best) > self.min_delta:
            self.best = value
            self.stale = 0
            return True
        self.stale += 1
        return False


class _Never:
    def update(self, value: float) -> bool:
        return False


class _Patience:
    def __init__(self, cfg: EarlyStoppingPatience, higher_is_better: bool):
        self.patience = cfg.patience
        self.improvement = Improvement(higher_is_better, cfg.min_delta)

    def update(self, value: float) -> bool:
        self.improvement.update(value)
        return self.improvement.stale >= self.patience


@EARLY_STOPPING.register(EarlyStoppingOff)
def _off(cfg: EarlyStoppingOff, *, higher_is_better: bool) -> Stopper:
    return _Never()


@EARLY_STOPPING.register(EarlyStoppingPatience)
def _patience(cfg: EarlyStoppingPatience, *, higher_is_better: bool) -> Stopper:
    return _Patience(cfg, higher_is_better)
