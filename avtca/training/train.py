"""`train(cfg, fold)`: one complete run - data, model, fit, final and robustness evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from avtca.data import build_splits
from avtca.data.config import DataConfig
from avtca.metrics import confusion, per_class_report
from avtca.models.config import ModelConfig
from avtca.models.model import create_model
from avtca.models.weights import write_checkpoint
from avtca.training.config import EvalConfig, TrainConfig
from avtca.training.cost import measure
from avtca.training.evaluate import evaluate, prediction_frame, robustness_conditions, robustness_evaluations
from avtca.training.loop import Report, fit
from avtca.training.progress import SILENT, Progress, check_progress
from avtca.training.runtime import (
    data_generator,
    resolve_device,
    run_seed,
    seed_everything,
    seed_worker,
    torch_threads,
)


class RunConfig(Protocol):
    """What `train` reads of an experiment (avtca.experiment.ExperimentConfig, the layer above, is one)."""

    @property
    def model(self) -> ModelConfig: ...

    @property
    def data(self) -> DataConfig: ...

    @property
    def train(self) -> TrainConfig: ...

    @property
    def eval(self) -> EvalConfig: ...


@dataclass
class TrainResult:
    """Outcome of one run (contract in docs/ARCHITECTURE.md); metrics are final val/test/test_robust values."""

    metrics: dict[str, float]
    history: list[dict[str, Any]]
    confusion: np.ndarray | None
    class_names: list[str] | None
    per_class: pd.DataFrame | None
    best_epoch: int
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    n_params: int
    seconds: float
    monitor: str = "val/accuracy"
    # cost (avtca.training.cost): FLOPs and latency of one test clip's forward pass; mean epoch wall time
    flops_per_clip: int | None = None
    latency_ms_per_clip: float | None = None
    seconds_per_epoch: float | None = None
    seed: int | None = None  # the seed the run's randomness came from (train.seeding: derived per fold, or shared)
    stopped_early: bool = False
    task: str = "classification"
    fold: int = 0
    device: str = "cpu"
    precision: str = "off"
    protocol_label: str = ""
    subject_independent: bool | None = None
    # one row per (condition, test clip): condition, clip, actor, target, prediction; None without a test set
    predictions: pd.DataFrame | None = field(default=None, repr=False)


def make_loaders(
    splits: Any, train_cfg: TrainConfig, eval_cfg: EvalConfig, device: torch.device, seed: int | None = None
) -> dict:
    """DataLoaders for train (shuffled by a generator seeded with `seed`, train.seed if None), val and test."""
    common = {
        "num_workers": train_cfg.num_workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": train_cfg.num_workers > 0,
        "worker_init_fn": seed_worker if train_cfg.num_workers > 0 else None,
    }
    eval_bs = eval_cfg.batch_size or train_cfg.batch_size
    return {
        "train": DataLoader(
            splits.train,
            batch_size=train_cfg.batch_size,
            shuffle=True,
            generator=data_generator(train_cfg.seed if seed is None else seed),
            drop_last=train_cfg.drop_last and len(splits.train) > train_cfg.batch_size,
            **common,
        ),
        "val": DataLoader(splits.val, batch_size=eval_bs, shuffle=False, **common),
        "test": DataLoader(splits.test, batch_size=eval_bs, shuffle=False, **common),
    }


def _check_head(cfg: RunConfig, task: str) -> None:
    head = cfg.model.head.kind  # head kinds are named after the tasks they serve
    if head != task:
        raise ValueError(
            f"model.head.kind: '{head}' does not fit the {cfg.data.name} task '{task}' "
            f"(expected '{task}'; resolve the config with avtca.experiment.resolve_experiment)"
        )


def train(cfg: RunConfig, fold: int = 0, report: Report | None = None, progress: Progress | None = None) -> TrainResult:
    """Train cfg.model on fold `fold` of cfg.data, evaluate the best epoch on val/test and under robustness conditions.

    `report(epoch, metrics)` is called after each epoch and may raise avtca.training.Pruned;
    `progress(epoch, metrics)` is told after each epoch too: None is an own epoch bar, avtca.training.SILENT
    shows nothing (data preparation too).
    """
    progress = check_progress(progress)
    start = time.perf_counter()
    tcfg = cfg.train
    # train.seeding per_fold: each (repeat, fold) of a seed its own initial weights and batch order (a seed shared
    # by every fold is a term the fold-level tests cannot see: docs/statistics.md); shared: train.seed itself
    seed = run_seed(tcfg.seed, fold, cfg.data.repeat, tcfg.seeding)
    with torch_threads(tcfg.threads):
        seed_everything(seed, tcfg.deterministic)
        # the split's own seed stays train.seed (a random split is the same for every seeding)
        splits = build_splits(cfg.data, fold=fold, seed=tcfg.seed, progress=progress is not SILENT)
        info = splits.info
        _check_head(cfg, info.task)
        # re-seed so the initial weights do not depend on how much randomness data preparation used
        seed_everything(seed, tcfg.deterministic)
        model = create_model(cfg.model)
        n_params = sum(p.numel() for p in model.parameters())
        device = resolve_device(tcfg.device)
        loaders = make_loaders(splits, tcfg, cfg.eval, device, seed)
        fitted = fit(model, loaders, tcfg, info.task, report=report, progress=progress, device=device)

        common = {"device": device, "precision": fitted.precision, "loss_fn": fitted.loss_fn}
        metrics: dict[str, float] = {}
        evals = {}
        for split in ("val", "test"):
            evals[split] = evaluate(fitted.net, loaders[split], info.task, prefix=f"{split}/", **common)
            metrics.update(evals[split].metrics)
        conditions = robustness_conditions(cfg.eval.modality_off, cfg.eval.noise_levels)
        robust = {}
        for split in cfg.eval.splits:
            robust[split] = robustness_evaluations(
                fitted.net, loaders[split], info.task, conditions, split=split, seed=cfg.eval.seed, **common
            )
            for evaluation in robust[split].values():
                metrics.update(evaluation.metrics)
        predictions = _predictions(splits.test, info.task, {"clean": evals["test"], **robust.get("test", {})})
        cost = measure(model, fitted.net, splits.test, device, fitted.precision, fitted.history)

    class_names = list(info.class_names) if info.class_names else None
    cm = per_class = None
    if info.task == "classification":
        test = evals["test"]
        n_classes = len(class_names) if class_names else int(info.n_outputs)
        names = class_names or [str(i) for i in range(n_classes)]
        cm = confusion(test.targets, test.outputs, n_classes)
        per_class = per_class_report(test.targets, test.outputs, names)
    return TrainResult(
        metrics=metrics,
        history=fitted.history,
        confusion=cm,
        class_names=class_names,
        per_class=per_class,
        best_epoch=fitted.best_epoch,
        state_dict=fitted.state_dict,
        n_params=n_params,
        seconds=time.perf_counter() - start,
        monitor=fitted.monitor,
        stopped_early=fitted.stopped_early,
        task=info.task,
        fold=fold,
        device=str(device),
        precision=fitted.precision.name,
        protocol_label=getattr(info, "protocol_label", ""),
        subject_independent=getattr(info, "subject_independent", None),
        predictions=predictions,
        flops_per_clip=cost.flops_per_clip,
        latency_ms_per_clip=cost.latency_ms_per_clip,
        seconds_per_epoch=cost.seconds_per_epoch,
        seed=seed,
    )


def _predictions(test: Any, task: str, evaluations: dict) -> pd.DataFrame | None:
    """Per-clip test predictions of every condition (`clean` first), in the test set's clip order."""
    if test is None or not len(test):
        return None
    clips, actors = test.item_ids, test.item_actors
    frames = [prediction_frame(name, ev, clips, actors, task) for name, ev in evaluations.items()]
    return pd.concat(frames, ignore_index=True)


def save_best(result: TrainResult, path: str | Path, cfg: RunConfig) -> Path:
    """Write a run's best weights as a model checkpoint (`avtca.create_model(weights=path)` loads it)."""
    best = next((h for h in result.history if h["epoch"] == result.best_epoch), {})
    return write_checkpoint(
        path,
        cfg.model,
        result.state_dict,
        epoch=result.best_epoch,
        monitor=result.monitor,
        best_value=best.get(result.monitor),
        experiment=cfg.model_dump(mode="json"),
    )
