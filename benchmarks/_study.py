"""Small studies for the runner benchmarks, run through the real runner path (cells, claims, workers, Optuna)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# tiny synthetic RAVDESS-format data: trains in seconds per epoch on one CPU core
TINY_DATA: dict[str, Any] = {
    "frames": 4,
    "image_size": 48,
    "crop": {"kind": "none"},
    "synthetic": {"actors": 6, "statements": 1, "size": 48, "seconds": 3.6},
}


def tiny_data(actors: int = 6, statements: int = 1) -> dict[str, Any]:
    """TINY_DATA with another number of synthetic actors / statements (8 clips per actor and statement)."""
    if actors < 3:
        raise SystemExit("error: --actors must be >= 3 (actor6fold needs train, val and test actors)")
    return {**TINY_DATA, "synthetic": {**TINY_DATA["synthetic"], "actors": actors, "statements": statements}}


# the quickstart's CPU training recipe, fewer epochs
TINY_TRAIN: dict[str, Any] = {
    "batch_size": 16,
    "lr": 0.003,
    "optimizer": {"kind": "adamw"},
    "scheduler": {"kind": "cosine"},
    "amp": "off",
    "device": "cpu",
}
# no robustness conditions: shorter trials make tracking/scheduling overhead a larger (conservative) share
TINY_EVAL: dict[str, Any] = {"noise_levels": [], "modality_off": []}


def make_study(
    name: str,
    workdir: str | Path,
    *,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    seeds: list[int] = (0,),
    epochs: int = 2,
    data: Mapping[str, Any] | None = None,
    train: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
    n_jobs: int = 1,
    threads_per_job: int | None = None,
    device: str = "cpu",
):
    """A validated StudyConfig whose storage, claims and data cache live under `workdir`.

    `name` gets a unique suffix, so a reused work dir never finds the cells already complete.
    """
    import uuid

    from ablations.study.schema import StudyConfig, semantic_problems
    from avtca.config.base import ConfigError, validate

    workdir = Path(workdir)
    name = f"{name}-{uuid.uuid4().hex[:8]}"
    raw: dict[str, Any] = {
        "name": name,
        "dataset": {
            "name": "ravdess",
            "root": "synthetic",
            "protocol": "actor6fold",
            "folds": [0],
            "options": {**(data or TINY_DATA), "cache": str(workdir / "cache")},
        },  # fmt: skip
        "preset": "avtca",
        "train": {**TINY_TRAIN, **(train or {}), "epochs": epochs, "device": device},
        "eval": TINY_EVAL,
        "variants": {k: dict(v) for k, v in (variants or {"full": {}}).items()},
        "seeds": list(seeds),
        "storage": str(workdir / "optuna" / f"{name}.journal"),
        "tracking_uri": tracking_uri or f"sqlite:///{workdir / 'mlflow.db'}",
        "resources": {"device": device, "n_jobs": n_jobs, "threads_per_job": threads_per_job},
        "report": {"kind": "off"},
        **(extra or {}),
    }
    study = validate(StudyConfig, raw, f"benchmark study {name}")
    problems = semantic_problems(study)
    if problems:
        raise ConfigError(problems, f"benchmark study {name}")
    return study


@dataclass
class StudyRun:
    """What one run of a study did: wall seconds of the workers, cells completed, Optuna trials."""

    seconds: float
    completed: int
    failed: dict[str, str]
    trials: list[Any]


def run_study(study, n_workers: int = 1, tracking: bool = False, around_workers=None) -> StudyRun:
    """Plan, prepare storage (and the MLflow parent run) untimed, then time the workers over every cell.

    `around_workers` is an optional context manager entered just around the workers.
    """
    from ablations.runner import prepare_optuna
    from ablations.study.cells import enumerate_cells
    from ablations.workers.launchers.local import run_local
    from ablations.workers.loop import WorkerSpec, worker_fn

    cells = enumerate_cells(study)
    prepare_optuna(study, cells)
    parent = None
    tracker = None
    if tracking:
        from ablations.tracking import Tracker

        tracker = Tracker(study.tracking, study.name)
        if study.tracking.startswith("sqlite:///"):
            # a local store's artifacts would default to ./mlruns of the working directory: keep them beside it
            where = Path(study.tracking.removeprefix("sqlite:///")).parent / "artifacts" / study.name
            if tracker.client.get_experiment_by_name(study.name) is None:
                tracker.client.create_experiment(study.name, artifact_location=where.resolve().as_uri())
        parent = tracker.parent_run({"study": study.name, "benchmark": "true"})
    spec = WorkerSpec(study, tuple(cells), parent, n_workers, None, show_epochs=False)
    with around_workers if around_workers is not None else contextlib.nullcontext():
        start = time.perf_counter()
        summaries = run_local(worker_fn(spec), n_workers)
        seconds = time.perf_counter() - start
    if tracker is not None:
        tracker.end(parent)
    failed = {cid: why for s in summaries for cid, why in s.failed.items()}
    completed = sum(len(s.completed) for s in summaries)
    if completed + len(failed) < len(cells):
        failed["(not run)"] = f"only {completed + len(failed)} of {len(cells)} cells ran (claimed elsewhere?)"
    return StudyRun(seconds, completed, failed, study_trials(study, cells))


def study_trials(study, cells) -> list[Any]:
    """Every Optuna trial of the study's cells (frozen)."""
    import optuna

    from ablations.storage.optuna import open_storage, optuna_study_name

    storage = open_storage(study.storage_url)
    trials = []
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        trials += optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    return trials


def prepare_data(study, progress: bool = True) -> None:
    """Generate and preprocess the study's synthetic dataset once, outside any timing."""
    from ablations.study.cells import data_section
    from avtca.config.base import validate
    from avtca.data.config import DataConfig
    from avtca.data.prepare import ensure_prepared
    from avtca.data.synthetic import ensure_synthetic

    cfg = validate(DataConfig, data_section(study))
    ensure_synthetic(cfg, progress=progress)
    ensure_prepared(cfg, progress=False)


def check_failures(run: StudyRun, what: str) -> None:
    """A benchmark over failed trials measures nothing: stop with the first reason."""
    if run.failed:
        first = next(iter(run.failed.items()))
        raise SystemExit(f"error: {what}: {len(run.failed)} cell(s) failed; first {first[0]}: {first[1]}")
