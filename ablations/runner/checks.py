"""Everything knowable before the first claim: data settings, folds, tuned keys, device, storage and tracking.

A study that cannot succeed fails here with exit 2, naming the study-file key, and writes nothing; without
these checks `--dry-run` said OK and then every cell failed with a traceback (or after minutes of retries).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import torch

from ablations.masking import mask
from ablations.storage.database import PgError, check_database, is_sql_url
from ablations.study.cells import Cell, data_section, resolve
from ablations.study.schema import CategoricalParam, FloatParam, IntParam, StudyConfig
from ablations.tracking import TrackingError, check_tracking
from avtca.config.base import ConfigError, validate
from avtca.data import dataset_info
from avtca.data.config import DataConfig

TIMEOUT_S = 5.0  # a reachability probe; an unreachable server must not cost minutes of retries
# tracking URI schemes MLflow can store runs in (databases through SQLAlchemy)
TRACKING_SCHEMES = ("file", "sqlite", "http", "https", "postgresql", "postgres", "mysql", "mssql", "databricks")
_DATASET_KEYS = {"name", "root", "protocol"}  # DataConfig keys the study sets directly under `dataset`


def _dataset_key(problem: str) -> str:
    """A DataConfig problem with the study file's dotted key (`protocol: ...` -> `dataset.protocol: ...`)."""
    head = problem.split(".", 1)[0].split(":", 1)[0]
    return f"dataset.{problem}" if head in _DATASET_KEYS else f"dataset.options.{problem}"


def data_problems(study: StudyConfig) -> list[str]:
    """The dataset block validates, and every fold asked for exists in its protocol."""
    try:
        info = dataset_info(validate(DataConfig, data_section(study)))
    except ConfigError as err:
        return [_dataset_key(p) for p in err.problems]
    folds = study.dataset.folds
    if folds == "all":
        return []
    bad = [f for f in folds if f >= info.n_folds]
    if bad:
        return [f"dataset.folds: {bad} do not exist; protocol '{info.protocol_label}' has folds 0..{info.n_folds - 1}"]
    return []


def device_problems(study: StudyConfig) -> list[str]:
    """`resources.device` names a device this machine has."""
    device = study.resources.device
    if device in ("auto", "cpu"):
        return []
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            return [f"resources.device: '{device}' but no CUDA device is visible here (use auto or cpu)"]
        index = device.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            return [f"resources.device: '{device}' but this machine has {torch.cuda.device_count()} CUDA device(s)"]
        return []
    if device == "mps":
        return [] if torch.backends.mps.is_available() else ["resources.device: 'mps' is not available here"]
    return [f"resources.device: '{device}' is not one of auto, cpu, cuda, cuda:N, mps"]


def _sample(spec: Any) -> list[Any]:
    if isinstance(spec, (FloatParam, IntParam)):
        return [spec.low, spec.high]
    if isinstance(spec, CategoricalParam):
        return list(spec.choices)
    return []


def tune_problems(study: StudyConfig, cells: list[Cell]) -> list[str]:
    """Every tuned key exists in the experiment config and accepts its range's ends (or every choice)."""
    problems: list[str] = []
    seen: set[str] = set()
    for cell in cells:
        if cell.variant in seen:
            continue
        seen.add(cell.variant)
        for key, spec in study.tune.items():
            for value in _sample(spec):
                try:
                    resolve(study, {**cell.overrides, key: value})
                except ConfigError as err:
                    problems += [f"tune.{key}: {p}" for p in err.problems]
                    break
    return list(dict.fromkeys(problems))


def static_problems(study: StudyConfig) -> list[str]:
    """Problems found from the study alone (no network, no files)."""
    return data_problems(study) + device_problems(study)


# ---------------------------------------------------------------- reachability (read-only probes)


def database_problem(url: str, what: str) -> str | None:
    """Connect to a database URL with a short timeout; a one-line problem (password masked) or None."""
    try:
        check_database(url, TIMEOUT_S)
    except PgError as err:
        return f"{what}: {err}"
    return None


def sqlite_problem(path: Path, what: str) -> str | None:
    """An existing SQLite file must be a readable database (a corrupt mlflow.db fails here, not mid-study)."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        return f"{what}: {path} is not a usable SQLite database ({err}); move it aside or give another URI"
    return None


def tracking_problems(uri: str) -> list[str]:
    """The tracking URI has a scheme MLflow stores runs in, and its store answers (read-only, short timeout)."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else "file"
    if scheme not in TRACKING_SCHEMES:
        return [
            f"tracking_uri: scheme '{scheme}' of {mask(uri)} is not a tracking store "
            f"(one of {', '.join(TRACKING_SCHEMES)})"
        ]
    if scheme == "sqlite":
        problem = sqlite_problem(Path(uri.split(":///", 1)[-1].split("?", 1)[0]), "tracking_uri")
        if problem:
            return [problem]
    elif is_sql_url(uri) or scheme == "mssql":
        problem = database_problem(uri, "tracking_uri")
        return [problem] if problem else []
    try:
        check_tracking(uri, TIMEOUT_S)  # an http(s) server's /health, or a writable local store
    except TrackingError as err:
        return [f"tracking_uri: {mask(err)}"]
    return []


def storage_problems(url: str) -> list[str]:
    """The Optuna storage can be created or reached (journal folder writable; database answering)."""
    if is_sql_url(url):
        if url.startswith("sqlite"):
            problem = sqlite_problem(Path(url.split(":///", 1)[-1].split("?", 1)[0]), "storage")
        else:
            problem = database_problem(url, "storage")
        return [problem] if problem else []
    probe = Path(url.removeprefix("journal://")).resolve().parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        return [f"storage: cannot create {mask(url)} ({probe} is not a writable directory)"]
    return []


def check_environment(study: StudyConfig) -> list[str]:
    """Problems with the data root, storage and tracking store, found without writing anything."""
    problems = []
    root = study.dataset.root
    if root != "synthetic" and not Path(root).is_dir():
        problems.append(f"dataset.root: directory not found: {root} (give --data-root DIR or root: synthetic)")
    return problems + storage_problems(study.storage_url) + tracking_problems(study.tracking)
