"""Whole models: fusion x cross attention x the three video parts, and the single-modality ablations."""

from __future__ import annotations

import itertools

import pytest
import torch

from avtca.models import create_model
from avtca.models.cross_attention import CROSS_ATTENTION
from avtca.models.fusion import FUSIONS
from avtca.models.video_attention import CHANNEL_ATTENTION, LOCAL_FEATURES, SPATIAL_ATTENTION
from tests.models.helpers import TINY, B, audio_batch, video_batch

VIDEO_PARTS = list(itertools.product(CHANNEL_ATTENTION.names(), SPATIAL_ATTENTION.names(), LOCAL_FEATURES.names()))


def _grads(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.slow
@pytest.mark.parametrize("fusion", FUSIONS.names())
@pytest.mark.parametrize("cross", CROSS_ATTENTION.names())
def test_product_forward_backward(fusion, cross):
    # one parametrised test per (fusion, cross attention); the 18 video-part combinations run inside it
    for channel, spatial, local in VIDEO_PARTS:
        model = create_model(
            "avtca",
            **TINY,
            **{
                "fusion.kind": fusion,
                "cross_attention.kind": cross,
                "video.channel_attention.kind": channel,
                "video.spatial_attention.kind": spatial,
                "video.local_features.kind": local,
            },
        ).train()
        audio, video = audio_batch(requires_grad=True), video_batch(requires_grad=True)
        out = model(audio, video)
        assert out.shape == (B, 8), (channel, spatial, local)
        out.sum().backward()
        where = f"{fusion}/{cross}/{channel}/{spatial}/{local}"
        assert _grads(model.audio_encoder) > 0 and _grads(model.video_encoder) > 0, where
        assert audio.grad.abs().sum() > 0 and video.grad.abs().sum() > 0, where
        mod = model.video_encoder.modulators["stage2"]
        assert (channel == "off") == (not list(mod.channel.parameters())), where
        assert (local == "off") == (not list(model.video_encoder.local["stage2"].parameters())), where


@pytest.mark.parametrize("stages", [[3], [2, 3, 4]])
def test_modulator_at_other_stages(stages):
    model = create_model("avtca", **{**TINY, "video.image_size": 48, "video.modulator_stages": stages})
    assert sorted(model.video_encoder.modulators) == [f"stage{s}" for s in stages]
    out = model(audio_batch(), torch.rand(B, 2, 3, 48, 48))
    out.sum().backward()
    for s in stages:
        assert _grads(model.video_encoder.modulators[f"stage{s}"]) > 0


@pytest.mark.parametrize("fusion", FUSIONS.names())
@pytest.mark.parametrize("cross", CROSS_ATTENTION.names())
@pytest.mark.parametrize("used", ["audio", "video"])
def test_single_modality_has_no_path_from_the_other(used, fusion, cross):
    model = create_model(
        "avtca", **TINY, modalities=used, **{"fusion.kind": fusion, "cross_attention.kind": cross}
    ).train()
    audio, video = audio_batch(requires_grad=True), video_batch(requires_grad=True)
    out = model(audio, video)
    assert out.shape == (B, 8)
    out.sum().backward()
    kept, dropped = (audio, video) if used == "audio" else (video, audio)
    assert kept.grad.abs().sum() > 0
    assert dropped.grad is None  # never read
    assert (model.video_encoder is None) == (used == "audio") and (model.audio_encoder is None) == (used == "video")
    model.eval()
    with torch.no_grad():
        ref = model(audio, video)
        other = model(audio, None) if used == "audio" else model(None, video)
        changed = model(audio, video * 0.5) if used == "audio" else model(audio * 3 + 1, video)
    assert torch.equal(ref, other) and torch.equal(ref, changed)
    with pytest.raises(ValueError, match=f"{used} input is None but model.modalities is '{used}'"):
        model(None, video) if used == "audio" else model(audio, None)


@pytest.mark.parametrize("kind", ["softhard", "noise"])
def test_modality_dropout_only_changes_training(kind):
    model = create_model("avtca", **{**TINY, "modality_dropout.kind": kind})
    audio, video = audio_batch(), video_batch()
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(audio, video), model(audio, video))
    model.train()
    torch.manual_seed(1)
    with torch.no_grad():
        outs = [model(audio, video) for _ in range(4)]
    assert any(not torch.allclose(outs[0], o) for o in outs[1:])  # random per call in training


@pytest.mark.parametrize(
    "overrides, shape",
    [
        ({"head.kind": "regression"}, (B, 1)),
        ({"head.kind": "multilabel", "head.n_labels": 6}, (B, 6)),
        ({"head.n_classes": 6}, (B, 6)),
    ],
)
def test_heads_set_the_output_width(overrides, shape):
    assert create_model("avtca", **TINY, **overrides)(audio_batch(), video_batch()).shape == shape


def test_mosei_feature_inputs():
    model = create_model(
        "avtca",
        **{
            "video": {"kind": "features", "in_dim": 35},
            "audio": {"kind": "features", "in_dim": 74},
            "head.kind": "regression",
        },
    )
    audio, video = torch.randn(B, 74, 20, requires_grad=True), torch.randn(B, 35, 20, requires_grad=True)
    out = model(audio, video)
    assert out.shape == (B, 1)
    out.sum().backward()
    assert audio.grad.abs().sum() > 0 and video.grad.abs().sum() > 0


def test_logmel_audio():
    model = create_model("avtca", **TINY, audio={"kind": "logmel", "n_mels": 16})
    assert model(audio_batch(16), video_batch()).shape == (B, 8)
