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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from ablations.cells import Cell
from ablations.claims import claims_dir, open_claim_store
from ablations.database import is_sql_url, to_sqlalchemy_url
from ablations.masking import mask
from ablations.objective import open_storage, optuna_study_name
from ablations.study import StudyConfig

FINISHED_TRIALS = (TrialState.COMPLETE, TrialState.PRUNED)


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


def finished_cells(path: Path, names: set[str]) -> set[str]:
    """Cell ids with a finished (complete or pruned) trial in the journal's studies `names`; raises on damage."""
    return _finished_in(JournalStorage(JournalFileBackend(str(path))), names)  # the file exists: nothing is created


def _cell_trials(storage: BaseStorage, names: set[str], states: tuple[TrialState, ...]) -> Iterator[FrozenTrial]:
    """The trials in `states` of the Optuna studies `names` that belong to a cell (carry a `cell_id`)."""
    for frozen in storage.get_all_studies():
        if frozen.study_name in names:
            for trial in storage.get_all_trials(frozen._study_id, deepcopy=False, states=states):
                if "cell_id" in trial.user_attrs:
                    yield trial


def _finished_in(storage: BaseStorage, names: set[str]) -> set[str]:
    return {t.user_attrs["cell_id"] for t in _cell_trials(storage, names, FINISHED_TRIALS)}


def sql_finished_cells(url: str, names: set[str]) -> set[str]:
    """Like `finished_cells` for a database storage, read-only: no table is created; none there means no trial."""
    if not _has_optuna_tables(url):
        return set()  # Optuna's tables are gone (or were never made): no trial backs any claim
    storage = _read_rdb(url)
    try:
        return _finished_in(storage, names)
    finally:
        storage.engine.dispose()


def _has_optuna_tables(url: str) -> bool:
    # SQLAlchemy (heavy) loads only for a database storage
    import sqlalchemy as sa

    engine = sa.create_engine(to_sqlalchemy_url(url), poolclass=sa.pool.NullPool, **_connect(url))
    try:
        return {"studies", "trials", "version_info"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _connect(url: str) -> dict[str, Any]:
    return {"connect_args": {"connect_timeout": 5}} if url.startswith(("postgres", "postgresql")) else {}


def _read_rdb(url: str) -> RDBStorage:
    """The Optuna database storage opened without creating tables (with them present, it writes nothing)."""
    return RDBStorage(url, engine_kwargs=_connect(url), skip_table_creation=True, skip_compatibility_check=True)


def _study_names(study: StudyConfig, cells: list[Cell]) -> set[str]:
    return {optuna_study_name(study, c) for c in cells}


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
            done = finished_cells(path, _study_names(study, cells))
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
        done = sql_finished_cells(url, _study_names(study, cells))
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
            (t.user_attrs["cell_id"], t.number, t.user_attrs.get("mlflow_run_id"))
            for t in _cell_trials(storage, _study_names(study, cells), (TrialState.COMPLETE,))
            if t.user_attrs["cell_id"] in ids
        ]
    finally:
        if path is None:
            storage.engine.dispose()


def sql_plan_states(study: StudyConfig, cells: list[Cell]) -> dict[str, str]:
    """Cell states from the SQL claim table, read-only (no table is created); {} when none exists yet."""
    # SQLAlchemy (heavy) loads only for a database storage
    import sqlalchemy as sa

    from ablations.claims.sql import TABLE

    url = to_sqlalchemy_url(study.storage_url)
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1].split("?", 1)[0]).exists():
        return {}  # connecting would create the file
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, **_connect(study.storage_url))
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
