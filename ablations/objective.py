"""The Optuna side of a study: storage, samplers, pruners, and the Objective (one trial = one cell)."""

from __future__ import annotations

import json
import math
import numbers
import statistics
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from ablations import interrupts
from ablations.cells import ALL_FOLDS, Cell, factor_params, resolve
from ablations.database import is_sql_url, open_rdb_storage
from ablations.masking import mask
from ablations.study import (
    CategoricalParam,
    FloatParam,
    IntParam,
    StudyConfig,
    choice_value,
    level_text,
    variant_labels,
)
from ablations.tracking import provenance
from ablations.tracking.trial import TrialRuns
from avtca.config.base import ConfigError, dump_yaml, flatten
from avtca.data import dataset_info
from avtca.metrics import task_metrics
from avtca.training import SILENT, Progress, Pruned, train

# final metrics kept on the Optuna trial (one short user attr each) for the end-of-study summary; the rest is in MLflow
SUMMARY_PREFIXES = ("val/", "test/")
# what MLflow would have received, kept on the trial when logging failed, so --resync-tracking can replay it
BACKUP_ATTR = "tracking_backup"


def open_storage(url: str, create: bool = True) -> optuna.storages.BaseStorage:
    """Optuna storage: a journal file (default; several processes on one machine) or a database URL."""
    if is_sql_url(url):
        try:
            return open_rdb_storage(url)  # schema creation under a lock: workers may start together
        except Exception as err:  # noqa: BLE001 - unreachable server, wrong password, missing driver
            raise ConfigError([f"storage: cannot open {mask(url)}: {type(err).__name__}: {err}"]) from None
    path = Path(url.removeprefix("journal://"))
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def optuna_study_name(study: StudyConfig, cell: Cell) -> str:
    """One Optuna study per study file; with `tune`, one per variant so samplers and pruners compare like with like."""
    return f"{study.name}/{cell.variant}" if study.tune else study.name


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


