"""The comparison tables: per (dataset, protocol), one row per variant with statistics against the full model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ablations.report.read.columns import METRICS, TASK_METRICS
from ablations.report.read.load import ReportInputError, group_task
from ablations.report.read.order import study_order
from ablations.report.statistics.clipstats import ClipComparison, compare_clips, correctness
from ablations.report.statistics.paired import (
    ALPHA,
    DEFAULT_TEST,
    MIN_TEST_UNITS,
    Paired,
    Summary,
    diff_interval,
    holm,
    paired_test,
    summarize,
    unit_summary,
)
from ablations.report.statistics.power import Components, components, min_detectable, pooled
from avtca.config.base import suggest
from avtca.data.protocols import K_FOLDS


@dataclass(frozen=True)
class MetricCell:
    """One variant's statistics for one metric."""

    summary: Summary  # over (seed, fold) cells, as logged (the paper table's mean +- std)
    units: Summary = Summary(0, math.nan, math.nan, math.nan, math.nan)  # over folds, seeds averaged first
    delta: float = math.nan  # mean(variant) - mean(reference) over folds, stored units
    paired: Paired | None = None  # the deciding, fold-level test
    p_holm: float = math.nan
    significant: bool = False
    best: bool = False
    diff_low: float = math.nan  # 95% interval of the difference (same units as delta)
    diff_high: float = math.nan
    mdd: float = math.nan  # smallest difference this design detects at 80% power (same units as delta)
    clip: ClipComparison | None = None  # clip-level, actor-clustered comparison (accuracy, with predictions.csv)
    clip_p_holm: float = math.nan


@dataclass
class VariantRow:
    """One table row."""

    variant: str
    n: int  # completed cells with a value of the main metric
    is_reference: bool
    description: str = ""
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
    folds: int = 0  # folds (test sets) in the group
    seeds: int = 0  # seeds per fold (the most any variant has)
    unit: str = "fold"  # what the deciding test is over: fold | none (too few folds)
    rho: float = 0.0  # Nadeau-Bengio n_test / n_train (test "nb")
    components: Components | None = None  # variance components of the main metric's differences
    max_folds: int = 0  # folds the protocol has


def variant_order(group: pd.DataFrame, reference: str | None) -> list[str]:
    """Reference first, then the others in study-file order (the order every figure uses)."""
    rest = [v for v in study_order(group) if v != reference]
    return ([reference] if reference in set(group["variant"]) else []) + rest


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


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take (stored units): intervals are kept inside it."""
    if METRICS[metric].percent:
        return 0.0, 1.0
    return (-1.0, 1.0) if metric == "corr" else (0.0, math.inf)


def fold_means(group: pd.DataFrame, variant: str, col: str) -> pd.Series:
    """The variant's metric per fold, averaged over that fold's seeds (NaN cells left out)."""
    sub = group[group["variant"] == variant]
    return sub.groupby("fold", sort=True)[col].mean().dropna()


def cell_diffs(group: pd.DataFrame, variant: str, reference: str, col: str) -> pd.DataFrame:
    """Paired differences per matched (seed, fold) cell: columns seed, fold, diff (for variance components)."""
    a = group[group["variant"] == variant][["seed", "fold", col]]
    b = group[group["variant"] == reference][["seed", "fold", col]]
    both = a.merge(b, on=["seed", "fold"], suffixes=("_v", "_r"))
    return pd.DataFrame({"seed": both["seed"], "fold": both["fold"], "diff": both[f"{col}_v"] - both[f"{col}_r"]})


def _shown(x: float, metric: str) -> float:
    spec = METRICS[metric]
    return round(x * spec.scale(), 2 if spec.percent else 3)


def nb_rho(protocol: str, folds: int) -> float:
    """Nadeau-Bengio n_test / n_train of an actor k-fold protocol: one group tests, one validates, k-2 train."""
    k = K_FOLDS.get(protocol, folds)
    return 1.0 / (k - 2) if k > 2 else math.nan


def _no_test_note(folds: int, seeds: int) -> str:
    if folds == 1 and seeds > 1:
        return f"one test set shared by {seeds} seeds: no test"
    return f"{folds} folds: too few for a test (needs {MIN_TEST_UNITS})"


def _fold_level(group, variant, ref, col, test, rho, span) -> tuple[Paired, float, tuple[float, float], float]:
    """The deciding fold-level test: its result, the sd of the fold differences, the difference's CI, rho used."""
    fv, fr = fold_means(group, variant, col), fold_means(group, ref, col)
    common = fv.index.intersection(fr.index)
    a, b = fv[common].to_numpy(float), fr[common].to_numpy(float)
    if common.size < MIN_TEST_UNITS:
        return Paired(int(common.size), math.nan, ""), math.nan, (math.nan, math.nan), math.nan
    r = rho if test == "nb" else 0.0
    if test == "nb" and math.isnan(rho):
        note = "Nadeau-Bengio needs k > 2 folds"
        return Paired(int(common.size), math.nan, note), math.nan, (math.nan, math.nan), math.nan
    d = a - b
    sd = float(np.std(d, ddof=1))
    return paired_test(a, b, test=test, rho=r), sd, diff_interval(d, span, r), r


