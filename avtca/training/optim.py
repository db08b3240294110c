"""Optimizer, per-epoch learning-rate schedule with warmup, and best-epoch / early-stopping tracking."""

from __future__ import annotations

import math

import torch
from torch import nn

from avtca.training.config import (
    EarlyStoppingPatience,
    ScheduleCosine,
    SchedulePlateau,
    ScheduleStep,
    TrainConfig,
)


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by cfg.optimizer over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = cfg.optimizer
    if opt.kind == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=opt.momentum,
            dampening=opt.dampening,
            weight_decay=cfg.weight_decay,
            nesterov=opt.nesterov,
            fused=opt.fused or None,  # None = torch's default (for-each) implementation
        )
    return torch.optim.AdamW(
        params,
        lr=cfg.lr,
        betas=(opt.beta1, opt.beta2),
        eps=opt.eps,
        weight_decay=cfg.weight_decay,
        fused=opt.fused or None,
    )


class LRSchedule:
    """Sets the learning rate at the start of each epoch (0-based index); plateau reacts to the monitor."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, higher_is_better: bool):
        self.optimizer = optimizer
        self.cfg = cfg
        self.sched = cfg.scheduler
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.plateau_scale = 1.0
        self._plateau = _Improvement(higher_is_better, 0.0)

    def factor(self, epoch: int) -> float:
        """Multiplier of the base lr for 0-based `epoch` (warmup, then the schedule)."""
        warm = self.cfg.warmup_epochs
        if epoch < warm:
            return (epoch + 1) / (warm + 1)  # linear ramp that never starts at exactly 0
        sched = self.sched
        if isinstance(sched, ScheduleCosine):
            span = max(self.cfg.epochs - warm, 1)
            t = (epoch - warm) / span
            return sched.min_ratio + (1 - sched.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        if isinstance(sched, ScheduleStep):
            # released code: lr = base * 0.1 ** sum(epoch_1based >= lr_steps)
            return sched.gamma ** sum(epoch + 1 >= m for m in sched.milestones)
        if isinstance(sched, SchedulePlateau):
            return self.plateau_scale
        return 1.0

    def start_epoch(self, epoch: int) -> float:
        """Apply the lr for 0-based `epoch`; returns the first group's lr."""
        f = self.factor(epoch)
        for group, base in zip(self.optimizer.param_groups, self.base):
            lr = base * f
            if isinstance(self.sched, SchedulePlateau):
                lr = max(lr, self.sched.min_lr)
            group["lr"] = lr
        return self.optimizer.param_groups[0]["lr"]

    def end_epoch(self, epoch: int, value: float) -> None:
        """Feed the monitored value of 0-based `epoch` (only the plateau schedule uses it)."""
        if not isinstance(self.sched, SchedulePlateau) or epoch < self.cfg.warmup_epochs:
            return
        if self._plateau.update(value):
            return
        if self._plateau.stale > self.sched.patience:
            self.plateau_scale *= self.sched.factor
            self._plateau.stale = 0


class _Improvement:
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


class BestKeeper:
    """Keeps a CPU copy of the weights of the best epoch and decides when early stopping triggers."""

    def __init__(self, cfg: TrainConfig, higher_is_better: bool):
        stop = cfg.early_stopping
        self.patience = stop.patience if isinstance(stop, EarlyStoppingPatience) else None
        # best-epoch choice is a strict improvement; min_delta only matters for patience
        self._best = _Improvement(higher_is_better, 0.0)
        self._stop = _Improvement(higher_is_better, stop.min_delta if self.patience else 0.0)
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.state_dict: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Record the epoch's monitored value; snapshot the weights if best. True if training should stop."""
        if self._best.update(value) or self.state_dict is None:
            self.best_epoch, self.best_value = epoch, value
            self.state_dict = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self._stop.update(value)
        return self.patience is not None and self._stop.stale >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best weights back into `model`."""
        if self.state_dict is not None:
            model.load_state_dict(self.state_dict)  # copies into the live parameters
