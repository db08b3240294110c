"""Power of the fold-level paired test: the smallest detectable difference, and the replication a target needs.

The difference of two variants on fold f, averaged over S seeds, has variance  sigma_b^2 + sigma_w^2 / S:
sigma_b^2 is the fold-to-fold (between-test-set) variance of the true difference, sigma_w^2 the seed-to-seed
variance within a fold. Both are estimated from a study's (seed, fold) cells; more seeds only shrink the
second term, more folds shrink both (docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ablations.report.statistics.paired import ALPHA

POWER = 0.80
MAX_SEEDS = 10  # replication plans look no further than this many seeds per fold


def power_t(delta: float, sd: float, n: int, alpha: float, rho: float = 0.0) -> float:
    """Power of the two-sided paired t-test over n units at level alpha, true mean difference delta."""
    if n < 2 or sd <= 0 or math.isnan(sd):
        return math.nan
    se = sd * math.sqrt(1.0 / n + rho)
    crit = stats.t.ppf(1 - alpha / 2, n - 1)
    nc = abs(delta) / se
    value = float(stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc))
    if not math.isfinite(value):  # scipy's nct fails far in the tails: there the power is ~1 or ~0
        value = 1.0 if nc > crit else 0.0
    return value


def min_detectable(
    sd: float, n: int, family: int = 1, alpha: float = ALPHA, power: float = POWER, rho: float = 0.0
) -> float:
    """Smallest |difference| the paired t-test over n units detects with `power`.

    The level is alpha / family (Bonferroni, the threshold Holm applies to the smallest p-value), so the
    figure is what the first comparison of a Holm family needs. NaN where it cannot be computed.
    """
    if n < 2 or sd is None or math.isnan(sd) or sd <= 0 or not math.isfinite(rho):
        return math.nan
    a = alpha / max(1, family)
    se = sd * math.sqrt(1.0 / n + rho)
    hi = se
    while power_t(hi, sd, n, a, rho) < power and hi < se * 1e6:
        hi *= 2.0
    if power_t(hi, sd, n, a, rho) < power:
        return math.nan
    return float(optimize.brentq(lambda d: power_t(d, sd, n, a, rho) - power, 0.0, hi, xtol=se * 1e-6))


@dataclass(frozen=True)
class Components:
    """Variance components of a paired difference (stored units); NaN where the design cannot tell."""

    between: float  # sigma_b^2: fold-to-fold
    within: float  # sigma_w^2: seed-to-seed within a fold
    folds: int
    seeds: int


def components(cells: pd.DataFrame) -> Components:
    """Estimate the components from paired cell differences (columns fold, seed, diff)."""
    c = cells.dropna(subset=["diff"])
    folds = int(c["fold"].nunique())
    seeds = int(round(c.groupby("fold")["seed"].nunique().mean())) if len(c) else 0
    per_fold = c.groupby("fold")["diff"]
    dof = int((per_fold.count() - 1).clip(lower=0).sum())
    within = float((per_fold.var(ddof=1).fillna(0) * (per_fold.count() - 1)).sum() / dof) if dof else math.nan
    means = per_fold.mean().to_numpy()
    if folds < 2:
        return Components(math.nan, within, folds, seeds)
    total = float(np.var(means, ddof=1))
    between = max(0.0, total - (within / seeds if not math.isnan(within) else 0.0))
    return Components(between, within, folds, seeds)


def pooled(comps: list[Components]) -> Components:
    """Median components over a family of comparisons (one replication line per table)."""
    if not comps:
        return Components(math.nan, math.nan, 0, 0)
    b = [c.between for c in comps if not math.isnan(c.between)]
    w = [c.within for c in comps if not math.isnan(c.within)]
    return Components(float(np.median(b)) if b else math.nan, float(np.median(w)) if w else math.nan,
                      max(c.folds for c in comps), max(c.seeds for c in comps))  # fmt: skip


def design_sd(c: Components, seeds: int) -> float:
    """sd of a seed-averaged fold difference under `seeds` seeds; an unknown between-fold term counts as 0."""
    between = 0.0 if math.isnan(c.between) else c.between
    within = 0.0 if math.isnan(c.within) else c.within
    return math.sqrt(between + within / seeds)


def plan(c: Components, target: float, max_folds: int, family: int, rho_of=lambda k: 0.0) -> tuple[int, int] | None:
    """The cheapest (folds, seeds) with folds <= max_folds and seeds <= MAX_SEEDS that detects `target`."""
    if math.isnan(c.within) and math.isnan(c.between):
        return None
    best = None
    for k in range(2, max_folds + 1):
        for s in range(1, MAX_SEEDS + 1):
            mdd = min_detectable(design_sd(c, s), k, family, rho=rho_of(k))
            if not math.isnan(mdd) and mdd <= target and (best is None or k * s < best[0] * best[1]):
                best = (k, s)
    return best
