"""After the workers: close the MLflow runs, print the summary, and render the study's answer once complete."""

from __future__ import annotations

import sys

from ablations.masking import mask
from ablations.runner.answer import publish_answer
from ablations.runner.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Outcome, study_outcome
from ablations.runner.summary import completed_run_ids, print_summary
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker

INTERRUPTED = "interrupted: completed cells are kept; run the same command again to continue"


def finish(
    study: StudyConfig,
    cells: list[Cell],
    study_file: str | None,
    tracker: Tracker,
    parent: str,
    interrupted: bool,
    failed: dict[str, str],
    report: bool = True,
) -> int:
    """Every step after the workers, in order; returns the exit code."""
    outcome = study_outcome(study, cells, interrupted, tracker, study_file)
    close_runs(study, cells, tracker, parent, outcome)
    print_summary(study, cells, failed)
    if interrupted or not outcome.is_complete:
        print(tracker.ui_hint(study_file))  # partial results are browsable too
    code = verdict(outcome)
    if code is not None:
        return code
    if study.report.kind == "render" and report:
        publish_answer(study, tracker, parent, study_file)
    print(tracker.ui_hint(study_file))
    return EXIT_OK


def close_runs(study: StudyConfig, cells: list[Cell], tracker: Tracker, parent: str, outcome: Outcome) -> None:
    """End the MLflow runs left RUNNING by dead or interrupted workers, and the parent run unless others run on."""
    try:
        # runs of dead/interrupted workers never stay RUNNING; those of completed trials end FINISHED
        killed = tracker.kill_running(keep=outcome.live, finished=completed_run_ids(study, cells))
        if not outcome.elsewhere or outcome.interrupted:
            tracker.end(parent, outcome.parent_status)
    except Exception as err:  # noqa: BLE001
        killed = []
        print(f"warning: could not update MLflow at {mask(study.tracking)}: {mask(err)}", file=sys.stderr)
    if killed:
        print(f"marked {len(killed)} MLflow run(s) left RUNNING as KILLED")


def verdict(outcome: Outcome) -> int | None:
    """The exit code of a study that is not complete here, said on the console; None when it is complete."""
    if outcome.interrupted:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    if outcome.elsewhere and outcome.complete + outcome.elsewhere == outcome.n_cells:
        print(
            f"{outcome.elsewhere} cell(s) are still running in other workers of this study; the last one to "
            "finish renders the report"
        )
        return EXIT_OK
    if outcome.trials_complete and outcome.untracked:  # the report would miss cells: not called complete
        print("\n".join(outcome.untracked), file=sys.stderr)
        return EXIT_FAILED
    if not outcome.is_complete:
        print(
            f"{outcome.n_cells - outcome.complete} cell(s) not complete; run the same command again to retry them",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return None
