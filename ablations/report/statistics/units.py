"""Units of replication from a runs table: each variant's metric per (repeat, fold), its seeds averaged first.

A unit is one test set: a fold of one cross-validation repeat. Seeds of a unit share its test actors, so they
are averaged before anything is compared across units (docs/statistics.md, "Units of replication"). A runs
table without a `repeat` column is one cross-validation (repeat 0).
"""

from __future__ import annotations

import pandas as pd

REPEAT = "repeat"  # the column that numbers cross-validation repeats with reshuffled actor groups
UNIT = [REPEAT, "fold"]


def _check(runs: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"{where}: no column {', '.join(repr(c) for c in missing)}; it has {', '.join(runs.columns)}")


def unit_means(runs: pd.DataFrame, metric: str, where: str = "runs table") -> pd.DataFrame:
    """Each variant's `metric` per unit, averaged over the unit's seeds: index (repeat, fold), one column a variant."""
    _check(runs, ["variant", "seed", "fold", metric], where)
    data = runs if REPEAT in runs.columns else runs.assign(**{REPEAT: 0})
    means = data.groupby(["variant", *UNIT], sort=True)[metric].mean()
    return means.unstack("variant").sort_index()


def unit_differences(
    runs: pd.DataFrame, variant: str, reference: str, metric: str, where: str = "runs table"
) -> pd.Series:
    """variant - reference per unit both have a value on (seeds averaged within a unit): index (repeat, fold)."""
    means = unit_means(runs, metric, where)
    for name in (variant, reference):
        if name not in means.columns:
            raise ValueError(f"{where}: no variant '{name}'; variants are {', '.join(map(str, means.columns))}")
    return (means[variant] - means[reference]).dropna()


def cell_differences(
    runs: pd.DataFrame, variant: str, reference: str, metric: str, where: str = "runs table"
) -> pd.DataFrame:
    """variant - reference per (unit, seed) cell both have: columns unit (repeat, fold), seed, diff (for pooled)."""
    _check(runs, ["variant", "seed", "fold", metric], where)
    data = runs if REPEAT in runs.columns else runs.assign(**{REPEAT: 0})
    keys = [*UNIT, "seed"]
    a = data.loc[data["variant"] == variant, [*keys, metric]]
    b = data.loc[data["variant"] == reference, [*keys, metric]]
    both = a.merge(b, on=keys, suffixes=("_v", "_r")).dropna()
    units = list(zip(both[REPEAT], both["fold"], strict=True))
    return pd.DataFrame(
        {"unit": units, "seed": both["seed"].to_numpy(), "diff": (both[f"{metric}_v"] - both[f"{metric}_r"]).to_numpy()}
    )