def compare(
    group: pd.DataFrame,
    test: str = DEFAULT_TEST,
    reference: str | None = None,
    where: str = "runs.csv",
    predictions: pd.DataFrame | None = None,
) -> ComparisonTable:
    """Build the comparison table of one (dataset, protocol) group of runs.csv (and its predictions.csv rows)."""
    task = group_task(group)
    metrics = TASK_METRICS[task]
    ref = resolve_reference(group, reference, where)
    order = variant_order(group, ref)
    main = f"test/{metrics[0]}"
    first = group.iloc[0]
    folds = int(group["fold"].nunique())
    seeds = int(group.groupby(["variant", "fold"])["seed"].nunique().max())
    protocol = str(first["protocol"])
    rho = nb_rho(protocol, folds)
    rows = []
    for variant in order:
        sub = group[group["variant"] == variant]
        desc = sorted(d for d in sub["description"].unique() if d) if "description" in sub else []
        rows.append(VariantRow(variant, int(sub[main].notna().sum()), variant == ref, desc[0] if desc else ""))
    corr = None
    if predictions is not None and task == "classification" and ref is not None:
        keys = group[["variant", "seed", "fold"]].drop_duplicates()
        sel = predictions.merge(keys, on=["variant", "seed", "fold"], how="inner")
        corr = correctness(sel) if len(sel) else None
    others = [r.variant for r in rows if not r.is_reference]
    comps: list[Components] = []
    for metric in metrics:
        col = f"test/{metric}"
        lo, hi = metric_range(metric)
        span = hi - lo if math.isfinite(hi) else math.inf
        sums = {r.variant: summarize(group.loc[group["variant"] == r.variant, col].to_numpy(float)) for r in rows}
        units = {r.variant: unit_summary(fold_means(group, r.variant, col).to_numpy(float), lo, hi) for r in rows}
        results: dict[str, dict] = {}
        for v in others if ref is not None else []:
            paired, sd, (dl, dh), r = _fold_level(group, v, ref, col, test, rho, span)
            clip = compare_clips(corr, v, ref) if corr is not None and metric == "accuracy" else None
            testable = paired.n_pairs >= MIN_TEST_UNITS
            mdd = min_detectable(sd, paired.n_pairs, len(others), rho=r) if testable else math.nan
            # the clip-level test never decides: with training noise shared by a fold's actors its false-positive
            # rate is far above alpha (python -m ablations.report.statistics.calibrate; docs/statistics.md)
            if paired.n_pairs < MIN_TEST_UNITS and not paired.note:
                paired = Paired(paired.n_pairs, math.nan, _no_test_note(paired.n_pairs or folds, seeds))
            if metric == metrics[0]:
                comps.append(components(cell_diffs(group, v, ref, col)))
            ci = (math.nan, math.nan) if math.isnan(dl) else (max(-span, dl), min(span, dh))
            results[v] = {"paired": paired, "ci": ci, "mdd": mdd, "clip": clip}
        names = list(results)
        adjusted = dict(zip(names, holm([results[v]["paired"].p for v in names]), strict=True))
        clip_adj = dict(zip(names, holm([results[v]["clip"].p if results[v]["clip"] else math.nan for v in names]),
                            strict=True))  # fmt: skip
        spec = METRICS[metric]
        shown = [_shown(s.mean, metric) for s in units.values() if not math.isnan(s.mean)]
        best = (max(shown) if spec.higher_is_better else min(shown)) if shown else math.nan
        for r in rows:
            u = units[r.variant]
            res = results.get(r.variant, {})
            p_adj = adjusted.get(r.variant, math.nan)
            delta = u.mean - units[ref].mean if ref is not None and not r.is_reference else math.nan
            r.cells[metric] = MetricCell(
                summary=sums[r.variant],
                units=u,
                delta=delta,
                paired=res.get("paired"),
                p_holm=p_adj,
                significant=bool(not math.isnan(p_adj) and p_adj < ALPHA),
                best=not math.isnan(u.mean) and _shown(u.mean, metric) == best,
                diff_low=res.get("ci", (math.nan,) * 2)[0],
                diff_high=res.get("ci", (math.nan,) * 2)[1],
                mdd=res.get("mdd", math.nan),
                clip=res.get("clip"),
                clip_p_holm=clip_adj.get(r.variant, math.nan),
            )
    return ComparisonTable(
        study=str(first["study"]),
        dataset=str(first["dataset"]),
        protocol=protocol,
        subject_independent=bool(first["subject_independent"]),
        task=task,
        metrics=metrics,
        reference=ref,
        test=test,
        rows=rows,
        folds=folds,
        seeds=seeds,
        unit="fold" if folds >= MIN_TEST_UNITS else "none",
        rho=rho,
        components=pooled(comps),
        max_folds=K_FOLDS.get(protocol, folds),
    )


