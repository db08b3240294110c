"""Error rates of each test and verdict rule on simulated studies (the numbers the calibration prints).

Every rate is computed with the report's own functions (statistics.equivalence), vectorised over simulated
studies: a study compares FAMILY variants with the reference, every rule adjusts over the FAMILY.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ablations.report.statistics.equivalence import decide, family_alphas, interval, kfold_rho, moments, p_two_sided
from ablations.report.statistics.paired import ALPHA, MIN_TEST_UNITS
from ablations.report.statistics.simulate import Model, Shares, simulate, unit_differences

FAMILY = 8  # comparisons with the reference per study (the shipped studies have 8 ablated variants)
TESTS = ("t", "corrected")
RULES = ("none", "holm", "bonferroni")  # interval rules; "rope" (Bayesian, corrected posterior) is separate
ROPE = 0.95
EFFECTS_NOTE = "power, Bonferroni over 8, no correlated terms"
PROBS = np.linspace(0.02, 0.98, 49)  # probabilities at which the reachable margin is kept for the figure


def rho_of(model: Model, test: str) -> float:
    """n_test / n_train the test uses: 0 for the plain t, the protocol's for the corrected one."""
    return kfold_rho(model.design.folds) if test == "corrected" else 0.0


def intervals(d: np.ndarray, rho: float, rule: str, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """The rule's intervals (studies, comparisons) of the unit differences d (studies, comparisons, units)."""
    mean, se, df = moments(d, rho)
    level = family_alphas(p_two_sided(mean, se, df), alpha, rule)
    return interval(mean, se, df, level)


def rope_codes(d: np.ndarray, rho: float, margin: float, threshold: float = ROPE) -> np.ndarray:
    """Benavoli's posterior rule as verdict codes: 3 within, 1 below, 2 above the margin, else 0."""
    mean, se, df = moments(d, rho)
    below = stats.t.cdf((-margin - mean) / se, df)
    above = stats.t.sf((margin - mean) / se, df)
    code = np.zeros(mean.shape, dtype=np.int8)
    code[below > threshold] = 1
    code[above > threshold] = 2
    code[1.0 - below - above > threshold] = 3
    return code


def mc_sd(rate: float, n: int, alpha: float = ALPHA) -> float:
    """Monte-Carlo sd of a rate over n studies, at max(rate, alpha) (so a rate of 0 still has an honest sd)."""
    q = max(rate, alpha)
    return math.sqrt(q * (1.0 - q) / n)


@dataclass(frozen=True)
class Null:
    """Under no effect: family-wise false 'worse/better' rates per (test, rule), coverage, reachable margins."""

    fwer: dict[tuple[str, str], float]  # any of the FAMILY called worse or better (no margin)
    coverage: dict[str, float]  # per comparison: the unadjusted 95% interval covers 0
    simultaneous: dict[tuple[str, str], float]  # all FAMILY intervals of the rule cover 0
    margins: dict[tuple[str, str], tuple[float, float]]  # margin reached with probability 0.5 and 0.8
    rope_fwer: float  # Bayesian rule, at margin `margin`: any called beyond the margin
    margin: float  # the margin the equivalence rates use: the corrected/bonferroni rule's 50 % margin
    reach: np.ndarray  # that rule's margin reached with probability PROBS (for the figure)
    studies: int
    sd: float  # sd of a seed-averaged unit difference (stored units)


def null_rates(model: Model, shares: Shares, studies: int, rng: np.random.Generator) -> Null:
    """Rates with every variant equal to the reference."""
    d = unit_differences(simulate(model, shares, np.zeros(FAMILY + 1), studies, rng))
    fwer, simultaneous, margins, coverage = {}, {}, {}, {}
    for test in TESTS:
        rho = rho_of(model, test)
        for rule in RULES:
            low, high = intervals(d, rho, rule)
            fwer[(test, rule)] = float(np.any(decide(low, high, None) > 0, axis=-1).mean())
            simultaneous[(test, rule)] = float(np.all((low <= 0) & (high >= 0), axis=-1).mean())
            reach = np.maximum(np.abs(low), np.abs(high)).ravel()
            margins[(test, rule)] = (float(np.quantile(reach, 0.5)), float(np.quantile(reach, 0.8)))
            if rule == "none":
                coverage[test] = float(((low <= 0) & (high >= 0)).mean())
    low, high = intervals(d, rho_of(model, "corrected"), "bonferroni")
    reach = np.quantile(np.maximum(np.abs(low), np.abs(high)), PROBS)
    margin = margins[("corrected", "bonferroni")][0]
    rope = rope_codes(d, rho_of(model, "corrected"), margin)
    rope_fwer = float(np.any((rope == 1) | (rope == 2), axis=-1).mean())
    return Null(fwer, coverage, simultaneous, margins, rope_fwer, margin, reach, studies, float(d.std()))


def false_equivalence(
    model: Model, shares: Shares, margin: float, studies: int, rng: np.random.Generator
) -> dict[tuple[str, str], tuple[float, float]]:
    """With every true difference at +-margin: (per comparison, family-wise) rate of 'equivalent' per (test, rule)."""
    effects = np.zeros(FAMILY + 1)
    effects[1:] = margin * np.where(np.arange(FAMILY) % 2 == 0, 1.0, -1.0)
    d = unit_differences(simulate(model, shares, effects, studies, rng))
    out = {}
    for test in TESTS:
        rho = rho_of(model, test)
        for rule in RULES:
            eq = decide(*intervals(d, rho, rule), margin) == 3
            out[(test, rule)] = (float(eq.mean()), float(eq.any(axis=-1).mean()))
    eq = rope_codes(d, rho_of(model, "corrected"), margin) == 3
    out[("corrected", "rope")] = (float(eq.mean()), float(eq.any(axis=-1).mean()))
    return out


def power(
    model: Model, shares: Shares, effect: float, studies: int, rng: np.random.Generator
) -> dict[tuple[str, str], float]:
    """P(the one variant that is `effect` worse is called worse), the FAMILY - 1 others null, per (test, rule)."""
    effects = np.zeros(FAMILY + 1)
    effects[1] = -effect
    d = unit_differences(simulate(model, shares, effects, studies, rng))
    out = {}
    for test in TESTS:
        for rule in RULES:
            low, high = intervals(d, rho_of(model, test), rule)
            out[(test, rule)] = float((decide(low, high, None)[:, 0] == 1).mean())
    return out


def testable(model: Model) -> bool:
    """Whether the design has enough units for a test (docs/statistics.md, 'Fewer than 4 folds')."""
    return model.design.units >= MIN_TEST_UNITS
