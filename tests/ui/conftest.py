"""A tiny finished study (trained, tracked in MLflow, report rendered) shared by the browsing tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.tiny import TINY, subprocess_env
from tests.ui.helpers import DESCRIPTION


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
