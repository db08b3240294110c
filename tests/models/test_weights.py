"""Checkpoints: the released-format parity fixture, our own round trip, EfficientFace files, clear key errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from avtca.models import WeightsError, create_model, load_model, load_weights, save_checkpoint
from tests.models.helpers import TINY, audio_batch, video_batch

FIXTURES = Path(__file__).parent / "fixtures"
RELEASED = FIXTURES / "released_it_fp16.pth"


@pytest.fixture(scope="module")
def released() -> dict:
    return torch.load(RELEASED, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def io() -> dict:
    return torch.load(FIXTURES / "released_it_io.pt", map_location="cpu", weights_only=True)


def _logits(model, io) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(io["audio"].float(), io["video"].float() / 255)  # uint8 frames -> [0, 1]


def test_released_checkpoint_reproduces_released_logits(io):
    model = create_model("avtca-code", weights=RELEASED, **{"video.frames": io["video"].shape[1]})
    out = _logits(model, io)
    assert io["logits"].abs().max() > 1 and io["frame_features"].std(0).mean() > 0.01  # informative, not constant
    # float32 summation order differs (batched attention, conv algorithms): ~1e-5 relative
    torch.testing.assert_close(out, io["logits"], rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        frames = io["video"].float().div(255).flatten(0, 1)  # (B*T, 3, 224, 224), sample-major as released
        torch.testing.assert_close(
            model.video_encoder.frame_features(frames), io["frame_features"], rtol=1e-4, atol=1e-5
        )
        torch.testing.assert_close(model.encode_audio(io["audio"].float()), io["audio_stage1"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fusion", ["ia", "lt"])
def test_released_ia_and_lt_checkpoints(fusion, released, io):
    # fixture: the 'it' checkpoint's shared weights + the fusion's own (seeded) weights and released logits
    delta = torch.load(FIXTURES / f"released_{fusion}_delta.pt", map_location="cpu", weights_only=True)
    shared = {k: v for k, v in released["state_dict"].items() if not k.startswith(("module.av1.", "module.va1."))}
    ckpt = {**released, "state_dict": {**shared, **{f"module.{k}": v for k, v in delta["state_dict"].items()}}}
    frames = {"video.frames": io["video"].shape[1], "fusion.kind": fusion}
    # the released forward skips finalAttention for 'ia'/'lt': cross_attention off reproduces it
    model = create_model("avtca-code", **frames, **{"cross_attention.kind": "off"})
    report = load_weights(model, ckpt)
    assert {"finalAttention.in_proj_weight", "finalAttention.out_proj.weight"} <= set(report.ignored)
    out = _logits(model, io)
    scale = float(delta["logits"].abs().max())
    torch.testing.assert_close(out, delta["logits"], rtol=1e-4, atol=1e-4 * scale)
    # with shared_self (the preset) finalAttention loads and is used, so the logits differ
    with_ca = create_model("avtca-code", **frames)
    assert "finalAttention.in_proj_weight" not in load_weights(with_ca, ckpt).ignored
    assert not torch.allclose(_logits(with_ca, io), delta["logits"], rtol=1e-2)


def test_released_keys_without_dataparallel_prefix(released, io):
    plain = {**released, "state_dict": {k.removeprefix("module."): v for k, v in released["state_dict"].items()}}
    model = create_model("avtca-code", **{"video.frames": io["video"].shape[1]})
    report = load_weights(model, plain)
    assert report.source_format == "released" and report.missing == [] and report.unexpected == []
    # the released model's unused parameters are named, not silently dropped
    assert sorted(report.ignored) == sorted(
        f"{m}_model.classifier_1.0.{p}" for m in ("audio", "visual") for p in ("weight", "bias")
    )
    torch.testing.assert_close(_logits(model, io), io["logits"], rtol=1e-4, atol=1e-4)


def test_missing_and_unexpected_keys_are_listed(released):
    state = dict(released["state_dict"])
    del state["module.finalAttention.in_proj_weight"]
    state["module.extra_layer.weight"] = torch.zeros(3)
    with pytest.raises(WeightsError) as err:
        load_weights(create_model("avtca-code"), {**released, "state_dict": state})
    msg = str(err.value)
    assert "missing in the file (1): cross_attention.attn.in_proj_weight" in msg
    assert "unexpected in the file (1): extra_layer.weight" in msg


def test_released_weights_do_not_fit_the_paper_model(released):
    with pytest.raises(WeightsError, match=r"missing in the file .*cross_attention\.audio_from_video"):
        load_weights(create_model("avtca"), released)


def test_shape_mismatch_is_reported(released):
    with pytest.raises(
        WeightsError, match=r"shape mismatch \(2\): head.linear.weight: file \(8, 256\) vs model \(6, 256\)"
    ):
        load_weights(create_model("avtca-code", **{"head.n_classes": 6}), released)


def test_own_checkpoint_round_trip_is_exact(tmp_path):
    model = create_model("avtca", **TINY).train()
    audio, video = audio_batch(), video_batch()
    model(audio, video)  # one training-mode pass moves the BatchNorm running statistics
    model.eval()
    with torch.no_grad():
        ref = model(audio, video)
    path = save_checkpoint(model, tmp_path / "ckpt.pt", epoch=3)
    fresh = create_model("avtca", **TINY).eval()
    with torch.no_grad():
        assert not torch.equal(fresh(audio, video), ref)
    report = load_weights(fresh, path)
    assert report.source_format == "avtca" and report.loaded == len(model.state_dict())
    restored = load_model(path).eval()  # config travels with the weights
    via_create = create_model("avtca", weights=path, **TINY).eval()
    with torch.no_grad():
        for m in (fresh, restored, via_create):
            assert torch.equal(m(audio, video), ref)


def test_plain_state_dict_with_module_prefix(tmp_path):
    model = create_model("avtca-code", **TINY)
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / "sd.pt")
    other = create_model("avtca-code", **TINY)
    assert load_weights(other, tmp_path / "sd.pt").source_format == "state_dict"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def _efficientface_file(released: dict, path: Path) -> Path:
    """A file in EfficientFace's format (its training script: {'state_dict': module.<trunk keys> + fc})."""
    trunk = {
        "module." + k.removeprefix("module.visual_model."): v
        for k, v in released["state_dict"].items()
        if k.startswith("module.visual_model.") and ".conv1d_" not in k and ".classifier_1." not in k
    }
    trunk["module.fc.weight"], trunk["module.fc.bias"] = torch.randn(7, 1024), torch.randn(7)
    torch.save({"epoch": 10, "state_dict": trunk, "best_acc": 0.6}, path)
    return path


