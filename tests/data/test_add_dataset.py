"""docs/data.md's "Adding a dataset" example, copied as written into a new module, works with no other edit."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from ablations.cells import enumerate_cells
from ablations.report.metrics import dataset_label
from ablations.study import load_study
from avtca.config.base import ConfigError, validate
from avtca.data import DATASETS, DataConfig, build_splits, dataset_info
from avtca.data.prepare import main as prepare_main
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


def test_toy_dataset_prepares_splits_and_trains(tones):
    assert prepare_main(["--dataset", "tones", "--root", tones["root"], "--cache", tones["cache"]]) == 0
    splits = build_splits(validate(DataConfig, tones))
    assert len(splits.train) + len(splits.val) + len(splits.test) == 60
    assert splits.train[0]["audio"].shape == (20, 12) and splits.train[0]["video"].shape == (8, 12)
    cfg = resolve_experiment("avtca", data=tones, train={"device": "cpu", "epochs": 1, "batch_size": 16, "threads": 1})
    assert cfg.model.video.kind == "features" and cfg.model.audio.in_dim == 20 and cfg.model.head.n_classes == 2
    result = train(cfg, progress=SILENT)
    assert np.isfinite(result.metrics["test/accuracy"]) and len(result.history) == 1


def test_toy_dataset_in_a_study(tones, tmp_path):
    study_file = tmp_path / "study.yaml"
    dataset = {"name": "tones", "root": tones["root"], "options": {"cache": tones["cache"]}}
    study_file.write_text(yaml.safe_dump({"name": "tones", "dataset": dataset, "variants": {"full": {}}}))
    cells = enumerate_cells(load_study(study_file), str(study_file))
    assert len(cells) == 1
