"""The main table (table.md, .tex, .csv): per dataset and protocol, the primary metric of every variant, its
difference to the reference with the interval the verdict is read from, the verdict, the adjusted p and the cost."""

from __future__ import annotations

import math

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.settings import ADJUST
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import comparison_caption, delta_text, group_title, margin_value, plural
from ablations.report.rendering.formats import count_unit, fmt_number, fmt_p, fmt_value
from ablations.report.rendering.frames import summary_frame
from ablations.report.rendering.registry import ReportInputs, ReportTable, register_table
from ablations.report.rendering.table import Table

DIGITS = 1  # decimals of percent metrics here: six folds do not support a second one
VERDICT_ORDER = ("worse", "better", "equivalent", "inconclusive")
COSTS = {"n_params": "Params", "flops_per_clip": "FLOPs/clip", "latency_ms_per_clip": "Latency (ms/clip)"}
COUNTS = ("n_params", "flops_per_clip")  # shown in one unit per column (M, G), named in the header
# seconds per run and per epoch stay in summary.csv


def value_text(t: ComparisonTable, variant: str, metric: str, digits: int | None = DIGITS) -> str:
    """`75.3 ± 4.9`, the mean bold when it is the best of the column."""
    u = t.row(variant).cells[metric].units
    mean = fmt_value(u.mean, metric, digits)
    mean = f"**{mean}**" if t.row(variant).cells[metric].best else mean
    return mean + (f" ± {fmt_value(u.std, metric, digits)}" if u.n >= 2 else f" (n = {u.n})")


def verdict_lines(t: ComparisonTable, metric: str | None = None) -> list[str]:
    """One line per verdict on `metric` (default: the primary), naming the variants; then those without one."""
    metric = metric or t.primary
    if t.reference is None:
        return []
    by: dict[str, list[str]] = {}
    untested: dict[str, list[str]] = {}
    for r in t.rows:
        c = r.cells[metric]
        if r.is_reference:
            continue
        if c.tested:
            by.setdefault(c.verdict, []).append(f"`{r.variant}`")
        else:
            untested.setdefault(c.comparison.reason, []).append(f"`{r.variant}`")
    ref = f"`{t.reference}`"
    says = {"worse": f"**Worse** than {ref}", "better": f"**Better** than {ref}",
            "equivalent": f"**Equivalent** to {ref} within {margin_value(t, metric)}",
            "inconclusive": "**Inconclusive**"}  # fmt: skip
    lines = [f"{says[v]}: {', '.join(by[v])}." for v in VERDICT_ORDER if v in by]
    lines += [f"No verdict ({why}): {', '.join(names)}." for why, names in untested.items()]
    return lines


def reachable_line(t: ComparisonTable) -> str:
    """What margin this design could declare equivalent, against the declared one (empty where unknown)."""
    r = t.reachable
    if r is None or math.isnan(r.low):
        return ""
    metric = t.primary
    unit = " points" if METRICS[metric].percent else ""
    reach = f"{fmt_value(r.low, metric, DIGITS)}{unit}"
    head = (
        f"Reachable margin: with {plural(t.units, 'unit')} and {plural(t.family, 'comparison')}, an estimate of "
        f"exactly 0 with the pooled sd of the differences is declared equivalent only at ±{reach} or more"
    )
    if math.isnan(t.margin):
        return head + "."
    if r.low > t.margin:
        return head + f": at the declared {margin_value(t)} no comparison can read equivalent with this design."
    return head + f": the declared {margin_value(t)} is within reach."


def identical_line(t: ComparisonTable) -> str:
    """Which metrics equal another in every cell (shown once in the every-metric table)."""
    if not t.identical:
        return ""
    pairs = [f"{METRICS[m].label} equals {METRICS[e].label}" for m, e in t.identical.items()]
    return f"{'; '.join(pairs)} in every cell (balanced test folds): each is shown once in the every-metric table."


def cost_cells(t: ComparisonTable, column: str) -> tuple[str, list[str]]:
    """A cost column's header (with its unit) and its cells, one per row."""
    values = [r.cost.get(column, math.nan) for r in t.rows]
    if column in COUNTS:
        div, unit = count_unit(values)
        head = f"{COSTS[column]} ({unit})" if unit else COSTS[column]
        return head, ["n/a" if v != v else f"{v / div:.2f}" for v in values]
    return COSTS[column], [fmt_number(v, 1) for v in values]


def main_table(t: ComparisonTable) -> Table:
    """The main table of one comparison."""
    metric, spec = t.primary, METRICS[t.primary]
    labelled = any(r.label for r in t.rows)
    costs = [c for c in t.cost_columns if c in COSTS]
    shown = {c: cost_cells(t, c) for c in costs}
    constant = [c for c in costs if len(set(shown[c][1])) == 1 and len(t.rows) > 1]
    costs = [c for c in costs if c not in constant]
    header = ["Variant", *(["What it changes"] if labelled else []), f"{spec.label}{spec.unit()}"]
    if t.reference is not None:
        unit = " (points)" if spec.percent else ""
        header += [f"Δ{unit} [interval]", "Verdict", "p adj."]
    header += [shown[c][0] for c in costs]
    rows = []
    for i, r in enumerate(t.rows):
        c = r.cells[metric]
        changes = ", ".join(f"`{x}`" for x in r.label.split(", ")) if r.label else ""
        row = [f"`{r.variant}`", *([changes or ("(reference)" if r.is_reference else "")] if labelled else []),
               value_text(t, r.variant, metric)]  # fmt: skip
        if t.reference is not None:
            if r.is_reference:
                row += ["reference", "", ""]
            else:
                row += [delta_text(c, metric, DIGITS), f"**{c.verdict}**" if c.verdict in ("worse", "better")
                        else c.verdict or "—", fmt_p(c.comparison.p_adjusted) if c.tested else "—"]  # fmt: skip
        row += [shown[col][1][i] for col in costs]
        rows.append(row)
    notes = [*verdict_lines(t), reachable_line(t), identical_line(t), t.note]
    notes += [f"{shown[col][0]}: {shown[col][1][0]} for every variant." for col in constant]
    if costs or constant:
        notes.append("Cost: the variant's median over its cells (latency measured on the run's device).")
    notes.append(
        f"p adj.: the p-value adjusted as the interval is ({ADJUST[t.settings.adjust]}); below 0.05 exactly "
        "when the interval excludes 0."
        if t.reference is not None and t.settings.test != "wilcoxon"
        else ""
    )
    legend = tuple((f"`{r.variant}`", r.description) for r in t.rows if r.description)
    align = "X" + ("X" if labelled else "") + "r" + ("rlr" if t.reference is not None else "") + "r" * len(costs)
    return Table(
        title=f"{group_title(t)}: {spec.label} against `{t.reference}`" if t.reference else group_title(t),
        header=tuple(header), rows=tuple(map(tuple, rows)), align=align,
        caption=comparison_caption(t, metric), notes=tuple(n for n in notes if n), legend=legend,
        legend_title="What each variant changes" if legend else "",
        key=f"{t.study}:{t.dataset}:{t.protocol}:main",
    )  # fmt: skip


def _build(inputs: ReportInputs) -> list[Table]:
    return [main_table(t) for t in inputs.tables]


def _frame(inputs: ReportInputs):
    return summary_frame(inputs.tables, primary_only=True)


register_table(
    ReportTable("table", "main table (the primary metric against the reference)", _build, order=10, frame=_frame)
)

__all__ = ["main_table", "reachable_line", "value_text", "verdict_lines"]
