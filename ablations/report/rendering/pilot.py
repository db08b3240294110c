"""`python -m ablations.run STUDY --dry-run --pilot reports/<pilot> [--margin X]`: the power of a planned design, and
which design reaches a margin, from a pilot."""

from __future__ import annotations

import math
from pathlib import Path

from ablations.report.compare.comparison import compare_all, resolve_reference, variant_order
from ablations.report.compare.settings import Settings, margin_stored, primary_metric
from ablations.report.read.columns import METRICS
from ablations.report.read.load import group_task, load_runs
from ablations.report.rendering.power import replicates, replication
from ablations.report.statistics.designs import POWER, REPEATS, DesignOption, cheapest, design_options
from ablations.report.statistics.margin import pooled
from ablations.report.statistics.units import cell_differences


def pilot_estimate(pilot: str | Path, folds: int, seeds: int, variants: int, max_folds: int) -> str:
    """What the planned design (folds x seeds, `variants` compared with the reference) detects, and the
    replication that detects 2 and 5 points, from the variance components of the pilot's main metric."""
    path = Path(pilot)
    path = path / "runs.csv" if path.is_dir() else path
    runs = load_runs(path)
    lines = [f"power estimate from the pilot {path} for {replicates(folds, seeds)} ({variants} comparisons):"]
    for t in compare_all(runs, where=str(path)):
        c = t.components
        if c is None:
            continue
        t.folds, t.seeds, t.max_folds = folds, seeds, max(max_folds, folds)
        head = f"- {t.dataset} ({t.protocol}), pilot {replicates(c.folds, c.seeds)}: "
        lines.append(head + replication(t, max(1, variants)))
    return "\n".join(lines)


def _points(value: float, percent: bool) -> str:
    return f"{100 * value:.1f} points" if percent else f"{value:.3g}"


def margin_plan(
    pilot: str | Path,
    settings: Settings,
    planned: tuple[int, int, int],
    variants: int,
    protocol_folds: int,
    can_repeat: bool,
    seeding: str = "per_fold",
) -> str:
    """Which design (folds x seeds x repeats, per-fold seeding) reaches the margin the report would use (`settings`:
    the study's or --margin, in the primary metric's units; else the report's default), and its cost in cells, from
    the pooled variance of the pilot's primary-metric differences (docs/statistics.md, "Margins")."""
    path = Path(pilot)
    path = path / "runs.csv" if path.is_dir() else path
    runs = load_runs(path)
    folds, seeds, repeats = planned
    family = max(1, variants - 1)
    lines = []
    for (dataset, protocol), group in runs.groupby(["dataset", "protocol"], sort=True):
        reference = resolve_reference(group, None, str(path))
        metric = primary_metric(settings, group_task(group), str(path))
        column, percent = f"test/{metric}", METRICS[metric].percent
        margin = margin_stored(settings, metric)  # NaN: none declared (0)
        others = [v for v in variant_order(group, reference) if v != reference]
        if reference is None or not others:
            lines.append(f"- {dataset} ({protocol}): the pilot has no reference and other variant to compare")
            continue
        pool = pooled(cell_differences(group, v, reference, column, str(path)) for v in others)
        options = design_options(pool, folds, protocol_folds, family, variants,
                                 repeats=REPEATS if can_repeat else (1,))  # fmt: skip
        own = next(o for o in design_options(pool, folds, protocol_folds, family, variants, (seeds,), (repeats,)))
        lines.append(f"- {dataset} ({protocol}), {metric}: sd of a seed-averaged unit difference "
                     f"{_points(pool.sd, percent)} (pooled over {len(others)} comparison(s), {pool.df} df; pilot "
                     f"{pool.units} units x {pool.seeds} seed(s)); margins reached in {POWER:.0%} of null "
                     f"comparisons, corrected t, Bonferroni over {family}")  # fmt: skip
        lines.append(f"  this design ({own.label()}, {own.cells} cells): margin {_range(own, percent)}")
        if own.reach.note:
            lines.append(f"  ({own.reach.note})")
        if math.isnan(margin):
            lines.append("  no margin (report.margin 0): the margins other designs reach:")
            shown = options
        else:
            verdict = {"yes": "reaches", "maybe": "may reach", "no": "does not reach"}[own.reaches(margin)]
            source = "the report's default" if settings.margin is None else "declared"
            lines.append(f"  margin {_points(margin, percent)} ({source}): this design {verdict} it")
            best = cheapest(options, margin)
            maybe = cheapest(options, margin, surely=False)
            if best is not None:
                lines.append(f"  cheapest design that reaches it: {best.label()} ({best.cells} cells)")
            elif maybe is not None:
                lines.append(f"  no design up to {options[-1].label()} surely reaches it")
            if maybe is not None and maybe is not best and (best is None or maybe.cells < best.cells):
                lines.append(f"  cheapest that may (if enough of the variance is seed noise): {maybe.label()} "
                             f"({maybe.cells} cells)")  # fmt: skip
            if best is None and maybe is None:
                lines.append(f"  none of these designs reaches it (up to {options[-1].label()}); declare a larger "
                             "margin or reduce the noise")  # fmt: skip
            shown = [o for o in options if o.reaches(margin) != "no"][:6] or options[-3:]
        lines += [f"    {o.label():<28} {o.cells:>6} cells  margin {_range(o, percent)}" for o in shown]
    lines.append("every design with independent initial weights per fold (train.seeding: per_fold)" + (
        "; this study's train.seeding is shared: all folds of a seed start from the same weights, a term the "
        "corrected t cannot see, so its verdicts need not hold their level (docs/statistics.md)"
        if seeding == "shared" else ", as this study runs"))  # fmt: skip
    return "\n".join([f"designs for a margin, from the pilot {path}:", *lines])


def _range(option: DesignOption, percent: bool) -> str:
    low, high = option.reach.low, option.reach.high
    if not math.isfinite(high):
        return "unknown (too few units)"
    if math.isclose(low, high):
        return _points(high, percent)
    return f"{_points(low, percent)} .. {_points(high, percent)}"