def test_efficientface_file_initialises_the_visual_trunk(released, io, tmp_path):
    path = _efficientface_file(released, tmp_path / "EfficientFace_Trained_on_AffectNet7.pth")
    frames = io["video"].shape[1]
    model = create_model("avtca", **{"video.frames": frames})
    before_temporal = model.video_encoder.block1[0][0].weight.clone()
    report = load_weights(model, path)
    assert report.source_format == "efficientface" and sorted(report.ignored) == ["fc.bias", "fc.weight"]
    assert torch.equal(model.video_encoder.block1[0][0].weight, before_temporal)  # not in the file
    full = create_model("avtca-code", weights=RELEASED, **{"video.frames": frames})
    x = io["video"][0].float() / 255  # (T, 3, 224, 224)
    model.eval(), full.eval()
    with torch.no_grad():
        assert torch.equal(model.video_encoder.frame_features(x), full.video_encoder.frame_features(x))


def test_efficientface_file_into_a_different_trunk_is_an_error(released, tmp_path):
    path = _efficientface_file(released, tmp_path / "ef.pth")
    with pytest.raises(WeightsError, match=r"unexpected in the file .*modulators\.stage2\.channel\.gate"):
        create_model("avtca", weights=path, **{"video.channel_attention.kind": "eca"})
    with pytest.raises(WeightsError, match="needs a 'frames' video encoder"):
        create_model("avtca", weights=path, video={"kind": "features"})


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        create_model("avtca", weights=tmp_path / "nope.pth")
