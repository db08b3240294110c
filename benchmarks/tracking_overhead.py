"""Tracking overhead: the same short study with and without MLflow logging, same seeds, side by side.

Two measurements in one run:
  A. wall time of the study's workers with tracking (a parent run, a child run per trial, per-epoch
     log_batch, final metrics, tags, artifacts) vs without (the runner's worker with no parent run,
     which makes no MLflow call at all); interleaved repeats, median; overhead = with / without - 1.
  B. inside the tracked runs, the time spent in every Tracker call the worker makes (timed by wrapping
     ablations.tracking.Tracker's methods), as a share of the tracked trial's wall time. B is not
     disturbed by the machine's other load as much as A's small difference of two large numbers.

    python -m benchmarks.tracking_overhead                 # local SQLite tracking store, CPU
    python -m benchmarks.tracking_overhead --tracking-uri http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

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
    table,
)
from benchmarks._study import check_failures, make_study, prepare_data, run_study, tiny_data


def public_methods(cls: type) -> dict[str, Any]:
    """Public plain methods defined on `cls` (not properties, not dunder/private)."""
    return {n: f for n, f in vars(cls).items() if not n.startswith("_") and inspect.isfunction(f)}


class TrackerTimer:
    """Context manager: wraps Tracker's public methods so each outermost call's seconds are recorded in `calls`."""

    def __init__(self):
        self.calls: dict[str, list[float]] = defaultdict(list)
        self._saved: dict[str, Any] = {}
        self._depth = 0  # a method calling another public method counts once, as the outer call

    def _wrap(self, name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.calls[name].append(time.perf_counter() - start)

        return timed

    def __enter__(self) -> TrackerTimer:
        from ablations.tracking import Tracker

        self._saved = public_methods(Tracker)
        for name, fn in self._saved.items():
            setattr(Tracker, name, self._wrap(name, fn))
        return self

    def __exit__(self, *exc: Any) -> None:
        from ablations.tracking import Tracker

        for name, fn in self._saved.items():
            setattr(Tracker, name, fn)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--variants", type=int, default=2, help="variants of the study (full, no cross attention, ...)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per variant")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--tracking-uri", default=None, help="MLflow store (default: a SQLite file in the work dir)")
    p.add_argument("--actors", type=int, default=12, help="synthetic actors (8 clips each)")
    p.add_argument("--workdir", default=None, help="where storage, data cache and the MLflow store go (default: temp)")
    return p


VARIANTS = {
    "full": {},
    "no_cross_attention": {"model.cross_attention.kind": "off"},
    "shared_self": {"model.cross_attention.kind": "shared_self"},
    "late_fusion": {"model.fusion.kind": "lt"},
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    positive(args, "repeats", "variants", "seeds", "epochs")
    apply_threads(args.threads)
    device = pick_device(args.device)
    names = list(VARIANTS)[: max(1, min(args.variants, len(VARIANTS)))]
    with contextlib.ExitStack() as stack:
        workdir = Path(args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-tracking-")))
        counter = {"off": 0, "on": 0}

        def study(mode: str):
            counter[mode] += 1
            return make_study(f"track-{mode}-{counter[mode]}", workdir, variants={n: VARIANTS[n] for n in names},
                              seeds=list(range(args.seeds)), epochs=args.epochs, data=tiny_data(args.actors),
                              tracking_uri=args.tracking_uri, device=device.type)  # fmt: skip

        prepare_data(study("off"), progress=not args.no_progress)
        calls_per_run: list[dict[str, list[float]]] = []

        def without() -> dict:
            run = run_study(study("off"), tracking=False)
            check_failures(run, "without tracking")
            return {"trials": len(run.trials), "worker_s": run.seconds}

        def with_tracking() -> dict:
            timer = TrackerTimer()
            run = run_study(study("on"), tracking=True, around_workers=timer)
            calls = timer.calls
            check_failures(run, "with tracking")
            calls_per_run.append(dict(calls))
            spent = sum(sum(v) for v in calls.values())
            return {
                "trials": len(run.trials),
                "worker_s": run.seconds,
                "tracking_s": spent,
                "share": spent / run.seconds,
            }

        cases = {"without MLflow": without, "with MLflow": with_tracking}
        samples = interleaved(cases, args.repeats, args.warmup, progress=not args.no_progress)
    off, on = samples["without MLflow"], samples["with MLflow"]
    n_trials = off.extra_median("trials") or 1
    off_s, on_s = off.extra_median("worker_s"), on.extra_median("worker_s")
    overhead = on_s / off_s - 1
    share = on.extra_median("share")
    rows_a = [
        ["without MLflow", fmt(off_s, 1), fmt(off_s / n_trials, 2), "-"],
        ["with MLflow", fmt(on_s, 1), fmt(on_s / n_trials, 2), f"{overhead:+.1%}"],
    ]
    timed_runs = calls_per_run[-args.repeats :] if calls_per_run else []
    rows_b = []
    for name in sorted({n for c in timed_runs for n in c}):
        per_run = [sum(c.get(name, [])) for c in timed_runs]
        counts = [len(c.get(name, [])) for c in timed_runs]
        if any(counts):
            rows_b.append([f"`Tracker.{name}`", max(counts), fmt(sorted(per_run)[len(per_run) // 2], 3)])
    rows_b.append(["**all tracking calls**", "", f"{fmt(on.extra_median('tracking_s'), 3)} "
                   f"(**{share:.2%}** of the tracked study's wall time)"])  # fmt: skip
    uri = args.tracking_uri or "SQLite file store in the work dir"
    per_trial = (on.extra_median("tracking_s") or 0.0) / n_trials
    metric_calls = [x for c in timed_runs for x in c.get("log_metrics", [])]
    per_log = statistics.median(metric_calls) if metric_calls else 0.0
    summary = (f"C. tracking costs {per_trial:.3f} s per trial here ({per_log * 1000:.0f} ms per `log_metrics` "
               f"batch, one per epoch plus the final one; the rest per trial: run creation, tags, artifacts), so it "
               f"stays under 2% for trials longer than {per_trial / 0.02:.0f} s; this study's trials take "
               f"{on_s / n_trials:.1f} s.")  # fmt: skip
    body = "\n\n".join(
        [
            "A. study wall time with vs without tracking (same cells, seeds and data)\n\n"
            + table(["case", "study s", "s/trial", "overhead"], rows_a),
            "B. time inside Tracker calls during the tracked runs\n\n"
            + table(["call", "calls per study", "seconds per study"], rows_b),
            summary,
        ]
    )
    notes = [
        f"study: {len(names)} variant(s) x {args.seeds} seed(s) = {int(n_trials)} trials of {args.epochs} epochs "
        f"on tiny synthetic RAVDESS-format data, 1 worker; tracking to {uri}",
        f"median of {args.repeats} interleaved repeats after {args.warmup} warm-up round(s) "
        "(warm-up also prepares the data cache and the MLflow database)",
        "method: the runner's own worker (ablations.workers.loop.run_worker) with and without a parent run; 'study s' "
        "is the workers' wall time (storage set-up and the parent run are outside it); target: overhead < 2%",
    ]
    command = command_line("benchmarks.tracking_overhead", argv)
    emit(block("Tracking overhead (MLflow)", body, device, notes, command), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
