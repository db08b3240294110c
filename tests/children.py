"""Functions run in child processes by the scale-out tests (importable, so spawn and Dask can pickle them)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def race_claims(url: str, study: str, cells: list[str], worker: str, start_at: float) -> list[str]:
    """Open a store (racing the table creation too), wait for the common start, try to claim every cell."""
    from ablations.storage.claims.sql import SqlClaimStore

    store = SqlClaimStore(url, study, grace_s=300)
    time.sleep(max(0.0, start_at - time.time()))
    won = [c for c in cells if store.claim(c, worker)]
    store.close()
    return won


def claim_all_files(directory: str, index: int, cells: list[str]) -> list[str]:
    """Try to claim every cell in a file claim store as worker `index` of this process."""
    from ablations.storage.claims import worker_name
    from ablations.storage.claims.files import FileClaimStore

    store = FileClaimStore(Path(directory), grace_s=3600)
    return [c for c in cells if store.claim(c, worker_name(index))]


def open_store(url: str, study: str) -> bool:
    """Only create/open the store: many of these at once race on CREATE TABLE."""
    from ablations.storage.claims.sql import SqlClaimStore

    SqlClaimStore(url, study, grace_s=60).close()
    return True


def cell_loop(url: str, study: str, cells: list[str], log_dir: str, kill_marker: str | None, index: int) -> int:
    """A miniature study worker: claim -> 'train' (append to a log) -> complete, until no cell is claimable.

    When `kill_marker` names a file that does not exist yet, the first worker to get there creates it and
    SIGKILLs its own process mid-cell, after the cell's 'start' line: the cell must then be re-run elsewhere.
    """
    from ablations.storage.claims import worker_name
    from ablations.storage.claims.sql import SqlClaimStore

    store = SqlClaimStore(url, study, grace_s=60)
    me = worker_name(index)
    done = 0
    log = Path(log_dir)
    while True:
        progressed = False
        for cell in cells:
            if not store.claim(cell, me):
                continue
            progressed = True
            with open(log / f"{cell}.log", "a") as f:
                f.write(f"start {me}\n")
            if kill_marker is not None:
                try:
                    fd = os.open(kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    os.close(fd)
                    os.kill(os.getpid(), signal.SIGKILL)
                except FileExistsError:
                    pass
            time.sleep(0.05)
            store.heartbeat(cell, me)
            with open(log / f"{cell}.log", "a") as f:
                f.write(f"done {me}\n")
            store.complete(cell, me, trial_number=done)
            done += 1
        states = store.status()
        if not progressed and all(states.get(c) is not None and states[c].state == "COMPLETE" for c in cells):
            return done
        if not progressed:
            time.sleep(0.2)  # someone else holds the rest; wait for them to finish or go stale


def create_optuna_storage(url: str, start_at: float) -> str:
    """Create the Optuna schema at a common start time (the schema-creation race) through `open_rdb_storage`."""
    from ablations.storage.database import open_rdb_storage

    time.sleep(max(0.0, start_at - time.time()))
    try:
        open_rdb_storage(url)
    except Exception as err:  # noqa: BLE001 - reported to the test
        return f"{type(err).__name__}: {err}"[:200]
    return "ok"
