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
        flops_per_clip=4_000_000, latency_ms_per_clip=2.5, seconds_per_epoch=0.5,
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
    # the cost a run measures (avtca.training.cost) is a plain column beside n_params and seconds
    assert runs[["flops_per_clip", "latency_ms_per_clip", "seconds_per_epoch"]].drop_duplicates().values.tolist() == [
        [4_000_000, 2.5, 0.5]
    ]
    assert set(runs["repeat"]) == {0} and list(runs.columns[6:9]) == ["seed", "repeat", "fold"]


def test_repeats_reach_the_runs_and_runs_csv_keeps_one_row_per_cell(tracker, tmp_path):
    study = StudyConfig.model_validate({**STUDY, "dataset": {**STUDY["dataset"], "protocol": "actor6fold",
                                                             "repeats": 2}})  # fmt: skip
    parent = tracker.parent_run({})
    for cell in enumerate_cells(study):
        trial = optuna.trial.FixedTrial({"variant": cell.variant})
        result = _result(0.1 * (1 + cell.repeat))
        Objective(study, cell, tracker, parent, train_fn=lambda cfg, fold, report, progress, r=result: r)(trial)
        tracker.end(trial.user_attrs["mlflow_run_id"], "FINISHED")
    runs = pd.read_csv(export_from_mlflow("record", tracker.uri, tmp_path / "report"))
    assert runs[["variant", "seed", "repeat", "fold"]].values.tolist() == [
        ["full", 0, 0, 0], ["full", 0, 1, 0], ["audio_only", 0, 0, 0], ["audio_only", 0, 1, 0]
    ]  # fmt: skip
    assert runs["test/kappa"].round(3).tolist() == [0.1, 0.2, 0.1, 0.2] and "data.repeat" not in runs.columns
    predictions = pd.read_csv(tmp_path / "report" / "predictions.csv")
    assert list(predictions.columns[:4]) == ["variant", "seed", "repeat", "fold"] and len(predictions) == 8


def test_a_backup_from_before_the_cost_fields_replays_without_them():
    backup = FoldRecord.from_result(_result(0.3), fold=0).to_backup()
    assert backup["flops_per_clip"] == 4_000_000
    old = {k: v for k, v in backup.items() if k not in ("flops_per_clip", "latency_ms_per_clip", "seconds_per_epoch")}
    final = FoldRecord.from_backup(old).final_metrics()
    assert "flops_per_clip" not in final and final["n_params"] == 123


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
