"""Every registered component builds and runs forward/backward with the shapes its neighbours expect."""

from __future__ import annotations

import pytest
import torch

from avtca.config.base import ConfigError, field_type, union_members
from avtca.models import REGISTRIES
from avtca.models.audio import AUDIO_ENCODERS
from avtca.models.blocks import shuffle_stage
from avtca.models.config import ModelConfig
from avtca.models.cross_attention import CROSS_ATTENTION
from avtca.models.fusion import FUSIONS
from avtca.models.heads import HEADS
from avtca.models.modality_dropout import MODALITY_DROPOUT
from avtca.models.model import model_config
from avtca.models.video import VIDEO_ENCODERS
from avtca.models.video_attention import (
    CHANNEL_ATTENTION,
    LOCAL_FEATURES,
    SPATIAL_ATTENTION,
    ChannelAttentionOff,
    ChannelAttentionSE,
    LocalFeaturesLFE,
    Modulator,
)
from tests.models.helpers import SIZE, B, L, T, audio_batch, video_batch


def _cfg(registry, kind: str, **fields):
    return registry.config_type(kind)(**fields)


def _grad_sum(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def _slot_annotation(slot: str):
    """The annotation of a dotted model slot (`model.video.channel_attention`), walked from ModelConfig."""
    owners, annotation = [ModelConfig], None
    for part in slot.split(".")[1:]:
        annotation = field_type(next(o for o in owners if part in o.model_fields).model_fields[part])
        owners = union_members(annotation)  # the kinds of this slot; the next part is a field of one of them
    return annotation


@pytest.mark.parametrize("slot", sorted(REGISTRIES))
def test_config_slot_is_its_registry(slot):
    registry = REGISTRIES[slot]
    assert registry.slot == slot and registry.names()
    assert union_members(_slot_annotation(slot)) == registry.config_types()


@pytest.mark.parametrize("slot", sorted(REGISTRIES))
def test_every_kind_validates_in_model_config(slot):
    for kind in REGISTRIES[slot].names():
        cfg = model_config("avtca", **{f"{slot.removeprefix('model.')}.kind": kind})  # paths relative to the model
        node = cfg
        for part in slot.split(".")[1:]:
            node = getattr(node, part)
        assert node.kind == kind and isinstance(node, REGISTRIES[slot].config_type(kind))


def test_unknown_kind_in_config_lists_registered_ones():
    with pytest.raises(
        ConfigError, match=r"model.fusion.kind: 'itt' is not one of ia, it, lt, none \(did you mean 'it'\?\)"
    ):
        model_config("avtca", **{"fusion.kind": "itt"})


def test_unknown_kind_lists_registered_ones():
    class Fake:
        kind = "itt"

    with pytest.raises(
        KeyError, match=r"model.fusion.kind: 'itt' is not one of ia, it, lt, none \(did you mean 'it'\?\)"
    ):
        FUSIONS.build(Fake(), audio_dim=128, video_dim=64, dim=128)


@pytest.mark.parametrize("kind", CHANNEL_ATTENTION.names())
def test_channel_attention(kind):
    x = torch.randn(4, 116, 8, 8, requires_grad=True)
    gate = CHANNEL_ATTENTION.build(_cfg(CHANNEL_ATTENTION, kind), channels=116)
    out = gate(x)
    if kind == "off":
        assert out is None and not list(gate.parameters())
        return
    assert out.shape == (4, 116, 1, 1)  # broadcasts over the spatial map
    out.sum().backward()
    assert x.grad.abs().sum() > 0 and _grad_sum(gate) > 0


@pytest.mark.parametrize("kind", SPATIAL_ATTENTION.names())
def test_spatial_attention(kind):
    x = torch.randn(4, 116, 8, 8, requires_grad=True)
    gate = SPATIAL_ATTENTION.build(_cfg(SPATIAL_ATTENTION, kind), channels=116)
    out = gate(x)
    if kind == "off":
        assert out is None and not list(gate.parameters())
        return
    assert out.shape == (4, 1, 8, 8)
    out.sum().backward()
    assert x.grad.abs().sum() > 0 and _grad_sum(gate) > 0


@pytest.mark.parametrize("size", [16, 14, 12, 7, 3])
@pytest.mark.parametrize("kind", LOCAL_FEATURES.names())
def test_local_features_match_the_stage_output(kind, size):
    x = torch.randn(2, 29, size, size, requires_grad=True)
    local = LOCAL_FEATURES.build(_cfg(LOCAL_FEATURES, kind), in_channels=29, out_channels=116)
    out = local(x)
    if kind == "off":
        assert out is None
        return
    assert out.shape == shuffle_stage(29, 116, 1)(x).shape  # it is added to the stage output
    out.sum().backward()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("size", range(3, 41))
def test_local_features_tile_any_map_of_at_least_3(size):
    local = LOCAL_FEATURES.build(LocalFeaturesLFE(), in_channels=2, out_channels=4)
    x = torch.randn(2, 2, size, size + 1)
    assert local(x).shape == shuffle_stage(2, 4, 1)(x).shape


def test_local_features_keep_quadrants_apart():
    local = LOCAL_FEATURES.build(LocalFeaturesLFE(), in_channels=29, out_channels=116).eval()
    x = torch.randn(1, 29, 16, 16)
    y = x.clone()
    y[:, :, 8:, 8:] += 1.0  # change only the bottom-right quadrant
    diff = (local(x) - local(y)).abs().sum(1)[0]  # (8, 8)
    assert diff[4:, 4:].min() > 0 and diff[:4, :].max() == 0 and diff[:, :4].max() == 0


def test_modulator_identity_with_both_gates_off():
    off = CHANNEL_ATTENTION.build(ChannelAttentionOff(), channels=8)
    x = torch.randn(2, 8, 4, 4)
    assert torch.equal(Modulator(off, off)(x), x)
    se = CHANNEL_ATTENTION.build(ChannelAttentionSE(reduction=2), channels=8).eval()
    assert torch.allclose(Modulator(se, off)(x), torch.sigmoid(se(x)) * x)


@pytest.mark.parametrize("kind", VIDEO_ENCODERS.names())
def test_video_encoders(kind):
    small = {"frames": T, "image_size": SIZE, "stage_repeats": [1, 1, 1]}
    cfg_type = VIDEO_ENCODERS.config_type(kind)
    cfg = cfg_type(**{k: v for k, v in small.items() if k in cfg_type.model_fields})
    enc = VIDEO_ENCODERS.build(cfg)
    x = torch.rand(cfg.input_shape(B, 9), requires_grad=True)
    steps = x.shape[1] if x.dim() == 5 else x.shape[-1]  # frames (B, T, 3, H, W) or a sequence (B, C, L)
    h1 = enc.stage1(x)
    assert h1.shape == (B, enc.dim1, steps) and enc.dim1 == cfg.stage1_dim
    h2 = enc.stage2(h1)
    assert h2.shape == (B, 128, steps) and enc.dim2 == 128
    h2.sum().backward()
    assert x.grad.abs().sum() > 0


def test_frames_encoder_rejects_wrong_frames():
    enc = VIDEO_ENCODERS.build(VIDEO_ENCODERS.config_type("frames")(frames=3, image_size=SIZE, stage_repeats=[1, 1, 1]))
    with pytest.raises(ValueError, match=r"expected 3 frames \(model.video.frames\)"):
        enc.stage1(video_batch())
    with pytest.raises(ValueError, match=r"model.video.image_size=32"):
        enc.stage1(torch.rand(B, 3, 3, 48, 48))


@pytest.mark.parametrize("kind", AUDIO_ENCODERS.names())
def test_audio_encoders(kind):
    cfg = AUDIO_ENCODERS.config_type(kind)()
    channels = cfg.in_channels
    enc = AUDIO_ENCODERS.build(cfg)
    x = audio_batch(channels, requires_grad=True)
    h1 = enc.stage1(x)
    shrink = L - h1.shape[-1]  # 'valid' convs shorten the sequence, 'same' ones keep it
    assert h1.shape == (B, cfg.stage1_dim, L - shrink) and shrink in (0, 6)
    h2 = enc.stage2(h1)
    assert h2.shape == (B, 128, L - 2 * shrink)
    h2.sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="model.audio"):
        enc.stage1(audio_batch(channels + 1))


