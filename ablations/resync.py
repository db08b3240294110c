"""Re-sync MLflow from the Optuna storage: trials whose logging failed (tracking server down) or whose run is
gone (deleted, or the tracking store lost or replaced) get their runs.

The Optuna storage is the study's source of truth: a completed trial keeps its final metrics in the user
attribute `metrics`, and when MLflow could not be reached, `tracking_error` and `tracking_backup`: per fold,
what its run would have held (per-epoch curves, final metrics, confusion matrix, per-class scores).
`--resync-tracking` recreates a FINISHED child run for each such trial (config params, tags, and that backup
replayed: the curves at their epochs, config.yaml and the confusion/per-class artifacts; a span-folds trial
gets its fold runs back too), tagged `avtca.resynced`, so that MLflow and the report see every completed cell;
the trial's runs cut off by the outage are ended KILLED. Trials flagged before backups existed get their final
metrics only, and so do trials whose run was lost after logging had succeeded (they kept no backup);
checkpoints are not replayed. It is idempotent: a trial with a re-synced run is skipped.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FixedTrial, TrialState

from ablations.cells import ALL_FOLDS, Cell, resolve
from ablations.objective import (
    BACKUP_ATTR,
    Objective,
    _data_tags,
    open_storage,
    optuna_study_name,
    suggest,
    trial_metrics,
)
from ablations.study import StudyConfig
from ablations.tracking.read import LiveRuns, live_runs
from avtca.config.base import dump_yaml, flatten


def _needs_resync(trial: optuna.trial.FrozenTrial, cell: Cell, live: LiveRuns) -> bool:
    """A completed trial whose logging failed, or whose run is gone (deleted, or the tracking store replaced)."""
    if trial.state != TrialState.COMPLETE or live.has_resynced(cell.cell_id, trial.number):
        return False
    lost = not live.has_run(cell.cell_id, trial.number, trial.user_attrs.get("mlflow_run_id"))
    return lost or "tracking_error" in trial.user_attrs


def _trial_runs(tracker: Any, cell: Cell, number: int) -> list[Any]:
    flt = f"tags.cell_id = '{cell.cell_id}' and tags.`optuna.trial_number` = '{number}'"
    return tracker.client.search_runs([tracker.experiment_id], filter_string=flt, max_results=1000)


def _supersede(tracker: Any, cell: Cell, number: int, keep: list[str]) -> None:
    """The trial's runs cut off by the outage (left RUNNING, or ended with gaps) give way to the re-synced ones."""
    for run in _trial_runs(tracker, cell, number):
        if run.info.run_id not in keep and run.info.status in ("RUNNING", "FINISHED"):
            note = "cut off by a tracking outage; see the resynced run"
            tracker.client.set_tag(run.info.run_id, "avtca.killed", note)
            tracker.end(run.info.run_id, "KILLED")


def resync_tracking(study: StudyConfig, cells: list[Cell], tracker: Any, parent_run_id: str) -> list[str]:
    """Create the missing MLflow runs of completed trials (logging failed, or the run is gone); returns the run ids."""
    storage = open_storage(study.storage_url, create=False)
    by_id = {c.cell_id: c for c in cells}
    live = live_runs(tracker)
    created: list[str] = []
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        for trial in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False):
            cell = by_id.get(trial.user_attrs.get("cell_id", ""))
            if cell is None or not _needs_resync(trial, cell, live):
                continue
            runs = _resync_trial(study, cell, trial, tracker, parent_run_id)
            _supersede(tracker, cell, trial.number, keep=runs)
            created += runs
    return created


def _resync_trial(study: StudyConfig, cell: Cell, trial: optuna.trial.FrozenTrial, tracker: Any,
                  parent_run_id: str) -> list[str]:  # fmt: skip
    """The trial's run (and, for a span-folds trial, its fold runs) rebuilt from the Optuna storage."""
    fixed = FixedTrial(dict(trial.params), number=trial.number)
    cfg = resolve(study, {**cell.overrides, **suggest(study, cell, fixed)})
    cfg_yaml = dump_yaml(cfg)
    objective = Objective(study, cell, tracker, parent_run_id)
    objective.tags.update(_data_tags(cfg))
    backups = trial.user_attrs.get(BACKUP_ATTR) or []
    note = "from the Optuna storage" + ("" if backups else "; no per-epoch history or artifacts")
    params = {**flatten(cfg.model_dump(mode="json")), "variant": cell.variant, "seed": cell.seed}
    span = cell.fold == ALL_FOLDS
    name = f"{cell.variant} s{cell.seed} " + ("all folds" if span else f"f{cell.fold}")

    def start(parent: str, fold: int, role: str, suffix: str = "") -> str:
        tags = {**objective._run_tags(fixed, fold, role), "optuna.state": "COMPLETE", "avtca.resynced": note}
        return tracker.start_run(parent, f"{name}{suffix} (resynced)", tags, {**params, "fold": fold})

    run = start(parent_run_id, cell.fold, "trial")
    runs = [run]
    if span:
        for backup in backups:
            child = start(run, backup["fold"], "fold", f" f{backup['fold']}")
            _replay(tracker, child, backup, cfg_yaml)
            tracker.end(child, "FINISHED")
            runs.append(child)
    elif backups:
        _replay(tracker, run, backups[0], cfg_yaml)
    if span or not backups:
        tracker.log_final(run, trial_metrics(trial))
        tracker.client.log_text(run, cfg_yaml, "config.yaml")
    tracker.end(run, "FINISHED")
    return runs


def _replay(tracker: Any, run: str, backup: dict[str, Any], cfg_yaml: str) -> None:
    """Log a fold's backup as the objective would have: one batch per epoch, final metrics last, artifacts."""
    for row in backup.get("history", []):
        epoch = int(row.get("epoch", 0))
        tracker.log_metrics(run, {k: v for k, v in row.items() if k != "epoch"}, step=epoch)
    final = {**backup["metrics"], "best_epoch": backup["best_epoch"], "n_params": backup["n_params"],
             "seconds": backup["seconds"]}  # fmt: skip
    tracker.log_final(run, final)
    tracker.set_tags(run, {"device": backup["device"], "precision": backup["precision"]})
    per_class = backup.get("per_class")
    result = SimpleNamespace(
        confusion=None if backup.get("confusion") is None else np.asarray(backup["confusion"]),
        class_names=backup.get("class_names") or None,
        per_class=None if per_class is None else pd.DataFrame(**per_class),
        predictions=None if backup.get("predictions") is None else pd.DataFrame(**backup["predictions"]),
    )
    tracker.log_result(run, cfg_yaml, result)
