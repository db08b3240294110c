"""A tiny real study end to end: Optuna trials, MLflow parent/child runs with tags/params/artifacts, resume."""

from __future__ import annotations

import os
import sys

import optuna
import pytest
from optuna.trial import TrialState

from ablations.run import EXIT_OK, main
from ablations.storage.claims import open_claim_store
from ablations.storage.optuna import open_storage
from ablations.study.cells import enumerate_cells
from ablations.study.schema import load_study
from tests.tiny import write_study

pytestmark = pytest.mark.slow

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def mlflow_runs(uri: str, name: str):
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    return client, client.search_runs([exp.experiment_id], max_results=1000)


def test_tiny_study_logs_everything_and_resumes_without_duplicates(workdir, capsys):
    path = write_study(workdir, report={"kind": "render", "out": "reports"})
    assert main([str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert (
        "full*" in out and "audio_only" in out and f"mlflow ui --backend-store-uri sqlite:///{workdir}/mlflow.db" in out
    )
    assert f"{sys.executable} -m mlflow ui" in out  # runs without an activated virtual environment
    assert "report: reports/tiny" in out

    import csv

    with open(workdir / "reports" / "tiny" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["variant"] for r in rows) == ["audio_only", "full"]
    assert {r["reference"].lower() for r in rows if r["variant"] == "full"} == {"true"}

    study = load_study(path)
    cells = {c.cell_id: c for c in enumerate_cells(study)}
    trials = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert {t.user_attrs["cell_id"] for t in trials} == set(cells)
    assert {t.params["variant"] for t in trials} == {"full", "audio_only"}
    assert all(st.state == "COMPLETE" for st in open_claim_store(study.storage_url, "tiny").status().values())

    client, runs = mlflow_runs(f"sqlite:///{workdir}/mlflow.db", "tiny")
    parents = [r for r in runs if r.data.tags.get("avtca.role") == "study"]
    children = [r for r in runs if r.data.tags.get("avtca.role") == "trial"]
    assert len(parents) == 1 and len(children) == 2 and len(runs) == 3
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    by_trial = {t.user_attrs["mlflow_run_id"]: t for t in trials}
    for run in children:
        tags, params = run.data.tags, run.data.params
        assert run.info.status == "FINISHED"
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        trial = by_trial[run.info.run_id]  # the trial knows its run, and the run knows its trial
        assert tags["optuna.trial_number"] == str(trial.number)
        cell = cells[tags["cell_id"]]
        assert tags["variant"] == cell.variant and tags["seed"] == "0" and tags["fold"] == "0"
        assert tags["study"] == "tiny" and tags["dataset"] == "ravdess" and tags["preset"] == "avtca"
        assert tags["protocol"] == "actor6fold" and tags["subject_independent"] == "true"
        assert tags["reference"] == str(cell.variant == "full").lower()
        assert tags["git_commit"] and "version.torch" in tags and "version.optuna" in tags
        assert params["model.modalities"] == ("audio" if cell.variant == "audio_only" else "audio_video")
        assert params["train.lr"] == "0.003" and params["data.frames"] == "2"
        assert {"val/accuracy", "test/accuracy", "test/uar", "test_robust/audio_off/accuracy"} <= set(run.data.metrics)
        history = client.get_metric_history(run.info.run_id, "train/loss")
        assert [m.step for m in history] == [1]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "confusion.csv", "per_class.csv", "predictions.csv"} <= artifacts
        assert "confusion.png" not in artifacts  # drawn by the report, not per cell

    # the same command again: everything is complete, nothing is re-run or duplicated
    assert main([str(path)]) == EXIT_OK
    again = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    assert len(again) == 2
    _, runs_after = mlflow_runs(f"sqlite:///{workdir}/mlflow.db", "tiny")
    assert len(runs_after) == 3
