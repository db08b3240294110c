"""answer.md: the study's answer in a few lines, for the MLflow parent run's description (shown there verbatim):
per dataset and protocol, the verdicts first (MLflow shows about 150 pixels of a description before "Show more"),
then how they were reached and the compact main table."""

from __future__ import annotations

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import delta_text, design_text, group_title, margin_value, plural, test_text
from ablations.report.rendering.table import Table, md_table
from ablations.report.rendering.tables.main import DIGITS, reachable_line, value_text, verdict_lines


def answer_section(t: ComparisonTable) -> str:
    """One dataset and protocol: what was compared, how, the compact table and the verdict lines."""
    spec = METRICS[t.primary]
    against = f" against `{t.reference}`" if t.reference else ""
    head = f"**Verdicts on {spec.label}{against}** ({group_title(t)}{', synthetic data' if t.synthetic else ''}):"
    how = f"{design_text(t)} ({plural(t.units, 'unit')})"
    if t.reference is not None:
        how += f"; {test_text(t)}" + (f"; margin {margin_value(t)}" if t.settings.test != "wilcoxon" else "")
    unit = " (points)" if spec.percent else ""
    header = ("Variant", f"{spec.label}{spec.unit()}", *((f"Δ{unit} [interval]", "Verdict") if t.reference else ()))
    rows = []
    for r in t.rows:
        row = [f"`{r.variant}`", value_text(t, r.variant, t.primary)]
        if t.reference is not None:
            c = r.cells[t.primary]
            row += ["reference", ""] if r.is_reference else [delta_text(c, t.primary, DIGITS), c.verdict or "—"]
        rows.append(tuple(row))
    table = md_table(Table("", header, tuple(rows), "lr" + ("rl" if t.reference else "")))
    verdicts = [f"- {x}" for x in verdict_lines(t)]
    reachable = reachable_line(t)
    return "\n".join([head, "", *verdicts, "", how, "", table, *(["", reachable] if reachable else [])]) + "\n"


def answer_md(study: str, tables: list[ComparisonTable]) -> str:
    """The whole answer (well under MLflow's 5,000 characters for a study of one dataset)."""
    parts = [answer_section(t) for t in tables]
    parts.append("Tables, figures and the statistics behind them: the report's README.md (table.md, summary.csv).\n")
    return "\n".join(parts)
