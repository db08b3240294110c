"""Factorial analysis: main effects and interactions of config factors, tested over units like any comparison.

Recognised from a runs table alone: the config columns (dotted paths) that are constant within a variant and
vary between variants, columns that vary together counted once (aliases), form a full factorial when every
combination of their levels is exactly one variant. With a reference, the largest set of factors whose full
factorial is found among the variants that keep every other factor at the reference's level is used, so a
study may hold other variants too.

Convention (effect coding, docs/statistics.md, "Factorial studies"): each factor's baseline level is the
reference's (else the first in sorted order). A main effect is mean(metric at the level) - mean(metric at the
baseline), averaged over the other factors' levels; an interaction of r factors is the product contrast
divided by 2^(r-1) (Yates' convention: for two 2-level factors, half the difference between A's effect where
B is changed and where it is not). With 2-level factors every effect is sum(+-y)/2^(k-1), all with the same
variance. A factor with L > 2 levels has L-1 effects, one per non-baseline level. Each effect is computed per
unit (seeds averaged first), then tested over units with the corrected variance and read like any comparison
(statistics.equivalence), the family adjusted together (Bonferroni by default; adjust="holm" for Holm).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablations.report.statistics.equivalence import DEFAULT_ADJUST, DEFAULT_METHOD, Comparison, compare_family
from ablations.report.statistics.paired import ALPHA
from ablations.report.statistics.units import unit_means

UNSET = "(unset)"  # how a missing config value (NaN in runs.csv) is shown as a level


@dataclass(frozen=True)
class Factor:
    """One factor: its column (a dotted config path), its levels (baseline first) and columns aliased with it."""

    column: str
    levels: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactorialDesign:
    """A full factorial among a runs table's variants: which variant holds each combination of levels."""

    factors: tuple[Factor, ...]
    cells: dict[tuple[str, ...], str]  # levels in factor order -> variant

    @property
    def variants(self) -> list[str]:
        """The variants of the factorial (one per cell)."""
        return list(self.cells.values())


@dataclass(frozen=True)
class Effect:
    """A main effect (one factor) or an interaction, with its test (comparison.delta is the effect)."""

    factors: tuple[str, ...]
    levels: tuple[str, ...]  # the non-baseline level of each factor
    label: str
    comparison: Comparison

    @property
    def order(self) -> int:
        """1 for a main effect, r for an r-factor interaction."""
        return len(self.factors)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNSET
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _variant_levels(runs: pd.DataFrame, columns: list[str] | None, where: str) -> pd.DataFrame:
    """One row per variant: the config columns constant within every variant, values as text."""
    if "variant" not in runs.columns:
        raise ValueError(f"{where}: no column 'variant'")
    if columns is None:
        columns = [c for c in runs.columns if "." in c and "/" not in c]
    text = runs[["variant", *columns]].copy()
    for c in columns:
        text[c] = text[c].map(_text)
    constant = [c for c in columns if (text.groupby("variant")[c].nunique() <= 1).all()]
    return text.groupby("variant", sort=True)[constant].first()


def _dealias(levels: pd.DataFrame, prefer: list[str]) -> dict[str, tuple[str, ...]]:
    """Varying columns, one per group of columns that vary together: representative -> its aliases."""
    varying = [c for c in levels.columns if levels[c].nunique() > 1]
    groups: dict[str, tuple[str, ...]] = {}
    for c in sorted(varying, key=lambda c: (c not in prefer, not c.endswith(".kind"), c)):
        for rep in groups:
            pair = levels[[rep, c]].drop_duplicates()
            if len(pair) == levels[rep].nunique() == levels[c].nunique():  # a bijection of levels
                groups[rep] = (*groups[rep], c)
                break
        else:
            groups[c] = ()
    return groups


def _full(levels: pd.DataFrame, factors: list[str]) -> bool:
    combos = levels[factors].apply(tuple, axis=1)
    return combos.is_unique and len(combos) == math.prod(levels[f].nunique() for f in factors)


def _design(levels: pd.DataFrame, groups: dict[str, tuple[str, ...]], ref: str | None) -> FactorialDesign:
    factors = []
    for col, aliases in groups.items():
        values = sorted(levels[col].unique())
        base = levels.loc[ref, col] if ref is not None and ref in levels.index else values[0]
        factors.append(Factor(col, (base, *[v for v in values if v != base]), aliases))
    names = [f.column for f in factors]
    cells = {tuple(row[names]): str(variant) for variant, row in levels.iterrows()}
    return FactorialDesign(tuple(factors), cells)


