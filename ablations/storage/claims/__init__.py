"""Exactly-once claims of cells, one interface and two backends (as Optuna's `storages/`).

`base` declares the interface (`ClaimStore`, the `CellState` record, worker identity); `files` is the backend
beside a journal storage (one machine), `sql` the backend in a database storage (PostgreSQL, SQLite; many
machines). `open_claim_store` picks the backend that matches the study's Optuna storage URL.
"""

from __future__ import annotations

from ablations.storage.claims.base import CellState, CellStateName, ClaimStore, owner_dead, worker_name
from ablations.storage.claims.files import ClaimWriteError, FileClaimStore, claims_dir, parse_claim
from ablations.storage.database import is_sql_url
from avtca.config.base import ConfigError

__all__ = [
    "CellState",
    "CellStateName",
    "ClaimStore",
    "ClaimWriteError",
    "FileClaimStore",
    "claims_dir",
    "open_claim_store",
    "owner_dead",
    "parse_claim",
    "worker_name",
]


def open_claim_store(storage_url: str, study_name: str, grace_s: float = 120.0) -> ClaimStore:
    """FileClaimStore beside a journal file; SqlClaimStore (ablations.storage.claims.sql) in a database storage."""
    if is_sql_url(storage_url):
        try:
            # loaded only for database storages: it imports SQLAlchemy and the database driver
            from ablations.storage.claims.sql import SqlClaimStore
        except ImportError as err:
            raise ConfigError([f"storage: database claims need ablations.storage.claims.sql ({err})"]) from None
        return SqlClaimStore(storage_url, study_name, grace_s)
    return FileClaimStore(claims_dir(storage_url) / study_name, grace_s)
