"""The README's main job shape (2 worker processes preparing the data on first use) ends without warnings."""

from __future__ import annotations

import subprocess

import pytest

from tests.tiny import PYTHON, subprocess_env, write_study


@pytest.mark.slow
def test_two_workers_preparing_fresh_data_exit_without_warnings(tmp_path):
    # a fresh cache: a worker process generates and prepares the data with progress bars (tqdm) before training
    cache = tmp_path / "fresh-cache"
    study = write_study(tmp_path, name="clean_exit")
    proc = subprocess.run(
        [PYTHON, "-m", "ablations.run", str(study), "--n-jobs", "2"],
        cwd=tmp_path,
        env=subprocess_env(cache),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (cache / "synthetic").is_dir()  # the workers generated and prepared the data
    assert "leaked semaphore" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
