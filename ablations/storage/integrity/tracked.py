"""MLflow must hold one run for every finished trial, and no FINISHED run of a trial the storage lost.

At the end of a run, `check_tracked` refuses to call a study complete while a finished trial has no MLflow run
(deleted, tracking store replaced, logging failed): the report would silently miss it; `--resync-tracking`
rebuilds such runs from the Optuna storage. It refuses too while a FINISHED run belongs to no finished trial (a
lost trial's: the report would mix it in); `repair_storage` (`--repair-storage`) ends those runs FAILED.
"""

from __future__ import annotations

import sys

from ablations.masking import mask
from ablations.storage.integrity.storage import complete_trials, first_ids, journal_path, repair_trials
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker
from ablations.tracking.read import LiveRuns, live_runs, peek_live_runs
from ablations.tracking.record import LOST_TRIAL

UNTRACKED = "COMPLETE, no MLflow run (--resync-tracking)"  # a --dry-run state


def repair_storage(study: StudyConfig, cells: list[Cell]) -> list[str]:
    """`--repair-storage`: repair the Optuna storage (`repair_trials`), then end FAILED the MLflow runs of the
    trials it lost; returns what was done (one line each). Raises OSError when the storage cannot be repaired."""
    done, lost = repair_trials(study, cells)
    return done + _fail_lost_runs(study, cells, lost)


def _fail_lost_runs(study: StudyConfig, cells: list[Cell], lost: list[str]) -> list[str]:
    """End FAILED the FINISHED MLflow runs that no finished trial holds any more (the lost trials'), so that the
    report keeps the cells' re-runs only; when MLflow cannot be reached the storage stays repaired, with a warning."""
    where = mask(study.storage_url) if journal_path(study) is None else journal_path(study)
    try:
        stale = lost_trial_runs(study, cells, peek_live_runs(study.tracking, study.name))
        if stale:
            why = f"its Optuna trial is gone from {where}; --repair-storage released the cell to run again"
            Tracker(study.tracking, study.name).fail_lost([r for runs in stale.values() for r in runs], why)
    except Exception as err:  # noqa: BLE001 - the storage is repaired; the end-of-run check refuses the leftovers
        which = f"of the {len(lost)} cell(s) released ({first_ids(lost)})" if lost else "of lost trials, if any,"
        print(f"warning: tracking: cannot mark the MLflow runs {which} in experiment '{study.name}' at "
              f"{mask(study.tracking)} ({type(err).__name__}: {mask(err)}); left FINISHED, they keep the study from "
              "being called complete: once MLflow is reachable, run the same command with --repair-storage again",
              file=sys.stderr)  # fmt: skip
        return []
    n = sum(len(runs) for runs in stale.values())
    return [f"marked {n} MLflow run(s) of lost trials as FAILED (tag {LOST_TRIAL}) in experiment "
            f"'{study.name}': cells {first_ids(sorted(stale))}"] if stale else []  # fmt: skip


def with_tracking_states(study: StudyConfig, cells: list[Cell], states: dict[str, str]) -> dict[str, str]:
    """--dry-run: complete cells whose MLflow run is gone show as `COMPLETE, no MLflow run`; writes nothing."""
    complete = [c for c in cells if states.get(c.cell_id) == "COMPLETE"]
    if not complete:
        return states
    try:
        lost = untracked_cells(study, complete, peek_live_runs(study.tracking, study.name))
    except Exception:  # noqa: BLE001 - a plan stays a plan; the real run checks MLflow at its end and says why
        return states
    return {**states, **{c.cell_id: UNTRACKED for c in lost}}


def untracked_cells(study: StudyConfig, cells: list[Cell], live: LiveRuns) -> list[Cell]:
    """The cells with a COMPLETE trial that has no MLflow run id, or whose run is gone from the study's experiment
    (deleted, or the tracking store lost or replaced) and was not re-synced."""
    missing = {cid for cid, number, rid in complete_trials(study, cells) if not live.has_run(cid, number, rid)}
    return [c for c in cells if c.cell_id in missing]


def lost_trial_runs(study: StudyConfig, cells: list[Cell], live: LiveRuns) -> dict[str, list[str]]:
    """FINISHED MLflow runs of the cells that no COMPLETE trial in the storage holds (the runs of trials a damaged
    storage lost): the report would mix them in beside the cell's re-run. Cell id -> run ids."""
    if not live.finished:
        return {}  # nothing to check, and the storage is not even opened (a new study: nothing is created)
    return live.unbacked(complete_trials(study, cells), {c.cell_id for c in cells})


def check_tracked(study: StudyConfig, cells: list[Cell], tracker: Tracker, study_file: str = "STUDY.yaml") -> list[str]:
    """Problems when complete cells lack their MLflow run, or cells keep FINISHED runs of lost trials (the report
    would miss or mix in results), each with its repair; [] if none."""
    resync = (
        f"tracking: the study is not complete until MLflow holds a run for every completed trial; to repair, run "
        f"python -m ablations.run {study_file} --resync-tracking (recreates the missing runs from the Optuna "
        f"storage), then the same command again"
    )
    try:
        live = live_runs(tracker)
        lost, stale = untracked_cells(study, cells, live), lost_trial_runs(study, cells, live)
    except Exception as err:  # noqa: BLE001 - an unreadable tracking store cannot vouch for any run
        return [f"tracking: cannot read the runs of '{study.name}' at {mask(study.tracking)}: {mask(err)}", resync]
    problems = []
    if lost:
        problems += [
            f"tracking: {len(lost)} complete cell(s) have no MLflow run in experiment '{study.name}' at "
            f"{mask(study.tracking)} (run deleted, tracking store lost or replaced, or logging failed): "
            + first_ids([f"{c.describe()} ({c.cell_id})" for c in lost]),
            resync,
        ]
    if stale:
        problems += [
            f"tracking: {sum(len(r) for r in stale.values())} FINISHED MLflow run(s) in experiment '{study.name}' at "
            f"{mask(study.tracking)} belong to no finished trial in the Optuna storage (their trial was lost with a "
            "damaged storage), and the report would mix them in: "
            + first_ids([f"{c.describe()} ({c.cell_id})" for c in cells if c.cell_id in stale]),
            f"tracking: to repair, run python -m ablations.run {study_file} --repair-storage (ends those runs FAILED, "
            f"tagged {LOST_TRIAL}; nothing is deleted)",
        ]
    return problems
