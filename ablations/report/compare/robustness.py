"""Robustness: the main metric per variant under each modality condition, with noise-curve areas (computed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablations.report.compare.comparison import metric_range, resolve_reference, variant_order
from ablations.report.read.columns import REPEAT, main_metric, parse_condition
from ablations.report.read.load import group_task
from ablations.report.statistics.paired import Summary, unit_summary


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


def robustness(
    group: pd.DataFrame, reference: str | None = None, where: str = "runs.csv", metric: str | None = None
) -> RobustnessTable:
    """Build the robustness table of one (dataset, protocol) group, on `metric` (default: the task's main one)."""
    metric = metric or main_metric(group_task(group))
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
        # seeds share their unit's test set: average them within each (repeat, fold), then summarise over units
        sub = group[group["variant"] == variant].groupby([REPEAT, "fold"], sort=True).mean(numeric_only=True)
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
