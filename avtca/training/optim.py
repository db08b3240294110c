"""The optimizer, the per-epoch learning rate (warmup, then the schedule) and best-epoch / early-stopping tracking.

Which optimizer, schedule and stopping rule: their registries (optimizers.py, schedules.py, stopping.py).
"""

from __future__ import annotations

import torch
from torch import nn

from avtca.training.config import TrainConfig
from avtca.training.optimizers import OPTIMIZERS
from avtca.training.schedules import SCHEDULES
from avtca.training.stopping import EARLY_STOPPING, Improvement


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by cfg.optimizer over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return OPTIMIZERS.build(cfg.optimizer, params=params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class LRSchedule:
    """Sets the learning rate at the start of each epoch (0-based index); a schedule may react to the monitor."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, higher_is_better: bool):
        self.optimizer = optimizer
        self.cfg = cfg
        self.schedule = SCHEDULES.build(
            cfg.scheduler, epochs=cfg.epochs, warmup_epochs=cfg.warmup_epochs, higher_is_better=higher_is_better
        )
        self.base = [g["lr"] for g in optimizer.param_groups]

    def factor(self, epoch: int) -> float:
        """Multiplier of the base lr for 0-based `epoch` (warmup, then the schedule)."""
        warm = self.cfg.warmup_epochs
        if epoch < warm:
            return (epoch + 1) / (warm + 1)  # linear ramp that never starts at exactly 0
        return self.schedule.factor(epoch)

    def start_epoch(self, epoch: int) -> float:
        """Apply the lr for 0-based `epoch`; returns the first group's lr."""
        f = self.factor(epoch)
        floor = self.schedule.min_lr
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * f if floor is None else max(base * f, floor)
        return self.optimizer.param_groups[0]["lr"]

    def end_epoch(self, epoch: int, value: float) -> None:
        """Feed the monitored value of 0-based `epoch` to the schedule (warmup epochs are not its)."""
        if epoch >= self.cfg.warmup_epochs:
            self.schedule.observe(epoch, value)


class BestKeeper:
    """Keeps a CPU copy of the weights of the best epoch and decides when early stopping triggers."""

    def __init__(self, cfg: TrainConfig, higher_is_better: bool):
        # best-epoch choice is a strict improvement; the stopping rule has its own tolerance
        self._best = Improvement(higher_is_better, 0.0)
        self._stopper = EARLY_STOPPING.build(cfg.early_stopping, higher_is_better=higher_is_better)
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.state_dict: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Record the epoch's monitored value; snapshot the weights if best. True if training should stop."""
        if self._best.update(value) or self.state_dict is None:
            self.best_epoch, self.best_value = epoch, value
            self.state_dict = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        return self._stopper.update(value)

    def restore(self, model: nn.Module) -> None:
        """Load the best weights back into `model`."""
        if self.state_dict is not None:
            model.load_state_dict(self.state_dict)  # copies into the live parameters
