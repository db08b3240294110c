"""Bad model configs raise ConfigError naming the dotted key, the allowed values and the nearest one."""

from __future__ import annotations

import pytest

from avtca.config.base import ConfigError, validate
from avtca.models import create_model, model_config
from avtca.models.config import ModelConfig


def _problems(**overrides) -> list[str]:
    with pytest.raises(ConfigError) as err:
        model_config("avtca", **overrides)
    return err.value.problems


def test_typo_in_kind():
    assert _problems(**{"fusion.kind": "itt"}) == [
        "model.fusion.kind: 'itt' is not one of ia, it, lt, none (did you mean 'it'?)"
    ]


def test_kind_named_in_words_suggests_by_description():
    (line,) = _problems(**{"fusion.kind": "intermediate"})
    assert line.startswith("model.fusion.kind: 'intermediate' is not one of ia, it, lt, none (did you mean ")
    assert "'ia' (Intermediate attention)" in line and "'it' (Intermediate transformer" in line
    (line,) = _problems(**{"video.channel_attention.kind": "squeeze"})
    assert "(did you mean 'se' (Squeeze-excite" in line
    assert _problems(**{"fusion.kind": "xyz"}) == ["model.fusion.kind: 'xyz' is not one of ia, it, lt, none"]


def test_typo_in_nested_kind():
    (line,) = _problems(**{"video.channel_attention.kind": "see"})
    # the union tag pydantic puts in the location ('frames') is dropped: the path is the dotted config key
    assert line == "model.video.channel_attention.kind: 'see' is not one of eca, off, se (did you mean 'se'?)"


def test_extra_key():
    (line,) = _problems(**{"cross_attention.head": 4})
    assert (
        line
        == "model.cross_attention.head: unknown key; allowed keys are dim, dropout, ff_mult, heads, kind (did you mean 'heads'?)"
    )


def test_unknown_top_level_key():
    (line,) = _problems(fusions={"kind": "it"})
    assert line.startswith("model.fusions: unknown key; allowed keys are ") and "(did you mean 'fusion'?)" in line


def test_wrong_type():
    (line,) = _problems(**{"head.n_classes": "eight"})
    assert line.startswith("model.head.n_classes: ") and "'eight'" in line


def test_modalities_literal():
    (line,) = _problems(modalities="audio-video")
    assert (
        line == "model.modalities: 'audio-video' is not one of audio_video, audio, video (did you mean 'audio_video'?)"
    )


def test_unknown_preset():
    with pytest.raises(ConfigError, match=r"preset: 'avtca-cod' is not one of .* \(did you mean 'avtca-code'\?\)"):
        create_model("avtca-cod")


def test_heads_must_divide_dim():
    with pytest.raises(ConfigError, match=r"model.cross_attention: .*heads \(3\) must divide dim \(128\)"):
        model_config("avtca", **{"cross_attention.heads": 3})
    with pytest.raises(ConfigError, match=r"model.fusion: .*heads \(8\) must divide video.temporal_dim \(60\)"):
        model_config("avtca", **{"video.temporal_dim": 60})


def test_image_too_small_for_local_branch():
    with pytest.raises(ConfigError, match=r"model.video: .*image_size 32 is too small for local_features at stage 4"):
        model_config("avtca", **{"video.image_size": 32, "video.modulator_stages": [4]})
    # without the local branch the same size is fine
    model_config("avtca", **{"video.image_size": 32, "video.modulator_stages": [4], "video.local_features.kind": "off"})


def test_validate_names_the_source_file():
    with pytest.raises(ConfigError, match=r"^study.yaml: invalid config"):
        validate(ModelConfig, {"fusion": {"kind": "x"}}, "study.yaml")
