import pytest
import torch

from avtca.config.base import validate
from avtca.metrics import METRIC_NAMES
from avtca.training import (
    SILENT,
    Condition,
    EvalConfig,
    TrainConfig,
    evaluate,
    evaluate_robustness,
    fit,
    robustness_conditions,
)
from avtca.training.runtime import seed_everything
from tests.training.toys import ToyModel, loaders, unpack


def test_condition_names_follow_the_contract():
    conds = robustness_conditions(["audio", "video"], [0.5, 1.0])
    assert [c.name for c in conds] == [
        "audio_off",
        "video_off",
        "audio_noise_0.5",
        "video_noise_0.5",
        "audio_noise_1.0",
        "video_noise_1.0",
    ]
    ev = EvalConfig()
    assert len(robustness_conditions(ev.modality_off, ev.noise_levels)) == 6


def test_off_zeros_one_modality_and_noise_is_relative_and_seeded():
    audio = torch.randn(4, 3, 500) * torch.tensor([1.0, 5.0, 0.1, 2.0]).view(4, 1, 1)
    video = torch.rand(4, 2, 3, 8, 8)
    a, v = Condition("audio", "off").apply(audio, video, torch.Generator())
    assert torch.count_nonzero(a) == 0 and torch.equal(v, video)
    gen = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    a1, v1 = Condition("audio", "noise", 0.5).apply(audio, video, gen())
    a2, _ = Condition("audio", "noise", 0.5).apply(audio, video, gen())
    assert torch.equal(a1, a2) and torch.equal(v1, video)
    ratio = (a1 - audio).flatten(1).std(dim=1) / audio.flatten(1).std(dim=1)
    assert ratio.tolist() == pytest.approx([0.5] * 4, rel=0.1)  # per sample, whatever its scale
    _, v3 = Condition("video", "noise", 1.0).apply(audio, video, gen())
    assert not torch.equal(v3, video)


def test_robustness_keys_and_an_audio_only_model_ignores_video():
    seed_everything(0)
    model = ToyModel(use="audio")
    cfg = validate(TrainConfig, {"epochs": 5, "lr": 0.05, "optimizer": {"kind": "adamw"}, "device": "cpu"})
    ld = loaders()
    fit(model, ld, cfg, "classification", unpack=unpack, progress=SILENT)
    clean = evaluate(model, ld["test"], "classification", unpack=unpack, prefix="test/").metrics
    conds = robustness_conditions(["audio", "video"], [0.5, 1.0])
    rob = evaluate_robustness(model, ld["test"], "classification", conds, unpack=unpack)
    expected = {f"test_robust/{c.name}/{m}" for c in conds for m in METRIC_NAMES["classification"]}
    assert set(rob) == expected
    assert clean["test/accuracy"] > 0.6
    # video carries nothing for this model; without audio it is at chance
    assert rob["test_robust/video_off/accuracy"] == clean["test/accuracy"]
    assert rob["test_robust/video_noise_1.0/accuracy"] == clean["test/accuracy"]
    assert rob["test_robust/audio_off/accuracy"] < clean["test/accuracy"] - 0.2
    again = evaluate_robustness(model, ld["test"], "classification", conds, unpack=unpack)
    assert again == rob  # noise is seeded per condition
    val = evaluate_robustness(model, ld["val"], "classification", conds[:1], split="val", unpack=unpack)
    assert set(val) == {f"val_robust/audio_off/{m}" for m in METRIC_NAMES["classification"]}
