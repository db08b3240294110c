"""The calibration (small versions): correlated folds are simulated, the recommended rule holds its bounds, the
plain t does not, and the A/A estimator recovers known shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ablations.report.statistics.calibrate import SWEEP, Row, report, shipped_designs, write_block
from ablations.report.statistics.equivalence import family_alphas
from ablations.report.statistics.paired import ALPHA, holm
from ablations.report.statistics.rates import false_equivalence, mc_sd, null_rates, power
from ablations.report.statistics.shares import estimate_shares, planned_se
from ablations.report.statistics.simulate import (
    Design,
    Model,
    Shares,
    aa_runs,
    assignment,
    clip_difficulty,
    parse_shares,
    simulate,
)

P = np.array([0.55, 0.7, 0.9, 0.4])  # clip difficulties (a stand-in for a predictions.csv)
SIX = Design("six", actors=24, folds=6, seeds=1, clips=20)
STUDIES = 1500
RECOMMENDED = ("corrected", "bonferroni")


def _within(rate: float, bound: float = ALPHA) -> bool:
    return rate <= bound + 3 * mc_sd(rate, STUDIES)


def test_the_protocols_group_assignment():
    roles = assignment(24, 6, repeats=2)
    r0 = roles[roles["repeat"] == 0]
    fold0 = r0[r0["fold"] == 0].set_index("actor")["role"]
    assert list(fold0[fold0 == "test"].index) == ["1", "2", "3", "4"]  # group 0 tests ...
    assert list(fold0[fold0 == "val"].index) == ["5", "6", "7", "8"]  # ... group 1 validates
    r1 = roles[(roles["repeat"] == 1) & (roles["role"] == "test")]
    assert sorted(r1["actor"], key=int) == [str(a) for a in range(1, 25)]  # each actor tested once per repeat
    assert set(r1[r1["fold"] == 0]["actor"]) != {"1", "2", "3", "4"}  # reshuffled


def test_training_overlap_correlates_folds_as_the_protocol_says():
    # only the training term: cov(fold i, fold j) = share * |train_i & train_j| / 16 (4 actors a group, 4 groups)
    scores = simulate(Model(SIX, np.array([0.0]), model_sd=0.02), Shares(train=0.5), np.zeros(1), 4000,
                      np.random.default_rng(0))[:, 0, :, 0]  # fmt: skip
    corr = np.corrcoef(scores.T)
    assert corr[0, 1] == pytest.approx(0.5 * 12 / 16, abs=0.05)  # folds 0 and 1 share 3 training groups
    assert corr[0, 3] == pytest.approx(0.5 * 8 / 16, abs=0.05)  # folds 0 and 3 share 2


def test_the_recommended_rule_holds_its_bounds_without_correlation():
    model = Model(SIX, P)
    null = null_rates(model, Shares(), STUDIES, np.random.default_rng(1))
    assert _within(null.fwer[RECOMMENDED]) and _within(null.fwer[("t", "holm")])
    assert null.coverage["corrected"] >= 0.95 - 3 * np.sqrt(0.05 * 0.95 / STUDIES)
    assert null.coverage["t"] == pytest.approx(0.95, abs=3 * np.sqrt(0.05 * 0.95 / STUDIES / 8) * 3)
    eq = false_equivalence(model, Shares(), null.margin, STUDIES, np.random.default_rng(2))
    assert _within(eq[RECOMMENDED][1])  # family-wise false 'equivalent' at a true difference of +-margin


def test_the_simulation_is_not_circular_plain_t_fails_where_the_corrected_test_holds():
    model = Model(SIX, P)
    null = null_rates(model, Shares(train=0.2), STUDIES, np.random.default_rng(3))
    assert not _within(null.fwer[("t", "bonferroni")]) and null.coverage["t"] < 0.93
    assert _within(null.fwer[RECOMMENDED])
    shared = null_rates(model, Shares(seed=0.2), STUDIES, np.random.default_rng(4))
    assert not _within(shared.fwer[("t", "bonferroni")])
    # independent initial weights per fold turn the shared seed term into independent noise
    indep = null_rates(Model(Design("six", 24, 6, 1, clips=20, independent_init=True), P), Shares(seed=0.2), STUDIES,
                       np.random.default_rng(5))  # fmt: skip
    assert _within(indep.fwer[("t", "bonferroni")])


def test_repeated_cv_needs_the_corrected_repeated_test():
    model = Model(Design("rep", 24, 6, seeds=1, repeats=3, clips=20, independent_init=True), P)
    null = null_rates(model, Shares(test=0.3), STUDIES, np.random.default_rng(6))
    assert not _within(null.fwer[("t", "bonferroni")])  # repeats reuse the same test actors
    assert _within(null.fwer[RECOMMENDED]) and null.coverage["corrected"] >= 0.95


def test_power_grows_with_the_effect():
    model = Model(Design("big", 24, 6, 3, clips=60, independent_init=True), P)
    small, big = (power(model, Shares(), e, 400, np.random.default_rng(7))[RECOMMENDED] for e in (0.02, 0.15))
    assert small < 0.2 and big > 0.8


def test_vectorised_holm_agrees_with_the_report():
    p = np.random.default_rng(0).uniform(0, 0.05, size=(200, 8)) ** 1.5
    for row, level in zip(p, family_alphas(p, adjust="holm"), strict=True):
        assert list(row < level) == [q < ALPHA for q in holm(list(row))]


@pytest.mark.slow
def test_aa_estimator_recovers_known_shares():
    true = Shares(train=0.2, seed=0.15, test=0.3)
    design = Design("aa", 24, 6, seeds=10, repeats=30)
    model = Model(design, np.array([0.6]))
    sigma2 = model.independent_variance() / true.rest
    roles = assignment(24, 6, repeats=30)
    estimates = []
    for i in range(4):
        runs = aa_runs(model, true, np.random.default_rng(10 + i))
        runs = runs[(runs["repeat"] == 0) | (runs["seed"] < 2)]  # 10 seeds on one grouping, 2 on 29 reshuffles
        estimates.append(estimate_shares(runs, roles))
    out = np.mean([e.variances["out"] for e in estimates]) / sigma2  # training term's varying part: 0.2 * 8/16
    seed = np.mean([e.variances["seed"] for e in estimates]) / sigma2
    se_out = np.mean([e.se["out"] for e in estimates]) / sigma2 / 2  # mean of 4
    se_seed = np.mean([e.se["seed"] for e in estimates]) / sigma2 / 2
    assert out == pytest.approx(0.1, abs=3 * se_out) and seed == pytest.approx(0.15, abs=3 * se_seed)
    assert np.mean([e.variances["test"] for e in estimates]) / sigma2 == pytest.approx(0.3, abs=0.15)
    # the shares leave out the test-side terms: train 0.2 / 0.7, seed 0.15 / 0.7
    assert np.mean([e.shares.train for e in estimates]) == pytest.approx(0.2 / 0.7, abs=0.12)
    assert np.mean([e.shares.seed for e in estimates]) == pytest.approx(0.15 / 0.7, abs=0.1)
    assert all(e.share_se["train"] > 0 for e in estimates)


def test_aa_estimator_says_what_it_cannot_see():
    roles = assignment(24, 6, repeats=1)
    runs = aa_runs(Model(Design("aa", 24, 6, seeds=1), np.array([0.6])), Shares(train=0.2), np.random.default_rng(0))
    est = estimate_shares(runs, roles, reading="coupling")
    assert np.isnan(est.variances["seed"]) and any("seed" in n for n in est.notes)
    assert est.shares.train == 0.0 and est.shares.seed == 0.0
    with pytest.raises(ValueError, match="no actor assignment"):
        estimate_shares(runs.assign(repeat=3), roles)
    with pytest.raises(ValueError, match="reading"):
        estimate_shares(runs, roles, reading="both")


def test_planned_se_shrinks_with_a_larger_aa_design():
    def layout(reps):
        return pd.DataFrame([(r, f, s) for r in range(reps) for f in range(6) for s in range(10 if r == 0 else 1)],
                            columns=["repeat", "fold", "seed"])  # fmt: skip

    small = planned_se(layout(5), assignment(24, 6, 5), Shares(train=0.2, seed=0.1))
    large = planned_se(layout(30), assignment(24, 6, 30), Shares(train=0.2, seed=0.1))
    assert large["train"] < small["train"]


def test_shares_are_parsed_and_checked():
    assert parse_shares("train=0.2, seed=0.1") == Shares(train=0.2, seed=0.1)
    with pytest.raises(ValueError, match="TERM=VALUE"):
        parse_shares("trian=0.2")
    with pytest.raises(ValueError, match="not a number"):
        parse_shares("train=x")
    with pytest.raises(ValueError, match="sum < 1"):
        Shares(train=0.6, seed=0.5)


def test_clip_difficulty_from_the_quickstart_predictions(tmp_path):
    from ablations.report.statistics.calibrate import PREDICTIONS

    p = clip_difficulty(PREDICTIONS)
    assert p.size == 384 and 0.3 < p.mean() < 0.9  # 24 actors x 16 clips, a fraction right per clip
    assert clip_difficulty(tmp_path / "none.csv").tolist() == [0.6]  # binomial where there is none
    (tmp_path / "bad.csv").write_text("variant,seed\nfull,0\n")
    with pytest.raises(ValueError, match="no column"):
        clip_difficulty(tmp_path / "bad.csv")


def test_designs_come_from_the_shipped_studies_plus_the_knobs():
    names = [d.label() for d in shipped_designs()]
    # the shipped studies run with train.seeding's default, per_fold; the knob shows RAVDESS's design with shared init
    assert names[0] == "quickstart 6x1, independent init" and "cremad 5x3, independent init" in names
    assert "ravdess 6x3, independent init" in names and "ravdess 6x3, shared init" in names
    assert "ravdess 6x1 x3 repeats, independent init" in names


def test_the_report_block_is_written_between_its_markers(tmp_path):
    model = Model(SIX, P)
    rows = [Row(SIX, s, null_rates(model, s, 60, np.random.default_rng(0)), {}) for s in SWEEP[:2]]
    for r in rows:
        r.equivalence.update(false_equivalence(model, r.shares, r.null.margin, 60, np.random.default_rng(1)))
    text = report(rows, {}, 60, 60, [])
    assert "| none |" in text and "six 6x1" in text
    doc = tmp_path / "statistics.md"
    doc.write_text("before\n<!-- calibration:start -->\nold\n<!-- calibration:end -->\nafter\n")
    write_block(doc, text)
    assert (
        doc.read_text().startswith("before\n<!-- calibration:start -->\nGenerated") and "\nold\n" not in doc.read_text()
    )
    assert doc.read_text().endswith("<!-- calibration:end -->\nafter\n")
