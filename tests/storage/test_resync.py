"""A trial whose MLflow logging failed keeps a backup in Optuna; --resync-tracking replays it (curves, artifacts)."""

from __future__ import annotations

import os

import optuna
import pytest

from ablations.run import main
from ablations.storage.optuna import open_storage
from ablations.study.schema import load_study
from ablations.tracking import Tracker
from ablations.tracking.record import BACKUP_ATTR
from tests.tiny import write_study

pytestmark = pytest.mark.slow

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def test_resync_replays_the_curves_and_artifacts_of_a_trial_whose_logging_failed(workdir, monkeypatch, capsys):
    train = {"epochs": 2, "batch_size": 16, "lr": 0.003, "optimizer": {"kind": "adamw"},
             "scheduler": {"kind": "none"}, "amp": "off", "device": "cpu", "threads": 1}  # fmt: skip
    path = write_study(workdir, train=train, variants={"full": {}})
    real_log = Tracker.log_metrics

    def flaky(self, run_id, metrics, step=0):  # the server drops the first epoch's batch of every run
        if step == 1:
            raise ConnectionError("tracking server unreachable")
        return real_log(self, run_id, metrics, step=step)

    monkeypatch.setattr(Tracker, "log_metrics", flaky)
    main([str(path)])
    assert "MLflow logging failed" in capsys.readouterr().out

    study = load_study(path)
    (trial,) = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    assert trial.state.name == "COMPLETE" and "tracking_error" in trial.user_attrs
    (backup,) = trial.user_attrs[BACKUP_ATTR]
    assert [row["epoch"] for row in backup["history"]] == [1, 2]
    assert sum(map(sum, backup["confusion"])) > 0 and backup["metrics"]["test/accuracy"] >= 0

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    exp = client.get_experiment_by_name("tiny")

    def trial_runs():
        return [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("avtca.role") == "trial"]

    (gappy,) = trial_runs()  # epoch 1 is missing from its curves: it must not pass for a complete run
    assert gappy.info.status == "KILLED" and [
        m.step for m in client.get_metric_history(gappy.info.run_id, "train/loss")
    ] == [2]

    monkeypatch.setattr(Tracker, "log_metrics", real_log)  # the server is back
    for _ in range(2):  # idempotent: the second pass finds nothing to do
        assert main([str(path), "--resync-tracking"]) == 0
    out = capsys.readouterr().out
    assert "re-synced 1 run(s)" in out and "re-synced 0 run(s)" in out

    runs = trial_runs()
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert len(runs) == 2 and len(finished) == 1
    run = finished[0]
    assert "avtca.resynced" in run.data.tags and run.data.tags["cell_id"] == trial.user_attrs["cell_id"]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2]
    assert run.data.metrics["test/accuracy"] == pytest.approx(backup["metrics"]["test/accuracy"])
    assert run.data.metrics["best_epoch"] == backup["best_epoch"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "confusion.csv", "per_class.csv", "predictions.csv"} <= artifacts
