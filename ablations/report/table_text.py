"""The comparison tables as Markdown and LaTeX text (table.md, table.tex)."""

from __future__ import annotations

from ablations.report.formats import Markup, fmt_delta, fmt_p, fmt_value, sections_md, sections_tex
from ablations.report.metrics import METRICS, dataset_label
from ablations.report.stats import ALPHA, TESTS, min_pairs
from ablations.report.tables import ComparisonTable, MetricCell


def protocol_text(protocol: str, subject_independent: bool, m: Markup) -> str:
    """`protocol X (subject-independent folds)` or `(random split, not subject-independent)`."""
    kind = "subject-independent folds" if subject_independent else "random split, not subject-independent"
    return f"protocol {m.code(protocol)} ({kind})"


def caption(t: ComparisonTable, m: Markup) -> str:
    """The caption: protocol, what the numbers are, which test and correction decide significance."""
    n_cells = sorted({r.n for r in t.rows})
    n_text = str(n_cells[0]) if len(n_cells) == 1 else f"{n_cells[0]}-{n_cells[-1]}"
    pm = m.pm.strip()
    parts = [
        f"{m.text(dataset_label(t.dataset))}, {protocol_text(t.protocol, t.subject_independent, m)}.",
        f"Test-set metrics as mean {pm} " + m.text("sample std (ddof=1) [t-based 95% CI] over ")
        + f"n = {n_text} (seed, fold) cells.",
    ]
    if t.reference is None:
        parts.append("No variant is marked as the reference (full model), so no differences or tests are shown.")
    else:
        need = min_pairs(t.test)
        delta = "$\\Delta$" if m.escape else "Δ"
        parts.append(
            f"{delta}: difference of means to the full model {m.code(t.reference)} "
            + m.text("(percentage points for % metrics); ")
            + f"p: {TESTS[t.test]} over matched (seed, fold) cells, Holm-corrected across the variants tested in "
            f"each column; {m.star.strip()} marks corrected p below {ALPHA:g}. Tests need at least {need} pairs."
        )
    parts.append("Bold: best mean per column (lowest for MAE).")
    return " ".join(parts)


def value_cell(c: MetricCell, metric: str, m: Markup) -> str:
    """`mean ± std [lo, hi]` with the mean bold when best."""
    s = c.summary
    mean = fmt_value(s.mean, metric)
    if c.best:
        mean = m.bold(mean)
    ci = "n/a" if s.n < 2 else f"{fmt_value(s.ci_low, metric)}, {fmt_value(s.ci_high, metric)}"
    text = f"{mean}{m.pm}{fmt_value(s.std, metric)} [{ci}]"
    if m.escape:
        text = text.replace("-", "$-$").replace("[", "{\\scriptsize [", 1) + "}"
    return text


def delta_cell(c: MetricCell, metric: str, is_reference: bool, m: Markup) -> str:
    """`+1.20 (p=0.031)*`, or why there is no p-value; the reference row says so."""
    if is_reference:
        return m.text("(reference)")
    delta = fmt_delta(c.delta, metric)
    if m.escape:
        delta = f"${delta}$"
    if c.paired is None:
        return delta
    if c.paired.note:
        return f"{delta} ({m.text(c.paired.note)})"
    star = m.star if c.significant else ""
    p = fmt_p(c.p_holm)
    if m.escape:
        return f"{delta} ($p{'<' if p.startswith('<') else '='}{p.lstrip('<')}$){star}"
    return f"{delta} (p{'' if p.startswith('<') else '='}{p}){star}"


def table_rows(t: ComparisonTable, m: Markup) -> tuple[list[str], list[list[str]], str]:
    """Header, body rows and column alignment of one comparison table."""
    header = [m.text("Variant"), "n"]
    for metric in t.metrics:
        spec = METRICS[metric]
        header.append(m.text(spec.label + spec.unit()))
        if t.reference is not None:
            header.append(("$\\Delta$ " if m.escape else "Δ ") + m.text(spec.label))
    rows = []
    for r in t.rows:
        row = [m.code(r.variant), str(r.n)]
        for metric in t.metrics:
            c = r.cells[metric]
            row.append(value_cell(c, metric, m))
            if t.reference is not None:
                row.append(delta_cell(c, metric, r.is_reference, m))
        rows.append(row)
    align = "lr" + ("cc" if t.reference is not None else "c") * len(t.metrics)
    return header, rows, align


def comparison_md(tables: list[ComparisonTable], study: str, dropped: int = 0) -> str:
    """table.md: one section per (dataset, protocol)."""
    preface = (f"{dropped} row(s) of runs.csv were not completed (state other than FINISHED) and are left out.\n",)
    return sections_md(f"Study `{study}`: comparison with the full model", tables, caption, table_rows,
                       preface if dropped else ())


def comparison_tex(tables: list[ComparisonTable], study: str) -> str:
    """table.tex: one booktabs table per (dataset, protocol)."""
    return sections_tex(study, tables, caption, table_rows)
