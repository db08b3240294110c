"""One trial of one cell: its sampler and pruner, the tuned parameters it proposes, and the Objective that trains it."""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from ablations import interrupts
from ablations.storage.optuna import summary_attrs
from ablations.study.cells import ALL_FOLDS, Cell, factor_params, optuna_study_name, resolve, trial_overrides
from ablations.study.schema import (
    StudyConfig,
)
from ablations.tracking import Tracker
from ablations.tracking.record import (
    BACKUP_ATTR,
    FOLD_ROLE,
    MLFLOW_RUN_ID,
    TRACKING_ERROR,
    TRIAL_ROLE,
    FoldRecord,
    RunHeader,
    run_header,
    write_final,
)
from ablations.tracking.trial import TrialRuns
from avtca.config.base import ConfigError, dump_yaml
from avtca.training import SILENT, Progress, Pruned, train


def make_sampler(study: StudyConfig, cell: Cell, n_done: int) -> optuna.samplers.BaseSampler:
    """Factor levels fixed to the cell's; tuned parameters from the configured sampler, seeded per cell."""
    cfg = study.sampler
    seed = None if cfg.seed is None else (cfg.seed + int(cell.cell_id[:8], 16) + n_done) % 2**31
    with warnings.catch_warnings():
        # PartialFixedSampler and multivariate TPE are flagged experimental; both are long-standing
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if cfg.kind == "tpe":
            base = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=cfg.n_startup_trials, multivariate=cfg.multivariate
            )
        else:
            base = optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.PartialFixedSampler(factor_params(study, cell), base)


