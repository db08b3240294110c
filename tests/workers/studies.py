"""Tiny studies for the worker tests (a SLURM array, imports): one CPU thread, synthetic clips, 1-3 epochs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.scaleout import REPO, runner_env

BASE: dict[str, Any] = {
    "dataset": {
        "name": "ravdess",
        "root": "synthetic",
        "protocol": "actor6fold",
        "folds": [0],
        "options": {
            "frames": 2,
            "image_size": 32,
            "crop": {"kind": "none"},
            "synthetic": {"actors": 6, "statements": 1, "size": 32},
        },
    },
    "preset": "avtca",
    "train": {"epochs": 1, "batch_size": 16, "amp": "off", "device": "cpu"},
    "objective": {"metric": "val/accuracy", "direction": "maximize"},
    "report": {"kind": "off"},
}


def write_study(folder: Path, name: str, **keys: Any) -> Path:
    """`folder/<name>.yaml`: the tiny base study with `keys` replacing its top-level keys."""
    study = {"name": name, **BASE, **keys}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def slurm_resources(tasks: int = 2, grace_s: float = 30, **slurm: Any) -> dict[str, Any]:
    """A `resources` block for the test cluster: CPU, one thread per worker, a short time limit."""
    return {
        "device": "cpu",
        "threads_per_job": 1,
        "grace_s": grace_s,
        "slurm": {"tasks": tasks, "time": "15:00", **slurm},
    }


def run_cli(
    study: Path, *args: str, env: dict[str, str] | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess:
    """`python -m ablations.run STUDY ARGS` in the study's folder, to the end."""
    cmd = [sys.executable, "-m", "ablations.run", str(study), *args]
    return subprocess.run(cmd, cwd=study.parent, env=env or runner_env(study.parent / "cache"), capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip


def wait_until(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.5) -> Any:
    """The first truthy value of `predicate()`; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def task_logs(folder: Path) -> str:
    """Every array task's log (submitit keeps them under resources.slurm.folder)."""
    return "\n".join(f"--- {p}\n{p.read_text(errors='replace')}" for p in sorted(folder.rglob("*_log.out")))


__all__ = ["REPO", "runner_env", "run_cli", "slurm_resources", "task_logs", "wait_until", "write_study"]
