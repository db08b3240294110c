"""The MLflow export round-trips a small real store filled with the MLflow client, as the runner logs.

The store is MLflow's file store: reading goes through the same MlflowClient API as with the runner's default
SQLite store, and a fresh SQLite store spends ~10 s on schema migrations on this shared 2-core machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from ablations.report import export_from_mlflow, render
from ablations.report.read.load import ReportInputError, load_runs

pytestmark = pytest.mark.slow

STUDY = "toy_mlflow"
EPOCH_VAL = [0.40, 0.60, 0.55]  # per-epoch val/accuracy; best epoch 1
CLASSES = ("neutral", "happy")
TUNING = {100: 0.50, 101: 0.70, 102: 0.60}  # trial number -> val/accuracy of the tuned cell


def _final(variant: str, seed: int, fold: int) -> dict[str, float]:
    base = {"full": 0.80, "no_cross_attention": 0.75, "audio_only": 0.60, "late_fusion": 0.7}[variant]
    base += 0.01 * seed + 0.001 * fold
    return {
        "val/accuracy": 0.61 + 0.001 * seed, "test/accuracy": base, "test/uar": base - 0.01,
        "test/f1_macro": base - 0.02, "test/f1_weighted": base - 0.015, "test/loss": 0.9,
        "test_robust/audio_off/accuracy": base - 0.1, "test_robust/audio_noise_0.5/accuracy": base - 0.05,
        "best_epoch": 1, "n_params": 1234, "seconds": 3.5,
    }  # fmt: skip


def _cell(
    client,
    exp: str,
    parent: str,
    variant: str,
    seed: int,
    fold,
    role: str,
    status: str,
    tmp: Path,
    trial: int | None = None,
    val: float | None = None,
) -> str:
    from mlflow.entities import Metric, Param, RunTag

    tags = {"mlflow.parentRunId": parent, "avtca.role": role, "study": STUDY, "dataset": "ravdess",
            "seed": str(seed), "fold": str(fold), "variant": variant, "reference": str(variant == "full").lower(),
            "cell_id": f"{variant}-{seed}-{fold}",
            "optuna.trial_number": str(trial if trial is not None else seed * 10 + (9 if fold == "all" else fold)),
            "factor.model.cross_attention.kind": "off" if variant == "no_cross_attention" else "bidirectional",
            "protocol": "actor-6fold", "subject_independent": "true"}  # fmt: skip
    if variant == "full":
        tags["variant_description"] = "everything on"
    run = client.create_run(exp, tags=tags).info.run_id
    params = {"model.cross_attention.kind": tags["factor.model.cross_attention.kind"],
              "train.lr": str(1e-3 * (seed + 1) if trial is None or trial < 100 else 1e-4 * trial),
              "data.root": "/data/ravdess", "train.epochs": "3", "variant": variant, "seed": str(seed)}  # fmt: skip
    client.log_batch(run, params=[Param(k, v) for k, v in params.items()], tags=[RunTag("x", "1")])
    if fold == "all":
        client.log_batch(run, metrics=[Metric(k, v, 3000, 0) for k, v in _final(variant, seed, 0).items()])
        client.set_terminated(run, status)
        return run
    for epoch, epoch_val in enumerate(EPOCH_VAL):
        ts = 1000 + epoch
        client.log_batch(run, metrics=[Metric("train/loss", 1.0 / (epoch + 1), ts, epoch),
                                       Metric("val/accuracy", epoch_val + 0.001 * seed, ts, epoch)])  # fmt: skip
    final = _final(variant, seed, fold)
    if val is not None:  # a tuning trial: its own validation score and test results
        final.update({"val/accuracy": val, "test/accuracy": val - 0.05})
    client.log_batch(run, metrics=[Metric(k, v, 2000, 1) for k, v in final.items()])
    conf = tmp / f"{run}" / "confusion.csv"
    conf.parent.mkdir()
    conf.write_text("true,pred,count\nneutral,neutral,5\nneutral,happy,1\nhappy,neutral,2\nhappy,happy,4\n")
    client.log_artifact(run, str(conf))
    # per-clip predictions as the tracker logs them (zero-padded ids must stay strings)
    pred = tmp / f"{run}" / "predictions.csv"
    pred.write_text(
        f"condition,clip,actor,target,prediction\nclean,03-b,02,1,1\nclean,01-a,01,0,1\naudio_off,01-a,01,0,{seed}\n"
    )
    client.log_artifact(run, str(pred))
    client.set_terminated(run, status)
    return run


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """An MLflow store holding one study: a parent run and its cell runs (one failed, one spanning folds, one tuned)."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient

    tmp = tmp_path_factory.mktemp("mlflow")
    uri = (tmp / "mlruns").as_uri()
    client = MlflowClient(uri)
    exp = client.create_experiment(STUDY)
    parent = client.create_run(exp, tags={"avtca.role": "study", "study": STUDY}).info.run_id
    _cell(client, exp, parent, "no_cross_attention", 1, 0, "trial", "FAILED", tmp)  # crashed, then retried
    for variant in ("full", "no_cross_attention"):
        for seed in (0, 1):
            _cell(client, exp, parent, variant, seed, 0, "trial", "FINISHED", tmp)
    span = _cell(client, exp, parent, "audio_only", 0, "all", "trial", "FINISHED", tmp)  # mean over its folds
    for fold in (0, 1):  # the fold runs of a spanning trial share its trial number
        _cell(client, exp, span, "audio_only", 0, fold, "fold", "FINISHED", tmp, trial=9)
    for trial, val in TUNING.items():  # one tuned cell: three trials, the best by val/accuracy is kept
        _cell(client, exp, parent, "late_fusion", 0, 0, "trial", "FINISHED", tmp, trial=trial, val=val)
    client.set_terminated(parent)
    return uri


