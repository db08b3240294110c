"""Running a study: storage and tracking prepared once, the workers launched under the live progress lines."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ablations import interrupts
from ablations.masking import mask
from ablations.runner.finish import finish
from ablations.runner.outcome import EXIT_FAILED, EXIT_INVALID, EXIT_OK, study_outcome
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker, check_tracking
from ablations.tracking.cellset import cells_tags
from ablations.tracking.record import DESCRIPTION

# Optuna and what needs it (objective, integrity, launch, progress) load inside the functions that use them:
# the CLI imports this module for --explain, --schema and invalid files too


@dataclass(frozen=True)
class RunOptions:
    """How to run a study, beyond its study file: the file's path, the launcher and whether to render the report."""

    study_file: str | None = None
    launcher: str = "local"  # a name in ablations.workers.base.LAUNCHERS
    scheduler: str | None = None  # the dask scheduler's address (default a LocalCluster)
    report: bool = True
    detach: bool = False  # slurm: return once the array is submitted
    cancel_on_interrupt: bool = False  # slurm: Ctrl-C while following cancels the array (default: leaves it)


@dataclass(frozen=True)
class Launched:
    """What the launcher left: the workers' summaries, and whether it was stopped (and by an I/O error)."""

    summaries: list[Any]
    interrupted: bool = False
    io_error: bool = False

    @property
    def failed(self) -> dict[str, str]:
        """Each cell a worker failed, and why."""
        return {cid: why for s in self.summaries for cid, why in getattr(s, "failed", {}).items()}


def run_study(study: StudyConfig, cells: list[Cell], states: dict[str, str], options: RunOptions) -> int:
    """Run the study: prepare storage and tracking once, launch workers, clean up, summarise, report."""
    from ablations.storage.integrity import journal_path

    journal = journal_path(study)
    new_journal = journal is not None and not journal.exists()
    with shielded():  # preparing storage and tracking is not interruptible
        try:
            tracker, parent = open_study(study, cells, options.study_file)
        except Exception as err:  # noqa: BLE001 - storage/tracking failures before any trial: invalid setup
            if new_journal:
                journal.unlink(missing_ok=True)  # exit 2 leaves nothing behind: the journal held no trial yet
            print(f"error: cannot prepare the study: {mask(err)}", file=sys.stderr)
            return EXIT_INVALID
    from ablations.workers.launchers import LAUNCHERS

    if LAUNCHERS[options.launcher].submits:  # the batch job's last task finishes the study, not this command
        from ablations.runner.slurm import run_on_slurm

        return run_on_slurm(study, cells, states, tracker, parent, options, source_tags(options.study_file))
    launched = launch(study, cells, states, parent, options)
    with shielded():  # a second Ctrl-C must not leave the cleanup half done
        code = finish(
            study, cells, options.study_file, tracker, parent, launched.interrupted, launched.failed, options.report
        )
        return EXIT_FAILED if launched.io_error else code


def prepare_optuna(study: StudyConfig, cells: list[Cell], study_file: str | None = None) -> None:
    """Create the storage and every Optuna study once, before any worker starts (schema-creation race)."""
    import optuna

    from ablations.storage.optuna import annotate_study, open_storage, optuna_study_name

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(study.storage_url)
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        ostudy = optuna.create_study(
            study_name=name, storage=storage, direction=study.objective.direction, load_if_exists=True
        )
        annotate_study(ostudy, study, study_file)


def study_tags(study: StudyConfig, cells: list[Cell]) -> dict[str, Any]:
    """The tags naming the study's MLflow parent run (a run and --resync-tracking open the same one)."""
    return {
        "study": study.name,
        "dataset": study.dataset.name,
        "preset": study.preset,
        "reference": study.reference_label,
        "n_cells": len(cells),
    }


def source_tags(study_file: str | None) -> dict[str, str]:
    """The MLflow UI's Source column: the study file."""
    return {"mlflow.source.name": str(study_file), "mlflow.source.type": "LOCAL"}


