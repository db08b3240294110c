"""The robustness tables (robustness.md, .tex; robustness.csv at full precision): the primary metric per variant with
a modality removed, and under each kind of noise with the area under its curve."""

from __future__ import annotations

import pandas as pd

from ablations.report.compare.robustness import RobustnessTable
from ablations.report.read.columns import METRICS, condition_label, dataset_label
from ablations.report.rendering.captions import protocol_text
from ablations.report.rendering.formats import fmt_value
from ablations.report.rendering.registry import ReportInputs, ReportTable, register_table
from ablations.report.rendering.table import Table


def _cell(t: RobustnessTable, variant: str, column: str) -> str:
    s = t.rows[variant][column]
    return f"{fmt_value(s.mean, t.metric, 1)} ± {fmt_value(s.std, t.metric, 1)}"


def _table(t: RobustnessTable, columns: list[str], what: str, extra: str, key: str) -> Table:
    spec = METRICS[t.metric]
    n = max((s.n for row in t.rows.values() for s in row.values()), default=0)
    header = ["Variant", *("clean" if c == "clean" else f"AUC {c[4:].replace('_', ' ')}" if c.startswith("auc_")
                           else condition_label(c) for c in columns)]  # fmt: skip
    rows = tuple((f"`{v}`", *(_cell(t, v, c) for c in columns)) for v in t.rows)
    caption = (f"{dataset_label(t.dataset)}, {protocol_text(t.protocol, t.subject_independent)}. Test "
               f"{spec.label}{spec.unit()} {what}: mean ± sample sd over {n} units (seeds averaged within a unit)."
               + extra)  # fmt: skip
    return Table(title=f"{dataset_label(t.dataset)} ({t.protocol}): {spec.label} {what}", header=tuple(header),
                 rows=rows, align="X" + "r" * len(columns), caption=caption, key=key)  # fmt: skip


def robustness_tables(t: RobustnessTable, study: str) -> list[Table]:
    """One table of the removed modalities, one per kind of noise (levels and the area under the curve)."""
    base = f"{study}:{t.dataset}:{t.protocol}:robust"
    out = []
    removed = [c for c in t.conditions if c.endswith("_off")]
    if removed:
        out.append(_table(t, ["clean", *removed], "with a modality removed", "", base))
    for kind, levels in t.noise_kinds.items():
        conds = [c for c in t.conditions if c.startswith(kind + "_")]
        extra = (f" AUC: trapezoid area under the metric-vs-noise curve over levels 0 (clean), "
                 f"{', '.join(f'{lvl:g}' for lvl in levels)} (noise std relative to the input's; units: metric × "
                 "noise std), per unit, then summarised.")  # fmt: skip
        out.append(_table(t, ["clean", *conds, f"auc_{kind}"], f"under {kind.replace('_', ' ')}", extra,
                          f"{base}:{kind}"))  # fmt: skip
    return out


def robustness_frame(inputs: ReportInputs) -> pd.DataFrame:
    """The robustness numbers at full precision (robustness.csv)."""
    records = []
    for t in inputs.robust:
        if len(t.conditions) == 1:
            continue
        for variant, row in t.rows.items():
            for column, s in row.items():
                records.append(
                    {"dataset": t.dataset, "protocol": t.protocol, "variant": variant, "metric": f"test/{t.metric}",
                     "condition": column, "n": s.n, "mean": s.mean, "std": s.std}
                )  # fmt: skip
    return pd.DataFrame.from_records(records)


def _build(inputs: ReportInputs) -> list[Table]:
    return [x for t in inputs.robust for x in robustness_tables(t, inputs.study)]


register_table(ReportTable("robustness", "robustness to missing and noisy modalities (appendix)", _build, order=40,
                           appendix=True, frame=robustness_frame))  # fmt: skip
