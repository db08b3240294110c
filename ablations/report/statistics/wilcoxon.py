"""The exact Wilcoxon signed-rank test over units as a family of comparisons (`--test wilcoxon`).

A rank test has no interval of the mean difference and no equivalence reading: a comparison reads worse or better
when its adjusted p is below alpha, else inconclusive. Over 6 units its smallest two-sided p is 1/32, which no
adjustment over 8 comparisons brings under 0.05 (statistics.margin.wilcoxon_note says so in the table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import stats

from ablations.report.statistics.equivalence import DEFAULT_ADJUST, Comparison, adjusted_p
from ablations.report.statistics.paired import ALPHA, MIN_TEST_UNITS


def wilcoxon_family(
    diffs: Mapping[str, np.ndarray],
    *,
    margin: float | None = None,
    adjust: str = DEFAULT_ADJUST,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
) -> dict[str, Comparison]:
    """Per comparison: the exact two-sided signed-rank p of the per-unit differences, adjusted over the family."""
    nan = math.nan
    m = nan if margin is None or margin == 0 else float(margin)
    raw: dict[str, tuple[np.ndarray, float, str]] = {}
    for name, values in diffs.items():
        d = np.asarray(values, dtype=float)
        d = d[~np.isnan(d)]
        if d.size < MIN_TEST_UNITS:
            raw[name] = (d, nan, f"{d.size} units: too few for a test (needs {MIN_TEST_UNITS})")
        elif np.allclose(d, 0.0, rtol=0.0, atol=1e-12):
            raw[name] = (d, 1.0, "")  # identical results: no evidence of a difference
        else:
            raw[name] = (d, float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue), "")
    names = list(raw)
    p_adj = adjusted_p(np.array([raw[k][1] for k in names]), adjust) if names else np.array([])
    out = {}
    for i, name in enumerate(names):
        d, p, why = raw[name]
        delta = float(d.mean()) if d.size else nan
        verdict = "inconclusive"
        if not math.isnan(p):
            if p_adj[i] < alpha:
                verdict = "better" if (delta > 0) == higher_is_better else "worse"
            why = f"signed-rank p adjusted ({adjust}) {p_adj[i]:.3g}: a rank test gives no interval or equivalence"
        out[name] = Comparison(name, int(d.size), 1, delta, nan, max(0, d.size - 1), nan, nan, nan, p,
                               float(p_adj[i]) if names else nan, nan, nan, nan, nan, m, verdict, why)  # fmt: skip
    return out
