"""What a design can conclude: the smallest margin it can declare equivalent, and when Wilcoxon cannot decide.

Equivalence needs the whole interval inside +-margin, so even a true difference of exactly 0 is declared
equivalent only when margin > t * se. The se comes from the sd of a unit's difference; one comparison's own sd
over 6 folds has 5 df and is mostly estimation noise, so the sd here is pooled over the comparisons of a table
(each around its own mean). More seeds shrink only the seed-to-seed part of that sd; from a pilot with one seed
per fold that part is unknown, and the answer is then a range, never a number that assumes it is zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from ablations.report.statistics.paired import ALPHA


@dataclass(frozen=True)
class Pooled:
    """Variance of a unit's difference, pooled over comparisons (stored units squared); NaN where unknown."""

    total: float  # of a seed-averaged unit difference at the pilot's `seeds`
    within: float  # seed-to-seed within a unit (NaN: one seed per unit, not estimable)
    seeds: int
    units: int  # units per comparison (the most any comparison has)
    df: int  # degrees of freedom of `total` summed over comparisons (they share the reference: an upper bound)

    @property
    def sd(self) -> float:
        """sd of a seed-averaged unit difference at the pilot's seeds."""
        return math.sqrt(self.total) if self.total >= 0 else math.nan


def pooled(cells: Iterable[pd.DataFrame]) -> Pooled:
    """Pool comparisons' cell differences (each a frame with columns unit, seed, diff) into one variance estimate."""
    ss_total = ss_within = 0.0
    df_total = df_within = 0
    seeds = units = 0
    for c in cells:
        c = c.dropna(subset=["diff"])
        per_unit = c.groupby("unit")["diff"]
        means = per_unit.mean().to_numpy(float)
        if means.size >= 2:
            ss_total += float(np.sum((means - means.mean()) ** 2))
            df_total += means.size - 1
        counts = per_unit.count()
        ss_within += float((per_unit.var(ddof=1).fillna(0.0) * (counts - 1)).sum())
        df_within += int((counts - 1).clip(lower=0).sum())
        seeds = max(seeds, int(counts.max()) if len(counts) else 0)
        units = max(units, int(means.size))
    total = ss_total / df_total if df_total else math.nan
    within = ss_within / df_within if df_within else math.nan
    return Pooled(total, within, seeds, units, df_total)


def _equivalence_power(margin: float, sd: float, n: int, rho: float, crit: float) -> float:
    """P(interval inside +-margin | true difference 0) when mean ~ N(0, sd^2 c^2) and s^2 ~ sd^2 chi2_{n-1}/(n-1)."""
    c, df = math.sqrt(1.0 / n + rho), n - 1

    def given(x: float) -> float:
        room = margin / (sd * c) - crit * math.sqrt(x / df)
        return max(0.0, 2.0 * stats.norm.cdf(room) - 1.0) * stats.chi2.pdf(x, df)

    upper = df * (margin / (sd * c * crit)) ** 2  # beyond it, s alone pushes the interval past the margin
    return float(integrate.quad(given, 0.0, upper, limit=200)[0])


def min_margin(
    sd: float, units: int, rho: float = 0.0, family: int = 1, alpha: float = ALPHA, power: float | None = None
) -> float:
    """Smallest margin a comparison over `units` units can be declared equivalent at (true difference 0).

    The interval is the report's: level 1 - alpha/family (Bonferroni, and Holm's level when nothing is rejected),
    variance factor 1/units + rho. power None: the margin an estimate of exactly 0 with s = sd reaches (the best
    case); power p: the margin reached with probability p (the sd estimate's own noise included).
    """
    if units < 2 or not (sd > 0) or not math.isfinite(sd) or not math.isfinite(rho):
        return math.nan
    crit = float(stats.t.ppf(1.0 - alpha / max(1, family) / 2.0, units - 1))
    best = crit * sd * math.sqrt(1.0 / units + rho)
    if power is None:
        return best
    if not 0.0 < power < 1.0:
        raise ValueError(f"power: expected a probability in (0, 1), got {power}")
    hi = 2.0 * best
    while _equivalence_power(hi, sd, units, rho, crit) < power:
        hi *= 2.0

    def gap(m: float) -> float:
        return _equivalence_power(m, sd, units, rho, crit) - power

    return float(optimize.brentq(gap, 0.0, hi, xtol=sd * 1e-6))


@dataclass(frozen=True)
class Reachable:
    """The smallest equivalence margin of a planned design, as a range where the seed variance is unknown."""

    low: float
    high: float
    units: int
    seeds: int
    note: str  # why a range, or empty


def reachable_margin(
    pilot: Pooled,
    units: int,
    seeds: int,
    rho: float = 0.0,
    family: int = 1,
    alpha: float = ALPHA,
    power: float | None = None,
) -> Reachable:
    """min_margin for a design of `units` units x `seeds` seeds, from a pilot's pooled variance.

    Known seed variance: sd^2 = between + within/seeds, between = total - within/pilot seeds. Unknown (one seed per
    unit in the pilot): the variance lies between total/seeds (all of it seed noise) and total (none of it).
    A seed term shared by all folds (one train.seed for every fold) is in neither: docs/statistics.md.
    """
    if math.isnan(pilot.total):
        return Reachable(math.nan, math.nan, units, seeds, "the pilot has too few units to estimate a variance")
    if not math.isnan(pilot.within):
        between = max(0.0, pilot.total - pilot.within / max(1, pilot.seeds))
        m = min_margin(math.sqrt(between + pilot.within / seeds), units, rho, family, alpha, power)
        return Reachable(m, m, units, seeds, "")
    lo = min_margin(math.sqrt(pilot.total / seeds), units, rho, family, alpha, power)
    hi = min_margin(math.sqrt(pilot.total), units, rho, family, alpha, power)
    note = "" if seeds == pilot.seeds else (
        f"seed-to-seed variance unknown ({pilot.seeds} seed per fold in the pilot): with {seeds} seeds the margin "
        f"lies between these bounds (all of the variance seed noise .. none of it)")  # fmt: skip
    return Reachable(min(lo, hi), max(lo, hi), units, seeds, note)


def wilcoxon_note(units: int, family: int = 1, alpha: float = ALPHA) -> str:
    """Why an exact Wilcoxon test over `units` units cannot decide (empty string when it can)."""
    smallest = 2.0 / 2**units  # every difference on one side: two-sided exact p = 2 / 2^n
    exact = f"its smallest two-sided p is 1/{2 ** (units - 1)} = {smallest:.3g}"
    if smallest >= alpha:
        return f"the exact Wilcoxon test over {units} units cannot reach p < {alpha:g}: {exact}"
    need = alpha / max(1, family)
    if smallest >= need:
        return (f"the exact Wilcoxon test over {units} units cannot reach significance after Holm over {family} "
                f"comparisons: {exact}, and Holm's first step needs p < {need:.3g}")  # fmt: skip
    return ""