def make_pruner(study: StudyConfig) -> optuna.pruners.BasePruner:
    """The configured pruner for tuning studies; never prune untuned ablation cells (they must all finish)."""
    cfg = study.pruner
    if not study.tune or cfg.kind == "off":
        return optuna.pruners.NopPruner()
    if cfg.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=cfg.n_startup_trials, n_warmup_steps=cfg.n_warmup_steps)
    if cfg.kind == "hyperband":
        max_resource = study.budget.epochs or "auto"
        return optuna.pruners.HyperbandPruner(
            min_resource=cfg.min_resource, max_resource=max_resource, reduction_factor=cfg.reduction_factor
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(p_threshold=cfg.p_threshold, n_startup_steps=cfg.n_startup_steps)


def load_optuna_study(study: StudyConfig, cell: Cell, storage: Any, n_done: int = 0) -> optuna.Study:
    """The cell's Optuna study (created beforehand by the coordinator) with the cell's sampler and pruner."""
    return optuna.load_study(
        study_name=optuna_study_name(study, cell),
        storage=storage,
        sampler=make_sampler(study, cell, n_done),
        pruner=make_pruner(study),
    )


class Objective:
    """One trial of one cell: resolve the config, train each of the cell's folds, log, return the objective."""

    def __init__(
        self,
        study: StudyConfig,
        cell: Cell,
        tracker: Tracker | None = None,
        parent_run_id: str | None = None,
        runtime: Mapping[str, Any] | None = None,
        progress: Progress = SILENT,
        tags: Mapping[str, Any] | None = None,
        train_fn: Callable[..., Any] | None = None,
    ):
        self.study, self.cell, self.tracker, self.parent_run_id = study, cell, tracker, parent_run_id
        self.runtime = dict(runtime or {})  # device / threads: runtime knobs, not part of the cell identity
        self.progress, self.tags = progress, dict(tags or {})
        self.train_fn = train_fn
        self.runs = TrialRuns(tracker, pruned=(optuna.TrialPruned, Pruned))  # MLflow, best effort

    @property
    def tracking_errors(self) -> list[str]:
        """What failed while logging to MLflow (the result is kept in the Optuna storage)."""
        return self.runs.errors

    def _header(self, trial: Any, cfg: Any, fold: int, role: str) -> RunHeader:
        number = getattr(trial, "number", "fixed")
        return run_header(self.study, self.cell, cfg, number, fold, role, self.tags)

    def __call__(self, trial: Any) -> float:
        s, c = self.study, self.cell
        cfg = resolve(s, {**c.overrides, **trial_overrides(s, c, trial), **self.runtime})
        attrs = {"cell_id": c.cell_id, "variant": c.variant, "seed": c.seed, "repeat": c.repeat, "fold": c.fold}
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        results: list[Any] = []
        try:
            with self.runs:  # every run this trial opens is tagged with its outcome and ended on the way out
                trial_run = None
                if self.parent_run_id is not None:
                    trial_run = self.runs.start(self.parent_run_id, self._header(trial, cfg, c.fold, TRIAL_ROLE))
                if trial_run:
                    trial.set_user_attr(MLFLOW_RUN_ID, trial_run)
                value = self._run_folds(trial, cfg, trial_run, results)
                self.runs.finished()
                return value
        finally:
            if self.runs.errors:
                trial.set_user_attr(TRACKING_ERROR, "; ".join(self.runs.errors)[:1000])
                if self.runs.state == "COMPLETE":
                    backup = [FoldRecord.from_result(r, f).to_backup() for r, f in zip(results, c.folds)]
                    trial.set_user_attr(BACKUP_ATTR, backup)

    def _run_folds(self, trial: Any, cfg: Any, trial_run: str | None, results: list[Any]) -> float:
        """Train the cell's folds (one, or every fold for a span-folds trial); the objective is their mean."""
        s, c = self.study, self.cell
        span = c.fold == ALL_FOLDS
        values = []
        for fold in c.folds:
            run = trial_run
            if span and trial_run:
                run = self.runs.start(trial_run, self._header(trial, cfg, fold, FOLD_ROLE))
            result = self._train_fold(self.train_fn or train, cfg, trial, fold, run, span, Pruned)
            value = result.metrics.get(s.objective.metric)
            if value is None:
                raise ConfigError(
                    [
                        f"objective.metric: '{s.objective.metric}' is not among the metrics "
                        f"({', '.join(sorted(k for k in result.metrics if k.startswith('val/')))})"
                    ]
                )
            values.append(float(value))
            results.append(result)
            if span:
                trial.report(float(value), fold)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {fold}")
        objective = statistics.fmean(values)
        summary = _mean_metrics([r.metrics for r in results])
        for key, value in summary_attrs(summary, s.objective.metric).items():
            trial.set_user_attr(key, value)
        if span and trial_run:
            self.runs.call("log", self.tracker.log_final, trial_run, summary)
        if not math.isfinite(objective):
            raise FloatingPointError(f"{s.objective.metric} is {objective}")
        return objective

    def _train_fold(self, train_fn, cfg, trial, fold, run, span, pruned_cls):
        """Train one fold, reporting every epoch to MLflow (one batch) and, when not spanning folds, to Optuna
        (intermediate values: the dashboard's curves, the terminal's live line, and the pruner when tuning)."""
        prune = bool(self.study.tune) and not span and self.study.pruner.kind != "off"
        metric = self.study.objective.metric

        def report(epoch: int, metrics: Mapping[str, float]) -> None:
            interrupts.stop_if_interrupted()  # a Ctrl-C whose KeyboardInterrupt was lost (ablations.interrupts)
            if run:
                self.runs.call("log epoch", self.tracker.log_metrics, run, dict(metrics), step=epoch)
            if not span and metric in metrics and math.isfinite(float(metrics[metric])):
                trial.report(float(metrics[metric]), epoch)
                if prune and trial.should_prune():
                    raise pruned_cls(f"pruned at epoch {epoch}")

        try:
            result = train_fn(cfg, fold=fold, report=report, progress=self.progress)
        except pruned_cls as err:
            raise optuna.TrialPruned(str(err)) from None
        if run:
            record = FoldRecord.from_result(result, fold)
            checkpoint = cfg.train.save_checkpoint
            self.runs.call("log final", write_final, self.tracker, run, record, dump_yaml(cfg), checkpoint=checkpoint)
        return result


def _mean_metrics(rows: list[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over folds (keys present in every fold)."""
    keys = set.intersection(*(set(r) for r in rows)) if rows else set()
    return {k: statistics.fmean(float(r[k]) for r in rows) for k in sorted(keys)}
