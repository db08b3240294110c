"""train.seeding (independent initial weights per fold by default) and the cost a run measures (FLOPs, latency)."""

from __future__ import annotations

import importlib
import math
import shutil
import tempfile

import pytest
import torch
from torch import nn

from avtca.experiment import resolve_experiment
from avtca.training import SILENT, train
from avtca.training.cost import flops_per_clip, latency_ms_per_clip, seconds_per_epoch
from avtca.training.runtime import Precision, run_seed

train_module = importlib.import_module("avtca.training.train")  # the module: the package exports `train`, the function
CREATE_MODEL = train_module.create_model


@pytest.fixture(scope="module")
def data():
    """48 generated clips of 6 actors, tiny inputs, the 6-fold actor protocol (one actor a fold)."""
    cache = tempfile.mkdtemp(prefix="avtca-seeding-")
    yield {
        "name": "ravdess",
        "root": "synthetic",
        "cache": cache,
        "protocol": "actor6fold",
        "frames": 2,
        "image_size": 32,
        "duration": 1.0,
        "crop": {"kind": "none"},
        "synthetic": {"actors": 6, "statements": 1, "size": 48, "seconds": 1.0},
    }
    shutil.rmtree(cache, ignore_errors=True)


class _Stop(Exception):
    """Raised right after the model is built: the test needs the initial weights, not a trained model."""


def _initial_weights(monkeypatch, cfg, fold: int) -> dict[str, torch.Tensor]:
    seen = {}

    def spy(model_cfg):
        model = CREATE_MODEL(model_cfg)
        seen.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        raise _Stop

    monkeypatch.setattr(train_module, "create_model", spy)
    with pytest.raises(_Stop):
        train(cfg, fold=fold, progress=SILENT)
    return seen


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _cfg(data, **train_kw):
    train_cfg = {"device": "cpu", "epochs": 1, "batch_size": 16, "threads": 1, "amp": "off", **train_kw}
    return resolve_experiment("avtca", data=data, train=train_cfg, eval={"modality_off": [], "noise_levels": []})


def test_folds_of_one_seed_start_from_different_weights_and_a_cell_always_from_the_same(data, monkeypatch):
    cfg = _cfg(data)
    assert cfg.train.seeding == "per_fold"  # the default
    fold0, fold1 = _initial_weights(monkeypatch, cfg, 0), _initial_weights(monkeypatch, cfg, 1)
    assert not _same(fold0, fold1)
    assert _same(fold0, _initial_weights(monkeypatch, cfg, 0))
    repeat1 = _initial_weights(monkeypatch, _cfg({**data, "repeat": 1}), 0)
    assert not _same(fold0, repeat1)  # fold 0 of another repeat is another unit
    # shared: every fold of a seed from the same weights (the behaviour before per-fold seeding), seed by seed
    shared = _cfg(data, seeding="shared")
    assert _same(_initial_weights(monkeypatch, shared, 0), _initial_weights(monkeypatch, shared, 1))
    other_seed = _cfg(data, seeding="shared", seed=1)
    assert not _same(_initial_weights(monkeypatch, shared, 0), _initial_weights(monkeypatch, other_seed, 0))


def test_run_seed_is_the_seed_when_shared_and_a_stable_hash_per_fold_otherwise():
    assert run_seed(7, fold=3, repeat=2, seeding="shared") == 7
    derived = {run_seed(0, f, r) for f in range(6) for r in range(3)}
    assert len(derived) == 18 and all(0 <= s < 2**31 for s in derived)
    assert run_seed(0, 1, 0) == run_seed(0, 1, 0) and run_seed(0, 1, 0) != run_seed(1, 1, 0)
    assert run_seed(-3, 0, 0) >= 0
    with pytest.raises(ValueError, match="train.seeding: 'fold' is not one of per_fold, shared"):
        run_seed(0, 0, 0, "fold")


class _TwoInputs(nn.Module):
    """audio (B, 10) -> Linear(10, 5); video (B, 3, 8, 8) -> Conv2d(3, 4, 3) with no padding: FLOPs known."""

    def __init__(self):
        super().__init__()
        self.audio, self.video = nn.Linear(10, 5), nn.Conv2d(3, 4, 3)

    def forward(self, audio, video):
        return self.audio(audio).sum(1) + torch.relu(self.video(video)).flatten(1).sum(1)


def test_flops_per_clip_counts_matrix_products_and_convolutions():
    model = _TwoInputs().train()
    flops = flops_per_clip(model, torch.randn(1, 10), torch.randn(1, 3, 8, 8))
    linear, conv = 2 * 10 * 5, 2 * (3 * 3 * 3) * 4 * (6 * 6)  # 2 per multiply-add; the relu is not counted
    assert flops == linear + conv
    assert model.training  # the mode is restored


def test_latency_is_a_median_of_timed_forwards_and_seconds_per_epoch_a_mean():
    model = _TwoInputs()
    clip = torch.randn(1, 10), torch.randn(1, 3, 8, 8)
    ms = latency_ms_per_clip(model, *clip, torch.device("cpu"), Precision(None, False))
    assert 0 < ms < 1000
    assert seconds_per_epoch([{"train/seconds": 1.0}, {"train/seconds": 3.0}]) == 2.0
    assert seconds_per_epoch([]) is None


@pytest.mark.slow
def test_a_run_reports_its_cost(data):
    full = train(_cfg(data), fold=0, progress=SILENT)
    assert isinstance(full.flops_per_clip, int) and full.flops_per_clip > 0
    assert full.latency_ms_per_clip > 0 and math.isfinite(full.latency_ms_per_clip)
    assert 0 < full.seconds_per_epoch <= full.seconds
    assert full.seed == run_seed(0, 0, 0)
    audio_cfg = resolve_experiment(
        "avtca", data=data, train=_cfg(data).train.model_dump(), eval={"modality_off": [], "noise_levels": []},
        overrides={"model.modalities": "audio"},
    )  # fmt: skip
    audio_only = train(audio_cfg, fold=0, progress=SILENT)
    assert 0 < audio_only.flops_per_clip < full.flops_per_clip  # no video encoder, no fusion
