"""What a trial's run holds is defined once (ablations/tracking/record.py): a metric a user registers reaches the
MLflow run and runs.csv with no other edit, and the backup kept in the Optuna storage replays to the same run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest

from ablations.report import export_from_mlflow
from ablations.study.cells import enumerate_cells
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker
from ablations.tracking.record import BACKUP_ATTR, FoldRecord, write_final, write_history
from ablations.workers.trial import Objective
from avtca.metrics import METRICS, TASKS
from tests.recipes import recipe_module

pytestmark = pytest.mark.slow  # MLflow's client and a file store

STUDY = {
    "name": "record",
    "dataset": {"name": "ravdess", "root": "synthetic", "folds": [0]},
    "variants": {"full": {}, "audio_only": {"model.modalities": "audio"}},
    "reference": "full",
}


def _result(kappa: float) -> SimpleNamespace:
    """What avtca.training.train returns, with the recipe's metric among the final ones."""
    history = [{"epoch": e, "train/loss": 1.0 - 0.1 * e, "val/accuracy": 0.5 + 0.1 * e} for e in range(3)]
    predictions = pd.DataFrame(
        {"condition": ["clean"] * 2, "clip": ["a", "b"], "actor": ["01", "02"], "target": [0, 1], "prediction": [0, 0]}
    )
    return SimpleNamespace(
        history=history,
        metrics={"val/accuracy": 0.7, "test/accuracy": 0.6, "test/uar": 0.6, "test/f1_macro": 0.5,
                 "test/f1_weighted": 0.5, "test/kappa": kappa},  # fmt: skip
        best_epoch=2, n_params=123, seconds=1.5, device="cpu", precision="off",
        confusion=np.array([[1, 0], [1, 0]]), class_names=["neutral", "calm"],
        per_class=pd.DataFrame({"recall": [1.0, 0.0]}, index=["neutral", "calm"]), predictions=predictions,
        state_dict=None,
    )  # fmt: skip


@pytest.fixture
def kappa(tmp_path, monkeypatch):
    """docs/ARCHITECTURE.md's "a metric" recipe, as the user would write it in their own module."""
    base = TASKS["classification"]
    with recipe_module("docs/ARCHITECTURE.md", "- **a metric**", "kappa_metric", tmp_path, monkeypatch):
        yield
        TASKS.register(base, replace=True)
        METRICS.unregister("kappa")


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Tracker(f"file:{tmp_path / 'mlruns'}", "record")


def test_a_registered_metric_reaches_the_run_and_runs_csv(kappa, tracker, tmp_path):
    study = StudyConfig.model_validate(STUDY)
    parent = tracker.parent_run({})
    for cell in enumerate_cells(study):
        value = 0.4 if cell.variant == "full" else 0.1

        def train(cfg, fold, report, progress, value=value):
            for row in _result(value).history:
                report(row["epoch"], {k: v for k, v in row.items() if k != "epoch"})
            return _result(value)

        trial = optuna.trial.FixedTrial({"variant": cell.variant})
        Objective(study, cell, tracker, parent, train_fn=train)(trial)
        tracker.end(trial.user_attrs["mlflow_run_id"], "FINISHED")
    runs = pd.read_csv(export_from_mlflow("record", tracker.uri, tmp_path / "report"))
    assert dict(zip(runs["variant"], runs["test/kappa"], strict=True)) == {"full": 0.4, "audio_only": 0.1}
    assert set(runs["n_params"]) == {123} and "protocol" in runs.columns


def test_the_backup_replays_what_the_live_run_logged(kappa, tracker):
    parent = tracker.parent_run({})
    record = FoldRecord.from_result(_result(0.3), fold=0)
    live = tracker.start_run(parent, "live", {}, {})
    for row in record.history:  # what the live trial's `report` callback logs, epoch by epoch
        tracker.log_metrics(live, {k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))
    write_final(tracker, live, record, "cfg: 1\n")
    # the backup crosses the Optuna storage as JSON (a trial's user attr)
    restored = FoldRecord.from_backup(json.loads(json.dumps({BACKUP_ATTR: record.to_backup()}))[BACKUP_ATTR])
    replay = tracker.start_run(parent, "replay", {}, {})
    write_history(tracker, replay, restored)
    write_final(tracker, replay, restored, "cfg: 1\n")

    client = tracker.client
    a, b = client.get_run(live).data, client.get_run(replay).data
    assert a.metrics == b.metrics and a.metrics["test/kappa"] == 0.3 and a.metrics["best/val/accuracy"] == 0.7
    assert {k: a.tags[k] for k in ("device", "precision")} == {k: b.tags[k] for k in ("device", "precision")}
    for name in ("train/loss", "val/accuracy"):
        steps = [(m.step, m.value) for m in client.get_metric_history(live, name)]
        assert steps == [(m.step, m.value) for m in client.get_metric_history(replay, name)] and len(steps) == 3
    listed = [sorted(f.path for f in client.list_artifacts(run)) for run in (live, replay)]
    assert listed[0] == listed[1] == ["config.yaml", "confusion.csv", "per_class.csv", "predictions.csv"]
