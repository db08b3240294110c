"""`python -m ablations.run STUDY.yaml`: validate, plan cells, run them (resumable, parallel), summarise, report."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ablations.startup import EXIT_INTERRUPTED, quiet_start_up

if __name__ == "__main__":
    quiet_start_up()  # a Ctrl-C while the imports below load (seconds) leaves quietly: nothing is written yet

from ablations.cells import Cell, enumerate_cells, objective_problems
from ablations.cellset import cells_tags
from ablations.claims import open_claim_store
from ablations.database import is_sql_url
from ablations.explain import explain, schema_json
from ablations.masking import mask
from ablations.study import StudyConfig, load_study
from ablations.summary import completed_run_ids, format_summary, summary_rows
from ablations.tracking import Tracker, check_tracking
from ablations.validate import check_environment, static_problems, tune_problems
from avtca.config.base import ConfigError
from avtca.data.protocols import n_folds_of

# Optuna and what needs it (objective, integrity, launch, progress, resync) and the report load inside the
# functions that use them: --explain, --schema and invalid files answer without importing them
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m ablations.run", description=__doc__)
    p.add_argument("study", nargs="?", help="study file (studies/*.yaml)")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a study key, e.g. --set budget.epochs=2 --set seeds=[0,1]",
    )
    p.add_argument("--data-root", help="dataset directory (dataset.root)")
    p.add_argument("--n-jobs", type=int, help="parallel workers (resources.n_jobs)")
    p.add_argument("--storage", help="Optuna storage URL or journal file (storage)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (tracking_uri)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the cells, write nothing")
    p.add_argument(
        "--pilot",
        metavar="REPORT_DIR",
        help="with --dry-run: print the design's power from a pilot "
        "study's exported runs.csv (e.g. reports/quickstart)",
    )
    p.add_argument("--launcher", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", help="dask scheduler address (tcp://host:8786); default a LocalCluster")
    p.add_argument("--no-report", action="store_true", help="do not render the report at the end")
    p.add_argument(
        "--resync-tracking",
        action="store_true",
        help="create the MLflow runs of completed trials whose logging failed or whose run is gone, then exit",
    )
    p.add_argument(
        "--repair-storage",
        action="store_true",
        help="repair a damaged storage (journal cut-off record, lost trials) so the affected cells run again",
    )
    p.add_argument("--explain", action="store_true", help="list every study-file key and exit")
    p.add_argument("--schema", action="store_true", help="print the study file's JSON schema and exit")
    return p


def plan(study: StudyConfig, cells: list[Cell]) -> dict[str, str]:
    """Each cell's current state (pending / RUNNING / COMPLETE / FAILED), read without writing anything."""
    states: dict[str, str] = {c.cell_id: "pending" for c in cells}
    if is_sql_url(study.storage_url):
        from ablations.integrity import sql_plan_states

        return {**states, **sql_plan_states(study, cells)}  # read-only: opening the claim store would create it
    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    stale = set(store.stale())
    for cid, st in store.status().items():
        if cid in states:
            states[cid] = "stale" if cid in stale else st.state
    return states


def print_plan(study: StudyConfig, cells: list[Cell], states: dict[str, str], out: Any = None) -> None:
    """The table of cells a run would execute."""
    out = out or sys.stdout
    print(
        f"study {study.name}: {len(cells)} cells, storage {mask(study.storage_url)}, tracking {mask(study.tracking)}",
        file=out,
    )
    width = max((len(c.variant) for c in cells), default=7)
    print(f"  {'variant':<{width}}  seed  fold  cell_id           state", file=out)
    for c in cells:
        fold = "all" if c.fold < 0 else str(c.fold)
        print(f"  {c.variant:<{width}}  {c.seed:>4}  {fold:>4}  {c.cell_id}  {states[c.cell_id]}", file=out)
    todo = sum(1 for s in states.values() if not s.startswith("COMPLETE"))
    print(
        f"{todo} to run, {len(cells) - todo} already complete ({study.budget.trials_per_cell} trial(s) per cell)",
        file=out,
    )


