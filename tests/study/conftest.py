"""Fixtures for the study-runner tests: a tiny study on synthetic data, written into a temporary directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# the smallest study that still trains the real model on real (generated) RAVDESS-format files
TINY = {
    "name": "tiny",
    "dataset": {
        "name": "ravdess",
        "root": "synthetic",
        "folds": [0],
        "options": {
            "frames": 2,
            "image_size": 32,
            "duration": 1.0,
            "crop": {"kind": "none"},
            "synthetic": {"actors": 6, "statements": 1, "size": 48, "seconds": 1.0},
        },
    },
    "train": {
        "epochs": 1,
        "batch_size": 16,
        "lr": 0.003,
        "optimizer": {"kind": "adamw"},
        "scheduler": {"kind": "none"},
        "amp": "off",
        "device": "cpu",
        "threads": 1,
    },
    "eval": {"modality_off": ["audio"], "noise_levels": []},
    "variants": {"full": {}, "audio_only": {"model.modalities": "audio"}},
    "reference": "full",
    "report": {"kind": "off"},
}


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> Path:
    """One synthetic-data cache shared by every test (generated once)."""
    return tmp_path_factory.mktemp("avtca-cache")


@pytest.fixture
def workdir(tmp_path, data_cache, monkeypatch) -> Path:
    """An empty working directory (default storage/tracking land here) with the shared data cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AVTCA_CACHE", str(data_cache))
    return tmp_path


def write_study(directory: Path, **changes) -> Path:
    """Write the tiny study (with top-level `changes`) as YAML and return its path."""
    data = {**TINY, **changes}
    path = directory / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def subprocess_env(data_cache: Path) -> dict[str, str]:
    """Environment for `python -m ablations.run` child processes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["AVTCA_CACHE"] = str(data_cache)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
