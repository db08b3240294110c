"""The Optuna storage must back every cell the claims call complete: the check before a run, and its repair.

The Optuna storage (a journal or a database) is the source of truth for results; the claims only say who ran
what. A journal that was deleted, emptied, truncated (half a record at its end) or garbled, or a database that
lost trials, made a re-run report "0 cells to run" and a summary without results. `check_storage` runs before
anything is planned or written, refuses such a study with exit 2, and says how to repair it (`--repair-storage`:
cut the journal after its last whole record, keeping a copy, and release the cells that lost their trial so
they run again).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from ablations.masking import mask
from ablations.storage.claims import claims_dir, open_claim_store
from ablations.storage.database import connect_args, create_engine, is_sql_url
from ablations.storage.optuna import cell_trials, open_storage
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking.record import MLFLOW_RUN_ID

FINISHED_TRIALS = (TrialState.COMPLETE, TrialState.PRUNED)
PROBE_TIMEOUT_S = 5.0  # read-only probes of a database storage


def journal_path(study: StudyConfig) -> Path | None:
    """The journal file of a journal storage; None for a database storage."""
    url = study.storage_url
    return None if is_sql_url(url) else Path(url.removeprefix("journal://"))


def cut_off_tail(path: Path) -> int:
    """Bytes after the journal's last newline: a record whose write was cut off (0 when the file is whole)."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb") as fh:
        back = min(size, 1 << 20)
        fh.seek(size - back)
        tail = fh.read()
    cut = tail.rfind(b"\n")
    return len(tail) - cut - 1 if cut >= 0 else len(tail)


def _finished(storage: BaseStorage, study: StudyConfig, cells: list[Cell]) -> set[str]:
    """Cell ids with a finished (complete or pruned) trial; raises on a damaged storage."""
    return {t.user_attrs["cell_id"] for t in cell_trials(storage, study, cells, FINISHED_TRIALS)}


def finished_cells(path: Path, study: StudyConfig, cells: list[Cell]) -> set[str]:
    """`_finished` for the journal at `path` (it exists: opening it creates nothing)."""
    return _finished(JournalStorage(JournalFileBackend(str(path))), study, cells)


def sql_finished_cells(study: StudyConfig, cells: list[Cell]) -> set[str]:
    """`_finished` for a database storage, read-only: no table is created; none there means no trial."""
    if not _has_optuna_tables(study.storage_url):
        return set()  # Optuna's tables are gone (or were never made): no trial backs any claim
    storage = _read_rdb(study.storage_url)
    try:
        return _finished(storage, study, cells)
    finally:
        storage.engine.dispose()


def _has_optuna_tables(url: str) -> bool:
    import sqlalchemy as sa  # heavy: loaded only for a database storage

    engine = create_engine(url, PROBE_TIMEOUT_S)
    try:
        return {"studies", "trials", "version_info"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _read_rdb(url: str) -> RDBStorage:
    """The Optuna database storage opened without creating tables (with them present, it writes nothing)."""
    kwargs = {"connect_args": connect_args(url, PROBE_TIMEOUT_S)}
    return RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=True, skip_compatibility_check=True)