def prepare_optuna(study: StudyConfig, cells: list[Cell], study_file: str | None = None) -> None:
    """Create the storage and every Optuna study once, before any worker starts (schema-creation race)."""
    import optuna

    from ablations.objective import annotate_study, open_storage, optuna_study_name

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(study.storage_url)
    for name in sorted({optuna_study_name(study, c) for c in cells}):
        ostudy = optuna.create_study(
            study_name=name, storage=storage, direction=study.objective.direction, load_if_exists=True
        )
        annotate_study(ostudy, study, study_file)


def execute(study: StudyConfig, cells: list[Cell], states: dict[str, str], args: argparse.Namespace) -> int:
    """Run the study: prepare storage and tracking once, launch workers, clean up, summarise, report."""
    from ablations.integrity import journal_path
    from ablations.launch import LAUNCHERS, WorkerSpec, worker_fn
    from ablations.progress import StudyProgress

    previous = _sigint(signal.SIG_IGN)  # preparing storage and tracking is not interruptible
    source = {"mlflow.source.name": str(args.study), "mlflow.source.type": "LOCAL"}  # the UI's Source column
    journal = journal_path(study)
    new_journal = journal is not None and not journal.exists()
    try:
        prepare_optuna(study, cells, str(args.study))
        tracker = Tracker(study.tracking, study.name)
        tracker.describe_experiment(study.description, {"study_file": str(args.study)})
        parent = tracker.parent_run(
            {
                "study": study.name,
                "dataset": study.dataset.name,
                "preset": study.preset,
                "reference": study.reference_label,
                "n_cells": len(cells),
                **source,
                **cells_tags(c.cell_id for c in cells),
                **({"mlflow.note.content": study.description} if study.description else {}),
            },
            {"study_file": str(args.study), "n_cells": len(cells), "seeds": study.seeds},
        )
    except Exception as err:  # noqa: BLE001 - storage/tracking failures before any trial: invalid setup
        if new_journal:
            journal.unlink(missing_ok=True)  # exit 2 leaves nothing behind: the journal held no trial yet
        print(f"error: cannot prepare the study: {mask(err)}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        _sigint(previous)
    n_workers = study.resources.n_jobs
    deadline = time.time() + study.budget.timeout_s if study.budget.timeout_s else None
    todo = tuple(c for c in cells if states[c.cell_id] != "COMPLETE")
    # the live lines of StudyProgress replace the single worker's epoch bar
    spec = WorkerSpec(study, todo, parent, n_workers, deadline, show_epochs=False, tags=source)
    print(
        f"study {study.name}: {len(todo)} of {len(cells)} cells to run on {n_workers} worker(s) "
        f"[{args.launcher}]; storage {mask(study.storage_url)}"
    )
    launcher_kw = {"scheduler": args.scheduler} if args.launcher == "dask" else {}
    interrupted = io_error = False
    try:
        with StudyProgress(study, cells, n_workers):
            summaries = LAUNCHERS[args.launcher](worker_fn(spec), n_workers, **launcher_kw)
    except KeyboardInterrupt:
        interrupted, summaries = True, []
    except OSError as err:  # disk full or an unwritable claim folder: stop like an interruption, say why
        print(f"error: {mask(err)}; free space or fix the folder, then run the same command again", file=sys.stderr)
        interrupted = io_error = True
        summaries = []
    previous = _sigint(signal.SIG_IGN)  # a second Ctrl-C must not leave the cleanup half done
    try:
        code = _finish(study, cells, args, tracker, parent, interrupted, summaries)
        return EXIT_FAILED if io_error else code
    finally:
        _sigint(previous)


def _sigint(handler: Any) -> Any:
    """Install a SIGINT handler, the same for SIGTERM (main thread only); returns the previous SIGINT one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    signal.signal(signal.SIGTERM, handler)  # a scheduler's SIGTERM is handled like Ctrl-C
    return signal.signal(signal.SIGINT, handler)


def cli() -> int:
    """`python -m ablations.run`: SIGTERM handled like Ctrl-C; Ctrl-C anywhere ends with a message, no traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted: completed cells are kept; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED


def _finish(
    study: StudyConfig,
    cells: list[Cell],
    args: argparse.Namespace,
    tracker: Any,
    parent: str,
    interrupted: bool,
    summaries: list[Any],
) -> int:
    """After the workers: end stale runs and the parent run, print the summary, render the report."""
    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    final = store.status()
    complete = [c for c in cells if getattr(final.get(c.cell_id), "state", None) == "COMPLETE"]
    stale = set(store.stale())
    live = {cid for cid, st in final.items() if st.state == "RUNNING" and cid not in stale}
    elsewhere = [c for c in cells if c.cell_id in live]  # owned by live workers of other commands
    untracked: list[str] = []
    if len(complete) == len(cells) and not interrupted:  # complete in Optuna; MLflow must hold every run too
        from ablations.integrity import check_tracked

        untracked = check_tracked(study, cells, tracker, str(args.study))
    try:
        # runs of dead/interrupted workers never stay RUNNING; those of completed trials end FINISHED
        killed = tracker.kill_running(keep=live, finished=completed_run_ids(study, cells))
        if not elsewhere or interrupted:
            status = (
                "FINISHED" if len(complete) == len(cells) and not untracked else ("KILLED" if interrupted else "FAILED")
            )
            tracker.end(parent, status)
    except Exception as err:  # noqa: BLE001
        killed = []
        print(f"warning: could not update MLflow at {mask(study.tracking)}: {mask(err)}", file=sys.stderr)
    if killed:
        print(f"marked {len(killed)} MLflow run(s) left RUNNING as KILLED")
    for s in summaries:
        for cid, reason in getattr(s, "failed", {}).items():
            print(f"failed cell {cid}: {reason}", file=sys.stderr)
    print(format_summary(study, summary_rows(study, cells)))
    if interrupted or len(complete) < len(cells):
        print(tracker.ui_hint(args.study))  # partial results are browsable too
    if interrupted:
        print("interrupted: completed cells are kept; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if elsewhere and len(complete) + len(elsewhere) == len(cells):
        print(
            f"{len(elsewhere)} cell(s) are still running in other workers of this study; the last one to "
            "finish renders the report"
        )
        return EXIT_OK
    if len(complete) < len(cells):
        print(
            f"{len(cells) - len(complete)} cell(s) not complete; run the same command again to retry them",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if untracked:
        print("\n".join(untracked), file=sys.stderr)
        return EXIT_FAILED
    if study.report.kind == "render" and not args.no_report:
        folder = render_report(study)
        try:
            n = tracker.log_answer(parent, folder, args.study)  # the parent run holds the study's answer
            if folder is not None:
                print(f"MLflow parent run '{study.name}': {n} summary metrics, the report and the study file")
        except Exception as err:  # noqa: BLE001 - the report is on disk; only its copy in MLflow is missing
            print(f"warning: could not log the report to MLflow: {mask(err)}", file=sys.stderr)
    print(tracker.ui_hint(args.study))
    return EXIT_OK


def render_report(study: StudyConfig) -> Path | None:
    """Render the study's report with ablations.report (returns its folder); a failure there does not fail the
    study."""
    try:
        from ablations.report.render import render
    except ImportError as err:
        print(f"report: ablations.report is not available ({err}); skipped")
        return None
    try:
        path = render(study.name, out=study.report.out, tracking_uri=study.tracking)
    except Exception as err:  # noqa: BLE001 - the trials are safe; only the rendering failed
        print(
            f"warning: report rendering failed: {type(err).__name__}: {mask(err)}; retry with "
            f"python -m ablations.report {study.name} --tracking-uri {mask(study.tracking)}",
            file=sys.stderr,
        )
        return None
    print(f"report: {path}")
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 done, 1 study failed, 2 invalid input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    if args.explain:
        print("\n".join(explain()))
        return EXIT_OK
    if args.schema:
        print(schema_json())
        return EXIT_OK
    if not args.study:
        print("error: give a study file (e.g. studies/quickstart.yaml), or --explain / --schema", file=sys.stderr)
        return EXIT_INVALID
    try:
        study = load_study(
            args.study,
            args.sets,
            **{
                "dataset.root": args.data_root,
                "resources.n_jobs": args.n_jobs,
                "storage": args.storage,
                "tracking_uri": args.tracking_uri,
            },
        )
        cells = validated_cells(study, args)
        states = plan(study, cells)
    except ConfigError as err:
        print(f"error: {mask(err)}", file=sys.stderr)
        return EXIT_INVALID
    if args.dry_run:
        from ablations.integrity import with_tracking_states

        print_plan(study, cells, with_tracking_states(study, cells, states))
        if args.pilot:
            return _pilot(args.pilot, cells, study)
        return EXIT_OK
    if args.pilot:
        print("error: --pilot only goes with --dry-run (it estimates power, it does not run anything)", file=sys.stderr)
        return EXIT_INVALID
    if args.resync_tracking:
        return resync(study, cells)
    return execute(study, cells, states, args)


def _pilot(pilot: str, cells: list[Cell], study: StudyConfig) -> int:
    """--dry-run --pilot: the power of this study's design, estimated from a pilot's export (docs/statistics.md)."""
    from ablations.report.load import ReportInputError
    from ablations.report.pilot import pilot_estimate

    variants = len({c.variant for c in cells}) - 1
    try:
        print(pilot_estimate(pilot, len({c.fold for c in cells}), len({c.seed for c in cells}), variants,
                             n_folds_of(study.dataset.protocol)))  # fmt: skip
    except ReportInputError as err:
        print(f"error: --pilot: {err}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def validated_cells(study: StudyConfig, args: argparse.Namespace) -> list[Cell]:
    """The study's cells once everything knowable before the first claim checks out; else ConfigError (exit 2)."""
    from ablations.integrity import check_storage, repair_storage

    for check in (static_problems, check_environment, objective_problems):
        problems = check(study)
        if problems:
            raise ConfigError(problems, args.study)
    cells = enumerate_cells(study, args.study)
    problems = tune_problems(study, cells)
    if not problems and args.repair_storage and not args.dry_run:
        try:
            for line in repair_storage(study, cells):
                print(f"repaired: {line}")
        except OSError as err:
            raise ConfigError([f"storage: {err}"], args.study) from None
    problems = problems or check_storage(study, cells)
    if problems:
        raise ConfigError(problems, args.study)
    return cells


def resync(study: StudyConfig, cells: list[Cell]) -> int:
    """`--resync-tracking`: recreate missing MLflow runs from the Optuna storage (the source of truth)."""
    from ablations.resync import resync_tracking

    try:
        check_tracking(study.tracking)
        tracker = Tracker(study.tracking, study.name)
        parent = tracker.parent_run(
            {
                "study": study.name,
                "dataset": study.dataset.name,
                "preset": study.preset,
                "reference": study.reference_label,
                "n_cells": len(cells),
            }
        )
        created = resync_tracking(study, cells, tracker, parent)
        # parent_run() reopened the study's run; it ends as the study stands
        final = open_claim_store(study.storage_url, study.name, study.resources.grace_s).status()
        complete = all(getattr(final.get(c.cell_id), "state", None) == "COMPLETE" for c in cells)
        tracker.end(parent, "FINISHED" if complete else "FAILED")
    except Exception as err:  # noqa: BLE001 - storage or tracking unusable: nothing was changed
        print(f"error: cannot re-sync tracking: {mask(err)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"re-synced {len(created)} run(s) into MLflow at {mask(study.tracking)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(cli())
