"""End-to-end `train()` through resolve_experiment, the real model and the synthetic RAVDESS-format data."""

import shutil
import tempfile

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import avtca
from avtca.data import build_splits
from avtca.experiment import resolve_experiment
from avtca.metrics import METRIC_NAMES
from avtca.training import SILENT, Pruned, evaluate, save_best, train
from tests.tiny import DATA, MODEL, SYNTHETIC

CONDITIONS = ["audio_off", "video_off", "audio_noise_0.5", "video_noise_0.5", "audio_noise_1.0", "video_noise_1.0"]


@pytest.fixture(scope="module")
def data():
    """96 generated clips (6 actors x 8 emotions x 2 statements), tiny inputs, clip-level random split."""
    # own temp dir: pytest's shared basetemp is rotated by concurrent pytest runs on this machine
    cache = tempfile.mkdtemp(prefix="avtca-training-")
    # the tiny data (tests/tiny.py) with twice the statements, longer clips and nothing corrupted, so that
    # 10 epochs learn well above chance; the default (center) crop
    synthetic = {**SYNTHETIC, "statements": 2, "seconds": 1.2, "corrupt_audio": 0.0, "corrupt_video": 0.0}
    yield {
        **DATA,
        "name": "ravdess",
        "root": "synthetic",
        "cache": cache,
        "protocol": "random",
        "crop": {"kind": "center"},
        "synthetic": synthetic,
    }
    shutil.rmtree(cache, ignore_errors=True)


def _cfg(data, preset="avtca", overrides=(), **train_kw):
    train_cfg = {
        "device": "cpu",
        "optimizer": {"kind": "adamw"},
        "lr": 2e-3,
        "scheduler": {"kind": "none"},
        "batch_size": 16,
        "threads": 1,
        **train_kw,
    }
    return resolve_experiment(preset, data=data, train=train_cfg, overrides=overrides)


@pytest.mark.slow
def test_train_learns_above_chance_with_all_documented_outputs(data, tmp_path):
    # the tiny model (tests/tiny.py): learning, checkpointing and the outputs do not depend on its size
    tiny_model = {f"model.{key}": value for key, value in MODEL.items()}
    cfg = _cfg(
        data, overrides=tiny_model, epochs=10, batch_size=8, lr=1e-3, scheduler={"kind": "cosine"}, monitor="val/loss"
    )
    epochs = []
    result = train(cfg, report=lambda epoch, metrics: epochs.append(epoch), progress=SILENT)
    assert epochs == list(range(1, 11)) and len(result.history) == 10
    assert result.history[-1]["train/loss"] < 0.75 * result.history[0]["train/loss"]
    # 8 classes, 19 test clips: chance is 0.125 and P(accuracy >= 6/19 by chance) = 0.024
    assert result.metrics["test/accuracy"] >= 6 / 19
    names = METRIC_NAMES["classification"]
    expected = {f"{s}/{m}" for s in ("val", "test") for m in (*names, "loss")}
    expected |= {f"test_robust/{c}/{m}" for c in CONDITIONS for m in (*names, "loss")}
    assert set(result.metrics) == expected
    assert all(np.isfinite(v) for v in result.metrics.values())
    splits = build_splits(cfg.data, fold=0, seed=cfg.train.seed)
    assert result.class_names == list(splits.info.class_names) and len(result.class_names) == 8
    assert result.confusion.shape == (8, 8) and result.confusion.sum() == len(splits.test)
    assert list(result.per_class.index) == result.class_names
    assert len(splits.test) == 19
    assert result.monitor == "val/loss"
    assert result.best_epoch == min(result.history, key=lambda h: h["val/loss"])["epoch"]

    # the reported test metrics are those of the best epoch's weights, and the checkpoint reproduces them
    path = save_best(result, tmp_path / "best.pt", cfg)
    model = avtca.create_model(cfg.model, weights=path)
    assert result.n_params == sum(p.numel() for p in model.parameters())
    again = evaluate(model, DataLoader(splits.test, batch_size=16), "classification", prefix="test/")
    assert again.metrics["test/accuracy"] == result.metrics["test/accuracy"]
    assert again.metrics["test/f1_macro"] == pytest.approx(result.metrics["test/f1_macro"])


def test_same_seed_reproduces_a_run_and_another_seed_does_not(data):
    def run(seed):
        res = train(_cfg(data, "avtca-audio", epochs=2, seed=seed), progress=SILENT)
        hist = [{k: v for k, v in h.items() if k != "train/seconds"} for h in res.history]
        return hist, res

    (h0, r0), (h0b, r0b), (h1, _) = run(0), run(0), run(1)
    assert h0 == h0b and r0.metrics == r0b.metrics
    assert all(torch.equal(r0.state_dict[k], r0b.state_dict[k]) for k in r0.state_dict)
    assert [h["train/loss"] for h in h0] != [h["train/loss"] for h in h1]


def test_pruned_stops_train_and_robustness_can_be_switched_off(data):
    def report(epoch, metrics):
        assert {"train/loss", "val/accuracy", "val/uar"} <= set(metrics)
        raise Pruned()

    with pytest.raises(Pruned) as info:
        train(_cfg(data, "avtca-audio", epochs=5), report=report, progress=SILENT)
    assert info.value.epoch == 1 and len(info.value.history) == 1

    cfg = resolve_experiment(
        "avtca-audio",
        data=data,
        train={"epochs": 1, "device": "cpu"},
        eval={"modality_off": ["video"], "noise_levels": [], "splits": ["val", "test"]},
    )
    metrics = train(cfg, progress=SILENT).metrics
    robust = {k.rsplit("/", 1)[0] for k in metrics if "_robust/" in k}
    assert robust == {"val_robust/video_off", "test_robust/video_off"}


