"""Robustness tables: the main metric per variant under each modality condition, with noise-curve areas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablations.report.formats import Markup, fmt_value, sections_md, sections_tex
from ablations.report.load import group_task
from ablations.report.metrics import METRICS, condition_label, dataset_label, main_metric, parse_condition
from ablations.report.stats import Summary, unit_summary
from ablations.report.table_text import protocol_text
from ablations.report.tables import metric_range, resolve_reference, variant_order


@dataclass
class RobustnessTable:
    """Main metric per variant (rows) and condition (columns), plus the area under each noise curve."""

    dataset: str
    protocol: str
    subject_independent: bool
    metric: str
    conditions: list[str]  # "clean" first, then the test_robust conditions in a fixed order
    noise_kinds: dict[str, list[float]]  # e.g. {"audio_noise": [0.5, 1.0]}
    rows: dict[str, dict[str, Summary]]  # variant -> column -> summary


def _condition_key(name: str) -> tuple:
    kind, level = parse_condition(name)  # type: ignore[misc]
    # removed modalities first, then each modality's noise levels in increasing order
    return (level is not None, kind, level if level is not None else 0.0)


def noise_auc(clean: np.ndarray, curves: list[np.ndarray], levels: list[float]) -> np.ndarray:
    """Per-cell trapezoid area under metric-vs-noise, with the clean value at noise level 0."""
    x = np.array([0.0, *levels])
    y = np.column_stack([clean, *curves])  # (cells, 1 + levels)
    return np.trapezoid(y, x, axis=1)


def robustness(group: pd.DataFrame, reference: str | None = None, where: str = "runs.csv") -> RobustnessTable:
    """Build the robustness table of one (dataset, protocol) group."""
    metric = main_metric(group_task(group))
    prefix, suffix = "test_robust/", f"/{metric}"
    conds = sorted(
        (c[len(prefix) : -len(suffix)] for c in group.columns if c.startswith(prefix) and c.endswith(suffix)),
        key=_condition_key,
    )
    noise: dict[str, list[float]] = {}
    noise_names: dict[str, list[str]] = {}  # the original condition names, e.g. audio_noise_1.0
    for c in conds:
        kind, level = parse_condition(c)  # type: ignore[misc]
        if level is not None:
            noise.setdefault(kind, []).append(level)
            noise_names.setdefault(kind, []).append(c)
    ref = resolve_reference(group, reference, where)
    rows: dict[str, dict[str, Summary]] = {}
    lo, hi = metric_range(metric)
    for variant in variant_order(group, ref):
        # seeds share their fold's test set: average them within each fold, then summarise over folds
        sub = group[group["variant"] == variant].groupby("fold", sort=True).mean(numeric_only=True)
        clean = sub[f"test/{metric}"].to_numpy(float)
        row = {"clean": unit_summary(clean, lo, hi)}
        for c in conds:
            row[c] = unit_summary(sub[f"{prefix}{c}{suffix}"].to_numpy(float), lo, hi)
        for kind, levels in noise.items():
            curves = [sub[f"{prefix}{c}{suffix}"].to_numpy(float) for c in noise_names[kind]]
            row[f"auc_{kind}"] = unit_summary(noise_auc(clean, curves, levels), 0.0, hi * max(levels))
        rows[variant] = row
    first = group.iloc[0]
    return RobustnessTable(
        str(first["dataset"]), str(first["protocol"]), bool(first["subject_independent"]), metric,
        ["clean", *conds], noise, rows,
    )  # fmt: skip


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
