"""The comparisons at full precision, one row per (dataset, protocol, variant, metric): summary.csv and the CSV of
the main table (its primary-metric rows). Every number a table shows is here unrounded."""

from __future__ import annotations

import math

import pandas as pd

from ablations.report.compare.comparison import ComparisonTable, MetricCell, VariantRow
from ablations.report.read.columns import COST_COLUMNS
from ablations.report.statistics.paired import ALPHA


def _comparison(t: ComparisonTable, c: MetricCell) -> dict:
    k = c.comparison
    nan = math.nan
    if k is None:
        return {"delta": nan, "diff_ci_low": nan, "diff_ci_high": nan, "level": nan, "se": nan, "df": nan, "p": nan,
                "p_adjusted": nan, "p_equivalence": nan, "prob_below": nan, "prob_within": nan, "prob_above": nan,
                "verdict": "", "significant": False, "note": ""}  # fmt: skip
    return {"delta": k.delta, "diff_ci_low": k.low, "diff_ci_high": k.high, "level": k.level, "se": k.se, "df": k.df,
            "p": k.p, "p_adjusted": k.p_adjusted, "p_equivalence": k.p_equivalence, "prob_below": k.prob_below,
            "prob_within": k.prob_within, "prob_above": k.prob_above, "verdict": c.verdict,
            "significant": bool(c.tested and k.p_adjusted < ALPHA),
            "note": "" if c.tested and t.settings.test != "wilcoxon" else k.reason}  # fmt: skip


def _record(t: ComparisonTable, r: VariantRow, metric: str) -> dict:
    c, u = r.cells[metric], r.cells[metric].units
    clip = c.clip
    record = {
        "study": t.study, "dataset": t.dataset, "protocol": t.protocol, "subject_independent": t.subject_independent,
        "synthetic": t.synthetic, "variant": r.variant, "description": r.description, "changes": r.label,
        "reference": r.is_reference, "metric": f"test/{metric}", "primary": metric == t.primary,
        "same_as": f"test/{t.identical[metric]}" if metric in t.identical else "",
        "n": u.n, "mean": u.mean, "std": u.std, "ci_low": u.ci_low, "ci_high": u.ci_high,
        "cells": c.cells.n, "cell_std": c.cells.std,
        **_comparison(t, c),
        "test": t.settings.test if t.reference is not None else "", "adjust": t.settings.adjust,
        "unit": "repeat x fold" if t.repeats > 1 else "fold", "n_units": t.units, "repeats": t.repeats,
        "rho": t.rho if t.settings.test == "corrected" else 0.0, "margin": t.margin,
    }  # fmt: skip
    for col in COST_COLUMNS:
        record[col] = r.cost.get(col, math.nan)
    record.update({
        "clip_actors": clip.actors if clip else 0, "clip_delta": clip.delta if clip else math.nan,
        "clip_ci_low": clip.ci_low if clip else math.nan, "clip_ci_high": clip.ci_high if clip else math.nan,
        "clip_p": clip.p if clip else math.nan, "clip_p_holm": c.clip_p_holm,
    })  # fmt: skip
    return record


def summary_frame(tables: list[ComparisonTable], primary_only: bool = False) -> pd.DataFrame:
    """One row per (dataset, protocol, variant, metric), the primary metric's rows first in each group."""
    records = []
    for t in tables:
        for metric in t.metrics[:1] if primary_only else t.metrics:
            records += [_record(t, r, metric) for r in t.rows]
    return pd.DataFrame.from_records(records)
