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

from typing import Any

import optuna
from optuna.trial import FixedTrial, TrialState

from ablations.storage.optuna import cell_trials, open_storage, trial_metrics
from ablations.study.cells import ALL_FOLDS, Cell, resolve, trial_overrides
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker
from ablations.tracking.read import LiveRuns, live_runs
from ablations.tracking.record import (
    BACKUP_ATTR,
    CELL_ID,
    FOLD_ROLE,
    KILLED,
    MLFLOW_RUN_ID,
    OPTUNA_STATE,
    RESYNCED,
    TRACKING_ERROR,
    TRIAL_NUMBER,
    TRIAL_ROLE,
    FoldRecord,
    run_header,
    write_final,
    write_history,
)
from avtca.config.base import dump_yaml


def _needs_resync(trial: optuna.trial.FrozenTrial, cell: Cell, live: LiveRuns) -> bool:
    """A completed trial whose logging failed, or whose run is gone (deleted, or the tracking store replaced)."""
    if trial.state != TrialState.COMPLETE or live.has_resynced(cell.cell_id, trial.number):
        return False
    lost = not live.has_run(cell.cell_id, trial.number, trial.user_attrs.get(MLFLOW_RUN_ID))
    return lost or TRACKING_ERROR in trial.user_attrs


def _trial_runs(tracker: Tracker, cell: Cell, number: int) -> list[Any]:
    flt = f"tags.{CELL_ID} = '{cell.cell_id}' and tags.`{TRIAL_NUMBER}` = '{number}'"
    return tracker.client.search_runs([tracker.experiment_id], filter_string=flt, max_results=1000)


def _supersede(tracker: Tracker, cell: Cell, number: int, keep: list[str]) -> None:
    """The trial's runs cut off by the outage (left RUNNING, or ended with gaps) give way to the re-synced ones."""
    for run in _trial_runs(tracker, cell, number):
        if run.info.run_id not in keep and run.info.status in ("RUNNING", "FINISHED"):
            note = "cut off by a tracking outage; see the resynced run"
            tracker.client.set_tag(run.info.run_id, KILLED, note)
            tracker.end(run.info.run_id, "KILLED")


def resync_tracking(study: StudyConfig, cells: list[Cell], tracker: Tracker, parent_run_id: str) -> list[str]:
    """Create the missing MLflow runs of completed trials (logging failed, or the run is gone); returns the run ids."""
    storage = open_storage(study.storage_url, create=False)
    by_id = {c.cell_id: c for c in cells}
    live = live_runs(tracker)
    created: list[str] = []
    for trial in cell_trials(storage, study, cells):
        cell = by_id.get(trial.user_attrs["cell_id"])
        if cell is None or not _needs_resync(trial, cell, live):
            continue
        runs = _resync_trial(study, cell, trial, tracker, parent_run_id)
        _supersede(tracker, cell, trial.number, keep=runs)
        created += runs
    return created


def _resync_trial(study: StudyConfig, cell: Cell, trial: optuna.trial.FrozenTrial, tracker: Tracker,
                  parent_run_id: str) -> list[str]:  # fmt: skip
    """The trial's run (and, for a span-folds trial, its fold runs) rebuilt from the Optuna storage."""
    fixed = FixedTrial(dict(trial.params), number=trial.number)
    cfg = resolve(study, {**cell.overrides, **trial_overrides(study, cell, fixed)})
    cfg_yaml = dump_yaml(cfg)
    backups = [FoldRecord.from_backup(b) for b in trial.user_attrs.get(BACKUP_ATTR) or []]
    note = "from the Optuna storage" + ("" if backups else "; no per-epoch history or artifacts")

    def start(parent: str, fold: int, role: str) -> str:
        header = run_header(study, cell, cfg, trial.number, fold, role, {OPTUNA_STATE: "COMPLETE", RESYNCED: note})
        return tracker.start_run(parent, f"{header.name} (resynced)", header.tags, header.params)

    span = cell.fold == ALL_FOLDS
    run = start(parent_run_id, cell.fold, TRIAL_ROLE)
    runs = [run]
    if span:
        for record in backups:
            child = start(run, record.fold, FOLD_ROLE)
            _replay(tracker, child, record, cfg_yaml)
            tracker.end(child, "FINISHED")
            runs.append(child)
    elif backups:
        _replay(tracker, run, backups[0], cfg_yaml)
    if span or not backups:
        tracker.log_final(run, trial_metrics(trial))
        tracker.client.log_text(run, cfg_yaml, "config.yaml")
    tracker.end(run, "FINISHED")
    return runs


def _replay(tracker: Tracker, run: str, record: FoldRecord, cfg_yaml: str) -> None:
    """Log a fold's record as the live trial would have: one batch per epoch, then what a fold logs at its end."""
    write_history(tracker, run, record)
    write_final(tracker, run, record, cfg_yaml)
