"""`python -m ablations.run STUDY.yaml`: validate, plan cells, run them (resumable, parallel), summarise, report."""

from __future__ import annotations

import argparse
import sys

from ablations import interrupts
from ablations.startup import EXIT_INTERRUPTED, quiet_start_up

if __name__ == "__main__":
    quiet_start_up()  # a Ctrl-C while the imports below load (seconds) leaves quietly: nothing is written yet

from ablations.masking import mask
from ablations.runner import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    RunOptions,
    dry_run,
    plan,
    resync_study,
    run_study,
    validated_cells,
)
from ablations.runner.finish import INTERRUPTED
from ablations.runner.status import study_status
from ablations.study.explain import explain, schema_json
from ablations.study.schema import load_study
from ablations.workers.launchers import LAUNCHERS
from avtca.config.base import ConfigError
from avtca.registry import RegistryError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_OK", "build_parser", "cli", "main"]


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
    p.add_argument("--pilot", metavar="REPORT_DIR", help="with --dry-run: print the design's power from a pilot "
                   "study's exported runs.csv (e.g. reports/quickstart)")  # fmt: skip
    p.add_argument("--margin", type=float, metavar="X", help="with --pilot: which design reaches this margin (the "
                   "main metric's units, 5 = 5 percentage points; default the study's report.margin, else the "
                   "report's default)")  # fmt: skip
    names = ", ".join(f"{x.name} ({x.help})" for x in LAUNCHERS.values())
    p.add_argument("--launcher", default="local", help=f"how the workers start: {names}")
    p.add_argument("--scheduler", help="dask scheduler address (tcp://host:8786); default a LocalCluster")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import a module first, in every worker too (repeatable; adds to `imports`)")  # fmt: skip
    for flag, text in SWITCHES:
        p.add_argument(flag, action="store_true", help=text)
    return p


# the flags without a value after --scheduler, in --help order
SWITCHES = (
    ("--no-report", "do not render the report at the end"),
    ("--resync-tracking", "create the MLflow runs of completed trials whose logging failed or run is gone, then exit"),
    ("--repair-storage", "repair a damaged storage (cut-off journal record, lost trials): affected cells run again"),
    ("--status", "print where the study stands (done / running where / failed / left, ETA) and exit"),
    ("--detach", "slurm: return once the array is submitted, printing its job id"),
    ("--cancel-on-interrupt", "slurm: Ctrl-C while following cancels the array (default: it keeps running)"),
    ("--explain", "list every study-file key and exit"),
    ("--schema", "print the study file's JSON schema and exit"),
)


def cli() -> int:
    """`python -m ablations.run`: SIGTERM handled like Ctrl-C; Ctrl-C anywhere ends with a message, no traceback."""
    interrupts.install()  # KeyboardInterrupt, and remembered: a lost one still stops the workers
    try:
        return main()
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED


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
        study = load_study(args.study, args.sets, args.imports, **study_overrides(args))
        if args.status:
            return study_status(study, args.study)
        launcher = LAUNCHERS[args.launcher]  # after the study's imports: a user's module may register one
        problems = launcher.problems(study, not args.dry_run)
        if problems:
            raise ConfigError(problems, args.study)
        cells = validated_cells(study, args.study, repair=args.repair_storage and not args.dry_run)
        states = plan(study, cells)
    except (ConfigError, RegistryError) as err:
        print(f"error: {mask(err)}", file=sys.stderr)
        return EXIT_INVALID
    if args.margin is not None and (not args.pilot or not args.margin >= 0):
        print("error: --margin goes with --dry-run --pilot, in the main metric's units (5 = 5 percentage points; "
              "0 = none)", file=sys.stderr)  # fmt: skip
        return EXIT_INVALID
    if args.dry_run:
        code = dry_run(study, cells, states, args.pilot, args.margin)
        if launcher.dry_run is not None:
            print(launcher.dry_run(study))  # e.g. the batch script --launcher slurm would submit
        return code
    if args.pilot:
        print("error: --pilot only goes with --dry-run (it estimates power, it does not run anything)", file=sys.stderr)
        return EXIT_INVALID
    if args.resync_tracking:
        return resync_study(study, cells)
    options = RunOptions(
        args.study, launcher.name, args.scheduler, not args.no_report, args.detach, args.cancel_on_interrupt
    )
    return run_study(study, cells, states, options)


def study_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The study keys the command's own flags set (None: not given, the study file's value stays)."""
    return {
        "dataset.root": args.data_root,
        "resources.n_jobs": args.n_jobs,
        "storage": args.storage,
        "tracking_uri": args.tracking_uri,
    }


if __name__ == "__main__":
    sys.exit(cli())
