"""The every-metric table (summary.md, .tex; summary.csv at full precision): one table per dataset, protocol and
metric, metrics equal to an earlier one in every cell shown once (accuracy = UAR on balanced test folds)."""

from __future__ import annotations

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.settings import ADJUST
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import comparison_caption, delta_text, group_title
from ablations.report.rendering.formats import fmt_p, fmt_value
from ablations.report.rendering.frames import summary_frame
from ablations.report.rendering.registry import ReportInputs, ReportTable, register_table
from ablations.report.rendering.table import Table


def metric_name(t: ComparisonTable, metric: str) -> str:
    """`Accuracy = UAR`: the metric with the later ones equal to it."""
    same = [METRICS[m].label for m, e in t.identical.items() if e == metric]
    return " = ".join([METRICS[metric].label, *same])


def metric_table(t: ComparisonTable, metric: str) -> Table:
    """Every variant on one metric: n, mean ± sd [95% interval], Δ [interval], verdict, adjusted p."""
    spec = METRICS[metric]
    header = ["Variant", "n", f"{metric_name(t, metric)}{spec.unit()} [95% interval]"]
    if t.reference is not None:
        header += ["Δ [interval]", "Verdict", "p adj."]
    rows = []
    for r in t.rows:
        c = r.cells[metric]
        u = c.units
        value = f"{fmt_value(u.mean, metric)} ± {fmt_value(u.std, metric)}" if u.n >= 2 else fmt_value(u.mean, metric)
        value += f" [{fmt_value(u.ci_low, metric)}, {fmt_value(u.ci_high, metric)}]" if u.ci_low == u.ci_low else ""
        row = [f"`{r.variant}`", str(r.n), value]
        if t.reference is not None:
            row += (
                ["reference", "", ""]
                if r.is_reference
                else [delta_text(c, metric), c.verdict or "—", fmt_p(c.comparison.p_adjusted) if c.tested else "—"]
            )
        rows.append(tuple(row))
    notes = []
    if any(r.cells[metric].comparison is not None and not r.cells[metric].tested for r in t.rows):
        reasons = {r.cells[metric].comparison.reason for r in t.rows if r.cells[metric].comparison is not None
                   and not r.cells[metric].tested}  # fmt: skip
        notes.append("No verdict: " + "; ".join(sorted(reasons)) + ".")
    return Table(
        title=f"{group_title(t)}: {metric_name(t, metric)}", header=tuple(header), rows=tuple(rows),
        align="Xrr" + ("rlr" if t.reference is not None else ""),
        caption=comparison_caption(t, metric) + " n: completed (seed, fold) cells; [95% interval]: t interval of the "
        "mean over units, clipped to the metric's range (none below 3 units); p adj.: adjusted as the interval is "
        f"({ADJUST[t.settings.adjust]}).", notes=tuple(notes),
        key=f"{t.study}:{t.dataset}:{t.protocol}:{metric}",
    )  # fmt: skip


def _build(inputs: ReportInputs) -> list[Table]:
    return [metric_table(t, m) for t in inputs.tables for m in t.metrics if m not in t.identical]


def _frame(inputs: ReportInputs):
    return summary_frame(inputs.tables)  # every metric, the equal ones too, at full precision


register_table(ReportTable("summary", "every metric (appendix)", _build, order=20, appendix=True, frame=_frame))
