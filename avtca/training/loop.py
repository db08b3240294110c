"""The epoch loop: `fit` trains a model with a TrainConfig, reporting per-epoch metrics, keeping the best weights."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from avtca.config.base import suggest
from avtca.metrics import METRIC_NAMES, default_monitor, higher_is_better
from avtca.training.clipping import CLIPPING
from avtca.training.config import TrainConfig
from avtca.training.errors import NonFiniteLoss, Pruned
from avtca.training.evaluate import LossFn, Unpack, default_unpack, evaluate, task_outputs
from avtca.training.optim import BestKeeper, LRSchedule, build_optimizer
from avtca.training.progress import EpochBar, Progress, check_progress
from avtca.training.runtime import Precision, autocast, resolve_device, resolve_precision

Report = Callable[[int, dict[str, float]], None]
# a host sync every this many steps catches a NaN loss early without stalling the GPU each step
_FINITE_CHECK_EVERY = 50


def make_loss(task: str, cfg: TrainConfig) -> LossFn:
    """Loss for the task: cross-entropy, L1/MSE on (B,) regression outputs, BCE-with-logits on label presence."""
    if task == "classification":
        ce = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        return lambda out, target: ce(out, target.long())
    if task == "regression":
        reg = nn.L1Loss() if cfg.regression_loss == "l1" else nn.MSELoss()
        return lambda out, target: reg(out.reshape(-1), target.reshape(-1).float())
    if task == "multilabel":
        bce = nn.BCEWithLogitsLoss()
        # targets are (B, 6) intensities; an emotion is present when its intensity is > 0
        return lambda out, target: bce(out, (target > 0).to(out.dtype))
    raise ValueError(f"task: '{task}' is not one of classification, regression, multilabel")


def prepare_model(model: nn.Module, cfg: TrainConfig, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """Move to device (channels_last if asked); returns (model, net) where net may be torch.compile'd."""
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)  # only 4-D conv weights change layout
    net = torch.compile(model) if cfg.compile else model
    return model, net


def train_one_epoch(
    net: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    task: str,
    cfg: TrainConfig,
    *,
    epoch: int,
    device: torch.device,
    precision: Precision,
    scaler: torch.amp.GradScaler | None,
    unpack: Unpack,
) -> float:
    """One pass over the training loader; returns the sample-weighted mean loss (one host sync at the end)."""
    net.train()
    clip = CLIPPING.build(cfg.clip)  # None: no clipping
    total = torch.zeros((), device=device)
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    n = 0
    for step, batch in enumerate(loader):
        audio, video, target = unpack(batch, device)
        with autocast(device, precision):
            out = task_outputs(task, net(audio, video))
        loss = loss_fn(out.float(), target)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            if clip is not None:
                scaler.unscale_(optimizer)
                clip(net.parameters())
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clip is not None:
                clip(net.parameters())
            optimizer.step()
        value = loss.detach()
        total += value * target.shape[0]
        n += target.shape[0]
        first_bad = torch.where((first_bad < 0) & ~torch.isfinite(value), step, first_bad)
        if (step + 1) % _FINITE_CHECK_EVERY == 0 and first_bad.item() >= 0:
            break
    bad = int(first_bad.item())
    if bad >= 0:
        bad_params = [name for name, p in net.named_parameters() if not torch.isfinite(p).all()]
        raise NonFiniteLoss(epoch, bad, optimizer.param_groups[0]["lr"], bad_params)
    if n == 0:
        raise ValueError("train: the training loader yielded no batches (empty training split?)")
    return float(total.item()) / n


@dataclass
class FitResult:
    """What `fit` learned: per-epoch history, the best epoch by the monitor and its weights (CPU)."""

    history: list[dict[str, Any]]
    best_epoch: int
    best_value: float
    monitor: str
    state_dict: dict[str, torch.Tensor]
    stopped_early: bool
    device: torch.device
    precision: Precision
    net: nn.Module = field(repr=False)
    loss_fn: LossFn = field(repr=False)


