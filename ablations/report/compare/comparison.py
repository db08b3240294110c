"""The comparison of one (dataset, protocol): every variant against the reference, on every metric, with a verdict.

Units are (repeat, fold): the seeds of a unit are averaged first (statistics.units). Each metric's differences are
one family of comparisons (statistics.equivalence.compare_family): worse, better, equivalent within the declared
margin, or inconclusive, read from one interval (docs/statistics.md). The primary metric leads every table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ablations.report.compare.labels import change_label, identical_metrics, is_synthetic
from ablations.report.compare.settings import Settings, margin_stored, primary_metric
from ablations.report.read.columns import COST_COLUMNS, METRICS, REPEAT, TASK_METRICS
from ablations.report.read.load import ReportInputError, group_task
from ablations.report.read.order import study_order
from ablations.report.statistics.clipstats import ClipComparison, compare_clips, correctness
from ablations.report.statistics.equivalence import Comparison, compare_family, kfold_rho
from ablations.report.statistics.margin import Reachable, pooled, reachable_margin, wilcoxon_note
from ablations.report.statistics.paired import MIN_TEST_UNITS, Summary, holm, summarize, unit_summary
from ablations.report.statistics.power import Components, components
from ablations.report.statistics.power import pooled as pooled_components
from ablations.report.statistics.units import cell_differences, unit_means
from ablations.report.statistics.wilcoxon import wilcoxon_family
from avtca.config.base import suggest
from avtca.data.protocols import K_FOLDS


@dataclass(frozen=True)
class MetricCell:
    """One variant's statistics for one metric."""

    units: Summary  # over units (repeat, fold), seeds averaged first: the table's mean +- sd
    cells: Summary  # over (seed, fold) cells, as logged
    comparison: Comparison | None = None  # against the reference (None: the reference, or no reference)
    best: bool = False
    clip: ClipComparison | None = None  # clip-level, actor-clustered (accuracy, with predictions.csv): descriptive
    clip_p_holm: float = math.nan

    @property
    def tested(self) -> bool:
        """A test ran (else `comparison.reason` says why not)."""
        return self.comparison is not None and not math.isnan(self.comparison.p)

    @property
    def verdict(self) -> str:
        """worse | better | equivalent | inconclusive, or "" where no test ran."""
        return self.comparison.verdict if self.tested else ""


@dataclass
class VariantRow:
    """One variant of the table."""

    variant: str
    n: int  # completed (seed, fold) cells with a value of the primary metric
    is_reference: bool
    description: str = ""  # the study file's one line
    label: str = ""  # what it changes, short: the config columns that differ from the reference's
    cells: dict[str, MetricCell] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)  # median over the cells per cost column present (COST_COLUMNS)


@dataclass
class ComparisonTable:
    """Everything known about one (dataset, protocol) of a study: what its tables and figures show."""

    study: str
    dataset: str
    protocol: str
    subject_independent: bool
    synthetic: bool  # runs.csv's data.root is "synthetic": generated data, not the dataset's recordings
    task: str
    metrics: tuple[str, ...]  # the primary metric first
    reference: str | None
    rows: list[VariantRow]
    settings: Settings = field(default_factory=Settings)
    margin: float = math.nan  # stored units, every metric (NaN: none declared)
    folds: int = 0  # folds per repeat
    repeats: int = 1
    seeds: int = 0  # seeds per unit (the most any variant has)
    units: int = 0  # (repeat, fold) units with a value
    rho: float = math.nan  # n_test / n_train of the protocol (the corrected test's correction)
    max_folds: int = 0  # folds the protocol has
    identical: dict[str, str] = field(default_factory=dict)  # metric -> an earlier metric equal to it on every row
    reachable: Reachable | None = None  # the smallest margin this design can declare equivalent (primary metric)
    note: str = ""  # a limit of the whole table (e.g. why nothing was tested)
    components: Components | None = None  # seed/fold variance components of the primary metric (--dry-run --pilot)

    @property
    def primary(self) -> str:
        """The metric the main table, the figures and the verdict lines use."""
        return self.metrics[0]

    @property
    def family(self) -> int:
        """Comparisons adjusted together (the variants compared with the reference)."""
        return sum(1 for r in self.rows if not r.is_reference) if self.reference is not None else 0

    @property
    def cost_columns(self) -> list[str]:
        """The cost columns with a value for some variant, in COST_COLUMNS' order."""
        return [c for c in COST_COLUMNS if any(not math.isnan(r.cost.get(c, math.nan)) for r in self.rows)]

    def row(self, variant: str) -> VariantRow:
        """The row of `variant`."""
        return next(r for r in self.rows if r.variant == variant)


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


