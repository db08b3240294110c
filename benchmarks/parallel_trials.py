"""Parallel trials: trials per hour of the same study with 1 vs N local workers, side by side.

Each worker is a joblib/loky process (one worker runs in this process) that claims cells through the
file claim store, exactly as `python -m ablations.run --n-jobs N` does. Torch threads are set per worker
by the runner: cores / N each (`resources.threads_per_job` overrides); one worker keeps torch's default.
MLflow tracking is off here (benchmarks.tracking_overhead measures it) unless --tracking is given.

    python -m benchmarks.parallel_trials                  # 1 vs 2 workers on CPU
    python -m benchmarks.parallel_trials --workers 1,2,4 --cells 8
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from benchmarks._common import (
    apply_threads,
    base_parser,
    block,
    command_line,
    emit,
    fmt,
    interleaved,
    pick_device,
    positive,
    ratio,
    table,
)
from benchmarks._study import check_failures, make_study, prepare_data, run_study, tiny_data
from benchmarks.tracking_overhead import VARIANTS


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(repeats=2)
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts; the first is the baseline")
    p.add_argument("--cells", type=int, default=4, help="cells (trials) per study: variants x seeds")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads-per-job", type=int, default=None, help="torch threads per worker (default cores/N)")
    p.add_argument("--tracking", action="store_true", help="log to MLflow (SQLite in the work dir) as well")
    p.add_argument("--actors", type=int, default=6, help="synthetic actors (8 clips each)")
    p.add_argument("--workdir", default=None, help="where storage and the data cache go (default: temp)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    positive(args, "repeats", "cells", "epochs", "threads_per_job")
    apply_threads(args.threads)
    device = pick_device(args.device)
    try:
        counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        raise SystemExit(f"error: --workers: expected comma-separated integers, got '{args.workers}'") from None
    if not counts or min(counts) < 1:
        raise SystemExit(f"error: --workers: worker counts must be >= 1, got '{args.workers}'")
    # cells = variants x seeds; as many variants as there are, then seeds
    n_var = min(len(VARIANTS), args.cells)
    seeds = -(-args.cells // n_var)
    variants = {n: VARIANTS[n] for n in list(VARIANTS)[:n_var]}
    with contextlib.ExitStack() as stack:
        workdir = Path(args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-parallel-")))
        serial = iter(range(10**6))

        def study(n: int):
            return make_study(f"par-{n}w-{next(serial)}", workdir, variants=variants, seeds=list(range(seeds)),
                              epochs=args.epochs, data=tiny_data(args.actors), n_jobs=n,
                              threads_per_job=args.threads_per_job, device=device.type)  # fmt: skip

        prepare_data(study(1), progress=not args.no_progress)

        def case(n: int):
            def run() -> dict:
                result = run_study(study(n), n_workers=n, tracking=args.tracking)
                check_failures(result, f"{n} worker(s)")
                return {"trials": float(result.completed), "worker_s": result.seconds}

            return run

        cases = {f"{n} worker{'s' if n > 1 else ''}": case(n) for n in counts}
        samples = interleaved(cases, args.repeats, args.warmup, progress=not args.no_progress)
    rate = {}
    for name, s in samples.items():
        rate[name] = s.extra_median("trials") / s.extra_median("worker_s") * 3600
    base = rate[next(iter(rate))]
    rows = [[name, int(s.extra_median("trials")), fmt(s.extra_median("worker_s"), 1), fmt(rate[name], 0),
             ratio(rate[name], base)] for name, s in samples.items()]  # fmt: skip
    notes = [
        f"study: {n_var} variant(s) x {seeds} seed(s) of {args.epochs} epochs on tiny synthetic RAVDESS-format "
        f"data; tracking {'on' if args.tracking else 'off'}; threads per worker "
        f"{args.threads_per_job or 'cores / N (the runner default)'}",
        f"median of {args.repeats} interleaved repeats after {args.warmup} warm-up round(s); "
        "'study s' is the workers' wall time, including worker start-up",
    ]
    header = ["workers", "trials", "study s", "trials/hour", "vs first"]
    command = command_line("benchmarks.parallel_trials", argv)
    emit(block("Parallel trials", table(header, rows), device, notes, command), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