def compare_all(
    runs: pd.DataFrame,
    test: str = DEFAULT_TEST,
    reference: str | None = None,
    where: str = "runs.csv",
    predictions: pd.DataFrame | None = None,
) -> list[ComparisonTable]:
    """One comparison table per (dataset, protocol), sorted by dataset then protocol."""
    out = []
    for _, g in runs.groupby(["dataset", "protocol"], sort=True):
        pred = None
        if predictions is not None:
            pred = predictions[predictions["variant"].isin(g["variant"].unique())]
        out.append(compare(g, test, reference, where, pred))
    return out


def verdict(c: MetricCell, metric: str) -> str:
    """`worse`, `better`, `inconclusive`, or empty where no test ran (then the note says why)."""
    if c.paired is None or math.isnan(c.p_holm):
        return ""
    if not c.significant:
        return "inconclusive"
    up = c.delta > 0
    return "better" if up == METRICS[metric].higher_is_better else "worse"


def summary_frame(tables: list[ComparisonTable]) -> pd.DataFrame:
    """The tables' numbers at full precision, one row per (dataset, protocol, variant, metric).

    n/mean/std/ci_* are over folds (seeds averaged within a fold); cells/cell_std over (seed, fold) cells.
    """
    records = []
    for t in tables:
        for r in t.rows:
            for metric, c in r.cells.items():
                u, k = c.units, c.clip
                records.append(
                    {
                        "study": t.study, "dataset": t.dataset, "protocol": t.protocol,
                        "subject_independent": t.subject_independent, "variant": r.variant,
                        "description": r.description, "reference": r.is_reference, "metric": f"test/{metric}",
                        "n": u.n, "mean": u.mean, "std": u.std, "ci_low": u.ci_low, "ci_high": u.ci_high,
                        "cells": c.summary.n, "cell_std": c.summary.std, "delta": c.delta,
                        "diff_ci_low": c.diff_low, "diff_ci_high": c.diff_high,
                        "test": t.test if c.paired and t.unit == "fold" else "",
                        "unit": t.unit if c.paired else "", "n_units": c.paired.n_pairs if c.paired else 0,
                        "p": c.paired.p if c.paired else math.nan, "p_holm": c.p_holm,
                        "significant": c.significant, "verdict": verdict(c, metric), "mdd": c.mdd,
                        "note": c.paired.note if c.paired else "",
                        "clip_actors": k.actors if k else 0, "clip_delta": k.delta if k else math.nan,
                        "clip_ci_low": k.ci_low if k else math.nan, "clip_ci_high": k.ci_high if k else math.nan,
                        "clip_p": k.p if k else math.nan, "clip_p_holm": c.clip_p_holm,
                    }
                )  # fmt: skip
    return pd.DataFrame.from_records(records)