def test_a_head_that_does_not_fit_the_task_is_a_clear_error(data):
    from avtca.models.model import model_config

    cfg = _cfg(data, "avtca-audio", epochs=1)
    bad = cfg.model_copy(update={"model": model_config(cfg.model.model_dump(), **{"head.kind": "regression"})})
    with pytest.raises(
        ValueError, match="model.head.kind: 'regression' does not fit the ravdess task 'classification'"
    ):
        train(bad, progress=SILENT)


@pytest.mark.parametrize("task,head", [("sentiment", "regression"), ("emotions", "multilabel")])
def test_mosei_feature_tasks_train_end_to_end(task, head):
    cache = tempfile.mkdtemp(prefix="avtca-training-mosei-")
    try:
        data = {
            "name": "mosei",
            "root": "synthetic",
            "cache": cache,
            "mosei": {"task": task, "seq_len": 20},
            "synthetic": {"clips": 120},
        }
        cfg = _cfg(data, epochs=3, lr=1e-3)
        assert cfg.model.head.kind == head
        result = train(cfg, progress=SILENT)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    names = (*METRIC_NAMES[head], "loss")
    expected = {f"{s}/{m}" for s in ("val", "test") for m in names}
    expected |= {f"test_robust/{c}/{m}" for c in CONDITIONS for m in names}
    assert set(result.metrics) == expected
    assert result.confusion is None and result.per_class is None and result.task == head
    pred = result.predictions
    assert list(pred["condition"].unique()) == ["clean", *CONDITIONS]
    assert len(pred) == (1 + len(CONDITIONS)) * pred["clip"].nunique() and pred["clip"].nunique() > 10
    if head == "regression":
        assert pred["prediction"].dtype.kind == "f" and pred["target"].dtype.kind == "f"
    else:  # six emotions: intensities and predicted labels joined with ';'
        assert pred["prediction"].str.count(";").eq(5).all() and pred["target"].str.count(";").eq(5).all()
    if head == "regression":
        assert result.monitor == "val/mae"
        assert result.metrics["test/corr"] > 0.3 and result.metrics["test/acc2_non0"] > 0.6
    else:
        assert result.monitor == "val/wacc"
        assert result.metrics["test/wacc"] > 0.6  # balanced accuracy: chance is 0.5


def test_silent_train_prepares_fresh_data_without_printing(data, tmp_path, capfd):
    fresh = {**data, "cache": str(tmp_path / "cache"), "synthetic": {**data["synthetic"], "actors": 3}}
    train(_cfg(fresh, "avtca-audio", epochs=1), progress=SILENT)
    out, err = capfd.readouterr()
    assert (tmp_path / "cache" / "prepare-log.jsonl").exists()  # generated and prepared in this call
    assert "synthetic" not in err and "prepare" not in err and "clips ready" not in err, err[-500:]


def test_predictions_have_one_row_per_condition_and_test_clip_matching_the_metrics(data):
    cfg = _cfg(data, "avtca-audio", epochs=1)
    result = train(cfg, progress=SILENT)
    pred = result.predictions
    assert list(pred.columns) == ["condition", "clip", "actor", "target", "prediction"]
    splits = build_splits(cfg.data, fold=0, seed=cfg.train.seed)
    assert list(pred["condition"].unique()) == ["clean", *CONDITIONS]
    for condition, rows in pred.groupby("condition", sort=False):
        assert list(rows["clip"]) == splits.test.item_ids and list(rows["actor"]) == splits.test.item_actors
        assert list(rows["target"]) == [int(t) for t in splits.test.tensors()[2]]
        # the exported predictions reproduce the logged metric of that condition exactly
        key = "test/accuracy" if condition == "clean" else f"test_robust/{condition}/accuracy"
        assert (rows["prediction"] == rows["target"]).mean() == pytest.approx(result.metrics[key])
    assert pred["target"].dtype.kind == "i" and pred["prediction"].dtype.kind == "i"
    assert (
        result.confusion.trace()
        == (pred.query("condition == 'clean'")["prediction"] == pred.query("condition == 'clean'")["target"]).sum()
    )


def test_prediction_frame_formats_regression_and_multilabel_rows():
    from avtca.training.evaluate import Evaluation, prediction_frame

    reg = prediction_frame(
        "clean",
        Evaluation({}, np.array([0.5, -1.0]), np.array([[0.25], [2.0]])),
        ["a", "b"],
        ["s1", "s2"],
        "regression",
    )
    assert reg["prediction"].tolist() == [0.25, 2.0] and reg["target"].tolist() == [0.5, -1.0]
    multi = prediction_frame(
        "video_off", Evaluation({}, np.array([[0.0, 1.5]]), np.array([[-0.2, 0.3]])), ["c"], ["s3"], "multilabel"
    )
    assert multi.iloc[0].tolist() == ["video_off", "c", "s3", "0;1.5", "0;1"]
    with pytest.raises(ValueError, match="2 predictions for 1 clips"):
        prediction_frame("clean", Evaluation({}, np.zeros(2), np.zeros((2, 3))), ["a"], ["s"], "classification")
