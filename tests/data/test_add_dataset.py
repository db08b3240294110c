"""docs/data.md's "Adding a dataset" example, copied as written into a new module, works with no other edit;
the adapter contract's defaults; the built-in datasets are found by being modules of avtca/data/datasets/."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ablations.report.read.columns import dataset_label
from ablations.runner.checks import data_problems
from ablations.study.cells import enumerate_cells, resolve
from ablations.study.explain import explain
from ablations.study.schema import load_study
from avtca.config.base import ConfigError, validate
from avtca.data import DATASETS, DataConfig, DatasetAdapter, build_splits, dataset_info, datasets
from avtca.data.prepare import main as prepare_main
from avtca.data.protocols import RANDOM, RandomSplit
from avtca.experiment import resolve_experiment
from avtca.training import SILENT, train
from tests.recipes import recipe_module


@pytest.fixture
def tones(tmp_path, monkeypatch):
    """The example registered from its own module, and a small separable `tones.npz` to read."""
    with recipe_module("docs/data.md", "## Adding a dataset", "tones_dataset", tmp_path, monkeypatch):
        yield _tones_npz(tmp_path)
        DATASETS.unregister("tones")


def _tones_npz(tmp_path):
    """A small separable `tones.npz` (two classes, six speakers); the dataset config that reads it."""
    rng = np.random.default_rng(0)
    n = 60
    label = np.arange(n) % 2
    root = tmp_path / "tones"
    root.mkdir()
    audio = rng.normal(size=(n, 20, 12)) + 2.0 * label[:, None, None]
    video = rng.normal(size=(n, 8, 12)) - 2.0 * label[:, None, None]
    np.savez(root / "tones.npz", label=label, speaker=np.arange(n) % 6, audio=audio, video=video)
    return {"name": "tones", "root": str(root), "cache": str(tmp_path / "cache")}


def test_toy_dataset_is_a_valid_config_with_its_facts(tones):
    cfg = validate(DataConfig, tones)
    info = dataset_info(cfg)
    assert (info.task, info.n_outputs, info.protocol, info.video_kind) == ("classification", 2, "random", "features")
    assert info.protocol_label.startswith("Tones random") and not info.subject_independent
    assert "tones" in DATASETS.names() and dataset_label("tones") == "Tones"
    with pytest.raises(ConfigError, match=r"name: 'tone' is not one of .*tones.* \(did you mean 'tones'\?\)"):
        validate(DataConfig, {**tones, "name": "tone"})
    with pytest.raises(ConfigError, match=r"protocol: 'official' is not a protocol of tones; one of random"):
        validate(DataConfig, {**tones, "protocol": "official"})


def test_toy_dataset_options_are_its_own_keys(tones):
    options = DATASETS.get("tones").options
    assert validate(DataConfig, tones).options == options()  # defaults when not given
    cfg = validate(DataConfig, {**tones, "tones": {"speakers": ["0", "1"]}})
    assert cfg.options == options(speakers=("0", "1")) and cfg.model_dump()["tones"] == {"speakers": ("0", "1")}
    with pytest.raises(ConfigError) as err:
        validate(DataConfig, {**tones, "tones": {"speaker": ["0"]}})
    assert err.value.problems == ["tones.speaker: unknown key; allowed keys are speakers (did you mean 'speakers'?)"]
    with pytest.raises(ConfigError, match=r"tone: unknown key; allowed keys are .*tones.* \(did you mean 'tones'\?\)"):
        validate(DataConfig, {**tones, "tone": {"speakers": ["0"]}})
    assert any(line.startswith("dataset.options.tones.speakers ") for line in explain())  # --explain lists it
    # registering a dataset leaves other datasets' configs (so their cell ids) as they were
    assert "tones" not in DataConfig().model_dump() and DataConfig().options_of("tones") == options()


def test_cache_key_holds_the_options_the_adapter_names(tones):
    from dataclasses import replace

    from avtca.data.cache import cache_key

    some = cache_key(validate(DataConfig, {**tones, "tones": {"speakers": ["0"]}}))
    assert some == cache_key(validate(DataConfig, tones))  # cached_options=(): one cache for every choice
    # by default every option is in the key: a new dataset's option that changes the arrays never reuses a cache
    adapter = DATASETS.get("tones")
    DATASETS.unregister("tones")
    DATASETS.register(replace(adapter, cached_options=None))
    assert cache_key(validate(DataConfig, {**tones, "tones": {"speakers": ["0"]}})) != some
    with pytest.raises(ValueError, match=r"cached_options \['speaker'\] are not keys of its options"):
        DATASETS.register(replace(adapter, name="tones2", cached_options=("speaker",)))


def test_an_adapter_needs_a_name_describe_and_scan_or_load_only(tones):
    tones_adapter = DATASETS.get("tones")
    minimal = DATASETS.register(
        DatasetAdapter(name="tones_min", describe=tones_adapter.describe, load=tones_adapter.load)
    )
    try:
        assert (minimal.title, minimal.protocols, minimal.options, minimal.rank) == ("tones_min", (RANDOM,), None, 100)
        assert minimal.default_task == "classification"  # what describe says under default options
        assert DATASETS.names()[-2:] == ["tones", "tones_min"]  # rank, then name: after the built-ins
    finally:
        DATASETS.unregister("tones_min")
    with pytest.raises(ValueError, match=r"dataset 'x': give exactly one of scan \(media clips\) or load \(arrays\)"):
        DatasetAdapter(name="x", describe=tones_adapter.describe)
    with pytest.raises(ValueError, match=r"dataset 'x': protocol 'random' is RandomSplit\(test=0.5"):
        DatasetAdapter(
            name="x", describe=tones_adapter.describe, load=tones_adapter.load, protocols=(RandomSplit(0.5),)
        )


def test_the_builtin_datasets_are_the_modules_of_their_folder():
    folder = Path(datasets.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    assert list(datasets.MODULES) == modules == ["cremad", "mosei", "ravdess"]  # found, not listed
    registered_by = {sys.modules[a.describe.__module__].__name__.rsplit(".", 1)[-1] for a in DATASETS.values()}
    assert set(modules) <= registered_by


def test_a_dataset_cannot_take_the_name_of_a_data_key(tones):
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"dataset 'crop': its name is a key of DataConfig"):
        DATASETS.register(replace(DATASETS.get("tones"), name="crop"))
    assert "crop" not in DATASETS.names()


def test_toy_dataset_prepares_splits_and_trains(tones):
    assert prepare_main(["--dataset", "tones", "--root", tones["root"], "--cache", tones["cache"]]) == 0
    splits = build_splits(validate(DataConfig, tones))
    assert len(splits.train) + len(splits.val) + len(splits.test) == 60
    assert splits.train[0]["audio"].shape == (20, 12) and splits.train[0]["video"].shape == (8, 12)
    some = build_splits(validate(DataConfig, {**tones, "tones": {"speakers": ["0", "1", "2"]}}))
    parts = (some.train, some.val, some.test)
    assert sum(map(len, parts)) == 30 and {a for p in parts for a in p.item_actors} == {"0", "1", "2"}
    cfg = resolve_experiment("avtca", data=tones, train={"device": "cpu", "epochs": 1, "batch_size": 16, "threads": 1})
    assert cfg.model.video.kind == "features" and cfg.model.audio.in_dim == 20 and cfg.model.head.n_classes == 2
    result = train(cfg, progress=SILENT)
    assert np.isfinite(result.metrics["test/accuracy"]) and len(result.history) == 1


def test_toy_dataset_in_a_study(tones, tmp_path):
    study_file = tmp_path / "study.yaml"
    options = {"cache": tones["cache"], "tones.speakers": ["0", "1", "2"]}
    dataset = {"name": "tones", "root": tones["root"], "options": options}
    study_file.write_text(yaml.safe_dump({"name": "tones", "dataset": dataset, "variants": {"full": {}}}))
    study = load_study(study_file)
    assert data_problems(study) == []
    (cell,) = enumerate_cells(study, str(study_file))
    assert resolve(study, cell.overrides).data.options.speakers == ("0", "1", "2")
    study_file.write_text(study_file.read_text().replace("tones.speakers", "tones.speaker"))
    (problem,) = data_problems(load_study(study_file))
    assert problem == "dataset.options.tones.speaker: unknown key; allowed keys are speakers (did you mean 'speakers'?)"