def detect_factorial(
    runs: pd.DataFrame,
    factors: list[str] | None = None,
    reference: str | None = None,
    min_factors: int = 2,
    where: str = "runs table",
) -> FactorialDesign | None:
    """The full factorial among the variants (None when there is none); explicit `factors` must form one.

    reference: the variant whose levels are the baselines (default: the one marked in a `reference` column).
    """
    if reference is None and "reference" in runs.columns:
        marked = sorted(runs.loc[runs["reference"].astype(bool), "variant"].unique())
        reference = marked[0] if marked else None
    if factors is not None:
        missing = [f for f in factors if f not in runs.columns]
        if missing:
            raise ValueError(f"{where}: factor column(s) {', '.join(missing)} not found")
        levels = _variant_levels(runs, list(factors), where)
        loose = [f for f in factors if f not in levels.columns]
        if loose:
            raise ValueError(f"{where}: factor(s) {', '.join(loose)} vary within a variant (expected one level each)")
        if not _full(levels, list(factors)):
            counts = " x ".join(str(levels[f].nunique()) for f in factors)
            raise ValueError(f"{where}: the {len(levels)} variants are not a full factorial over {', '.join(factors)} "
                             f"({counts} combinations, each exactly once, expected)")  # fmt: skip
        return _design(levels, {f: () for f in factors}, reference)
    levels = _variant_levels(runs, None, where)
    groups = _dealias(levels, [])
    reps = list(groups)
    if len(reps) >= min_factors and _full(levels, reps):
        return _design(levels, groups, reference)
    if reference is None or reference not in levels.index:
        return None
    for size in range(len(reps) - 1, min_factors - 1, -1):
        found = []
        for subset in itertools.combinations(reps, size):
            others = [c for c in reps if c not in subset]
            sub = levels[(levels[others] == levels.loc[reference, others]).all(axis=1)] if others else levels
            if all(sub[f].nunique() > 1 for f in subset) and _full(sub, list(subset)):
                found.append((len(sub), subset, sub))
        if found:
            _, subset, sub = max(found, key=lambda x: x[0])
            return _design(sub, {c: groups[c] for c in subset}, reference)
    return None


Term = tuple[tuple[str, ...], tuple[str, ...], dict[str, float]]  # factors, their non-baseline levels, weights


def contrasts(design: FactorialDesign, max_order: int | None = None) -> list[Term]:
    """(factors, levels, weight per variant) of every main effect and interaction up to max_order."""
    fs = design.factors
    out = []
    for r in range(1, (max_order or len(fs)) + 1):
        for term in itertools.combinations(range(len(fs)), r):
            for chosen in itertools.product(*[fs[i].levels[1:] for i in term]):
                weights = {}
                for combo, variant in design.cells.items():
                    w = 1.0 / 2 ** (r - 1)
                    for j, f in enumerate(fs):
                        if j in term:
                            level = chosen[term.index(j)]
                            w *= 1.0 if combo[j] == level else -1.0 if combo[j] == f.levels[0] else 0.0
                        else:
                            w /= len(f.levels)
                    weights[variant] = w
                out.append((tuple(fs[i].column for i in term), tuple(chosen), weights))
    return out


def _label(design: FactorialDesign, factors: tuple[str, ...], levels: tuple[str, ...]) -> str:
    base = {f.column: f.levels[0] for f in design.factors}
    return " x ".join(f"{f}: {base[f]} -> {lv}" for f, lv in zip(factors, levels, strict=True))


def factorial_effects(
    runs: pd.DataFrame,
    metric: str,
    design: FactorialDesign | None = None,
    *,
    margin: float | None = None,
    rho: float | None = None,
    method: str = DEFAULT_METHOD,
    adjust: str = DEFAULT_ADJUST,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
    max_order: int | None = None,
    scale: float = 1.0,
    where: str = "runs table",
) -> list[Effect]:
    """Every main effect and interaction of the factorial, tested over units and adjusted together.

    rho: as compare_family (required by the default corrected test). Units where any variant of the factorial has
    no value are left out (they cannot give a contrast).
    """
    design = design or detect_factorial(runs, where=where)
    if design is None:
        raise ValueError(f"{where}: the variants do not form a full factorial over any config columns")
    means = unit_means(runs[runs["variant"].isin(design.variants)], metric, where)[design.variants].dropna()
    terms = contrasts(design, max_order)
    diffs = {_label(design, f, lv): means.to_numpy(float) @ np.array([w[v] for v in design.variants])
             for f, lv, w in terms}  # fmt: skip
    reps = {k: means.index.get_level_values(0).to_numpy() for k in diffs}
    tested = compare_family(diffs, margin=margin, rho=rho, method=method, adjust=adjust, alpha=alpha,
                            higher_is_better=higher_is_better, repeats=reps, scale=scale)  # fmt: skip
    return [Effect(f, lv, _label(design, f, lv), tested[_label(design, f, lv)]) for f, lv, _ in terms]