def first_ids(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")


def diagnose(study: StudyConfig, cells: list[Cell]) -> tuple[list[str], list[str]]:
    """(problems, cell ids whose COMPLETE claim has no finished trial); empty for a healthy or new study."""
    path = journal_path(study)
    if path is None:
        return _diagnose_sql(study, cells)
    ids = {c.cell_id for c in cells}
    claims = open_claim_store(study.storage_url, study.name, study.resources.grace_s).status()
    complete = {cid for cid, st in claims.items() if st.state == "COMPLETE" and cid in ids}
    problems: list[str] = []
    done: set[str] = set()
    if path.exists():
        tail = cut_off_tail(path)
        if tail:
            problems.append(
                f"storage: the journal {path} ends in a cut-off record ({tail} bytes after the last "
                "whole one: a write was interrupted or the file was truncated)"
            )
        try:
            done = finished_cells(path, study, cells)
        except Exception as err:  # noqa: BLE001 - any decoding failure means the journal is damaged
            problems.append(f"storage: the journal {path} cannot be read ({type(err).__name__}: {mask(err)})")
            return problems, sorted(complete)
    lost = sorted(complete - done)
    if lost:
        where = "is missing" if not path.exists() else ("is empty" if path.stat().st_size == 0 else "lacks them")
        problems.append(
            f"storage: {len(lost)} cell(s) are marked complete in {claims_dir(study.storage_url) / study.name} "
            f"but have no finished trial in the journal {path}, which {where}: {first_ids(lost)}"
        )
    return problems, lost


def _diagnose_sql(study: StudyConfig, cells: list[Cell]) -> tuple[list[str], list[str]]:
    """The database-storage check: the claim table's COMPLETE cells against the finished trials beside it."""
    url = study.storage_url
    complete = {cid for cid, state in sql_plan_states(study, cells).items() if state == "COMPLETE"}
    if not complete:
        return [], []  # a new study (or nothing finished yet): nothing to check, and nothing is created
    try:
        done = sql_finished_cells(study, cells)
    except Exception as err:  # noqa: BLE001 - driver and schema errors vary; the database is unusable as is
        return [f"storage: the trials in {mask(url)} cannot be read ({type(err).__name__}: {mask(err)})"], []
    lost = sorted(complete - done)
    if not lost:
        return [], []
    return [
        f"storage: {len(lost)} cell(s) are marked complete in the claim table of {mask(url)} but have no "
        f"finished trial in that database (trials or the study deleted, or the database restored from an "
        f"older backup): {first_ids(lost)}"
    ], lost


def repair_hint(study: StudyConfig) -> str:
    """What to do about a damaged journal or database storage."""
    path = journal_path(study)
    if path is None:
        return (
            f"storage: to repair, restore the database {mask(study.storage_url)} from a backup, or run the same "
            "command with --repair-storage (runs the cells that lost their trial again)"
        )
    return (
        f"storage: to repair, restore {path} from a backup, or run the same command with --repair-storage "
        f"(keeps a copy of the journal, cuts it after its last whole record, and runs the cells that lost "
        f"their trial again)"
    )


def check_storage(study: StudyConfig, cells: list[Cell]) -> list[str]:
    """Problems that make the study's stored results untrustworthy, with the repair hint; [] when healthy."""
    problems, _ = diagnose(study, cells)
    return [*problems, repair_hint(study)] if problems else []


def repair_trials(study: StudyConfig, cells: list[Cell]) -> tuple[list[str], list[str]]:
    """Repair what `diagnose` found: (what was done, one line each; the cells released to run again).

    Raises OSError when it cannot."""
    path = journal_path(study)
    done: list[str] = []
    if path is not None and path.exists() and cut_off_tail(path):
        backup = path.with_name(f"{path.name}.bak-{int(time.time())}")
        shutil.copy2(path, backup)
        keep = path.stat().st_size - cut_off_tail(path)
        with path.open("r+b") as fh:
            fh.truncate(keep)
            os.fsync(fh.fileno())
        done.append(f"cut {path} after its last whole record (copy kept as {backup.name})")
    problems, lost = diagnose(study, cells)
    if lost:
        store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
        for cid in lost:
            store.forget(cid)
    if lost:
        done.append(f"released {len(lost)} cell(s) whose trial was lost; they run again")
    _, still = diagnose(study, cells)
    if still or any("cannot be read" in p for p in problems):
        where = mask(study.storage_url) if path is None else path
        raise OSError(f"{where} is still damaged after the repair; restore it from a backup")
    return done, lost


def complete_trials(study: StudyConfig, cells: list[Cell]) -> list[tuple[str, int, str | None]]:
    """(cell id, number, MLflow run id) of the cells' COMPLETE trials, read-only; [] when the storage is gone."""
    ids = {c.cell_id for c in cells}
    path = journal_path(study)
    if not path.exists() if path is not None else not _has_optuna_tables(study.storage_url):
        return []  # no storage, or Optuna's tables gone: no trial
    storage = _read_rdb(study.storage_url) if path is None else open_storage(study.storage_url, create=False)
    try:
        return [
            (t.user_attrs["cell_id"], t.number, t.user_attrs.get(MLFLOW_RUN_ID))
            for t in cell_trials(storage, study, cells, (TrialState.COMPLETE,))
            if t.user_attrs["cell_id"] in ids
        ]
    finally:
        if path is None:
            storage.engine.dispose()


def sql_plan_states(study: StudyConfig, cells: list[Cell]) -> dict[str, str]:
    """Cell states from the SQL claim table, read-only (no table is created); {} when none exists yet."""
    # SQLAlchemy (heavy) loads only for a database storage
    import sqlalchemy as sa

    from ablations.storage.claims.sql import TABLE

    url = study.storage_url
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1].split("?", 1)[0]).exists():
        return {}  # connecting would create the file
    engine = create_engine(url, PROBE_TIMEOUT_S)
    try:
        if not sa.inspect(engine).has_table(TABLE):
            return {}
        sql = sa.text(f"SELECT cell_id, state FROM {TABLE} WHERE study = :study")
        with engine.connect() as conn:
            rows = conn.execute(sql, {"study": study.name}).all()
    finally:
        engine.dispose()
    ids = {c.cell_id for c in cells}
    return {cid: state for cid, state in rows if cid in ids}
