"""The claim-store interface every backend implements: the claim record, the protocol, and worker identity."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

CellStateName = Literal["RUNNING", "COMPLETE", "FAILED"]


@dataclass
class CellState:
    """A claim record: who owns the cell, since when (heartbeat), and the outcome."""

    state: CellStateName
    worker: str
    updated_at: float
    trial_number: int | None = None
    reason: str | None = None


@runtime_checkable
class ClaimStore(Protocol):
    """Exactly-once ownership of cells shared by every worker of a study."""

    def claim(self, cell_id: str, worker: str) -> bool: ...

    def heartbeat(self, cell_id: str, worker: str) -> None: ...

    def complete(self, cell_id: str, worker: str, trial_number: int | None) -> None: ...

    def fail(self, cell_id: str, worker: str, reason: str) -> None: ...

    def status(self) -> dict[str, CellState]: ...

    def forget(self, cell_id: str) -> None: ...


def worker_name(index: int = 0) -> str:
    """`host:pid:index`: unique per worker; the pid lets a same-host claimant detect a dead owner at once.

    Inside a SLURM job `:slurm=JOB` follows (`123_4` for an array task): --status says which task runs a cell."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    job = f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")
    return f"{socket.gethostname()}:{os.getpid()}:{index}" + (f":slurm={job}" if job else "")


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
