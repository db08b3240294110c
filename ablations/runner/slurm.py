"""`--launcher slurm` from the runner's side: checks before anything is submitted, the array submitted, followed
(or left with --detach), and the finish that the last array task runs (docs/distributed.md, "SLURM")."""

from __future__ import annotations

import functools
import pickle
import sys
import time
from typing import Any

from ablations.masking import mask
from ablations.runner.finish import finish
from ablations.runner.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, study_outcome
from ablations.runner.summary import print_summary
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker

MAX_ROWS = 12  # live lines for running cells while following (an array may have hundreds of tasks)


def finish_in_task(study: StudyConfig, cells: list[Cell], study_file: str | None, parent: str, report: bool) -> None:
    """In the last array task to finish: the local runner's finish (runs closed, summary, report rendered)."""
    finish(study, cells, study_file, Tracker(study.tracking, study.name), parent, False, {}, report)


def run_on_slurm(
    study: StudyConfig,
    cells: list[Cell],
    states: dict[str, str],
    tracker: Tracker,
    parent: str,
    options: Any,  # runner.execute.RunOptions (execute imports this module)
    tags: dict[str, str],
) -> int:
    """Submit the study's array; follow it until no task is queued (or return at once with --detach).

    `tags` go on every trial's MLflow run (the study file as the UI's Source)."""
    from ablations.runner.progress import StudyProgress
    from ablations.workers.gpus import workers_per_task
    from ablations.workers.launchers import LAUNCHERS
    from ablations.workers.launchers.slurm import SubmitError, folder_of
    from ablations.workers.loop import WorkerSpec, worker_fn

    todo = tuple(c for c in cells if states[c.cell_id] != "COMPLETE")
    if not todo:  # nothing to submit: finish here, as the local runner does
        return finish(study, cells, options.study_file, tracker, parent, False, {}, options.report)
    opts = study.resources.slurm
    per = workers_per_task(opts.gpus_per_task if opts else 0, study.resources.trials_per_gpu)
    deadline = time.time() + study.budget.timeout_s if study.budget.timeout_s else None
    spec = WorkerSpec(study, todo, parent, per, deadline, show_epochs=False, tags=tags)
    finisher = pickle.dumps(functools.partial(finish_in_task, study, cells, options.study_file, parent, options.report))
    submitted: list[Any] = []
    hint = f"python -m ablations.run {options.study_file} --status"

    def said(job: Any) -> None:
        submitted.append(job)
        print(f"submitted SLURM array job {job.job_id}: {job.tasks} task(s) x {per} worker(s) for {len(todo)} of "
              f"{len(cells)} cells; logs in {folder_of(study)}")  # fmt: skip
        print(f"follow: {hint}   cancel: scancel {job.job_id}", flush=True)

    kw = {"study": study, "finisher": finisher, "cells": tuple(c.cell_id for c in todo), "on_submit": said}
    try:
        if options.detach:
            LAUNCHERS["slurm"].run(worker_fn(spec), per, detach=True, **kw)
            print("detached: the array runs on; its last task renders the report")
            return EXIT_OK
        rows = min(MAX_ROWS, (opts.tasks if opts else 2) * per)
        with StudyProgress(study, cells, rows):
            LAUNCHERS["slurm"].run(worker_fn(spec), per, **kw)
    except (SubmitError, OSError, RuntimeError) as err:  # sbatch refused, the job folder unwritable ...
        if submitted:  # stopped following (squeue silent): the array runs on
            print(f"error: {mask(err)}; SLURM job {submitted[0].job_id} is not touched", file=sys.stderr)
            return EXIT_FAILED
        print(f"error: nothing was submitted: {mask(err)}", file=sys.stderr)
        tracker.end(parent, "FAILED")
        return EXIT_INVALID
    except KeyboardInterrupt:
        return _stopped_following(submitted, options.cancel_on_interrupt, hint)
    return _after_array(study, cells, submitted[0].job_id if submitted else "?", options.report)


def _stopped_following(submitted: list[Any], cancel: bool, hint: str) -> int:
    """Ctrl-C while following: by default the array is left alone (nothing asked, nothing cancelled)."""
    if not submitted:
        print("interrupted before the array was submitted: nothing runs", file=sys.stderr)
        return EXIT_INTERRUPTED
    job = submitted[0]
    if cancel:
        job.cancel()
        print(
            f"cancelled SLURM array job {job.job_id} (--cancel-on-interrupt): its tasks mark their cells FAILED; "
            "run the same command again to continue",
            file=sys.stderr,
        )
    else:
        print(
            f"stopped following; SLURM array job {job.job_id} keeps running. Follow: {hint}   "
            f"cancel: scancel {job.job_id}",
            file=sys.stderr,
        )
    return EXIT_INTERRUPTED


def _after_array(study: StudyConfig, cells: list[Cell], job_id: str, report: bool) -> int:
    """The array left the queue: where the study stands (its last task closed the runs and rendered the report)."""
    outcome = study_outcome(study, cells, interrupted=False)
    print_summary(study, cells, {})
    if outcome.trials_complete:
        if study.report.kind == "render" and report:
            print(f"report: {study.report.out}/{study.name} (rendered by the last task of job {job_id})")
        return EXIT_OK
    print(
        f"{outcome.n_cells - outcome.complete} cell(s) not complete after SLURM job {job_id} (cancelled, failed "
        "or out of time: see the task logs); run the same command again to submit them",
        file=sys.stderr,
    )
    return EXIT_FAILED
