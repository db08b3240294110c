"""Honest summary statistics: sample std, t-based CI, paired tests over matched cells, Holm correction."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

TESTS = {"wilcoxon": "two-sided Wilcoxon signed-rank test", "t": "two-sided paired t-test"}
ALPHA = 0.05


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


def paired_test(variant: np.ndarray, reference: np.ndarray, test: str = "wilcoxon") -> Paired:
    """Two-sided paired test of variant vs reference values (same order = same (seed, fold) cell)."""
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
