"""Pruning: the same TPE tuning study with and without the pruner: epochs spent and best validation metric.

One cell (the full model, seed 0) tuned for `--trials` trials over the learning rate and weight decay,
through the runner's worker, on synthetic RAVDESS-format data. The pruner is the study file's
`pruner:` option (Hyperband watching val/loss by default; `--pruner median` for the other one). Each sampler seed runs
both studies back to back (order alternating), so both see the same machine load.

Targets: >= 40% fewer epochs with the pruner, best validation metric within 1 point.

    python -m benchmarks.pruning                          # CPU, one sampler seed, a few minutes
    python -m benchmarks.pruning --sampler-seeds 0,1,2 --trials 20 --epochs 8
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks._common import (
    apply_threads,
    base_parser,
    block,
    command_line,
    emit,
    fmt,
    pick_device,
    positive,
    table,
)
from benchmarks._study import TINY_DATA, check_failures, make_study, prepare_data, run_study, tiny_data

TUNE = {
    "train.lr": {"kind": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "train.weight_decay": {"kind": "float", "low": 1e-5, "high": 1e-1, "log": True},
}
PRUNERS = {
    # prune from epoch 1 on, once 2 trials have finished: the most a short study can save
    "median": {"kind": "median", "n_startup_trials": 2, "n_warmup_steps": 0},
    "hyperband": {"kind": "hyperband", "min_resource": 1, "reduction_factor": 3},
}


def epochs_spent(trial, epochs: int) -> int:
    """Epochs a trial trained: its last reported epoch, or all of them for a complete unreported trial."""
    from optuna.trial import TrialState

    if trial.intermediate_values:
        return max(trial.intermediate_values)
    return epochs if trial.state == TrialState.COMPLETE else 0


def best_accuracy(trials: list, minimize: bool) -> float | None:
    """val/accuracy of the trial the study would pick (the runner's own choice: best among complete trials)."""
    from ablations.storage.optuna import best_trial, trial_metrics

    best = best_trial(trials, "minimize" if minimize else "maximize")
    if best is None:
        return None
    return trial_metrics(best).get("val/accuracy", best.value if not minimize else None)


def compare(r: dict, b: dict) -> tuple[float | None, float | None]:
    """(fraction of epochs saved, best-metric difference in points) of run `r` against the unpruned run `b`."""
    saved = 1 - r["epochs"] / b["epochs"] if b["epochs"] else None
    diff = (r["best"] - b["best"]) * 100 if r["best"] is not None and b["best"] is not None else None
    return saved, diff


def table_rows(results: dict[str, list[dict]], seeds: list[int], trials: int) -> list[list]:
    """One row per (study, sampler seed); with several seeds, a median row per study."""
    base = results["no pruner"]
    rows = []
    for label, runs in results.items():
        first = label == "no pruner"
        for seed, r, b in zip(seeds, runs, base):
            saved, diff = compare(r, b)
            rows.append([label, seed, trials, r["pruned"], r["epochs"],
                         "-" if first or saved is None else f"{saved:.0%}", fmt(r["best"], 3),
                         "-" if first or diff is None else f"{diff:+.1f}", fmt(r["seconds"], 0)])  # fmt: skip
    if len(seeds) > 1:
        for label, runs in results.items():
            pairs = [compare(r, b) for r, b in zip(runs, base)]
            saved = [p[0] for p in pairs if p[0] is not None]
            diffs = [p[1] for p in pairs if p[1] is not None]
            first = label == "no pruner"
            rows.append([f"**{label} (median)**", "all", trials, "",
                         fmt(statistics.median(r["epochs"] for r in runs), 0),
                         "-" if first or not saved else f"{statistics.median(saved):.0%}", "",
                         "-" if first or not diffs else f"{statistics.median(diffs):+.1f}", ""])  # fmt: skip
    return rows


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--pruner", choices=sorted(PRUNERS), default="hyperband")
    p.add_argument("--trials", type=int, default=12, help="tuning trials per study")
    p.add_argument("--epochs", type=int, default=5, help="epochs of an unpruned trial")
    p.add_argument("--startup", type=int, default=3, help="TPE start-up (random) trials")
    p.add_argument(
        "--objective",
        default="val/loss",
        help="the study's objective.metric, which the pruner watches too (val/loss: no ties on small "
        "validation sets); the table always shows the chosen trial's val/accuracy",
    )
    p.add_argument("--sampler-seeds", default="0", help="comma-separated TPE seeds; one pair of studies each")
    p.add_argument("--actors", type=int, default=12, help="synthetic actors (validation = 2 of 12)")
    p.add_argument("--statements", type=int, default=1, choices=[1, 2], help="synthetic statements per emotion")
    p.add_argument("--workdir", default=None, help="where storage and the data cache go (default: temp)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    positive(args, "trials", "epochs", "actors")
    apply_threads(args.threads)
    device = pick_device(args.device)
    try:
        seeds = [int(s) for s in args.sampler_seeds.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(
            f"error: --sampler-seeds: expected comma-separated integers, got '{args.sampler_seeds}'"
        ) from None
    if not seeds:
        raise SystemExit("error: --sampler-seeds: give at least one seed, e.g. 0 or 0,1,2")
    data = tiny_data(args.actors, args.statements)
    minimize = args.objective.endswith(("loss", "mae"))
    results: dict[str, list[dict]] = {"no pruner": [], f"{args.pruner} pruner": []}
    with contextlib.ExitStack() as stack:
        workdir = Path(args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pruning-")))

        def study(label: str, seed: int):
            pruner = {"kind": "off"} if label == "no pruner" else PRUNERS[args.pruner]
            extra = {
                "tune": TUNE,
                "budget": {"trials_per_cell": args.trials},
                "sampler": {"kind": "tpe", "seed": seed, "n_startup_trials": args.startup},
                "pruner": pruner,
                "objective": {"metric": args.objective, "direction": "minimize" if minimize else "maximize"},
            }
            name = f"prune-{label.split()[0]}-s{seed}"
            return make_study(name, workdir, epochs=args.epochs, data=data, extra=extra, device=device.type)

        prepare_data(study("no pruner", 0), progress=not args.no_progress)
        bar = tqdm(total=2 * len(seeds), desc="studies", unit="study", disable=args.no_progress, leave=False)
        for i, seed in enumerate(seeds):
            labels = list(results) if i % 2 == 0 else list(results)[::-1]
            for label in labels:
                bar.set_postfix_str(f"{label}, sampler seed {seed}")
                run = run_study(study(label, seed))
                bar.update(1)
                check_failures(run, label)
                results[label].append(
                    {
                        "epochs": sum(epochs_spent(t, args.epochs) for t in run.trials),
                        "pruned": sum(t.state.name == "PRUNED" for t in run.trials),
                        "best": best_accuracy(run.trials, minimize),
                        "seconds": run.seconds,
                    }
                )
        bar.close()
    rows = table_rows(results, seeds, args.trials)
    header = [
        "study",
        "sampler seed",
        "trials",
        "pruned",
        "epochs spent",
        "epochs saved",
        "chosen val/accuracy",
        "best vs no pruner (points)",
        "seconds",
    ]
    notes = [
        f"one cell (full AVT-CA, seed 0), TPE ({args.startup} start-up trials) over {', '.join(TUNE)}, "
        f"objective {args.objective} (also what the pruner watches); "
        f"{args.epochs} epochs per unpruned trial; pruner {PRUNERS[args.pruner]}",
        f"data: synthetic RAVDESS-format, {args.actors} actors x 8 emotions x {args.statements} statement(s), "
        f"{TINY_DATA['frames']} frames of {TINY_DATA['image_size']}px, actor6fold fold 0",
        "targets: >= 40% fewer epochs with the pruner, best validation metric within 1 point; seconds of the "
        "first study in the run include one-time start-up (imports, first model build)",
    ]
    command = command_line("benchmarks.pruning", argv)
    emit(block(f"Pruning ({args.pruner} pruner vs none)", table(header, rows), device, notes, command), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
