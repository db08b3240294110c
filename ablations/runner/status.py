"""`python -m ablations.run STUDY --status`: where a study stands, read from its shared stores (any launcher).

Cells done / running (which worker: host, process, SLURM job and task) / failed / left, and an ETA from the
durations of the finished cells' trials. Reads only: nothing is claimed, created or changed.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ablations.masking import mask
from ablations.runner.outcome import EXIT_FAILED, EXIT_OK
from ablations.storage.claims import CellState
from ablations.storage.database import is_sql_url
from ablations.study.cells import Cell, enumerate_cells
from ablations.study.schema import StudyConfig


def study_status(study: StudyConfig, study_file: str | None, out: Any = None) -> int:
    """Print the study's status; exit 0 (1 when a store cannot be read)."""
    out = out or sys.stdout
    cells = enumerate_cells(study, study_file)
    try:
        claims, now = read_claims(study)
        trials = read_trials(study, cells)
    except Exception as err:  # noqa: BLE001 - an unreachable or unreadable store: say which, change nothing
        print(f"error: cannot read the study's stores: {mask(err)}", file=sys.stderr)
        return EXIT_FAILED
    for line in status_lines(study, cells, claims, trials, now, study.resources.grace_s):
        print(line, file=out)
    return EXIT_OK


def read_claims(study: StudyConfig) -> tuple[dict[str, CellState], float]:
    """Every claim of the study (read-only) and the clock its timestamps are on."""
    if not is_sql_url(study.storage_url):
        from ablations.storage.claims import open_claim_store

        return open_claim_store(study.storage_url, study.name, study.resources.grace_s).status(), time.time()
    import sqlalchemy as sa

    from ablations.storage.claims.sql import TABLE
    from ablations.storage.database import to_sqlalchemy_url

    url = to_sqlalchemy_url(study.storage_url)
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1].split("?", 1)[0]).exists():
        return {}, time.time()  # connecting would create the file
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        if not sa.inspect(engine).has_table(TABLE):
            return {}, time.time()
        now_sql = "EXTRACT(EPOCH FROM clock_timestamp())" if engine.dialect.name == "postgresql" else (
            "((julianday('now') - 2440587.5) * 86400.0)")  # fmt: skip
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT cell_id, state, worker, updated_at, trial_number, reason FROM {TABLE} "
                        "WHERE study = :s"), {"s": study.name}).all()  # fmt: skip
            now = float(conn.execute(sa.text(f"SELECT {now_sql}")).scalar())
    finally:
        engine.dispose()
    return {r[0]: CellState(r[1], r[2], float(r[3]), r[4], r[5]) for r in rows}, now


def read_trials(study: StudyConfig, cells: list[Cell]) -> dict[str, list[Any]]:
    """cell id -> its Optuna trials (none when the storage does not exist yet)."""
    from ablations.storage.optuna import open_storage
    from ablations.study.cells import optuna_study_name

    if not is_sql_url(study.storage_url) and not Path(study.storage_url.removeprefix("journal://")).exists():
        return {}
    storage = open_storage(study.storage_url, create=False)
    out: dict[str, list[Any]] = defaultdict(list)
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        try:
            sid = storage.get_study_id_from_name(name)
        except KeyError:
            continue
        for t in storage.get_all_trials(sid, deepcopy=False):
            if "cell_id" in t.user_attrs:
                out[t.user_attrs["cell_id"]].append(t)
    return dict(out)


def status_lines(
    study: StudyConfig,
    cells: list[Cell],
    claims: dict[str, CellState],
    trials: dict[str, list[Any]],
    now: float,
    grace_s: float,
) -> list[str]:
    """The status report: a head line with counts and ETA, then one line per running, stale or failed cell."""
    from ablations.runner.progress import duration, running_line  # Optuna loads only for --status, not --explain

    done, running, stale, failed, left = [], [], [], [], []
    for c in cells:
        st = claims.get(c.cell_id)
        if st is None:
            left.append(c)
        elif st.state == "COMPLETE":
            done.append(c)
        elif st.state == "FAILED":
            failed.append(c)
        elif now - st.updated_at > grace_s:
            stale.append(c)
        else:
            running.append(c)
    eta = estimate(cells, done, running, trials)
    head = (
        f"{study.name}: {len(done)}/{len(cells)} cells done, {len(running)} running, {len(failed)} failed, "
        f"{len(left) + len(stale)} left{f' ({len(stale)} stale)' if stale else ''}; {eta}"
    )
    lines = [head]
    for c in running:
        st = claims[c.cell_id]
        live = [t for t in trials.get(c.cell_id, []) if t.state.name == "RUNNING"]
        attrs, steps = (live[-1].user_attrs, dict(live[-1].intermediate_values)) if live else ({}, {})
        lines.append(f"  running  {running_line(study, c, attrs, steps)}  on {where(st.worker)}, "
                     f"heartbeat {duration(max(0.0, now - st.updated_at))} ago")  # fmt: skip
    for c in stale:
        st = claims[c.cell_id]
        lines.append(f"  stale    {c.describe()}  (was on {where(st.worker)}, no heartbeat for "
                     f"{duration(now - st.updated_at)}: the next worker takes it over)")  # fmt: skip
    for c in failed:
        lines.append(f"  failed   {c.describe()}  {(claims[c.cell_id].reason or '')[:160]}")
    return lines


def where(worker: str) -> str:
    """`host pid 1234 (SLURM job 56_3)` from a claim's worker name (`host:pid:index[:slurm=JOB]`)."""
    host, pid, rest = (worker.split(":", 2) + ["", ""])[:3]
    job = rest.partition(":slurm=")[2]
    return f"{host} pid {pid}" + (f" (SLURM job {job})" if job else "")


def estimate(cells: list[Cell], done: list[Cell], running: list[Cell], trials: dict[str, list[Any]]) -> str:
    """ETA: cells left x the mean time a finished cell's trials took, over the cells running in parallel."""
    from ablations.runner.progress import duration

    left = len(cells) - len(done)
    if left == 0:
        return "complete"
    spans = [cell_seconds(trials.get(c.cell_id, [])) for c in done]
    spans = [s for s in spans if s > 0]
    if not spans:
        return "ETA after the first cell"
    parallel = max(1, len(running))
    return f"ETA {duration(math.ceil(left / parallel) * sum(spans) / len(spans))}"


def cell_seconds(trials: list[Any]) -> float:
    """How long a cell's completed trials took, in total."""
    total = 0.0
    for t in trials:
        if t.state.name in ("COMPLETE", "PRUNED") and t.datetime_start and t.datetime_complete:
            total += (t.datetime_complete - t.datetime_start).total_seconds()
    return total
