"""Honest summary statistics: sample std, range-respecting CIs, paired tests over independent units, Holm.

The unit of replication is the fold (its test actors are disjoint from every other fold's): seeds of one
fold share its test set, so they are averaged before anything is compared across folds (docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

TESTS = {
    "t": "two-sided paired t-test",
    "nb": "two-sided paired t-test with the Nadeau-Bengio variance correction",
    "wilcoxon": "two-sided Wilcoxon signed-rank test",
}
ALPHA = 0.05
MIN_TEST_UNITS = 4  # fewer independent test sets: nothing is decided on them (docs/statistics.md, "Units")
MIN_INTERVAL_UNITS = 3  # a t interval over 2 units has t = 12.7: it says nothing, so none is printed


@dataclass(frozen=True)
class Summary:
    """Mean, sample std (ddof=1) and t-based 95% CI of one metric over n cells; NaN where n is too small."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Paired:
    """A paired test of a variant against the reference over matched (seed, fold) cells."""

    n_pairs: int
    p: float  # NaN when the test was not run
    note: str  # why no p-value, e.g. "too few pairs (3)"; empty when the test ran


def summarize(values: np.ndarray) -> Summary:
    """Mean +- sample std and a 95% t-interval; std/CI are NaN (shown as n/a) for n < 2."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = int(v.size)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(np.mean(v))
    if n < 2:
        return Summary(n, mean, math.nan, math.nan, math.nan)
    std = float(np.std(v, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


def min_pairs(test: str, alpha: float = ALPHA) -> int:
    """Fewest pairs with which `test` can reach p < alpha at all (exact Wilcoxon: 2 / 2**n < alpha)."""
    if test == "wilcoxon":
        n = 1
        while 2.0 / 2**n >= alpha:
            n += 1
        return n
    return 2


def paired_test(variant: np.ndarray, reference: np.ndarray, test: str = "wilcoxon", rho: float = 0.0) -> Paired:
    """Two-sided paired test of variant vs reference values (same order = same unit, e.g. fold).

    `rho` (test "nb" only) is Nadeau and Bengio's n_test / n_train: the t statistic's variance factor 1/n
    becomes 1/n + rho, for the correlation that overlapping training sets induce between units.
    """
    if test not in TESTS:
        raise ValueError(f"test: '{test}' is not one of {', '.join(TESTS)}")
    a, b = np.asarray(variant, dtype=float), np.asarray(reference, dtype=float)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    n = int(a.size)
    need = min_pairs(test)
    if n < need:
        return Paired(n, math.nan, f"too few pairs ({n} < {need})")
    diff = a - b
    if np.allclose(diff, 0.0, rtol=0.0, atol=1e-12):
        return Paired(n, 1.0, "")  # identical results: no evidence of a difference
    if test == "wilcoxon":
        p = float(stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)
    else:
        if np.allclose(diff, diff[0], rtol=0.0, atol=1e-12):
            # constant non-zero difference: t is infinite, scipy returns NaN
            return Paired(n, math.nan, "constant difference, t undefined")
        if test == "nb":
            t = float(np.mean(diff) / math.sqrt(np.var(diff, ddof=1) * (1.0 / n + rho)))
            p = float(2 * stats.t.sf(abs(t), n - 1))
        else:
            p = float(stats.ttest_rel(a, b).pvalue)
    return Paired(n, p, "")


def holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values; NaN entries (tests not run) are left out of the family and stay NaN."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(idx)
    order = sorted(idx, key=lambda i: (pvalues[i], i))
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def unit_summary(values: np.ndarray, low: float, high: float) -> Summary:
    """Mean, sample std and a 95% t interval over independent units, clipped to the metric's range [low, high].

    Below MIN_INTERVAL_UNITS units the interval is NaN (the table says "too few for an interval").
    """
    s = summarize(values)
    if s.n < MIN_INTERVAL_UNITS:
        return Summary(s.n, s.mean, s.std, math.nan, math.nan)
    return Summary(s.n, s.mean, s.std, max(low, s.ci_low), min(high, s.ci_high))


def diff_interval(diff: np.ndarray, span: float, rho: float = 0.0) -> tuple[float, float]:
    """95% t interval of the mean paired difference over units, within [-span, span]; NaN below the minimum."""
    d = np.asarray(diff, dtype=float)
    d = d[~np.isnan(d)]
    n = d.size
    if n < MIN_INTERVAL_UNITS:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(np.var(d, ddof=1) * (1.0 / n + rho))
    m = float(np.mean(d))
    return max(-span, m - half), min(span, m + half)