def resolve_monitor(cfg: TrainConfig, task: str) -> tuple[str, bool]:
    """(monitor name, higher is better) for a config and task; an unknown metric is a clear error."""
    monitor = default_monitor(task) if cfg.monitor == "auto" else cfg.monitor
    allowed = ["val/loss"] + [f"val/{m}" for m in METRIC_NAMES[task]]
    if monitor not in allowed:
        raise ValueError(
            f"train.monitor: '{monitor}' is not a {task} metric; one of {', '.join(allowed)}{suggest(monitor, allowed)}"
        )
    hib = higher_is_better(monitor) if cfg.mode == "auto" else cfg.mode == "max"
    return monitor, hib


def fit(
    model: nn.Module,
    loaders: Mapping[str, Any],
    cfg: TrainConfig,
    task: str,
    *,
    report: Report | None = None,
    progress: Progress | None = None,
    device: torch.device | str | None = None,
    unpack: Unpack | None = None,
) -> FitResult:
    """Train `model` on loaders['train'], validating on loaders['val'] each epoch; ends holding the best weights.

    `report(epoch, metrics)` is called after every epoch (1-based) and may raise Pruned, which propagates
    with `.epoch` and `.history` set. `progress(epoch, metrics)` is told too (None: an own epoch bar; SILENT).
    A NaN/inf training loss raises NonFiniteLoss.
    """
    progress = check_progress(progress)
    for split in ("train", "val"):
        if loaders.get(split) is None:
            raise ValueError(f"fit: loaders needs a '{split}' loader (got {', '.join(loaders) or 'none'})")
    device = torch.device(device) if device is not None else resolve_device(cfg.device)
    precision = resolve_precision(cfg.amp, device)
    unpack = unpack or default_unpack
    monitor, hib = resolve_monitor(cfg, task)
    model, net = prepare_model(model, cfg, device)
    optimizer = build_optimizer(model, cfg)
    schedule = LRSchedule(optimizer, cfg, hib)
    keeper = BestKeeper(cfg, hib)
    scaler = torch.amp.GradScaler(device.type) if precision.scaler else None
    loss_fn = make_loss(task, cfg)
    history: list[dict[str, Any]] = []
    own_bar = EpochBar(cfg.epochs, monitor) if progress is None else None
    tell = progress if own_bar is None else own_bar
    stopped = False
    try:
        for index in range(cfg.epochs):
            epoch = index + 1
            start = time.perf_counter()
            lr = schedule.start_epoch(index)
            train_loss = train_one_epoch(
                net,
                loaders["train"],
                optimizer,
                loss_fn,
                task,
                cfg,
                epoch=epoch,
                device=device,
                precision=precision,
                scaler=scaler,
                unpack=unpack,
            )
            val = evaluate(
                net,
                loaders["val"],
                task,
                prefix="val/",
                device=device,
                precision=precision,
                unpack=unpack,
                loss_fn=loss_fn,
            )
            metrics = {"train/loss": train_loss, "train/lr": lr, **val.metrics}
            metrics["train/seconds"] = time.perf_counter() - start
            history.append({"epoch": epoch, **metrics})
            value = metrics[monitor]
            stopped = keeper.update(epoch, value, model)
            schedule.end_epoch(index, value)
            tell(epoch, dict(metrics))
            if report is not None:
                try:
                    report(epoch, dict(metrics))
                except Pruned as exc:
                    exc.epoch = exc.epoch if exc.epoch is not None else epoch
                    exc.history = history
                    raise
            if stopped:
                break
    finally:
        if own_bar is not None:
            own_bar.close()
    keeper.restore(model)
    return FitResult(
        history=history,
        best_epoch=keeper.best_epoch,
        best_value=keeper.best_value,
        monitor=monitor,
        state_dict=keeper.state_dict,
        stopped_early=stopped and len(history) < cfg.epochs,
        device=device,
        precision=precision,
        net=net,
        loss_fn=loss_fn,
    )