def annotate_study(ostudy: optuna.Study, study: StudyConfig, study_file: str | None = None) -> None:
    """What optuna-dashboard shows: the objective's name and the study's file, description and commit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since Optuna 3.2
        ostudy.set_metric_names([study.objective.metric])
    attrs = {
        "study_file": str(study_file or ""),
        "description": study.description,
        "git_commit": provenance().get("git_commit", "unknown"),
        "reference": study.reference_label,
    }
    for key, value in attrs.items():
        if ostudy.user_attrs.get(key) != value:
            ostudy.set_user_attr(key, value)


def summary_attrs(metrics: Mapping[str, float], objective: str) -> dict[str, float]:
    """The few final metrics a trial keeps as user attrs (the objective and the main test metrics)."""
    keep = {objective, *(f"{p}{m}" for p in SUMMARY_PREFIXES for m in task_metrics())}
    return {k: float(v) for k, v in metrics.items() if k in keep}


def load_optuna_study(study: StudyConfig, cell: Cell, storage: Any, n_done: int = 0) -> optuna.Study:
    """The cell's Optuna study (created beforehand by the coordinator) with the cell's sampler and pruner."""
    return optuna.load_study(
        study_name=optuna_study_name(study, cell),
        storage=storage,
        sampler=make_sampler(study, cell, n_done),
        pruner=make_pruner(study),
    )


def suggest(study: StudyConfig, cell: Cell, trial: Any) -> dict[str, Any]:
    """Ask the trial for the cell's factor levels (fixed) and the tuned parameters; returns dotted overrides."""
    for key, expected in factor_params(study, cell).items():
        if key == "variant":
            got = trial.suggest_categorical("variant", list(study.variants))
        else:
            got = trial.suggest_categorical(key, [choice_value(v) for v in study.factors[key]])
        if got != expected:
            raise RuntimeError(f"trial proposed {key}={got!r} for a cell with {key}={expected!r}")
    tuned: dict[str, Any] = {}
    for key, spec in study.tune.items():
        if isinstance(spec, FloatParam):
            tuned[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            tuned[key] = trial.suggest_int(key, spec.low, spec.high, step=spec.step, log=spec.log)
        elif isinstance(spec, CategoricalParam):
            texts = [choice_value(c) for c in spec.choices]
            tuned[key] = spec.choices[texts.index(trial.suggest_categorical(key, texts))]
    return tuned


class Objective:
    """One trial of one cell: resolve the config, train each of the cell's folds, log, return the objective."""

    def __init__(
        self,
        study: StudyConfig,
        cell: Cell,
        tracker: Any = None,
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

    def _run_tags(self, trial: Any, fold: int, role: str) -> dict[str, Any]:
        s, c = self.study, self.cell
        tags = {
            "avtca.role": role,
            "study": s.name,
            "dataset": s.dataset.name,
            "seed": c.seed,
            "fold": "all" if fold == ALL_FOLDS else fold,
            "preset": s.preset,
            "variant": c.variant,
            "reference": str(c.variant == s.reference_label).lower(),
            "cell_id": c.cell_id,
            "optuna.trial_number": getattr(trial, "number", "fixed"),
            "optuna.study": optuna_study_name(s, c),
            **{f"factor.{k}": level_text(v) for k, v in c.factors.items()},
            **self.tags,
        }
        if c.name:
            tags["variant_name"] = c.name
        if c.description:
            tags["mlflow.note.content"] = c.description  # the variant's line from the study file, shown by the UI
            tags["variant_description"] = c.description  # runs.csv `description` is read back from it
        labels = variant_labels(s)
        if c.variant in labels:
            tags["variant_index"] = labels.index(c.variant)  # study-file order for the report
        return tags

    def __call__(self, trial: Any) -> float:
        s, c = self.study, self.cell
        cfg = resolve(s, {**c.overrides, **suggest(s, c, trial), **self.runtime})
        for key, value in {"cell_id": c.cell_id, "variant": c.variant, "seed": c.seed, "fold": c.fold}.items():
            trial.set_user_attr(key, value)
        self.tags.update(_data_tags(cfg))
        params = {**flatten(cfg.model_dump(mode="json")), "variant": c.variant, "seed": c.seed}
        results: list[Any] = []
        try:
            with self.runs:  # every run this trial opens is tagged with its outcome and ended on the way out
                trial_run = None
                if self.parent_run_id is not None:
                    trial_run = self.runs.start(
                        self.parent_run_id,
                        run_name(s, c),
                        self._run_tags(trial, c.fold, "trial"),
                        {**params, "fold": c.fold},
                    )
                if trial_run:
                    trial.set_user_attr("mlflow_run_id", trial_run)
                value = self._run_folds(trial, cfg, params, trial_run, results)
                self.runs.finished()
                return value
        finally:
            if self.runs.errors:
                trial.set_user_attr("tracking_error", "; ".join(self.runs.errors)[:1000])
                if self.runs.state == "COMPLETE":
                    trial.set_user_attr(BACKUP_ATTR, [tracking_backup(r, f) for r, f in zip(results, c.folds)])

    def _run_folds(
        self, trial: Any, cfg: Any, params: dict[str, Any], trial_run: str | None, results: list[Any]
    ) -> float:
        """Train the cell's folds (one, or every fold for a span-folds trial); the objective is their mean."""
        s, c = self.study, self.cell
        span = c.fold == ALL_FOLDS
        values = []
        for fold in c.folds:
            run = trial_run
            if span and trial_run:
                run = self.runs.start(
                    trial_run,
                    f"{c.variant} s{c.seed} f{fold}",
                    self._run_tags(trial, fold, "fold"),
                    {**params, "fold": fold},
                )
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
            final = {k: v for k, v in result.metrics.items()}
            final.update({"best_epoch": result.best_epoch, "n_params": result.n_params, "seconds": result.seconds})
            self.runs.call("log final", self.tracker.log_final, run, final)
            self.runs.call("tags", self.tracker.set_tags, run, {"device": result.device, "precision": result.precision})
            self.runs.call(
                "artifacts", self.tracker.log_result, run, dump_yaml(cfg), result, checkpoint=cfg.train.save_checkpoint
            )
        return result


def tracking_backup(result: Any, fold: int) -> dict[str, Any]:
    """The JSON-safe part of a fold's TrainResult that its MLflow run holds: curves, metrics, confusion, predictions."""
    per_class = getattr(result, "per_class", None)
    confusion = getattr(result, "confusion", None)
    predictions = getattr(result, "predictions", None)
    return {
        "fold": fold,
        "history": [{k: float(v) for k, v in h.items() if isinstance(v, numbers.Real)} for h in result.history or []],
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "best_epoch": int(result.best_epoch), "n_params": int(result.n_params), "seconds": float(result.seconds),
        "device": result.device, "precision": result.precision,
        "confusion": None if confusion is None else [[int(x) for x in row] for row in confusion],
        "class_names": list(getattr(result, "class_names", None) or []),
        "per_class": None if per_class is None else json.loads(per_class.to_json(orient="split")),
        "predictions": None if predictions is None else json.loads(predictions.to_json(orient="split", index=False)),
    }  # fmt: skip


def _data_tags(cfg: Any) -> dict[str, str]:
    """Protocol tags from the dataset description (cheap: no decoding)."""
    info = dataset_info(cfg.data)
    return {
        "protocol": cfg.data.protocol_name,
        "protocol_label": info.protocol_label,
        "subject_independent": str(info.subject_independent).lower(),
    }


def _mean_metrics(rows: list[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over folds (keys present in every fold)."""
    keys = set.intersection(*(set(r) for r in rows)) if rows else set()
    return {k: statistics.fmean(float(r[k]) for r in rows) for k in sorted(keys)}


def best_trial(trials: list[optuna.trial.FrozenTrial], direction: str) -> optuna.trial.FrozenTrial | None:
    """The trial a study picks: best value among COMPLETE trials (Optuna gives pruned ones a value too)."""
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    return (max if direction == "maximize" else min)(complete, key=lambda t: t.value)


def run_name(study: StudyConfig, cell: Cell) -> str:
    """A short MLflow run name: the variant, then `s<seed>`, then the fold unless the study runs only one."""
    one_fold = isinstance(study.dataset.folds, list) and len(study.dataset.folds) == 1
    fold = "" if one_fold else (" all folds" if cell.fold == ALL_FOLDS else f" f{cell.fold}")
    return f"{cell.variant} s{cell.seed}{fold}"


def trial_metrics(trial: optuna.trial.FrozenTrial) -> dict[str, float]:
    """The final metrics a trial stored for the summary: one user attr per metric (older trials: one dict)."""
    value = trial.user_attrs.get("metrics")
    if value is not None:
        return dict(value) if isinstance(value, Mapping) else json.loads(value)
    return {
        k: float(v)
        for k, v in trial.user_attrs.items()
        if k.startswith(SUMMARY_PREFIXES) and isinstance(v, numbers.Real)
    }
