"""A tuning trial spanning folds: one score per fold (the wilcoxon pruner's steps) and one MLflow run per fold."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from ablations.run import EXIT_OK, main
from ablations.storage.optuna import open_storage
from ablations.study.schema import load_study
from tests.tiny import TINY, write_study

pytestmark = pytest.mark.slow


def test_trial_spanning_two_folds_reports_per_fold_and_nests_fold_runs(workdir):
    path = write_study(
        workdir,
        name="span",
        dataset={**TINY["dataset"], "folds": [0, 1]},
        variants={"full": {}},
        eval={"modality_off": [], "noise_levels": []},
        tune={"train.lr": {"kind": "float", "low": 0.001, "high": 0.01, "log": True}},
        budget={"folds_per_trial": "all"},
        pruner={"kind": "wilcoxon", "n_startup_steps": 1},
    )
    assert main([str(path)]) == EXIT_OK
    study = load_study(path)
    trials = optuna.load_study(study_name="span/full", storage=open_storage(study.storage_url)).get_trials()
    assert len(trials) == 1 and trials[0].state == TrialState.COMPLETE
    assert sorted(trials[0].intermediate_values) == [0, 1]  # step = fold id
    assert trials[0].value == pytest.approx(sum(trials[0].intermediate_values.values()) / 2)

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("span").experiment_id])
    trial_run = next(r for r in runs if r.data.tags.get("avtca.role") == "trial")
    folds = [r for r in runs if r.data.tags.get("avtca.role") == "fold"]
    assert trial_run.data.tags["fold"] == "all" and trial_run.info.run_id == trials[0].user_attrs["mlflow_run_id"]
    assert sorted(r.data.tags["fold"] for r in folds) == ["0", "1"]
    assert {r.data.tags["mlflow.parentRunId"] for r in folds} == {trial_run.info.run_id}
    assert all(r.info.status == "FINISHED" and "test/accuracy" in r.data.metrics for r in folds + [trial_run])
