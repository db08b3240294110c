"""The file claim store (one machine): one JSON file per cell beside the Optuna journal, changed under a lock."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from filelock import FileLock

from ablations.storage.claims.base import CellState, owner_dead


def claims_dir(storage_url: str) -> Path:
    """Where the file claim store of a journal storage lives: beside the journal, `<name>.claims/`."""
    path = Path(storage_url.split("://", 1)[-1])
    return path.with_name(path.name.rsplit(".", 1)[0] + ".claims")


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


class FileClaimStore:
    """Claims as one JSON file per cell, changed under an exclusive lock and replaced atomically (one machine)."""

    def __init__(self, directory: str | Path, grace_s: float = 120.0):
        self.directory = Path(directory)
        self.grace_s = grace_s

    def _lock(self) -> FileLock:
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
        print(
            f"warning: claim file {path} was unreadable ({err}); moved aside to {aside.name}; the cell's "
            "trials in the Optuna storage decide whether it still has to run",
            file=sys.stderr,
        )
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

    def forget(self, cell_id: str) -> None:
        """Drop the claim whatever its state (--repair-storage: a COMPLETE cell whose trial was lost runs again)."""
        self.release(cell_id)

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
