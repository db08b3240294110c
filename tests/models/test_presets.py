"""Presets are data that validate into ModelConfig; avtca-code matches the released parameter counts."""

from __future__ import annotations

import pytest
import torch
import yaml
from pydantic import ValidationError

from avtca.config.base import ConfigError, dump_yaml, flatten, validate
from avtca.models import PRESETS, count_parameters, create_model, model_config
from avtca.models.config import ModelConfig

# unused by the released forward, so not built here: two unimodal heads Linear(128, 8) (2 x 1,032) and,
# for 'ia', the attention output projections Linear(128, 128) + Linear(64, 64) (16,512 + 4,160)
UNIMODAL_HEADS = 2 * (128 * 8 + 8)
IA_PROJECTIONS = (128 * 128 + 128) + (64 * 64 + 64)


@pytest.mark.parametrize(
    "fusion, released, unused",
    [
        ("it", 2_004_462, UNIMODAL_HEADS),
        ("ia", 1_920_814, UNIMODAL_HEADS + IA_PROJECTIONS),
        ("lt", 2_111_598, UNIMODAL_HEADS),
    ],
)
def test_avtca_code_parameter_counts(fusion, released, unused):
    model = create_model("avtca-code", **{"fusion.kind": fusion})
    assert count_parameters(model) + unused == released


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_and_defaults_to_ravdess(name):
    assert isinstance(PRESETS[name], dict)
    cfg = validate(ModelConfig, PRESETS[name])
    assert cfg.head.kind == "classification" and cfg.head.n_classes == 8
    model = create_model(name)
    assert model.cfg == cfg and count_parameters(model) > 0


def test_model_config_defaults_are_the_paper_preset():
    assert ModelConfig() == model_config("avtca")


def test_presets_differ_where_their_names_say():
    flat = {name: flatten(model_config(name).model_dump(mode="json")) for name in PRESETS}
    base = flat["avtca"]
    assert base["fusion.kind"] == "it" and base["cross_attention.kind"] == "bidirectional"
    code = flat["avtca-code"]
    assert {k for k in base.keys() | code.keys() if code.get(k) != base.get(k)} == {
        "cross_attention.kind",
        "cross_attention.ff_mult",
        "cross_attention.dropout",  # options shared_self lacks
    }
    assert flat["avtca-no-channel"]["video.channel_attention.kind"] == "off"
    assert flat["avtca-no-spatial"]["video.spatial_attention.kind"] == "off"
    assert flat["avtca-no-lfe"]["video.local_features.kind"] == "off"
    assert flat["avtca-late"]["fusion.kind"] == "lt"
    assert flat["baseline-it"]["cross_attention.kind"] == "off"
    assert flat["avtca-audio"]["modalities"] == "audio" and flat["avtca-video"]["modalities"] == "video"


@pytest.mark.parametrize("name", ["avtca", "avtca-code", "avtca-late", "avtca-audio"])
def test_yaml_round_trip_gives_identical_parameter_shapes(name, tmp_path):
    cfg = model_config(name)
    path = tmp_path / "model.yaml"
    path.write_text(dump_yaml(cfg))
    again = validate(ModelConfig, yaml.safe_load(path.read_text()), str(path))
    assert again == cfg
    shapes = {k: tuple(v.shape) for k, v in create_model(cfg).state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in create_model(again).state_dict().items()}


def test_dotted_overrides_apply_nested_and_never_mutate():
    cfg = model_config("avtca")
    a = model_config(cfg, **{"fusion.kind": "lt", "video.channel_attention.kind": "eca", "video.frames": 8})
    assert (a.fusion.kind, a.video.channel_attention.kind, a.video.frames) == ("lt", "eca", 8)
    assert model_config(cfg, modalities="audio").modalities == "audio"  # a one-part path is a plain keyword
    assert cfg.fusion.kind == "it" and PRESETS["avtca"]["fusion"]["kind"] == "it"
    with pytest.raises(ValidationError, match="frozen"):
        cfg.fusion = a.fusion


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        ({"fusion__kind": "lt"}, r"'fusion__kind=' is not accepted; write the dotted path \*\*\{'fusion.kind': ...\}"),
        (
            {"model.fusion.kind": "lt"},
            r"'model.fusion.kind': paths are relative to the model config; write \*\*\{'fusion.kind'",
        ),
        ({"overrides": {"fusion.kind": "lt"}}, r"overrides=\{...\} is not accepted; pass the dotted paths as keyword"),
    ],
)
def test_other_override_spellings_fail_showing_the_accepted_one(overrides, shown):
    for build in (model_config, create_model):
        with pytest.raises(TypeError, match=shown) as err:
            build("avtca", **overrides)
        assert "(e.g. create_model('avtca', **{'fusion.kind': 'lt'}))" in str(err.value)


def test_unknown_override_names_the_dotted_path_and_the_nearest_key():
    with pytest.raises(ConfigError) as err:
        model_config("avtca", **{"fusoin.kind": "lt"})
    (line,) = err.value.problems
    assert line.startswith("model.fusoin: unknown key; allowed keys are ") and line.endswith("(did you mean 'fusion'?)")
    with pytest.raises(ConfigError) as err:
        model_config("avtca", **{"video.channel_attention.reductoin": 4})
    (line,) = err.value.problems
    assert line.startswith(
        "model.video.channel_attention.reductoin: unknown key; allowed keys are kind, layers, reduction"
    )
    assert line.endswith("(did you mean 'reduction'?)")


def test_config_instances_build_the_same_model():
    torch.manual_seed(3)
    m1 = create_model(model_config("avtca-code"))
    torch.manual_seed(3)
    m2 = create_model("avtca-code")
    assert all(torch.equal(x, y) for x, y in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_no_two_presets_are_the_same_model_unless_aliases():
    from avtca.models.presets import ALIASES, DESCRIPTIONS

    canonical = [name for name in PRESETS if name not in ALIASES]
    dumps = {name: model_config(name).model_dump_json() for name in canonical}
    same = [(a, b) for i, a in enumerate(canonical) for b in canonical[i + 1 :] if dumps[a] == dumps[b]]
    assert same == [], f"identical presets {same}: make one an alias (avtca.models.presets.ALIASES)"
    for alias, name in ALIASES.items():
        assert model_config(alias) == model_config(name) and DESCRIPTIONS[alias].startswith(f"alias of {name}")
    assert set(DESCRIPTIONS) == set(PRESETS)
