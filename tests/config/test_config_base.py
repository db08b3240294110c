"""The typed-config machinery: readable errors with dotted paths, overrides, flatten, YAML round trip."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field, PositiveInt, ValidationError

from avtca.config.base import (
    ConfigError,
    Strict,
    apply_overrides,
    dump_yaml,
    flatten,
    get_dotted,
    load_yaml,
    suggest,
    validate,
)
from avtca.registry import Registry


class FusionNone(Strict):
    kind: Literal["none"] = "none"


class FusionIT(Strict):
    kind: Literal["it"] = "it"
    heads: PositiveInt = 8


Fusion = Annotated[FusionNone | FusionIT, Field(discriminator="kind")]


class Model(Strict):
    fusion: Fusion = Field(default_factory=FusionIT)
    modalities: Literal["audio_video", "audio", "video"] = "audio_video"


class Top(Strict):
    model: Model = Field(default_factory=Model)
    lr: float = 0.06


def test_unknown_kind_names_path_choices_and_suggestion():
    with pytest.raises(ConfigError) as err:
        validate(Top, {"model": {"fusion": {"kind": "itt"}}}, source="s.yaml")
    msg = str(err.value)
    assert "s.yaml" in msg
    assert "model.fusion.kind: 'itt' is not one of none, it (did you mean 'it'?)" in msg


def test_extra_key_lists_allowed_keys_of_the_selected_kind():
    with pytest.raises(ConfigError) as err:
        validate(Top, {"model": {"fusion": {"kind": "it", "hedas": 4}}})
    (line,) = err.value.problems
    assert line.startswith("model.fusion.hedas: unknown key")
    assert "heads, kind" in line and "did you mean 'heads'" in line


def test_literal_and_type_errors_name_the_key():
    with pytest.raises(ConfigError) as err:
        validate(Top, {"model": {"modalities": "audi"}, "lr": "fast"})
    lines = err.value.problems
    assert any(
        line.startswith("model.modalities: 'audi' is not one of") and "did you mean 'audio'" in line for line in lines
    )
    assert any(line.startswith("lr:") and "'fast'" in line for line in lines)


def test_validated_config_is_immutable():
    cfg = validate(Top, {})
    with pytest.raises(ValidationError, match="frozen"):
        cfg.lr = 1.0  # type: ignore[misc]


def test_overrides_parse_values_and_switching_kind_drops_old_options():
    base = Top().model_dump()
    out = apply_overrides(base, ["model.fusion.kind=none", "lr=1e-3"])
    assert out["model"]["fusion"] == {"kind": "none"}
    assert out["lr"] == 1e-3
    assert base["model"]["fusion"]["heads"] == 8  # input untouched
    assert validate(Top, out).model.fusion.kind == "none"


def test_override_without_equals_is_a_clear_error():
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, ["model.fusion.kind"])


def test_flatten_and_get_dotted():
    flat = flatten(Top().model_dump())
    assert flat == {"model.fusion.kind": "it", "model.fusion.heads": 8, "model.modalities": "audio_video", "lr": 0.06}
    assert get_dotted(Top().model_dump(), "model.fusion.heads") == 8
    assert get_dotted({}, "a.b", "x") == "x"


def test_yaml_round_trip(tmp_path):
    cfg = validate(Top, {"model": {"fusion": {"kind": "it", "heads": 4}}})
    path = tmp_path / "c.yaml"
    path.write_text(dump_yaml(cfg))
    assert validate(Top, load_yaml(path)) == cfg


def test_load_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_yaml(listy)


def test_suggest():
    assert suggest("bidirectinal", ["off", "bidirectional"]) == " (did you mean 'bidirectional'?)"
    assert suggest("zzz", ["off"]) == ""


def test_registry_builds_by_kind_and_lists_names_on_error():
    reg: Registry[str] = Registry("model.fusion")

    @reg.register(FusionIT)
    def _it(cfg, dim):
        return f"it{cfg.heads}x{dim}"

    assert reg.build(FusionIT(heads=2), dim=4) == "it2x4"
    assert reg.names() == ["it"] and "it" in reg
    with pytest.raises(KeyError, match="model.fusion.kind: 'none' is not one of it"):
        reg.build(FusionNone())
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(FusionIT)(_it)
