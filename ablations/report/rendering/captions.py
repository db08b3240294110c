"""The sentences every table and figure of a comparison shares: data, design, unit, test, margin, verdict rule."""

from __future__ import annotations

import math

from ablations.report.compare.comparison import ComparisonTable, MetricCell
from ablations.report.compare.settings import ADJUST
from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.rendering.formats import fmt_delta, fmt_value


def group_title(t: ComparisonTable) -> str:
    """`RAVDESS (actor6fold)`."""
    return f"{dataset_label(t.dataset)} ({t.protocol})"


def protocol_text(protocol: str, subject_independent: bool) -> str:
    """`protocol `X` (subject-independent folds)` or `(random split, not subject-independent)`."""
    kind = "subject-independent folds" if subject_independent else "random split, not subject-independent"
    return f"protocol `{protocol}` ({kind})"


def data_text(t: ComparisonTable) -> str:
    """Where the numbers come from, said plainly when the data are generated."""
    if t.synthetic:
        return f"**synthetic data** (generated, `data.root: synthetic`; not {dataset_label(t.dataset)} recordings)"
    return f"{dataset_label(t.dataset)} recordings"


def plural(n: int, word: str) -> str:
    """`1 seed`, `6 folds`."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def design_text(t: ComparisonTable) -> str:
    """`6 folds × 1 seed`, or `3 repeats × 6 folds × 1 seed`."""
    parts = ([plural(t.repeats, "repeat")] if t.repeats > 1 else []) + [
        plural(t.folds, "fold"),
        plural(t.seeds, "seed"),
    ]
    return " × ".join(parts)


def unit_text(t: ComparisonTable) -> str:
    """What a unit is and how many: `n = 6 units (folds; the seeds of a fold averaged)`."""
    what = "folds of a repeat" if t.repeats > 1 else "folds"
    return f"n = {plural(t.units, 'unit')} ({what}: independent test sets; the seeds of a unit averaged first)"


def metric_unit(metric: str) -> str:
    """`points` for percent metrics, else empty."""
    return "points" if METRICS[metric].percent else ""


def margin_value(t: ComparisonTable, metric: str | None = None) -> str:
    """`±2.0 points`, `±0.020` (MAE), or `none`."""
    if math.isnan(t.margin):
        return "none"
    metric = metric or t.primary
    unit = metric_unit(metric)
    return f"±{fmt_value(t.margin, metric, 1)}" + (f" {unit}" if unit else "")


def margin_text(t: ComparisonTable) -> str:
    """The margin and where it comes from."""
    if math.isnan(t.margin):
        return "no margin declared (`--margin 0`): no comparison can read equivalent"
    where = "the default" if t.settings.margin is None else "declared"
    return f"margin {margin_value(t)} ({where}; `report.margin` in the study file or `--margin`)"


def level_text(t: ComparisonTable, metric: str | None = None) -> str:
    """The confidence level(s) of the intervals: `99.4%`, or a range under Holm."""
    cells = [r.cells[metric or t.primary] for r in t.rows if not r.is_reference]
    levels = sorted(
        {round(c.comparison.level * 100, 1) for c in cells if c.tested and not math.isnan(c.comparison.level)}
    )
    if not levels:
        return ""
    return f"{levels[0]:g}%" if len(levels) == 1 else f"{levels[0]:g}-{levels[-1]:g}%"


def test_text(t: ComparisonTable) -> str:
    """The test, its correction and the adjustment, e.g. `corrected t (Nadeau-Bengio, ρ = 0.25), Bonferroni over 8`."""
    s = t.settings
    adjust = f"{ADJUST[s.adjust]} over {plural(t.family, 'comparison')}"
    if s.test == "corrected":
        rho = f"ρ = n_test/n_train = {t.rho:.2f}" if t.rho >= 0 else "ρ unknown"
        name = "corrected t (Bouckaert-Frank, repeated k-fold" if t.repeats > 1 else "corrected t (Nadeau-Bengio"
        return f"{name}, {rho}), {adjust}"
    if s.test == "t":
        return f"plain paired t (assumes independent units: liberal), {adjust}"
    return f"exact Wilcoxon signed-rank test, {adjust}"


def short_test(t: ComparisonTable) -> str:
    """`corrected t, Bonferroni over 8`."""
    name = {"corrected": "corrected t", "t": "plain t", "wilcoxon": "Wilcoxon"}[t.settings.test]
    return f"{name}, {ADJUST[t.settings.adjust]} over {t.family}"


def comparison_caption(t: ComparisonTable, metric: str) -> str:
    """Dataset, data, design, unit, n, what mean ± sd and Δ are, the test, the margin and how verdicts are read."""
    spec = METRICS[metric]
    head = f"{dataset_label(t.dataset)}, {protocol_text(t.protocol, t.subject_independent)}, {data_text(t)}."
    stats = f" Test {spec.label}{spec.unit()}: mean ± sample sd over units, {design_text(t)}, {unit_text(t)}."
    if t.reference is None:
        return head + stats + " No variant is marked as the reference, so no differences or verdicts are shown."
    unit = metric_unit(metric) or "metric units"
    level = level_text(t, metric)
    if t.settings.test == "wilcoxon":
        delta = f" Δ: variant − `{t.reference}` ({unit}), mean over units; p: {test_text(t)}."
        rule = " Verdict: worse or better when the adjusted p is below 0.05, else inconclusive (no equivalence)."
    else:
        delta = (f" Δ: variant − `{t.reference}` ({unit}) with the {level + ' ' if level else ''}interval its verdict "
                 f"is read from: {test_text(t)}.")  # fmt: skip
        rule = (f" Verdict, {margin_text(t)}: equivalent when the interval lies within the margin, else worse or "
                "better when it excludes 0, else inconclusive.")  # fmt: skip
    return head + stats + delta + rule


def delta_text(c: MetricCell, metric: str, digits: int | None = None) -> str:
    """`−34.1 [−52.7, −15.5]`: the difference and the interval its verdict is read from (clipped to the range)."""
    if c.comparison is None:
        return ""
    k = c.comparison
    out = fmt_delta(k.delta, metric, digits)
    if not math.isnan(k.low):
        span = 1.0 if METRICS[metric].percent else (2.0 if metric == "corr" else math.inf)
        low, high = max(-span, k.low), min(span, k.high)
        out += f" [{fmt_delta(low, metric, digits)}, {fmt_delta(high, metric, digits)}]"
    return out