def test_export_round_trips_the_store(store, tmp_path):
    path = export_from_mlflow(STUDY, store, tmp_path / "out")
    runs = load_runs(path)  # the export satisfies the runs.csv contract
    cells = sorted(zip(runs.variant, runs.seed, runs.fold, strict=True))
    assert cells == [("audio_only", 0, 0), ("audio_only", 0, 1), ("full", 0, 0), ("full", 1, 0),
                     ("late_fusion", 0, 0), ("no_cross_attention", 0, 0), ("no_cross_attention", 1, 0)]  # fmt: skip
    assert set(runs.state) == {"FINISHED"} and runs.run_id.is_unique
    tuned = runs[runs.variant == "late_fusion"].iloc[0]
    assert tuned["trial"] == 101 and tuned["val/accuracy"] == pytest.approx(0.70)  # best by validation, not test
    assert tuned["test/accuracy"] == pytest.approx(0.65)
    trials = pd.read_csv(tmp_path / "out" / "optuna.csv")
    assert trials["number"].tolist() == [100, 101, 102] and trials["value"].tolist() == pytest.approx([0.5, 0.7, 0.6])
    assert trials["params_train.lr"].tolist() == pytest.approx([0.01, 0.0101, 0.0102])
    assert set(trials["objective"]) == {"val/accuracy"} and set(trials["direction"]) == {"maximize"}
    for _, row in runs[runs.variant != "late_fusion"].iterrows():
        final = _final(row.variant, row.seed, row.fold)
        for key in (
            "test/accuracy",
            "test/uar",
            "test_robust/audio_off/accuracy",
            "test_robust/audio_noise_0.5/accuracy",
        ):
            assert row[key] == pytest.approx(final[key])
        # the final val value (logged after the epochs, at step=best_epoch), not the last epoch's
        assert row["val/accuracy"] == pytest.approx(final["val/accuracy"])
        assert row["reference"] == (row.variant == "full")
        assert row["model.cross_attention.kind"] == ("off" if row.variant == "no_cross_attention" else "bidirectional")
        assert row["protocol"] == "actor-6fold" and row["subject_independent"] and row["dataset"] == "ravdess"
    assert "train.lr" in runs.columns and "train.epochs" not in runs.columns  # varying parameters only
    assert runs["data.root"].eq("/data/ravdess").all()

    history = pd.read_csv(tmp_path / "out" / "history.csv")
    assert len(history) == 7 * len(EPOCH_VAL)
    full0 = history[(history.variant == "full") & (history.seed == 0)].sort_values("epoch")
    assert full0["val/accuracy"].tolist() == pytest.approx(EPOCH_VAL)
    assert full0["train/loss"].tolist() == pytest.approx([1.0, 0.5, 1 / 3])

    confusion = pd.read_csv(tmp_path / "out" / "confusion.csv")
    assert len(confusion) == 7 * 4
    one = confusion[(confusion.variant == "full") & (confusion.seed == 1)]
    assert dict(zip(zip(one["true"], one["pred"], strict=True), one["count"], strict=True)) == {
        ("neutral", "neutral"): 5,
        ("neutral", "happy"): 1,
        ("happy", "neutral"): 2,
        ("happy", "happy"): 4,
    }


def test_render_from_study_name(store, tmp_path):
    dest = render(STUDY, out=tmp_path / "reports", formats=("md", "csv"), tracking_uri=store)
    assert dest == tmp_path / "reports" / STUDY
    table = (dest / "table.md").read_text()
    assert "`full`" in table and "`audio_only`" in table
    assert (dest / "runs.csv").is_file() and (dest / "history.csv").is_file()
    assert (dest / "optuna.csv").is_file() and "(optuna.csv)" in (dest / "README.md").read_text()


def test_unknown_study_names_the_experiments(store, tmp_path):
    with pytest.raises(ReportInputError, match=r"no MLflow experiment named 'toy_mlfow'.*did you mean 'toy_mlflow'"):
        export_from_mlflow("toy_mlfow", store, tmp_path / "o")


def test_export_writes_sorted_per_clip_predictions_and_descriptions_byte_identically(store, tmp_path):
    export_from_mlflow(STUDY, store, tmp_path / "a")
    export_from_mlflow(STUDY, store, tmp_path / "b")
    for name in ("runs.csv", "predictions.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    text = (tmp_path / "a" / "predictions.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == "variant,seed,repeat,fold,condition,clip,actor,target,prediction"
    assert "run_id" not in lines[0] and "seconds" not in lines[0]
    # the spanning trial's mean run has no predictions; its two fold runs do (3 rows per chosen run)
    assert len(lines) - 1 == 7 * 3
    pred = pd.read_csv(tmp_path / "a" / "predictions.csv", dtype={"clip": str, "actor": str})
    assert pred["actor"].tolist()[:3] == ["01", "01", "02"]  # zero-padded ids kept
    assert pred["target"].dtype.kind == "i" and pred["prediction"].dtype.kind == "i"
    full1 = pred[(pred.variant == "full") & (pred.seed == 1)]
    assert full1[["condition", "clip"]].values.tolist() == [["audio_off", "01-a"], ["clean", "01-a"], ["clean", "03-b"]]
    assert full1.query("condition == 'audio_off'")["prediction"].tolist() == [1]
    order = list(dict.fromkeys(pd.read_csv(tmp_path / "a" / "runs.csv")["variant"]))
    assert list(dict.fromkeys(pred["variant"])) == order
    runs = pd.read_csv(tmp_path / "a" / "runs.csv", keep_default_na=False)
    assert set(runs.loc[runs.variant == "full", "description"]) == {"everything on"}
    assert set(runs.loc[runs.variant != "full", "description"]) == {""}
