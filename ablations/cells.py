"""Cells (variant x seed x fold), their identity hashes, and exactly-once claims across workers."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from avtca.config.base import ConfigError, apply_overrides, flatten

from ablations.study import StudyConfig, choice_value, variant_labels

# runtime knobs: they change where/how fast a cell runs, never its result, so they are not part of its identity
# knobs that pick where or how fast a cell runs, not what it computes: outside its identity, so changing them
# (or a later release adding such a knob) never re-runs finished cells
RUNTIME_KEYS = frozenset(
    {"train.device", "train.num_workers", "train.threads", "train.save_checkpoint", "train.optimizer.fused",
     "data.cache", "data.n_jobs"}
)
ALL_FOLDS = -1  # fold of a cell whose tuning trials span every fold (budget.folds_per_trial: all)
CellStateName = Literal["RUNNING", "COMPLETE", "FAILED"]


@dataclass(frozen=True)
class Cell:
    """One unit of exactly-once work: a variant (named overrides + factor levels) at one seed and fold."""

    variant: str
    overrides: dict[str, Any]
    seed: int
    fold: int
    cell_id: str
    name: str = ""  # the named variant (without factor levels); "" when the study has no `variants`
    factors: dict[str, Any] = field(default_factory=dict)  # factor path -> level of this cell
    folds: tuple[int, ...] = ()  # folds a trial of this cell runs (one, or all of them for ALL_FOLDS)

    def describe(self) -> str:
        """`variant seed=S fold=F` for logs and progress bars."""
        fold = "all" if self.fold == ALL_FOLDS else self.fold
        return f"{self.variant} seed={self.seed} fold={fold}"


def cell_id(cfg: Any, seed: int, fold: int) -> str:
    """sha256 of the canonical JSON of the resolved config minus runtime knobs, plus seed and fold (16 hex)."""
    flat = flatten(cfg.model_dump(mode="json"))
    ident = {k: v for k, v in flat.items() if k not in RUNTIME_KEYS}
    # the dataset location is a path (runtime), but generated vs real data is not
    if "data.root" in ident:
        ident["data.root"] = "synthetic" if ident["data.root"] == "synthetic" else "<dir>"
    canonical = json.dumps({"config": ident, "seed": seed, "fold": fold}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def data_section(study: StudyConfig) -> dict[str, Any]:
    """The experiment's `data` section from the study's `dataset` block."""
    ds = study.dataset
    data: dict[str, Any] = {"name": ds.name, "root": ds.root}
    if ds.protocol is not None:
        data["protocol"] = ds.protocol
    return apply_overrides(data, ds.options)


def resolve(study: StudyConfig, overrides: Mapping[str, Any], source: str | None = None):
    """The validated ExperimentConfig of one cell (study-wide settings, then the cell's overrides)."""
    from avtca.config.experiment import resolve_experiment

    return resolve_experiment(
        study.preset, data=data_section(study), train=study.train, eval=study.eval, overrides=overrides, source=source
    )


def variant_overrides(study: StudyConfig) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(label, name, factor levels, overrides) per variant label, in study order."""
    import itertools

    names = list(study.variants) or [""]
    grid = list(itertools.product(*study.factors.values())) if study.factors else [()]
    labels = iter(variant_labels(study))
    out = []
    for name in names:
        for combo in grid:
            levels = dict(zip(study.factors, combo))
            over = {**study.overrides, **(study.variants.get(name, {}) if name else {}), **levels}
            if study.budget.epochs is not None:
                over["train.epochs"] = study.budget.epochs
            out.append((next(labels), name, levels, over))
    return out


def study_folds(study: StudyConfig) -> list[int]:
    """The folds the study runs (`all` expands to every fold of the dataset's protocol)."""
    if study.dataset.folds != "all":
        return list(study.dataset.folds)
    from avtca.data import dataset_info
    from avtca.config.base import validate
    from avtca.data.config import DataConfig

    return list(range(dataset_info(validate(DataConfig, data_section(study))).n_folds))


def enumerate_cells(study: StudyConfig, source: str | None = None) -> list[Cell]:
    """Every cell of the study, each resolved and validated; raises ConfigError naming the bad variant."""
    folds = study_folds(study)
    span = study.budget.folds_per_trial == "all"
    cells: list[Cell] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for label, name, levels, over in variant_overrides(study):
        where = f"variants.{name}" if name else "factors"
        for seed in study.seeds:
            over_seed = {**over, "train.seed": seed}
            try:
                cfg = resolve(study, over_seed)
            except ConfigError as err:
                at = where if label == name else f"{where} ({label})"
                problems += [f"{at}: {p}" for p in err.problems]
                break
            for fold in [ALL_FOLDS] if span else folds:
                cid = cell_id(cfg, seed, fold)
                if cid in seen:
                    problems.append(f"{where}: '{label}' resolves to the same experiment as '{seen[cid]}'")
                    continue
                seen[cid] = label
                run_folds = tuple(folds) if fold == ALL_FOLDS else (fold,)
                cells.append(Cell(label, over_seed, seed, fold, cid, name, levels, run_folds))
    if problems:
        raise ConfigError(sorted(set(problems), key=problems.index), source)
    return cells


def objective_problems(study: StudyConfig) -> list[str]:
    """The objective metric must be one the dataset's task produces, optimised in its natural direction."""
    from avtca.config.base import suggest, validate
    from avtca.data import dataset_info
    from avtca.data.config import DataConfig
    from avtca.metrics import METRIC_NAMES, higher_is_better

    task = dataset_info(validate(DataConfig, data_section(study))).task
    allowed = [f"val/{m}" for m in (*METRIC_NAMES[task], "loss")]
    metric, direction = study.objective.metric, study.objective.direction
    if metric not in allowed:
        return [f"objective.metric: '{metric}' is not a {task} metric; one of {', '.join(allowed)}"
                f"{suggest(metric, allowed)}"]
    natural = "maximize" if higher_is_better(metric.split("/", 1)[1]) else "minimize"
    if direction != natural:
        return [f"objective.direction: '{direction}' for {metric}; it should be '{natural}'"]
    return []


def factor_params(study: StudyConfig, cell: Cell) -> dict[str, str]:
    """The cell's fixed Optuna parameters: `variant` (when named) and each factor as its level text."""
    out = {"variant": cell.name} if study.variants else {}
    out.update({k: choice_value(v) for k, v in cell.factors.items()})
    return out


# ---------------------------------------------------------------- claims


@dataclass
class CellState:
    """A claim record: who owns the cell, since when (heartbeat), and the outcome."""

    state: CellStateName
    worker: str
    updated_at: float
    trial_number: int | None = None
    reason: str | None = None


class ClaimWriteError(OSError):
    """A claim record could not be written (disk full, read-only folder); the message names the file."""


_CLAIM_FIELDS = frozenset(CellState.__dataclass_fields__)


def parse_claim(data: bytes) -> CellState:
    """A claim record from a file's bytes; ValueError (saying what is wrong) for anything but a valid record."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"expected an object, got {type(raw).__name__}")
    unknown, missing = set(raw) - _CLAIM_FIELDS, {"state", "worker", "updated_at"} - set(raw)
    if unknown or missing:
        raise ValueError(f"unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    if raw["state"] not in ("RUNNING", "COMPLETE", "FAILED") or not isinstance(raw["updated_at"], (int, float)):
        raise ValueError(f"invalid state {raw['state']!r} or time {raw['updated_at']!r}")
    return CellState(**raw)


@runtime_checkable
class ClaimStore(Protocol):
    """Exactly-once ownership of cells shared by every worker of a study."""

    def claim(self, cell_id: str, worker: str) -> bool: ...

    def heartbeat(self, cell_id: str, worker: str) -> None: ...

    def complete(self, cell_id: str, worker: str, trial_number: int | None) -> None: ...

    def fail(self, cell_id: str, worker: str, reason: str) -> None: ...

    def status(self) -> dict[str, CellState]: ...


def worker_name(index: int = 0) -> str:
    """`host:pid:index`: unique per worker; the pid lets a same-host claimant detect a dead owner at once."""
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def owner_dead(worker: str) -> bool:
    """True when `worker` ran on this host and its process is gone (SIGKILL, crash)."""
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class FileClaimStore:
    """Claims as one JSON file per cell, changed under an exclusive lock and replaced atomically (one machine)."""

    def __init__(self, directory: str | Path, grace_s: float = 120.0):
        self.directory = Path(directory)
        self.grace_s = grace_s

    def _lock(self):
        from filelock import FileLock

        # created lazily so that merely opening the store (e.g. --dry-run) writes nothing
        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.directory / ".lock"))

    def _path(self, cell_id: str) -> Path:
        return self.directory / f"{cell_id}.json"

    def _read(self, cell_id: str) -> CellState | None:
        path = self._path(cell_id)
        try:
            return parse_claim(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as err:
            return self._quarantine(path, err)

    def _quarantine(self, path: Path, err: Exception) -> None:
        """Move an unreadable claim aside (records are replaced atomically, so it is damage, not a write in flight).

        The cell becomes unclaimed; a trial it had completed is still in the Optuna storage, which the worker
        checks before running anything, so nothing runs twice.
        """
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            os.replace(path, aside)
        except OSError:
            return None
        import sys

        print(f"warning: claim file {path} was unreadable ({err}); moved aside to {aside.name}; the cell's "
              "trials in the Optuna storage decide whether it still has to run", file=sys.stderr)
        return None

    def _write(self, cell_id: str, state: CellState) -> None:
        tmp = self.directory / f".{cell_id}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(state.__dict__))
            os.replace(tmp, self._path(cell_id))  # atomic: readers see the old or the new record, never half
        except OSError as err:
            tmp.unlink(missing_ok=True)  # disk full: no 0-byte temp file left behind
            raise ClaimWriteError(f"cannot write claim {self._path(cell_id)}: {err.strerror or err}") from None

    def is_stale(self, state: CellState, now: float | None = None) -> bool:
        """A RUNNING claim whose owner died or stopped heart-beating for grace_s."""
        now = time.time() if now is None else now
        return state.state == "RUNNING" and (now - state.updated_at > self.grace_s or owner_dead(state.worker))

    def claim(self, cell_id: str, worker: str) -> bool:
        """Own the cell iff unclaimed, FAILED, or RUNNING but stale; COMPLETE cells are never re-claimed."""
        with self._lock():
            current = self._read(cell_id)
            if current is not None and current.state == "COMPLETE":
                return False
            if current is not None and current.state == "RUNNING" and not self.is_stale(current):
                return current.worker == worker
            self._write(cell_id, CellState("RUNNING", worker, time.time()))
            return True

    def _update(self, cell_id: str, worker: str, **changes: Any) -> None:
        with self._lock():
            current = self._read(cell_id)
            if current is None or current.worker != worker or current.state == "COMPLETE":
                return  # lost the claim (declared stale and taken over): the new owner's record wins
            self._write(cell_id, CellState(**{**current.__dict__, "updated_at": time.time(), **changes}))

    def heartbeat(self, cell_id: str, worker: str) -> None:
        """Refresh the owner's timestamp so the claim does not go stale."""
        self._update(cell_id, worker)

    def complete(self, cell_id: str, worker: str, trial_number: int | None) -> None:
        """Mark the cell done; it is never claimed again."""
        self._update(cell_id, worker, state="COMPLETE", trial_number=trial_number)

    def fail(self, cell_id: str, worker: str, reason: str) -> None:
        """Mark the cell failed; any worker may claim it again."""
        self._update(cell_id, worker, state="FAILED", reason=reason[:500])

    def release(self, cell_id: str) -> None:
        """Forget the claim entirely (the cell becomes unclaimed)."""
        with self._lock():
            self._path(cell_id).unlink(missing_ok=True)

    def stale(self, grace_s: float | None = None) -> list[str]:
        """Cell ids whose RUNNING claim is stale."""
        if grace_s is not None:
            return FileClaimStore(self.directory, grace_s).stale()
        return [cid for cid, st in self.status().items() if self.is_stale(st)]

    def status(self) -> dict[str, CellState]:
        """Every claim record, keyed by cell id."""
        if not self.directory.is_dir():
            return {}
        out = {}
        for path in sorted(self.directory.glob("*.json")):
            state = self._read(path.stem)
            if state is not None:
                out[path.stem] = state
        return out


def is_sql_url(url: str) -> bool:
    """True for database URLs (postgresql://, sqlite://, mysql://, with or without +driver)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    return scheme in ("postgresql", "postgres", "sqlite", "mysql")


def claims_dir(storage_url: str) -> Path:
    """Where the file claim store of a journal storage lives: beside the journal, `<name>.claims/`."""
    path = Path(storage_url.split("://", 1)[-1])
    return path.with_name(path.name.rsplit(".", 1)[0] + ".claims")


def open_claim_store(storage_url: str, study_name: str, grace_s: float = 120.0) -> ClaimStore:
    """FileClaimStore beside a journal file; SqlClaimStore (ablations.claims_sql) in a database storage."""
    if is_sql_url(storage_url):
        try:
            from ablations.claims_sql import SqlClaimStore
        except ImportError as err:
            raise ConfigError([f"storage: database claims need ablations.claims_sql ({err})"]) from None
        return SqlClaimStore(storage_url, study_name, grace_s)
    return FileClaimStore(claims_dir(storage_url) / study_name, grace_s)
