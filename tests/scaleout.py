"""Helpers for the end-to-end scale-out tests: a tiny grid study, runner processes, and what the stores hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from tests.tiny import REPO, grid_study


def write_study(directory: Path, name: str, epochs: int = 1, grace_s: float = 60) -> Path:
    """The tiny study as a 4-cell grid (tests/tiny.py: grid_study), written as `<directory>/<name>.yaml`."""
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(grid_study(name, epochs, grace_s), sort_keys=False))
    return path


def runner_env(cache: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a runner process: shared data cache, one CPU thread, fast-failing MLflow HTTP client."""
    env = {
        **os.environ,
        "AVTCA_CACHE": str(cache),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "TQDM_DISABLE": "1",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    }
    env.update(extra or {})
    return env


def start_runner(
    study: Path, storage: str, tracking: str, env: dict[str, str], log: Path, *extra: str
) -> subprocess.Popen:
    """`python -m ablations.run STUDY --storage ... --tracking-uri ...` in its own process group, output to `log`."""
    cmd = [
        sys.executable,
        "-m",
        "ablations.run",
        str(study),
        "--storage",
        storage,
        "--tracking-uri",
        tracking,
        "--no-report",
        *extra,
    ]
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, cwd=study.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_all(procs: list[subprocess.Popen], timeout_s: float) -> list[int]:
    """Wait for every process; kill the lot (by process group) when the deadline passes."""
    deadline = time.monotonic() + timeout_s
    codes = []
    try:
        for p in procs:
            codes.append(p.wait(timeout=max(1.0, deadline - time.monotonic())))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return codes


def cells_of(study_path: Path, storage: str, tracking: str) -> list[Any]:
    """The study's cells as the runner enumerates them."""
    from ablations.study.cells import enumerate_cells
    from ablations.study.schema import load_study

    study = load_study(study_path, storage=storage, tracking_uri=tracking)
    return enumerate_cells(study, str(study_path))


def optuna_trials(storage: str, study_name: str) -> list[Any]:
    """Every trial of the Optuna study."""
    import optuna

    from ablations.storage.optuna import open_storage

    return optuna.load_study(study_name=study_name, storage=open_storage(storage)).get_trials(deepcopy=False)


def complete_per_cell(trials: list[Any]) -> Counter:
    """cell_id -> number of COMPLETE trials."""
    from optuna.trial import TrialState

    return Counter(t.user_attrs.get("cell_id") for t in trials if t.state == TrialState.COMPLETE)


def mlflow_runs(tracking: str, experiment: str) -> list[Any]:
    """Every run of the experiment on the tracking server."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no MLflow experiment {experiment!r} at {tracking}"
    return list(client.search_runs([exp.experiment_id], max_results=10000))
