"""What a trial's MLflow run holds, defined once: its name, tags and params (`RunHeader`), and what a finished fold
logs (`FoldRecord`: per-epoch curves, final metrics, device tags, artifacts).

Every writer uses these: the live trial (ablations.workers.trial), the backup a trial keeps in the Optuna storage
when MLflow is down (`FoldRecord.to_backup`), and --resync-tracking's replay (ablations.storage.resync). To log
something new for every fold, add it to `FoldRecord` (from the TrainResult in `from_result`, and to
`final_metrics` or `tags`): the live run, the backup and the replay then all carry it. Tag names are the
constants below; no other module spells them.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from ablations.study.cells import ALL_FOLDS, Cell, optuna_study_name
from ablations.study.schema import StudyConfig, level_text, variant_labels
from avtca.config.base import flatten
from avtca.data import dataset_info

# tags of every run of a study
ROLE = "avtca.role"  # STUDY_ROLE (the parent), TRIAL_ROLE (a trial's run) or FOLD_ROLE (a span-folds trial's fold)
STUDY_ROLE, TRIAL_ROLE, FOLD_ROLE = "study", "trial", "fold"
STUDY, DATASET, PRESET = "study", "dataset", "preset"
VARIANT, VARIANT_NAME, VARIANT_INDEX = "variant", "variant_name", "variant_index"
VARIANT_DESCRIPTION = "variant_description"
REFERENCE, SEED, FOLD, CELL_ID = "reference", "seed", "fold", "cell_id"
REPEAT = "repeat"  # the cross-validation repeat (0: the protocol's own actor grouping); `fold` is within it
FACTOR_PREFIX = "factor."  # factor.<dotted path> = the cell's level
PROTOCOL, PROTOCOL_LABEL, SUBJECT_INDEPENDENT = "protocol", "protocol_label", "subject_independent"
TRIAL_NUMBER, OPTUNA_STUDY, OPTUNA_STATE = "optuna.trial_number", "optuna.study", "optuna.state"
DEVICE, PRECISION, ERROR = "device", "precision", "error"
KILLED = "avtca.killed"  # why a run was ended KILLED (dead worker, tracking outage)
RESYNCED = "avtca.resynced"  # a run rebuilt from the Optuna storage by --resync-tracking
LOST_TRIAL = "avtca.lost_trial"  # a run whose Optuna trial a damaged storage lost (--repair-storage)
ORDER_TAG = "avtca.order"  # sorts the UI's runs table: the parent first, then the cells in study order (view.py)
# MLflow's own tags
RUN_NAME, PARENT_RUN, DESCRIPTION = "mlflow.runName", "mlflow.parentRunId", "mlflow.note.content"
# user attrs of an Optuna trial
MLFLOW_RUN_ID = "mlflow_run_id"
TRACKING_ERROR = "tracking_error"
BACKUP_ATTR = "tracking_backup"  # what MLflow would have received, kept on the trial when logging failed


class RunLog(Protocol):
    """What the writers below need of a tracker (`ablations.tracking.Tracker` implements it)."""

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...
    def log_final(self, run_id: str, metrics: Mapping[str, float]) -> None: ...
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...
    def log_result(self, run_id: str, cfg_yaml: str, result: Any, checkpoint: bool = False) -> None: ...


@dataclass(frozen=True)
class RunHeader:
    """What a run is, written when it is created: its name, tags and (write-once) params."""

    name: str
    tags: dict[str, Any]
    params: dict[str, Any]


def run_name(study: StudyConfig, cell: Cell, fold: int | None = None) -> str:
    """A short run name: the variant, `s<seed>`, `r<repeat>` when the study repeats its cross-validation, then
    the fold unless the study runs only one (`fold` for a span-folds trial's fold run)."""
    repeat = f" r{cell.repeat}" if study.dataset.repeats > 1 else ""
    if fold is not None:
        return f"{cell.variant} s{cell.seed}{repeat} f{fold}"
    one_fold = isinstance(study.dataset.folds, list) and len(study.dataset.folds) == 1
    where = "" if one_fold else (" all folds" if cell.fold == ALL_FOLDS else f" f{cell.fold}")
    return f"{cell.variant} s{cell.seed}{repeat}{where}"


def data_tags(cfg: Any) -> dict[str, str]:
    """Protocol tags from the dataset description (cheap: no decoding)."""
    info = dataset_info(cfg.data)
    return {
        PROTOCOL: cfg.data.protocol_name,
        PROTOCOL_LABEL: info.protocol_label,
        SUBJECT_INDEPENDENT: str(info.subject_independent).lower(),
    }


def run_header(
    study: StudyConfig,
    cell: Cell,
    cfg: Any,
    trial_number: Any,
    fold: int,
    role: str,
    extra_tags: dict[str, Any] | None = None,
) -> RunHeader:
    """The header of a trial's run (`role` TRIAL_ROLE) or of a span-folds trial's fold run (FOLD_ROLE)."""
    tags: dict[str, Any] = {
        ROLE: role,
        STUDY: study.name,
        DATASET: study.dataset.name,
        SEED: cell.seed,
        REPEAT: cell.repeat,
        FOLD: "all" if fold == ALL_FOLDS else fold,
        PRESET: study.preset,
        VARIANT: cell.variant,
        REFERENCE: str(cell.variant == study.reference_label).lower(),
        CELL_ID: cell.cell_id,
        TRIAL_NUMBER: trial_number,
        OPTUNA_STUDY: optuna_study_name(study, cell),
        **{f"{FACTOR_PREFIX}{k}": level_text(v) for k, v in cell.factors.items()},
        **data_tags(cfg),
        **(extra_tags or {}),
    }
    if cell.name:
        tags[VARIANT_NAME] = cell.name
    if cell.description:
        tags[DESCRIPTION] = cell.description  # the variant's line from the study file, shown by the UI
        tags[VARIANT_DESCRIPTION] = cell.description  # runs.csv `description` is read back from it
    labels = variant_labels(study)
    if cell.variant in labels:
        tags[VARIANT_INDEX] = labels.index(cell.variant)  # study-file order for the report
    params = {**flatten(cfg.model_dump(mode="json")), "variant": cell.variant, "seed": cell.seed, "fold": fold}
    name = run_name(study, cell, fold if role == FOLD_ROLE else None)
    return RunHeader(name, tags, params)


def _frame(value: Any) -> pd.DataFrame | None:
    return None if value is None else pd.DataFrame(**value)


# a fold's cost figures: FoldRecord fields, MLflow metrics and runs.csv columns of these names (docs/training.md)
COST = ("flops_per_clip", "latency_ms_per_clip", "seconds_per_epoch")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, numbers.Real) else math.nan


