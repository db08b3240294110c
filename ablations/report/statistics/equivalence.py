"""Four verdicts with a declared margin: worse, better, equivalent or inconclusive, read from one interval.

A comparison is the per-unit (fold, or fold of a repeat) seed-averaged difference d_1..d_n of a variant and
the reference. Its mean has the interval  mean(d) +- t_{n-1} * s * sqrt(1/n + rho), where rho = n_test/n_train
corrects for the correlation that overlapping training sets induce between units: with rho = 0 it is the plain
paired t; with rho > 0 and one cross-validation it is Nadeau and Bengio's (2003) corrected t, whose Bayesian twin
(flat prior) is Corani and Benavoli's (2015) correlated t-test (posterior Student t, n-1 df, the same centre and
scale); over R repeats x K folds (n = K*R) it is Bouckaert and Frank's (2004) corrected repeated k-fold test.

Decision rule (docs/statistics.md, "Verdicts"): one two-sided interval at level 1 - alpha_i, where alpha_i is
the family's adjusted level (Bonferroni's alpha/m by default: simultaneous intervals, so every verdict of a
table, equivalence included, is protected; Holm's step-down level protects only worse/better, and the
calibration shows its false 'equivalent' rate above Bonferroni's; or alpha), and the verdict is read from it
alone: inside (-margin, +margin) -> equivalent (also when it excludes 0: the difference is then real but
smaller than what matters); else entirely above 0 -> better (below -> worse, for a metric where higher is
better); else inconclusive. Reading equivalence from the 1 - alpha_i interval is a TOST at alpha_i / 2, so the
interval shown, the adjusted p and the verdict can never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ablations.report.statistics.paired import ALPHA, MIN_TEST_UNITS

VERDICTS = ("inconclusive", "worse", "better", "equivalent")  # index = the code decide() returns
METHODS = {
    "t": "paired t over units (variance s^2/n: assumes independent units)",
    "corrected": "corrected t over units (variance s^2 (1/n + n_test/n_train)): Nadeau-Bengio, correlated Bayesian, "
    "Bouckaert-Frank for repeats",
}
ADJUSTMENTS = ("holm", "bonferroni", "none")
DEFAULT_METHOD, DEFAULT_ADJUST = "corrected", "bonferroni"  # the calibration's choice (docs/statistics.md)


def kfold_rho(folds: int, validation_groups: int = 1) -> float:
    """n_test / n_train of an actor k-fold protocol: one group tests, `validation_groups` validate, the rest train."""
    train = folds - 1 - validation_groups
    return 1.0 / train if train > 0 else math.nan


def _check(method: str, adjust: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method: '{method}' is not one of {', '.join(METHODS)}")
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust: '{adjust}' is not one of {', '.join(ADJUSTMENTS)}")


def moments(d: np.ndarray, rho: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, standard error (variance factor 1/n + rho) and df of the differences along the last axis (no NaN)."""
    d = np.asarray(d, dtype=float)
    n = d.shape[-1]
    sd = d.std(axis=-1, ddof=1) if n > 1 else np.full(d.shape[:-1], np.nan)
    return d.mean(axis=-1), sd * math.sqrt(1.0 / n + rho), n - 1


