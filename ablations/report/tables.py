"""The comparison tables: per (dataset, protocol), one row per variant with statistics against the full model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ablations.report.load import ReportInputError, group_task
from ablations.report.metrics import METRICS, TASK_METRICS
from ablations.report.stats import ALPHA, Paired, Summary, holm, paired_test, summarize
from avtca.config.base import suggest


@dataclass(frozen=True)
class MetricCell:
    """One variant's statistics for one metric."""

    summary: Summary
    delta: float = math.nan  # mean(variant) - mean(reference), stored units
    paired: Paired | None = None
    p_holm: float = math.nan
    significant: bool = False
    best: bool = False


@dataclass
class VariantRow:
    """One table row."""

    variant: str
    n: int
    is_reference: bool
    cells: dict[str, MetricCell] = field(default_factory=dict)


@dataclass
class ComparisonTable:
    """Everything one per-dataset table shows."""

    study: str
    dataset: str
    protocol: str
    subject_independent: bool
    task: str
    metrics: tuple[str, ...]
    reference: str | None
    test: str
    rows: list[VariantRow]


def variant_order(variants: list[str], reference: str | None) -> list[str]:
    """Reference first, then the others alphabetically (deterministic regardless of row order)."""
    rest = sorted(v for v in set(variants) if v != reference)
    return ([reference] if reference in variants else []) + rest


def resolve_reference(group: pd.DataFrame, override: str | None, where: str) -> str | None:
    """The variant marked `reference` (or the one named by `override`), or None when there is none."""
    variants = sorted(group["variant"].unique())
    if override is not None:
        if override not in variants:
            raise ReportInputError(
                f"{where}: reference '{override}' is not a variant; variants are {', '.join(variants)}"
                f"{suggest(override, variants)}"
            )
        return override
    marked = sorted(group.loc[group["reference"], "variant"].unique())
    return marked[0] if marked else None


def _paired_values(group: pd.DataFrame, variant: str, reference: str, col: str) -> tuple[np.ndarray, np.ndarray]:
    a = group[group["variant"] == variant][["seed", "fold", col]]
    b = group[group["variant"] == reference][["seed", "fold", col]]
    both = a.merge(b, on=["seed", "fold"], suffixes=("_v", "_r")).sort_values(["seed", "fold"])
    return both[f"{col}_v"].to_numpy(float), both[f"{col}_r"].to_numpy(float)


def _shown(x: float, metric: str) -> float:
    spec = METRICS[metric]
    return round(x * spec.scale(), 2 if spec.percent else 3)


def compare(
    group: pd.DataFrame, test: str = "wilcoxon", reference: str | None = None, where: str = "runs.csv"
) -> ComparisonTable:
    """Build the comparison table of one (dataset, protocol) group of runs.csv."""
    task = group_task(group)
    metrics = TASK_METRICS[task]
    ref = resolve_reference(group, reference, where)
    order = variant_order(list(group["variant"].unique()), ref)
    rows = []
    for variant in order:
        sub = group[group["variant"] == variant]
        rows.append(VariantRow(variant, len(sub), variant == ref))
    for metric in metrics:
        col = f"test/{metric}"
        sums = {r.variant: summarize(group.loc[group["variant"] == r.variant, col].to_numpy(float)) for r in rows}
        tests: dict[str, Paired] = {}
        if ref is not None:
            for r in rows:
                if not r.is_reference:
                    tests[r.variant] = paired_test(*_paired_values(group, r.variant, ref, col), test=test)
        names = list(tests)
        adjusted = dict(zip(names, holm([tests[v].p for v in names]), strict=True))
        spec = METRICS[metric]
        shown = [_shown(s.mean, metric) for s in sums.values() if not math.isnan(s.mean)]
        best = (max(shown) if spec.higher_is_better else min(shown)) if shown else math.nan
        for r in rows:
            s = sums[r.variant]
            delta = s.mean - sums[ref].mean if ref is not None and not r.is_reference else math.nan
            p_adj = adjusted.get(r.variant, math.nan)
            r.cells[metric] = MetricCell(
                summary=s,
                delta=delta,
                paired=tests.get(r.variant),
                p_holm=p_adj,
                significant=bool(not math.isnan(p_adj) and p_adj < ALPHA),
                best=not math.isnan(s.mean) and _shown(s.mean, metric) == best,
            )
    first = group.iloc[0]
    return ComparisonTable(
        study=str(first["study"]),
        dataset=str(first["dataset"]),
        protocol=str(first["protocol"]),
        subject_independent=bool(first["subject_independent"]),
        task=task,
        metrics=metrics,
        reference=ref,
        test=test,
        rows=rows,
    )


def compare_all(
    runs: pd.DataFrame, test: str = "wilcoxon", reference: str | None = None, where: str = "runs.csv"
) -> list[ComparisonTable]:
    """One comparison table per (dataset, protocol), sorted by dataset then protocol."""
    return [compare(g, test, reference, where) for _, g in runs.groupby(["dataset", "protocol"], sort=True)]


def summary_frame(tables: list[ComparisonTable]) -> pd.DataFrame:
    """The tables' numbers at full precision, one row per (dataset, protocol, variant, metric)."""
    records = []
    for t in tables:
        for r in t.rows:
            for metric, c in r.cells.items():
                s = c.summary
                records.append(
                    {
                        "study": t.study,
                        "dataset": t.dataset,
                        "protocol": t.protocol,
                        "subject_independent": t.subject_independent,
                        "variant": r.variant,
                        "reference": r.is_reference,
                        "metric": f"test/{metric}",
                        "n": s.n,
                        "mean": s.mean,
                        "std": s.std,
                        "ci_low": s.ci_low,
                        "ci_high": s.ci_high,
                        "delta": c.delta,
                        "test": t.test if c.paired else "",
                        "n_pairs": c.paired.n_pairs if c.paired else 0,
                        "p": c.paired.p if c.paired else math.nan,
                        "p_holm": c.p_holm,
                        "significant": c.significant,
                        "note": c.paired.note if c.paired else "",
                    }
                )
    return pd.DataFrame.from_records(records)
