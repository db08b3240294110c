"""Four verdicts with a margin (statistics.equivalence, statistics.margin), against known answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ablations.report.statistics.equivalence import (
    adjusted_p,
    compare_family,
    compare_one,
    family_alphas,
    kfold_rho,
    rope_verdict,
)
from ablations.report.statistics.margin import min_margin, pooled, reachable_margin, wilcoxon_note
from ablations.report.statistics.paired import holm
from ablations.report.statistics.units import cell_differences, unit_differences

RHO = kfold_rho(6)  # actor6fold: one group tests, one validates, 4 train


def test_kfold_rho_counts_the_training_groups():
    assert RHO == 0.25 and kfold_rho(5) == pytest.approx(1 / 3) and math.isnan(kfold_rho(2))


# per-fold (seed-averaged) differences, accuracy as a fraction: margin 2 points
FAMILY = {
    "clearly_worse": np.array([-0.061, -0.052, -0.048, -0.057, -0.044, -0.055]),
    "clearly_better": np.array([0.071, 0.062, 0.066, 0.058, 0.069, 0.064]),
    "equivalent": np.array([0.002, -0.001, 0.003, -0.002, 0.001, 0.0]),
    "too_noisy": np.array([0.09, -0.11, 0.04, -0.07, 0.12, -0.02]),
}


@pytest.mark.parametrize("adjust", ["bonferroni", "holm", "none"])
def test_the_four_verdicts_of_a_known_family(adjust):
    out = compare_family(FAMILY, margin=0.02, rho=RHO, adjust=adjust)
    assert {k: c.verdict for k, c in out.items()} == {
        "clearly_worse": "worse",
        "clearly_better": "better",
        "equivalent": "equivalent",
        "too_noisy": "inconclusive",
    }
    assert out["equivalent"].low > -0.02 and out["equivalent"].high < 0.02
    assert "lies within" in out["equivalent"].reason and "includes 0 and reaches beyond" in out["too_noisy"].reason


def test_lower_is_better_swaps_worse_and_better():
    out = compare_family(FAMILY, margin=0.02, rho=RHO, higher_is_better=False)
    assert out["clearly_worse"].verdict == "better" and out["clearly_better"].verdict == "worse"


def test_the_interval_matches_an_independent_computation():
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    plain = compare_one(d, method="t", adjust="none")
    lo, hi = stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    assert (plain.low, plain.high) == pytest.approx((lo, hi)) and plain.p == pytest.approx(
        stats.ttest_1samp(d, 0).pvalue
    )
    # corrected: se = s sqrt(1/6 + 1/4), 5 df (Nadeau-Bengio; the correlated Bayesian posterior's scale)
    c = compare_one(d, rho=RHO, adjust="none")
    se = np.std(d, ddof=1) * math.sqrt(1 / 6 + 0.25)
    assert c.se == pytest.approx(se) and c.df == 5
    assert (c.low, c.high) == pytest.approx((3.5 - stats.t.ppf(0.975, 5) * se, 3.5 + stats.t.ppf(0.975, 5) * se))
    assert c.p == pytest.approx(2 * stats.t.sf(3.5 / se, 5))


def test_posterior_and_tost_agree_with_the_interval():
    d = np.array([0.004, -0.003, 0.006, 0.001, -0.002, 0.003])
    c = compare_one(d, margin=0.02, rho=RHO, adjust="none")
    post = stats.t(5, loc=d.mean(), scale=c.se)
    assert c.prob_within == pytest.approx(post.cdf(0.02) - post.cdf(-0.02))
    assert c.prob_below + c.prob_within + c.prob_above == pytest.approx(1.0)
    # reading equivalence from the 95% interval is a TOST at 0.025
    assert (c.verdict == "equivalent") == (c.p_equivalence < 0.025)
    assert rope_verdict(c) == "equivalent"  # the Bayesian reading of the same posterior


def test_verdict_interval_and_adjusted_p_never_disagree():
    rng = np.random.default_rng(7)
    for adjust in ("holm", "bonferroni", "none"):
        for _ in range(60):
            diffs = {f"v{i}": rng.normal(rng.choice([0.0, 0.02, -0.04]), 0.02, 6) for i in range(8)}
            for c in compare_family(diffs, margin=0.03, rho=RHO, adjust=adjust).values():
                excludes = c.low > 0 or c.high < 0
                assert excludes == (c.p_adjusted < 0.05), (adjust, c)
                if c.verdict in ("worse", "better"):
                    assert excludes and not (c.low > -0.03 and c.high < 0.03)
                assert (c.verdict == "equivalent") == (c.low > -0.03 and c.high < 0.03)
                assert c.verdict != "inconclusive" or (c.low <= 0 <= c.high)


def test_holm_levels_and_adjusted_p_are_holms():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.05, size=(300, 8)) ** 1.5
    p[::7, 3] = np.nan  # a comparison without a test leaves the family
    for row, level, adj in zip(p, family_alphas(p, adjust="holm"), adjusted_p(p, adjust="holm"), strict=True):
        ref = holm(list(row))
        assert np.allclose(adj, ref, equal_nan=True)
        ok = ~np.isnan(row)
        assert list((row < level)[ok]) == [q < 0.05 for q in np.array(ref)[ok]]


def test_bonferroni_levels_are_alpha_over_the_tested():
    assert np.allclose(family_alphas(np.array([0.01, np.nan, 0.5, 0.2]), adjust="bonferroni")[[0, 2, 3]], 0.05 / 3)


def test_no_margin_means_no_equivalence_and_says_so():
    c = compare_one(FAMILY["equivalent"], rho=RHO)
    assert c.verdict == "inconclusive" and "no margin declared" in c.reason and math.isnan(c.prob_within)


def test_too_few_units_and_constant_differences_are_inconclusive_with_a_reason():
    few = compare_one(np.array([0.1, 0.2, np.nan, 0.3]), margin=0.02, rho=RHO)
    assert few.verdict == "inconclusive" and few.n == 3 and "too few" in few.reason and math.isnan(few.low)
    flat = compare_one(np.full(6, 0.05), margin=0.02, rho=RHO)
    assert flat.verdict == "inconclusive" and "sd 0" in flat.reason


def test_repeats_are_counted_and_must_be_balanced():
    d = np.random.default_rng(1).normal(0, 0.02, 18)
    rep = np.repeat([0, 1, 2], 6)
    c = compare_family({"a": d}, rho=RHO, repeats={"a": rep})["a"]
    assert c.repeats == 3 and c.n == 18 and c.df == 17
    with pytest.raises(ValueError, match="different numbers of folds"):
        compare_family({"a": d[:-1]}, rho=RHO, repeats={"a": rep[:-1]})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "z"}, "method"),
        ({"adjust": "bh"}, "adjust"),
        ({"margin": -1.0}, "margin"),
        ({"rho": math.nan}, "rho"),
        ({}, "rho: the corrected test needs"),  # no silent plain t when rho is forgotten
    ],
)
def test_bad_arguments_name_what_is_wrong(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_one(FAMILY["too_noisy"], **kwargs)


def test_unit_differences_average_seeds_within_a_fold():
    runs = pd.DataFrame(
        {
            "variant": ["a", "a", "r", "r", "a", "r"],
            "seed": [0, 1, 0, 1, 0, 0],
            "fold": [0, 0, 0, 0, 1, 1],
            "m": [0.5, 0.7, 0.4, 0.4, 0.9, 0.6],
        }
    )
    d = unit_differences(runs, "a", "r", "m")
    assert d.tolist() == pytest.approx([0.2, 0.3])
    with pytest.raises(ValueError, match="no variant 'b'"):
        unit_differences(runs, "b", "r", "m")


def test_min_margin_best_case_and_its_probability():
    best = min_margin(0.05, 6, RHO, family=8)
    assert best == pytest.approx(stats.t.ppf(1 - 0.05 / 16, 5) * 0.05 * math.sqrt(1 / 6 + 0.25))
    m50 = min_margin(0.05, 6, RHO, family=8, power=0.5)
    # check by simulation of the model it assumes: mean ~ N(0, sd^2 c^2), s^2 ~ sd^2 chi2_5 / 5
    rng = np.random.default_rng(3)
    c = math.sqrt(1 / 6 + 0.25)
    mean, s = rng.normal(0, 0.05 * c, 40000), 0.05 * np.sqrt(rng.chisquare(5, 40000) / 5)
    reached = np.abs(mean) + stats.t.ppf(1 - 0.05 / 16, 5) * s * c < m50
    assert reached.mean() == pytest.approx(0.5, abs=0.015)


def _cells(diffs: dict) -> pd.DataFrame:
    return pd.DataFrame([(u, s, d) for (u, s), d in diffs.items()], columns=["unit", "seed", "diff"])


def test_pooled_variance_and_a_range_where_the_seed_variance_is_unknown():
    a = _cells({(0, 0): 1.0, (1, 0): 3.0, (2, 0): 2.0})  # unit means 1, 3, 2: variance 1
    b = _cells({(0, 0): 0.0, (1, 0): 4.0, (2, 0): 2.0})  # variance 4
    p = pooled([a, b])
    assert p.total == pytest.approx(2.5) and math.isnan(p.within) and p.seeds == 1 and p.df == 4
    r = reachable_margin(p, units=6, seeds=4, rho=RHO, family=8)
    assert r.low == pytest.approx(min_margin(math.sqrt(2.5 / 4), 6, RHO, 8))
    assert r.high == pytest.approx(min_margin(math.sqrt(2.5), 6, RHO, 8)) and "unknown" in r.note
    two = _cells({(0, 0): 1.0, (0, 1): 3.0, (1, 0): 2.0, (1, 1): 2.0, (2, 0): 0.0, (2, 1): 2.0})
    q = pooled([two])  # within: (2 + 0 + 2) / 3; unit means 2, 2, 1: total 1/3
    assert q.within == pytest.approx(4 / 3) and q.total == pytest.approx(1 / 3)
    known = reachable_margin(q, units=6, seeds=8, rho=RHO)
    assert known.low == known.high and known.note == ""


def test_the_quickstart_cannot_reach_a_small_margin():
    runs = pd.read_csv(Path(__file__).resolve().parents[2] / "reports" / "quickstart" / "runs.csv")
    others = [v for v in runs["variant"].unique() if v != "full"]
    p = pooled(cell_differences(runs, v, "full", "test/accuracy") for v in others)
    assert p.sd == pytest.approx(0.0709, abs=0.0005) and p.seeds == 1 and p.units == 6  # 7.1 points
    assert min_margin(p.sd, 6, RHO, family=8) == pytest.approx(0.207, abs=0.001)  # docs/statistics.md, "Margins"


def test_wilcoxon_note_says_when_an_exact_test_cannot_decide():
    note = wilcoxon_note(6, family=8)
    assert "1/32" in note and "0.00625" in note
    assert stats.wilcoxon(np.arange(1.0, 7.0)).pvalue == pytest.approx(1 / 32)  # the smallest p it names
    assert "cannot reach p < 0.05" in wilcoxon_note(5)
    assert wilcoxon_note(10, family=8) == ""
