"""The SQL claim store: exactly-once claims in a table beside the Optuna storage (PostgreSQL for many machines,
SQLite for one)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from ablations.masking import mask
from ablations.storage.claims.base import CellState, owner_dead
from ablations.storage.database import create_engine, explain_db_error

TABLE = "avtca_cells"
RUNNING, COMPLETE, FAILED = "RUNNING", "COMPLETE", "FAILED"
_LOCK_KEY = 0x61767463  # "avtc": pg advisory lock serialising the first CREATE TABLE across processes
T = TypeVar("T")


class ClaimStoreError(RuntimeError):
    """The claim database is unreachable or refused us; the message names the masked URL and the cause."""


def _now_sql(dialect: str) -> str:
    """The database's clock in unix seconds: one clock for all machines, so heartbeats survive clock skew."""
    if dialect == "postgresql":
        return "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
    if dialect == "sqlite":
        return "((julianday('now') - 2440587.5) * 86400.0)"
    raise ClaimStoreError(f"claim store: unsupported database '{dialect}' (use postgresql:// or sqlite://)")


_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    study VARCHAR(512) NOT NULL,
    cell_id VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    worker VARCHAR(256) NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    trial_number INTEGER,
    reason TEXT,
    claimed_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (study, cell_id)
)"""


class SqlClaimStore:
    """ClaimStore on a SQL table: `claim` is one atomic upsert, so two workers can never both own a cell.

    A cell is claimable when it has no row, its row is FAILED, or it is RUNNING with a heartbeat older
    than `grace_s` or an owner that ran on this host and is gone. Re-claiming a cell you hold returns True.
    """

    def __init__(self, url: str, study_name: str, grace_s: float = 120.0):
        if grace_s <= 0:
            raise ValueError(f"grace_s: expected a positive number of seconds, got {grace_s!r}")
        self.url = url
        self.study_name = study_name
        self.grace_s = float(grace_s)
        self._engine: sa.Engine | None = None
        self._ensure_table()

    # -- plumbing --------------------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        """Pickle without the engine (Dask ships the store to worker processes; each reconnects)."""
        state = self.__dict__.copy()
        state["_engine"] = None
        return state

    def __repr__(self) -> str:
        return f"SqlClaimStore({mask(self.url)!r}, study={self.study_name!r}, grace_s={self.grace_s})"

    @property
    def engine(self) -> sa.Engine:
        """Lazily created engine; SQLite waits on locks instead of failing with 'database is locked'."""
        if self._engine is None:
            sqlite = self.url.startswith("sqlite")
            self._engine = create_engine(self.url, 60.0 if sqlite else 10.0, pooled=True)
            self._now = _now_sql(self._engine.dialect.name)
        return self._engine

    def close(self) -> None:
        """Dispose of pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _tx(self, fn: Callable[[sa.Connection], T], retries: int = 5) -> T:
        """Run `fn` in one transaction, retrying transient errors (lost connection, SQLite lock) with backoff."""
        delay = 0.2
        for attempt in range(retries + 1):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except OperationalError as err:
                if attempt == retries:
                    raise ClaimStoreError(f"claim store {mask(self.url)}: {explain_db_error(err)}") from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _ensure_table(self) -> None:
        """CREATE TABLE IF NOT EXISTS, safe when many processes start at once (the schema-creation race)."""

        def create(conn: sa.Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            conn.execute(sa.text(_DDL))

        for attempt in range(3):
            try:
                self._tx(create, retries=1)
                return
            except (IntegrityError, ProgrammingError) as err:
                # another process won the race between IF NOT EXISTS and the catalog insert: the table exists now
                if attempt == 2:
                    raise ClaimStoreError(f"claim store {mask(self.url)}: {explain_db_error(err)}") from None
            except DBAPIError as err:
                raise ClaimStoreError(f"claim store {mask(self.url)}: {explain_db_error(err)}") from None

    def _key(self, cell_id: str, worker: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"study": self.study_name, "cell": cell_id}
        if worker is not None:
            out["worker"] = worker
        return out

    # -- the ClaimStore protocol ----------------------------------------------------------------------
    def claim(self, cell_id: str, worker: str) -> bool:
        """Try to own `cell_id`; True iff this worker owns it now (new, FAILED before, stale, or already ours)."""
        self.engine  # noqa: B018 - sets self._now for this dialect
        sql = sa.text(
            f"""
            INSERT INTO {TABLE} (study, cell_id, state, worker, attempts, claimed_at, updated_at)
            VALUES (:study, :cell, '{RUNNING}', :worker, 1, {self._now}, {self._now})
            ON CONFLICT (study, cell_id) DO UPDATE SET
                state = '{RUNNING}', worker = excluded.worker, reason = NULL, trial_number = NULL,
                attempts = {TABLE}.attempts + (CASE WHEN {TABLE}.worker = excluded.worker
                                                    AND {TABLE}.state = '{RUNNING}' THEN 0 ELSE 1 END),
                claimed_at = excluded.claimed_at, updated_at = excluded.updated_at
            WHERE {TABLE}.state = '{FAILED}'
               OR ({TABLE}.state = '{RUNNING}'
                   AND ({TABLE}.worker = excluded.worker OR {TABLE}.updated_at < excluded.updated_at - :grace))
            RETURNING worker
            """
        )
        row = self._tx(lambda c: c.execute(sql, {**self._key(cell_id, worker), "grace": self.grace_s}).first())
        if row is not None and row[0] == worker:
            return True
        return self._take_over_dead(cell_id, worker)

    def _take_over_dead(self, cell_id: str, worker: str) -> bool:
        """Claim a RUNNING cell at once when its owner ran on this host and its process is gone (SIGKILL)."""
        read = sa.text(
            f"SELECT worker, updated_at FROM {TABLE} WHERE study = :study AND cell_id = :cell AND state = '{RUNNING}'"
        )
        row = self._tx(lambda c: c.execute(read, self._key(cell_id)).first())
        if row is None or not owner_dead(row[0]):
            return False
        # compare-and-swap on (worker, updated_at): of several workers noticing the death, exactly one wins
        swap = sa.text(
            f"UPDATE {TABLE} SET worker = :worker, attempts = attempts + 1, claimed_at = {self._now}, "
            f"updated_at = {self._now} WHERE study = :study AND cell_id = :cell AND state = '{RUNNING}' "
            f"AND worker = :old AND updated_at = :old_at"
        )
        params = {**self._key(cell_id, worker), "old": row[0], "old_at": row[1]}
        return self._tx(lambda c: c.execute(swap, params).rowcount) == 1

    def heartbeat(self, cell_id: str, worker: str) -> bool:
        """Refresh this worker's claim; False when it no longer owns the cell (it was taken over as stale)."""
        self.engine  # noqa: B018
        sql = sa.text(
            f"UPDATE {TABLE} SET updated_at = {self._now} "
            f"WHERE study = :study AND cell_id = :cell AND worker = :worker AND state = '{RUNNING}'"
        )
        return self._tx(lambda c: c.execute(sql, self._key(cell_id, worker)).rowcount) == 1

    def complete(self, cell_id: str, worker: str, trial_number: int | None = None) -> bool:
        """Mark the cell COMPLETE with its Optuna trial; False if another worker had already completed it."""
        self.engine  # noqa: B018
        sql = sa.text(
            f"UPDATE {TABLE} SET state = '{COMPLETE}', worker = :worker, trial_number = :trial, reason = NULL, "
            f"updated_at = {self._now} WHERE study = :study AND cell_id = :cell AND state <> '{COMPLETE}'"
        )
        params = {**self._key(cell_id, worker), "trial": trial_number}
        return self._tx(lambda c: c.execute(sql, params).rowcount) == 1

    def fail(self, cell_id: str, worker: str, reason: str = "") -> bool:
        """Mark this worker's claim FAILED (claimable again); False if the worker did not own it."""
        self.engine  # noqa: B018
        sql = sa.text(
            f"UPDATE {TABLE} SET state = '{FAILED}', reason = :reason, updated_at = {self._now} "
            f"WHERE study = :study AND cell_id = :cell AND worker = :worker AND state = '{RUNNING}'"
        )
        params = {**self._key(cell_id, worker), "reason": str(reason)[:2000]}
        return self._tx(lambda c: c.execute(sql, params).rowcount) == 1

    def release(self, cell_id: str, worker: str | None = None) -> bool:
        """Give back a RUNNING claim (e.g. on Ctrl-C) so another worker can take it at once."""
        where = "AND worker = :worker " if worker is not None else ""
        sql = sa.text(f"DELETE FROM {TABLE} WHERE study = :study AND cell_id = :cell {where}AND state = '{RUNNING}'")
        return self._tx(lambda c: c.execute(sql, self._key(cell_id, worker)).rowcount) == 1

    def forget(self, cell_id: str) -> None:
        """Drop the claim whatever its state (--repair-storage: a COMPLETE cell whose trial was lost runs again);
        unlike `release`, which a worker uses and which never drops a finished cell."""
        sql = sa.text(f"DELETE FROM {TABLE} WHERE study = :study AND cell_id = :cell")
        self._tx(lambda c: c.execute(sql, self._key(cell_id)))

    def stale(self, grace_s: float | None = None) -> list[str]:
        """RUNNING cells whose heartbeat is older than `grace_s` (database clock) or whose owner on this host died."""
        self.engine  # noqa: B018
        sql = sa.text(
            f"SELECT cell_id, worker, updated_at < {self._now} - :grace FROM {TABLE} "
            f"WHERE study = :study AND state = '{RUNNING}' ORDER BY cell_id"
        )
        grace = self.grace_s if grace_s is None else float(grace_s)
        rows = self._tx(lambda c: c.execute(sql, {"study": self.study_name, "grace": grace}).all())
        return [cell for cell, worker, old in rows if old or owner_dead(worker)]

    def status(self) -> dict[str, CellState]:
        """Every known cell of this study -> CellState(state, worker, updated_at, trial_number)."""
        sql = sa.text(
            f"SELECT cell_id, state, worker, updated_at, trial_number, reason FROM {TABLE} "
            f"WHERE study = :study ORDER BY cell_id"
        )
        rows = self._tx(lambda c: c.execute(sql, {"study": self.study_name}).all())
        return {r[0]: CellState(r[1], r[2], float(r[3]), r[4], r[5]) for r in rows}

    def attempts(self) -> dict[str, int]:
        """How many times each cell was claimed by a new owner (1 = never re-run)."""
        sql = sa.text(f"SELECT cell_id, attempts FROM {TABLE} WHERE study = :study")
        return dict(self._tx(lambda c: c.execute(sql, {"study": self.study_name}).all()))
