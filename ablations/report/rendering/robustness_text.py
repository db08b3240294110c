"""The robustness tables as text and CSV (robustness.md, robustness.tex, robustness.csv)."""

from __future__ import annotations

import pandas as pd

from ablations.report.compare.robustness import RobustnessTable
from ablations.report.read.columns import METRICS, condition_label, dataset_label
from ablations.report.rendering.comparison_text import protocol_text
from ablations.report.rendering.formats import Markup, fmt_value, sections_md, sections_tex
from ablations.report.rendering.registry import ReportTable, register_table


def _rows(t: RobustnessTable, m: Markup) -> tuple[list[str], list[list[str]], str]:
    columns = [*t.conditions, *(f"auc_{k}" for k in t.noise_kinds)]
    header = [m.text("Variant")]
    for c in columns:
        if c == "clean":
            header.append("clean")
        elif c.startswith("auc_"):
            header.append(m.text(f"AUC {c[4:].replace('_', ' ')}"))
        else:
            header.append(m.text(condition_label(c)))
    body = []
    for variant, row in t.rows.items():
        cells = [m.code(variant)]
        for c in columns:
            s = row[c]
            text = f"{fmt_value(s.mean, t.metric)}{m.pm}{fmt_value(s.std, t.metric)}"
            cells.append(text.replace("-", "$-$") if m.escape else text)
        body.append(cells)
    return header, body, "l" + "c" * len(columns)


def robustness_caption(t: RobustnessTable, m: Markup) -> str:
    """What the robustness numbers are and how the areas are computed."""
    spec = METRICS[t.metric]
    pm = m.pm.strip()
    n = max((s.n for row in t.rows.values() for s in row.values()), default=0)
    text = (
        f"{m.text(dataset_label(t.dataset))}, {protocol_text(t.protocol, t.subject_independent, m)}. "
        f"Test {m.text(spec.label + spec.unit())} under each modality condition, mean {pm} sample std over "
        f"{n} fold(s), seeds averaged within each fold."
    )
    if t.noise_kinds:
        kinds = " and ".join(m.text(k.replace("_", " ")) for k in t.noise_kinds)
        levels = sorted({lvl for lv in t.noise_kinds.values() for lvl in lv})
        text += (
            f" AUC ({kinds}): trapezoid area under the metric-vs-noise-std curve over levels 0 (clean), "
            f"{', '.join(f'{lvl:g}' for lvl in levels)} (units: metric x noise std), per fold, then summarised."
        )
    if len(t.conditions) == 1:
        text += " runs.csv holds no robustness conditions (test_robust/...) for this metric."
    return text


def robustness_md(tables: list[RobustnessTable], study: str) -> str:
    """robustness.md: one section per (dataset, protocol)."""
    return sections_md(
        f"Study `{study}`: robustness to missing and noisy modalities", tables, robustness_caption, _rows
    )


def robustness_tex(tables: list[RobustnessTable], study: str) -> str:
    """robustness.tex: one booktabs table per (dataset, protocol)."""
    return sections_tex(study, tables, robustness_caption, _rows, ("robustness",))


def robustness_frame(tables: list[RobustnessTable]) -> pd.DataFrame:
    """The robustness numbers at full precision (robustness.csv)."""
    records = []
    for t in tables:
        for variant, row in t.rows.items():
            for column, s in row.items():
                records.append(
                    {"dataset": t.dataset, "protocol": t.protocol, "variant": variant, "metric": f"test/{t.metric}",
                     "condition": column, "n": s.n, "mean": s.mean, "std": s.std}
                )  # fmt: skip
    return pd.DataFrame.from_records(records)


for _table in (
    ReportTable("robustness.md", "md", lambda x: robustness_md(x.robust, x.study)),
    ReportTable("robustness.tex", "tex", lambda x: robustness_tex(x.robust, x.study)),
    ReportTable("robustness.csv", "csv", lambda x: robustness_frame(x.robust)),
):
    register_table(_table)
