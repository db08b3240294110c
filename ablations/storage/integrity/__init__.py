"""Integrity of a study's results: the Optuna storage backs every complete cell, MLflow every finished trial.

storage.py checks the storage (journal or database) against the claims before a run and repairs it;
tracked.py checks MLflow against the storage at the end of a run and ends the runs of lost trials.
"""

from ablations.storage.integrity.storage import (
    check_storage,
    diagnose,
    journal_path,
    repair_hint,
    repair_trials,
    sql_plan_states,
)
from ablations.storage.integrity.tracked import (
    UNTRACKED,
    check_tracked,
    lost_trial_runs,
    repair_storage,
    untracked_cells,
    with_tracking_states,
)

__all__ = [
    "UNTRACKED",
    "check_storage",
    "check_tracked",
    "diagnose",
    "journal_path",
    "lost_trial_runs",
    "repair_hint",
    "repair_storage",
    "repair_trials",
    "sql_plan_states",
    "untracked_cells",
    "with_tracking_states",
]
