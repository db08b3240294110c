"""The Optuna storage of a study: opening it, the Optuna study names, and what a trial keeps there.

A study's results live in one Optuna storage (a journal file or a database); every reader walks a study's
trials through `cell_trials`, the one iteration over the Optuna studies of a set of cells.
"""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from ablations.masking import mask
from ablations.storage.database import is_sql_url, open_rdb_storage
from ablations.study.cells import Cell, optuna_study_name
from ablations.study.schema import StudyConfig
from ablations.tracking import provenance
from avtca.config.base import ConfigError
from avtca.metrics import task_metrics

# final metrics kept on the Optuna trial (one short user attr each) for the end-of-study summary; the rest is in MLflow
SUMMARY_PREFIXES = ("val/", "test/")


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


def best_trial(trials: list[optuna.trial.FrozenTrial], direction: str) -> optuna.trial.FrozenTrial | None:
    """The trial a study picks: best value among COMPLETE trials (Optuna gives pruned ones a value too)."""
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    return (max if direction == "maximize" else min)(complete, key=lambda t: t.value)


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


def study_names(study: StudyConfig, cells: list[Cell]) -> list[str]:
    """The Optuna studies that hold these cells' trials, sorted."""
    return sorted({optuna_study_name(study, c) for c in cells})


def cell_trials(
    storage: BaseStorage, study: StudyConfig, cells: list[Cell], states: tuple[TrialState, ...] | None = None
) -> Iterator[FrozenTrial]:
    """Every trial (in `states`, default all) of the cells' Optuna studies that belongs to a cell (has a `cell_id`).

    A study not in the storage yet has no trials; nothing is created.
    """
    for name in study_names(study, cells):
        try:
            sid = storage.get_study_id_from_name(name)
        except KeyError:
            continue
        for trial in storage.get_all_trials(sid, deepcopy=False, states=states):
            if "cell_id" in trial.user_attrs:
                yield trial
