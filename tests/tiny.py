"""The one tiny configuration of the test suite, and how a test runs it (as a study file, in a child process).

Every test that builds a model, generates data or runs a study starts from these dictionaries; a test that needs
something else writes it as a change to them (`{**TINY, "seeds": [0, 1]}`), so the difference is visible there.
Tests that use the same data share one synthetic dataset and one prepared cache (the `data_cache` fixture).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET = "RightPW_x1"  # a password the secret-leak tests put in URLs: it must never appear in any output

FRAMES, IMAGE_SIZE = 2, 32  # same code paths as the paper's 15 x 224x224, ~100x cheaper

# the model: one ShuffleNet unit per stage; modality dropout off so that gradient checks are deterministic
MODEL: dict[str, Any] = {
    "video.frames": FRAMES,
    "video.image_size": IMAGE_SIZE,
    "video.stage_repeats": [1, 1, 1],
    "modality_dropout.kind": "off",
}

# the generated RAVDESS-format dataset: 6 actors (one per fold of actor6fold) x 8 emotions x 1 statement
SYNTHETIC: dict[str, Any] = {"actors": 6, "statements": 1, "size": 48, "seconds": 1.0}

# the study's `dataset.options` (the `data` section)
DATA: dict[str, Any] = {
    "frames": FRAMES,
    "image_size": IMAGE_SIZE,
    "duration": 1.0,
    "crop": {"kind": "none"},
    "synthetic": SYNTHETIC,
}

TRAIN: dict[str, Any] = {
    "epochs": 1,
    "batch_size": 16,
    "lr": 0.003,
    "optimizer": {"kind": "adamw"},
    "scheduler": {"kind": "none"},
    "amp": "off",
    "device": "cpu",
    "threads": 1,
}

# the smallest study that still trains the real model on real (generated) RAVDESS-format files: 2 cells
TINY: dict[str, Any] = {
    "name": "tiny",
    "dataset": {"name": "ravdess", "root": "synthetic", "folds": [0], "options": DATA},
    "train": TRAIN,
    "eval": {"modality_off": ["audio"], "noise_levels": []},
    "variants": {"full": {}, "audio_only": {"model.modalities": "audio"}},
    "reference": "full",
    "report": {"kind": "off"},
}


def grid_study(name: str, epochs: int = 1, grace_s: float = 60) -> dict[str, Any]:
    """The tiny study as a 2 x 2 grid (fusion kind x seed, one fold): 4 cells, for the scale-out tests."""
    return {
        **TINY,
        "name": name,
        "dataset": {**TINY["dataset"], "protocol": "actor6fold"},
        "preset": "avtca",
        "train": {**TRAIN, "epochs": epochs},
        "variants": {},
        "reference": None,
        "factors": {"model.fusion.kind": ["it", "lt"]},
        "seeds": [0, 1],
        "objective": {"metric": "val/accuracy", "direction": "maximize"},
        "resources": {"device": "cpu", "n_jobs": 1, "threads_per_job": 1, "grace_s": grace_s},
    }


def write_study(directory: Path, **changes: Any) -> Path:
    """Write the tiny study (with top-level `changes`) as `<directory>/<name>.yaml` and return its path."""
    data = {**TINY, **changes}
    path = directory / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def subprocess_env(data_cache: Path) -> dict[str, str]:
    """Environment for a `python -m ablations.run` child process: this checkout, the shared data cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["AVTCA_CACHE"] = str(data_cache)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_main(argv: list[Any]) -> int:
    """`python -m ablations.run ARGV` in this process (paths may be Path objects); its exit code."""
    from ablations.run import main

    return main([str(a) for a in argv])