@pytest.mark.parametrize("kind", FUSIONS.names())
def test_fusion(kind):
    fusion = FUSIONS.build(_cfg(FUSIONS, kind), audio_dim=128, video_dim=64, dim=128)
    a1, v1 = torch.randn(B, 128, 10, requires_grad=True), torch.randn(B, 64, T, requires_grad=True)
    a, v = fusion.intermediate(a1, v1)
    assert a.shape == a1.shape and v.shape == v1.shape
    a2, v2 = torch.randn(B, 128, 7, requires_grad=True), torch.randn(B, 128, T, requires_grad=True)
    la, lv = fusion.late(a2, v2)
    assert la.shape == a2.shape and lv.shape == v2.shape
    # the audio output depends on the video input exactly when the fusion mixes at that point
    (a.sum() + la.sum()).backward()
    mixes_at = FUSIONS.config_type(kind).mixes_at  # a fact of the kind, not a list here
    mixes_mid, mixes_late = mixes_at == "intermediate", mixes_at == "late"
    assert (v1.grad is not None and v1.grad.abs().sum() > 0) == mixes_mid
    assert (v2.grad is not None and v2.grad.abs().sum() > 0) == mixes_late


@pytest.mark.parametrize("kind", CROSS_ATTENTION.names())
def test_cross_attention(kind):
    extra = {"dim": 64} if "dim" in CROSS_ATTENTION.config_type(kind).model_fields else {}
    cfg = _cfg(CROSS_ATTENTION, kind, **extra)
    ca = CROSS_ATTENTION.build(cfg, in_dim=128)
    a, v = torch.randn(B, 128, 7, requires_grad=True), torch.randn(B, 128, T, requires_grad=True)
    oa, ov = ca(a, v)
    assert oa.shape == (B, ca.out_dim, 7) and ov.shape == (B, ca.out_dim, T)
    assert ca.out_dim == getattr(cfg, "dim", 128)  # projects to `dim`, or keeps the input width
    oa.sum().backward()
    assert (v.grad is not None and v.grad.abs().sum() > 0) == cfg.crosses