def _no_test_reason(units: int, seeds: int) -> str:
    if units == 1 and seeds > 1:
        return f"one test set shared by {seeds} seeds: no test"
    return f"{units} unit{'s' if units != 1 else ''}: too few for a test (needs {MIN_TEST_UNITS})"


def _family(means: pd.DataFrame, ref: str, others: list[str], metric: str, t: ComparisonTable) -> dict:
    """The comparisons of one metric's column (variant - reference per unit), adjusted together."""
    diffs = {v: (means[v] - means[ref]).dropna() for v in others if v in means.columns}
    spec, s = METRICS[metric], t.settings
    margin = None if math.isnan(t.margin) else t.margin
    if s.test == "wilcoxon":
        return wilcoxon_family({v: d.to_numpy(float) for v, d in diffs.items()}, margin=margin, adjust=s.adjust,
                               higher_is_better=spec.higher_is_better)  # fmt: skip
    rho = t.rho if s.test == "corrected" else 0.0
    if s.test == "corrected" and not (rho >= 0):
        why = f"the corrected test needs a k-fold protocol with k > 2 (protocol {t.protocol})"
        return {v: _untested(v, d.to_numpy(float), margin, why) for v, d in diffs.items()}
    return compare_family(
        {v: d.to_numpy(float) for v, d in diffs.items()},
        margin=margin, rho=rho, method="corrected" if s.test == "corrected" else "t", adjust=s.adjust,
        higher_is_better=spec.higher_is_better, scale=spec.scale(),
        repeats={v: d.index.get_level_values(REPEAT).to_numpy() for v, d in diffs.items()},
    )  # fmt: skip


def _untested(name: str, d: np.ndarray, margin: float | None, why: str) -> Comparison:
    n = math.nan
    return Comparison(name, int(d.size), 1, float(d.mean()) if d.size else n, n, max(0, d.size - 1), n, n, n, n, n,
                      n, n, n, n, n if margin is None else margin, "inconclusive", why)  # fmt: skip


def compare(
    group: pd.DataFrame, settings: Settings | None = None, where: str = "runs.csv", predictions=None
) -> ComparisonTable:
    """The comparison of one (dataset, protocol) group of runs.csv (and its predictions.csv rows)."""
    s = settings or Settings()
    task = group_task(group)
    primary = primary_metric(s, task, where)
    metrics = (primary, *(m for m in TASK_METRICS[task] if m != primary))
    ref = resolve_reference(group, s.reference, where)
    first = group.iloc[0]
    protocol = str(first["protocol"])
    folds = int(group.groupby(REPEAT)["fold"].nunique().max())
    max_folds = K_FOLDS.get(protocol, folds)
    t = ComparisonTable(
        study=str(first["study"]), dataset=str(first["dataset"]), protocol=protocol,
        subject_independent=bool(first["subject_independent"]), synthetic=is_synthetic(group), task=task,
        metrics=metrics, reference=ref, rows=[], settings=s, margin=margin_stored(s, primary),
        folds=folds, repeats=int(group[REPEAT].nunique()),
        seeds=int(group.groupby(["variant", REPEAT, "fold"])["seed"].nunique().max()),
        units=int(group[[REPEAT, "fold"]].drop_duplicates().shape[0]), rho=kfold_rho(max_folds),
        max_folds=max_folds, identical=identical_metrics(group, metrics),
    )  # fmt: skip
    present = [c for c in COST_COLUMNS if c in group.columns]
    for variant in variant_order(group, ref):
        sub = group[group["variant"] == variant]
        desc = sorted(d for d in sub["description"].unique() if d) if "description" in sub else []
        cost = {c: float(sub[c].median()) if sub[c].notna().any() else math.nan for c in present}
        label = change_label(group, variant, ref) if ref is not None and variant != ref else ""
        t.rows.append(VariantRow(variant, int(sub[f"test/{primary}"].notna().sum()), variant == ref,
                                 desc[0] if desc else "", label, {}, cost))  # fmt: skip
    corr = _clip_correctness(group, predictions, t)
    others = [r.variant for r in t.rows if not r.is_reference]
    for metric in metrics:
        _fill_metric(group, t, metric, others, corr)
    if ref is not None and t.units < MIN_TEST_UNITS:
        t.note = _no_test_reason(t.units, t.seeds)
    elif ref is not None and s.test == "wilcoxon":
        t.note = wilcoxon_note(t.units, t.family)
    if ref is not None and others:
        cells = [cell_differences(group, v, ref, f"test/{primary}") for v in others]
        if s.test != "wilcoxon" and t.units >= MIN_TEST_UNITS:
            rho = t.rho if s.test == "corrected" else 0.0
            t.reachable = reachable_margin(pooled(cells), t.units, t.seeds, rho if rho >= 0 else math.nan, t.family)
        t.components = pooled_components([components(c.assign(fold=c["unit"])) for c in cells])
    return t


