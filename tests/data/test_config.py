"""DataConfig validation messages and DatasetInfo (cheap, exact model_inputs)."""

from __future__ import annotations

import pytest

from avtca.config.base import ConfigError, validate
from avtca.data import DataConfig, dataset_info, n_folds


def test_defaults_and_env_cache(monkeypatch):
    cfg = DataConfig()
    assert (cfg.name, cfg.root, cfg.protocol_name, cfg.frames, cfg.image_size, cfg.n_mfcc) == (
        "ravdess", "synthetic", "actor6fold", 15, 224, 10)  # fmt: skip
    assert cfg.audio_length == 156  # 3.6 s at 22.05 kHz, hop 512
    monkeypatch.setenv("AVTCA_CACHE", "/somewhere/else")
    assert DataConfig().cache == "/somewhere/else"


def test_errors_name_the_dotted_key_and_suggest():
    with pytest.raises(ConfigError) as err:
        validate(DataConfig, {"name": "cremad", "protocol": "actor6fold", "crop": {"kind": "fce"},
                              "ravdess": {"vocal_chanel": "song"}})  # fmt: skip
    text = str(err.value)
    assert "protocol: 'actor6fold' is not a protocol of cremad; one of actor5fold, random" in text
    assert "crop.kind: 'fce' is not one of none, center, face (did you mean 'face'?)" in text
    assert "ravdess.vocal_chanel: unknown key" in text and "did you mean 'vocal_channel'?" in text
    with pytest.raises(ConfigError, match="name: 'ravdes' is not one of ravdess, cremad, mosei"):
        validate(DataConfig, {"name": "ravdes"})


def test_dataset_info_model_inputs_are_exact():
    info = dataset_info(DataConfig(frames=8, image_size=64))
    assert info.model_inputs == {
        "video": {"kind": "frames", "frames": 8, "image_size": 64},
        "audio": {"kind": "mfcc", "n_mfcc": 10},
        "head": {"kind": "classification", "n_classes": 8},
    }
    assert info.task == "classification" and info.n_outputs == 8 and info.class_names[7] == "surprised"
    assert info.subject_independent and info.n_folds == 6 and "6-fold subject-independent" in info.protocol_label
    real = dataset_info(DataConfig(root="/data/ravdess"))
    assert real.protocol_label.startswith("RAVDESS 6-fold subject-independent (4 actors/fold")
    logmel = dataset_info(DataConfig(name="cremad", audio_features="logmel", n_mels=40, root="/x"))
    assert logmel.model_inputs["audio"] == {"kind": "logmel", "n_mels": 40}
    assert logmel.model_inputs["head"] == {"kind": "classification", "n_classes": 6} and logmel.n_folds == 5
    senti = dataset_info(DataConfig(name="mosei", root="/x"))
    assert senti.model_inputs == {
        "video": {"kind": "features", "in_dim": 35},
        "audio": {"kind": "features", "in_dim": 74},
        "head": {"kind": "regression"},
    }
    assert senti.task == "regression" and senti.n_outputs == 1 and senti.protocol == "official"
    emo = dataset_info(DataConfig(name="mosei", root="/x", mosei={"task": "emotions"}))
    assert emo.task == "multilabel" and emo.model_inputs["head"] == {"kind": "multilabel", "n_labels": 6}
    rnd = dataset_info(DataConfig(protocol="random"))
    assert not rnd.subject_independent and "NOT subject-independent" in rnd.protocol_label and rnd.n_folds == 1


def test_n_folds_follows_the_protocol_and_actor_count():
    assert n_folds(DataConfig(root="/r")) == 6
    assert n_folds(DataConfig(synthetic={"actors": 4})) == 4
    assert n_folds(DataConfig(protocol="avtca_release")) == 1


def test_dataset_options_are_facts_of_the_adapters():
    from avtca.data.datasets.cremad import CremadOptions
    from avtca.data.datasets.mosei import MoseiOptions
    from avtca.data.datasets.ravdess import RavdessOptions

    assert DataConfig.dynamic_fields() == {"ravdess": RavdessOptions, "cremad": CremadOptions, "mosei": MoseiOptions}
    cfg = DataConfig(name="mosei", mosei={"task": "emotions"}, ravdess={"vocal_channel": "song"})
    assert cfg.options == MoseiOptions(task="emotions") and cfg.options_of("ravdess").vocal_channel == "song"
    assert DataConfig(name="cremad").options == CremadOptions()  # defaults when not given
    assert cfg != DataConfig(name="mosei") and cfg == DataConfig(**cfg.model_dump())


def test_built_in_configs_dump_and_cache_keys_are_unchanged():
    # the options moved from DataConfig fields to the adapters; the JSON (cell ids) and cache keys did not change
    # (the pinned keys change only with avtca.data.cache.CACHE_VERSION or SYNTHETIC_DESIGN)
    from avtca.data.cache import cache_key

    dump = DataConfig(name="cremad", cremad={"labels": "perceived"}).model_dump(mode="json")
    assert list(dump)[-5:] == ["n_jobs", "ravdess", "cremad", "mosei", "synthetic"]
    assert dump["ravdess"] == {"vocal_channel": "speech", "audio_source": "wav"}
    assert dump["cremad"] == {"labels": "perceived"}
    assert dump["mosei"] == {"file": "unaligned_50.pkl", "format": "auto", "task": "sentiment", "seq_len": 50}
    assert cache_key(DataConfig(root="/data/ravdess", ravdess={"vocal_channel": "song"})) == "7c5825d7572dcd95"
    assert cache_key(DataConfig(name="mosei", root="/data/mosei", mosei={"seq_len": 20})) == "c5bf39167930b753"
    assert cache_key(DataConfig(name="cremad", synthetic={"actors": 4})) == "11e72986e351889b"
    schema = DataConfig.model_json_schema()["properties"]
    assert list(schema)[-5:] == ["n_jobs", "ravdess", "cremad", "mosei", "synthetic"]
    assert schema["ravdess"]["properties"]["vocal_channel"]["enum"] == ["speech", "song", "both"]


def test_explain_lists_the_data_keys_and_each_datasets_options():
    from ablations.study.explain import explain

    lines = explain()
    for key in ("frames", "crop.kind", "synthetic.actors", "ravdess.vocal_channel", "cremad.labels", "mosei.task"):
        assert any(line.startswith(f"dataset.options.{key} ") for line in lines), key
    assert not any(line.startswith(("dataset.options.name ", "dataset.options.root ")) for line in lines)