@dataclass(frozen=True)
class FoldRecord:
    """What one trained fold's run holds besides its header."""

    fold: int
    history: list[dict[str, float]]  # per epoch: epoch, train/*, val/* (the curves, step = epoch)
    metrics: dict[str, float]  # final val/*, test/*, test_robust/*
    best_epoch: int
    n_params: int
    seconds: float
    device: str
    precision: str
    # cost, measured by the run (avtca.training.cost); NaN in a backup written before they existed
    flops_per_clip: float = math.nan
    latency_ms_per_clip: float = math.nan
    seconds_per_epoch: float = math.nan
    confusion: list[list[int]] | None = None
    class_names: list[str] = field(default_factory=list)
    per_class: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    state_dict: Any = None  # the best weights (logged as best.pt when the config asks; never backed up)

    @classmethod
    def from_result(cls, result: Any, fold: int) -> FoldRecord:
        """The record of a `avtca.training.TrainResult`."""
        confusion = getattr(result, "confusion", None)
        return cls(
            fold=int(fold),
            history=[{k: float(v) for k, v in h.items() if isinstance(v, numbers.Real)} for h in result.history or []],
            metrics={k: float(v) for k, v in result.metrics.items()},
            best_epoch=int(result.best_epoch),
            n_params=int(result.n_params),
            seconds=float(result.seconds),
            device=str(result.device),
            precision=str(result.precision),
            **{k: _number(getattr(result, k, None)) for k in COST},
            confusion=None if confusion is None else [[int(x) for x in row] for row in confusion],
            class_names=list(getattr(result, "class_names", None) or []),
            per_class=getattr(result, "per_class", None),
            predictions=getattr(result, "predictions", None),
            state_dict=getattr(result, "state_dict", None),
        )

    def final_metrics(self) -> dict[str, float]:
        """The metrics logged once when the fold ends (cost figures that could not be measured left out)."""
        cost = {k: getattr(self, k) for k in COST if math.isfinite(getattr(self, k))}
        return {**self.metrics, "best_epoch": self.best_epoch, "n_params": self.n_params, "seconds": self.seconds,
                **cost}  # fmt: skip

    def tags(self) -> dict[str, str]:
        """The tags set when the fold ends."""
        return {DEVICE: self.device, PRECISION: self.precision}

    def to_backup(self) -> dict[str, Any]:
        """The JSON-safe record kept on the Optuna trial when MLflow could not be written."""
        out = {
            "fold": self.fold, "history": self.history, "metrics": self.metrics, "best_epoch": self.best_epoch,
            "n_params": self.n_params, "seconds": self.seconds, "device": self.device, "precision": self.precision,
            "confusion": self.confusion, "class_names": self.class_names,
            **{k: getattr(self, k) if math.isfinite(getattr(self, k)) else None for k in COST},
        }  # fmt: skip
        out["per_class"] = None if self.per_class is None else json.loads(self.per_class.to_json(orient="split"))
        out["predictions"] = (
            None if self.predictions is None else json.loads(self.predictions.to_json(orient="split", index=False))
        )
        return out

    @classmethod
    def from_backup(cls, backup: dict[str, Any]) -> FoldRecord:
        """The record kept by `to_backup`."""
        return cls(
            fold=int(backup["fold"]),
            history=list(backup.get("history") or []),
            metrics=dict(backup["metrics"]),
            best_epoch=int(backup["best_epoch"]),
            n_params=int(backup["n_params"]),
            seconds=float(backup["seconds"]),
            device=str(backup["device"]),
            precision=str(backup["precision"]),
            **{k: _number(backup.get(k)) for k in COST},
            confusion=backup.get("confusion"),
            class_names=list(backup.get("class_names") or []),
            per_class=_frame(backup.get("per_class")),
            predictions=_frame(backup.get("predictions")),
        )


def write_history(tracker: RunLog, run_id: str, record: FoldRecord) -> None:
    """The per-epoch curves, one batch per epoch (a live run logs them as they come, through its `report`)."""
    for row in record.history:
        tracker.log_metrics(run_id, {k: v for k, v in row.items() if k != "epoch"}, step=int(row.get("epoch", 0)))


def write_final(tracker: RunLog, run_id: str, record: FoldRecord, cfg_yaml: str, checkpoint: bool = False) -> None:
    """What a fold logs when it ends: final metrics, device tags, artifacts (config, confusion, predictions...)."""
    tracker.log_final(run_id, record.final_metrics())
    tracker.set_tags(run_id, record.tags())
    tracker.log_result(run_id, cfg_yaml, record, checkpoint=checkpoint)