def _clip_correctness(group: pd.DataFrame, predictions, t: ComparisonTable) -> pd.DataFrame | None:
    """Seed-averaged clip correctness for the clip-level comparison (one cross-validation only: predictions.csv
    has no repeat column)."""
    if predictions is None or t.task != "classification" or t.reference is None or t.repeats > 1:
        return None
    keys = group[["variant", "seed", "fold"]].drop_duplicates()
    sel = predictions.merge(keys, on=["variant", "seed", "fold"], how="inner")
    return correctness(sel) if len(sel) else None


def _fill_metric(group: pd.DataFrame, t: ComparisonTable, metric: str, others: list[str], corr) -> None:
    col = f"test/{metric}"
    lo, hi = metric_range(metric)
    means = unit_means(group, col)
    spec = METRICS[metric]
    units = {r.variant: unit_summary(means[r.variant].dropna().to_numpy(float), lo, hi) for r in t.rows}
    family = _family(means, t.reference, others, metric, t) if t.reference is not None else {}
    for v, c in family.items():
        if math.isnan(c.p) and c.n < MIN_TEST_UNITS:
            family[v] = replace(c, reason=_no_test_reason(c.n, t.seeds))
    clips = (
        {v: compare_clips(corr, v, t.reference) for v in others} if corr is not None and metric == "accuracy" else {}
    )
    clip_adj = dict(zip(clips, holm([k.p for k in clips.values()]), strict=True))
    shown = [round(u.mean * spec.scale(), 2) for u in units.values() if not math.isnan(u.mean)]
    best = (max(shown) if spec.higher_is_better else min(shown)) if shown else math.nan
    for r in t.rows:
        u = units[r.variant]
        cells = summarize(group.loc[group["variant"] == r.variant, col].to_numpy(float))
        r.cells[metric] = MetricCell(
            units=u, cells=cells, comparison=family.get(r.variant),
            best=not math.isnan(u.mean) and round(u.mean * spec.scale(), 2) == best,
            clip=clips.get(r.variant), clip_p_holm=clip_adj.get(r.variant, math.nan),
        )  # fmt: skip


def compare_all(
    runs: pd.DataFrame,
    settings: Settings | None = None,
    where: str = "runs.csv",
    predictions: pd.DataFrame | None = None,
) -> list[ComparisonTable]:
    """One comparison per (dataset, protocol), sorted by dataset then protocol."""
    out = []
    for _, g in runs.groupby(["dataset", "protocol"], sort=True):
        pred = None if predictions is None else predictions[predictions["variant"].isin(g["variant"].unique())]
        out.append(compare(g, settings, where, pred))
    return out
