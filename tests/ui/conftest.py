"""A tiny finished study (trained, tracked in MLflow, report rendered) shared by the browsing tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.study.conftest import TINY, subprocess_env

DESCRIPTION = "Tiny study for the browsing tests"
# its cells' runs in study order: variant, then fold
CELLS = [f"{variant} s0 f{fold}" for variant in ("full", "audio_only") for fold in range(4)]


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory) -> tuple[Path, str]:
    """(directory holding tiny.yaml, mlflow.db and reports/, stdout of `python -m ablations.run tiny.yaml`)."""
    root = tmp_path_factory.mktemp("browse")
    study = {
        **TINY,
        "description": DESCRIPTION,
        "report": {"kind": "render", "out": "reports"},
        "train": {**TINY["train"], "epochs": 2},
        # 4 folds: the fewest the report tests over, so the parent run shows real verdicts
        "dataset": {**TINY["dataset"], "folds": [0, 1, 2, 3]},
    }
    (root / "tiny.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    env = subprocess_env(tmp_path_factory.mktemp("cache"))
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "ablations.run", "tiny.yaml"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (root / "stderr.txt").write_text(done.stderr)  # the progress lines (not a terminal here)
    return root, done.stdout


def without_venv(env: dict[str, str]) -> dict[str, str]:
    """The environment of a shell where the virtual environment is not activated."""
    out = dict(env)
    venv = out.pop("VIRTUAL_ENV", None)
    bin_dir = str(Path(sys.executable).parent)
    out["PATH"] = os.pathsep.join(
        p for p in out.get("PATH", "").split(os.pathsep) if p != bin_dir and not (venv and p.startswith(venv))
    )
    return out