def p_two_sided(mean: np.ndarray, se: np.ndarray, df: int) -> np.ndarray:
    """Two-sided p of mean = 0 from the t statistic mean/se with df degrees of freedom (NaN where se is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, np.abs(mean) / se, np.nan)
    return 2.0 * stats.t.sf(t, df)


def family_alphas(p: np.ndarray, alpha: float = ALPHA, adjust: str = DEFAULT_ADJUST) -> np.ndarray:
    """Each comparison's two-sided level alpha_i along the last axis; NaN p (no test) is left out of the family.

    holm: the step-down threshold alpha/(m - r) at the comparison's rank r, frozen at the first rank that is not
    rejected (so every comparison after it gets that rank's level and, like it, is not rejected); the interval at
    1 - alpha_i then excludes 0 exactly when Holm rejects.
    """
    p = np.asarray(p, dtype=float)
    finite = np.isfinite(p)
    m = finite.sum(axis=-1, keepdims=True)
    if adjust == "none":
        return np.where(finite, alpha, np.nan)
    if adjust == "bonferroni":
        return np.where(finite, alpha / np.maximum(m, 1), np.nan)
    if adjust != "holm":
        raise ValueError(f"adjust: '{adjust}' is not one of {', '.join(ADJUSTMENTS)}")
    order = np.argsort(np.where(finite, p, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(np.where(finite, p, np.inf), order, axis=-1)
    rank = np.arange(p.shape[-1])
    threshold = alpha / np.maximum(m - rank, 1)
    rejected = np.cumprod(ranked < threshold, axis=-1).astype(bool)
    stop = rejected.sum(axis=-1, keepdims=True)  # rank of the first comparison not rejected
    level = alpha / np.maximum(m - np.minimum(rank, stop), 1)
    out = np.empty_like(level)
    np.put_along_axis(out, order, level, axis=-1)
    return np.where(finite, out, np.nan)


def adjusted_p(p: np.ndarray, adjust: str = DEFAULT_ADJUST) -> np.ndarray:
    """p adjusted along the last axis as `adjust` does it (Holm's step-down maximum; NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    finite = np.isfinite(p)
    m = finite.sum(axis=-1, keepdims=True)
    if adjust == "none":
        return p.copy()
    if adjust == "bonferroni":
        return np.where(finite, np.minimum(1.0, p * m), np.nan)
    order = np.argsort(np.where(finite, p, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(np.where(finite, p, np.inf), order, axis=-1)
    scaled = np.minimum(1.0, ranked * np.maximum(m - np.arange(p.shape[-1]), 1))
    out = np.empty_like(scaled)
    np.put_along_axis(out, order, np.maximum.accumulate(scaled, axis=-1), axis=-1)
    return np.where(finite, out, np.nan)


def interval(mean: np.ndarray, se: np.ndarray, df: int, alpha_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided 1 - alpha_i t interval (NaN where se is 0 or alpha_i is NaN)."""
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(1.0 - np.asarray(alpha_i) / 2.0, df) * np.where(se > 0, se, np.nan)
    return mean - half, mean + half


def decide(low: np.ndarray, high: np.ndarray, margin: float | None, higher_is_better: bool = True) -> np.ndarray:
    """Verdict codes (indices into VERDICTS) read from the interval alone; NaN intervals are inconclusive."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    code = np.zeros(np.broadcast(low, high).shape, dtype=np.int8)
    up, down = (2, 1) if higher_is_better else (1, 2)
    code[low > 0] = up
    code[high < 0] = down
    if margin is not None and margin > 0:
        code[(low > -margin) & (high < margin)] = 3
    return code


@dataclass(frozen=True)
class Comparison:
    """One comparison with the reference: the verdict and the interval it is read from (stored units)."""

    name: str
    n: int  # units: folds x repeats, seeds averaged within each
    repeats: int
    delta: float  # mean difference, variant - reference
    se: float  # its standard error (corrected under method "corrected")
    df: int
    low: float  # the interval the verdict is read from ...
    high: float
    level: float  # ... and its confidence level, 1 - alpha_i
    p: float  # two-sided p of delta = 0, unadjusted
    p_adjusted: float  # the same p adjusted as the interval is (p_adjusted < alpha exactly when it excludes 0)
    p_equivalence: float  # TOST p (larger one-sided p of |delta| >= margin), unadjusted; NaN without a margin
    prob_below: float  # correlated Bayesian posterior: P(delta < -margin), P(|delta| <= margin), P(delta > margin)
    prob_within: float
    prob_above: float
    margin: float  # NaN: none declared (three verdicts only)
    verdict: str
    reason: str


def _fmt(x: float, scale: float) -> str:
    return f"{x * scale:+.4g}"


def _reason(code: int, low: float, high: float, level: float, margin: float, scale: float) -> str:
    pct = f"{100 * level:.4g}%"
    where = f"{pct} interval [{_fmt(low, scale)}, {_fmt(high, scale)}]"
    band = f"+-{margin * scale:.4g}"
    if code == 3:
        extra = ": the difference is real but smaller than the margin" if low > 0 or high < 0 else ""
        return f"{where} lies within {band}{extra}"
    if code in (1, 2):
        return f"{where} excludes 0"
    if math.isnan(margin):
        return f"{where} includes 0 (no margin declared, so equivalence cannot be shown)"
    return f"{where} includes 0 and reaches beyond {band}"


def _untested(name: str, d: np.ndarray, repeats: int, margin: float, why: str) -> Comparison:
    delta = float(d.mean()) if d.size else math.nan
    nan = math.nan
    return Comparison(name, int(d.size), repeats, delta, nan, max(0, d.size - 1), nan, nan, nan, nan, nan, nan,
                      nan, nan, nan, margin, "inconclusive", why)  # fmt: skip


def compare_family(
    diffs: Mapping[str, np.ndarray],
    *,
    margin: float | None = None,
    rho: float | None = None,
    method: str = DEFAULT_METHOD,
    adjust: str = DEFAULT_ADJUST,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
    repeats: Mapping[str, np.ndarray] | None = None,
    scale: float = 1.0,
) -> dict[str, Comparison]:
    """Verdicts for a family of comparisons (e.g. the variants of one table column), adjusted together.

    diffs: per comparison, the per-unit differences (NaN units are dropped); repeats: per comparison, each
    unit's repeat index (only checked and counted: the corrected variance is the same formula with n = K*R);
    rho: n_test/n_train, required by method "corrected" (kfold_rho(folds) for the actor k-fold protocols; no
    default, so a forgotten rho cannot silently turn the corrected test into the plain t); scale: display factor
    for the reason text.
    """
    _check(method, adjust)
    if margin is not None and (not math.isfinite(margin) or margin < 0):
        raise ValueError(f"margin: expected a number >= 0 in the metric's units, got {margin}")
    if method == "corrected" and (rho is None or not (math.isfinite(rho) and rho >= 0)):
        raise ValueError(f"rho: the corrected test needs n_test/n_train >= 0 (kfold_rho(folds)), got {rho}")
    r = rho if method == "corrected" else 0.0
    m = math.nan if margin is None or margin == 0 else float(margin)
    out: dict[str, Comparison] = {}
    tested: dict[str, tuple[np.ndarray, int, float, float, int, float]] = {}
    for name, values in diffs.items():
        d = np.asarray(values, dtype=float)
        keep = ~np.isnan(d)
        d = d[keep]
        reps = 1
        if repeats is not None and name in repeats:
            rep = np.asarray(repeats[name])[keep]
            counts = np.unique(rep, return_counts=True)[1]
            if counts.size and counts.min() != counts.max():
                raise ValueError(f"{name}: repeats have different numbers of folds {sorted(set(counts.tolist()))}")
            reps = int(counts.size)
        if d.size < MIN_TEST_UNITS:
            out[name] = _untested(name, d, reps, m, f"{d.size} units: too few for a test (needs {MIN_TEST_UNITS})")
            continue
        mean, se, df = moments(d, r)
        if np.allclose(d, d[0], rtol=0.0, atol=1e-12):  # floating noise is not variation
            out[name] = _untested(name, d, reps, m, "the difference is the same on every unit (sd 0): no interval")
            continue
        p = float(p_two_sided(mean, se, df))
        tested[name] = (d, reps, float(mean), float(se), df, p)
    names = list(tested)
    p_all = np.array([tested[k][5] for k in names])
    alphas = family_alphas(p_all, alpha, adjust) if names else p_all
    p_adj = adjusted_p(p_all, adjust) if names else p_all
    for i, name in enumerate(names):
        d, reps, mean, se, df, p = tested[name]
        low, high = (float(x) for x in interval(np.array(mean), np.array(se), df, alphas[i]))
        code = int(decide(np.array(low), np.array(high), None if math.isnan(m) else m, higher_is_better))
        post = stats.t(df, loc=mean, scale=se)
        below, above = (float(post.cdf(-m)), float(post.sf(m))) if not math.isnan(m) else (math.nan, math.nan)
        tost = max(float(stats.t.sf((mean + m) / se, df)), float(stats.t.cdf((mean - m) / se, df)))
        out[name] = Comparison(name, int(d.size), reps, mean, se, df, low, high, 1.0 - float(alphas[i]), p,
                               float(p_adj[i]), tost if not math.isnan(m) else math.nan, below,
                               1.0 - below - above if not math.isnan(m) else math.nan, above, m, VERDICTS[code],
                               _reason(code, low, high, 1.0 - float(alphas[i]), m, scale))  # fmt: skip
    return {name: out[name] for name in diffs}


def compare_one(d: np.ndarray, **kwargs) -> Comparison:
    """One comparison on its own (a family of one: no adjustment); keywords as compare_family."""
    return compare_family({"": d}, **kwargs)[""]


def rope_verdict(c: Comparison, threshold: float = 0.95, higher_is_better: bool = True) -> str:
    """Benavoli et al.'s (2017) posterior rule: the region (below, within, above the margin) holding > threshold.

    Not the report's rule (its family-wise errors are not controlled: docs/statistics.md, "Calibration"); here for
    readers who want the Bayesian reading of the same posterior. 'worse'/'better' then mean beyond the margin.
    """
    if math.isnan(c.prob_within):
        return "inconclusive"
    if c.prob_within > threshold:
        return "equivalent"
    if c.prob_below > threshold:
        return "worse" if higher_is_better else "better"
    if c.prob_above > threshold:
        return "better" if higher_is_better else "worse"
    return "inconclusive"