def open_study(study: StudyConfig, cells: list[Cell], study_file: str | None) -> tuple[Tracker, str]:
    """Prepare the Optuna storage and the MLflow experiment; returns the tracker and the parent run's id."""
    prepare_optuna(study, cells, str(study_file))
    tracker = Tracker(study.tracking, study.name)
    tracker.describe_experiment(study.description, {"study_file": str(study_file)}, study.objective.metric)
    tags = {
        **study_tags(study, cells),
        **source_tags(study_file),
        **cells_tags(c.cell_id for c in cells),
        **({DESCRIPTION: study.description} if study.description else {}),
    }
    parent = tracker.parent_run(tags, {"study_file": str(study_file), "n_cells": len(cells), "seeds": study.seeds})
    return tracker, parent


def launch(study: StudyConfig, cells: list[Cell], states: dict[str, str], parent: str, options: RunOptions) -> Launched:
    """Run the cells not yet complete on the study's workers, with a live line per running cell."""
    from ablations.runner.progress import StudyProgress
    from ablations.workers.launchers import LAUNCHERS
    from ablations.workers.loop import WorkerSpec, worker_fn

    n_workers = study.resources.n_jobs
    deadline = time.time() + study.budget.timeout_s if study.budget.timeout_s else None
    todo = tuple(c for c in cells if states[c.cell_id] != "COMPLETE")
    # the live lines of StudyProgress replace the single worker's epoch bar
    tags = source_tags(options.study_file)
    spec = WorkerSpec(study, todo, parent, n_workers, deadline, show_epochs=False, tags=tags)
    print(
        f"study {study.name}: {len(todo)} of {len(cells)} cells to run on {n_workers} worker(s) "
        f"[{options.launcher}]; storage {mask(study.storage_url)}"
    )
    launcher = LAUNCHERS[options.launcher]
    try:
        with StudyProgress(study, cells, n_workers):
            summaries = launcher.run(worker_fn(spec), n_workers, study=study, scheduler=options.scheduler)
        # a Ctrl-C whose KeyboardInterrupt was lost after the workers' last look at it (ablations.interrupts)
        return Launched(summaries, interrupted=interrupts.interrupted())
    except KeyboardInterrupt:
        return Launched([], interrupted=True)
    except OSError as err:  # disk full or an unwritable claim folder: stop like an interruption, say why
        print(f"error: {mask(err)}; free space or fix the folder, then run the same command again", file=sys.stderr)
        return Launched([], interrupted=True, io_error=True)


def resync_study(study: StudyConfig, cells: list[Cell]) -> int:
    """`--resync-tracking`: recreate missing MLflow runs from the Optuna storage (the source of truth)."""
    from ablations.storage.resync import resync_tracking

    try:
        check_tracking(study.tracking)
        tracker = Tracker(study.tracking, study.name)
        parent = tracker.parent_run(study_tags(study, cells))
        created = resync_tracking(study, cells, tracker, parent)
        # parent_run() reopened the study's run; it ends as the study stands
        tracker.end(parent, study_outcome(study, cells, interrupted=False, tracker=tracker).parent_status)
    except Exception as err:  # noqa: BLE001 - storage or tracking unusable: nothing was changed
        print(f"error: cannot re-sync tracking: {mask(err)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"re-synced {len(created)} run(s) into MLflow at {mask(study.tracking)}")
    return EXIT_OK


@contextmanager
def shielded() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored inside (main thread only): the steps that must not stop half done."""
    previous = _sigint(signal.SIG_IGN)
    try:
        yield
    finally:
        _sigint(previous)


def _sigint(handler: Any) -> Any:
    """Install a SIGINT handler, the same for SIGTERM (main thread only); returns the previous SIGINT one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    signal.signal(signal.SIGTERM, handler)  # a scheduler's SIGTERM is handled like Ctrl-C
    return signal.signal(signal.SIGINT, handler)