@pytest.mark.parametrize("kind", HEADS.names())
def test_heads(kind):
    cfg = _cfg(HEADS, kind)
    head = HEADS.build(cfg, in_dim=256)
    a, v = torch.randn(B, 128, 7, requires_grad=True), torch.randn(B, 128, T, requires_grad=True)
    out = head(a, v)
    assert out.shape == (B, cfg.n_outputs) and cfg.n_outputs >= 1
    out.sum().backward()
    assert a.grad.abs().sum() > 0 and v.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", MODALITY_DROPOUT.names())
def test_modality_dropout_is_identity_in_eval(kind):
    drop = MODALITY_DROPOUT.build(_cfg(MODALITY_DROPOUT, kind)).eval()
    a, v = audio_batch(), video_batch()
    oa, ov = drop(a, v)
    assert torch.equal(oa, a) and torch.equal(ov, v)


def test_softhard_draws_one_released_variant_per_sample():
    drop = MODALITY_DROPOUT.build(MODALITY_DROPOUT.config_type("softhard")()).train()
    a, v = torch.ones(400, 3, 5), torch.ones(400, 2, 3, 4, 4)
    oa, ov = drop(a, v)
    sa, sv = oa[:, 0, 0], ov[:, 0, 0, 0, 0]
    # every sample is scaled uniformly; pairs are (1,1), (c,1-c), (0,1) or (1,0)
    assert torch.equal(oa, sa[:, None, None].expand_as(oa)) and torch.equal(ov, sv.view(-1, 1, 1, 1, 1).expand_as(ov))
    assert torch.allclose(sa + sv, torch.where((sa == 1) & (sv == 1), torch.tensor(2.0), torch.tensor(1.0)))
    assert ((sa == 0) & (sv == 1)).any() and ((sa == 1) & (sv == 0)).any() and ((sa == 1) & (sv == 1)).any()
    assert ((sa > 0) & (sa < 1)).any()


def test_noise_replaces_at_most_one_modality():
    drop = MODALITY_DROPOUT.build(MODALITY_DROPOUT.config_type("noise")(std=1.0)).train()
    a, v = torch.full((300, 3, 5), 7.0), torch.full((300, 2, 3, 4, 4), 7.0)
    oa, ov = drop(a, v)
    a_kept = (oa == 7).flatten(1).all(1)
    v_kept = (ov == 7).flatten(1).all(1)
    assert (a_kept | v_kept).all() and (~a_kept).any() and (~v_kept).any() and (a_kept & v_kept).any()
    assert not (oa[~a_kept] == 7).any()  # replaced entirely, by noise


@pytest.mark.parametrize("kind", ["softhard", "noise"])
def test_modality_dropout_keeps_one_intact_sample_per_batch(kind):
    # a batch with a modality blanked in every sample makes BatchNorm gradients overflow
    drop = MODALITY_DROPOUT.build(_cfg(MODALITY_DROPOUT, kind)).train()
    for _ in range(50):
        a, v = torch.ones(2, 3, 5), torch.ones(2, 2, 3, 4, 4)
        oa, ov = drop(a, v)
        assert torch.equal(oa[0], a[0]) and torch.equal(ov[0], v[0])
