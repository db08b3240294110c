"""The factorial reading of one (dataset, protocol): main effects and interactions of the factors its variants cross.

Found from runs.csv alone (statistics.factorial.detect_factorial: config columns constant within each variant whose
levels form a full factorial, the reference's levels as baselines), so a study's `factors` are found as well as a
hand-made 2x2x2 of variants. Each effect is tested over the units like a comparison, on the primary metric, with
the table's margin and adjustment (all effects one family).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.read.columns import METRICS
from ablations.report.statistics.factorial import Effect, FactorialDesign, detect_factorial, factorial_effects


@dataclass
class FactorialTable:
    """The effects of one factorial design, tested like the comparisons of `table`."""

    table: ComparisonTable  # the comparison it belongs to (dataset, protocol, settings, units)
    design: FactorialDesign
    effects: list[Effect] = field(default_factory=list)
    method: str = "corrected"
    note: str = ""  # why no effects were tested, or how the test differs from the table's


def factorial(group: pd.DataFrame, t: ComparisonTable, where: str = "runs.csv") -> FactorialTable | None:
    """The factorial analysis of a group whose variants cross two or more factors (None when they do not)."""
    if t.reference is None:
        return None
    design = detect_factorial(group, reference=t.reference, where=where)
    if design is None:
        return None
    method = "t" if t.settings.test == "t" else "corrected"
    note = "" if t.settings.test != "wilcoxon" else "effects use the corrected t (a rank test has no effect estimate)"
    spec = METRICS[t.primary]
    try:
        effects = factorial_effects(
            group, f"test/{t.primary}", design, margin=None if math.isnan(t.margin) else t.margin,
            rho=t.rho if method == "corrected" else None, method=method, adjust=t.settings.adjust,
            higher_is_better=spec.higher_is_better, scale=spec.scale(), where=where,
        )  # fmt: skip
    except ValueError as err:
        return FactorialTable(t, design, [], method, str(err))
    return FactorialTable(t, design, effects, method, note)
