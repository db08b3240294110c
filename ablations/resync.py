"""Re-sync MLflow from the Optuna storage: trials whose logging failed (tracking server down) get their runs.

The Optuna storage is the study's source of truth: a completed trial keeps its final metrics in the user
attribute `metrics`, and `tracking_error` when MLflow could not be reached. `--resync-tracking` recreates a
FINISHED child run for each such trial (config params, tags, final metrics; per-epoch curves and artifacts
were never stored and cannot be recovered), tagged `avtca.resynced`, so that MLflow and the report see every
completed cell. It is idempotent: a trial that already has a FINISHED run with its number is skipped.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FixedTrial, TrialState

from avtca.config.base import dump_yaml, flatten

from ablations.cells import Cell, resolve
from ablations.objective import Objective, _data_tags, open_storage, optuna_study_name, suggest, trial_metrics
from ablations.study import StudyConfig


def _needs_resync(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE and "tracking_error" in trial.user_attrs


def _has_finished_run(tracker: Any, cell: Cell, number: int) -> bool:
    flt = (f"tags.cell_id = '{cell.cell_id}' and tags.`optuna.trial_number` = '{number}' "
           "and attributes.status = 'FINISHED'")
    return bool(tracker.client.search_runs([tracker.experiment_id], filter_string=flt, max_results=1))


def _end_cut_off_runs(tracker: Any, cell: Cell, number: int) -> None:
    """Runs of this trial left RUNNING when the server went away are superseded by the re-synced one."""
    flt = (f"tags.cell_id = '{cell.cell_id}' and tags.`optuna.trial_number` = '{number}' "
           "and attributes.status = 'RUNNING'")
    for run in tracker.client.search_runs([tracker.experiment_id], filter_string=flt, max_results=100):
        tracker.client.set_tag(run.info.run_id, "avtca.killed", "cut off by a tracking outage; see the resynced run")
        tracker.end(run.info.run_id, "KILLED")


def resync_tracking(study: StudyConfig, cells: list[Cell], tracker: Any, parent_run_id: str) -> list[str]:
    """Create the missing MLflow runs of completed trials that failed to log; returns the new run ids."""
    storage = open_storage(study.storage_url, create=False)
    by_id = {c.cell_id: c for c in cells}
    created: list[str] = []
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        for trial in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False):
            cell = by_id.get(trial.user_attrs.get("cell_id", ""))
            if cell is None or not _needs_resync(trial) or _has_finished_run(tracker, cell, trial.number):
                continue
            fixed = FixedTrial(dict(trial.params), number=trial.number)
            cfg = resolve(study, {**cell.overrides, **suggest(study, cell, fixed)})
            objective = Objective(study, cell, tracker, parent_run_id)
            objective.tags.update(_data_tags(cfg))
            tags = {**objective._run_tags(fixed, cell.fold, "trial"), "optuna.state": "COMPLETE",
                    "avtca.resynced": "from the Optuna storage; no per-epoch history or artifacts"}
            params = {**flatten(cfg.model_dump(mode="json")), "variant": cell.variant, "seed": cell.seed,
                      "fold": cell.fold}
            run = tracker.start_run(parent_run_id, f"{cell.variant} s{cell.seed} f{cell.fold} (resynced)", tags, params)
            tracker.log_metrics(run, trial_metrics(trial))
            tracker.client.log_text(run, dump_yaml(cfg), "config.yaml")
            tracker.end(run, "FINISHED")
            _end_cut_off_runs(tracker, cell, trial.number)
            created.append(run)
    return created
