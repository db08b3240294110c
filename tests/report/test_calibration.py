"""The calibration simulation (small version): the deciding test keeps its false-positive rate under alpha."""

from __future__ import annotations

import numpy as np

from ablations.report.statistics.calibrate import (
    ALPHA,
    CONDITIONAL,
    REALISTIC,
    Design,
    false_positives,
    holm_reject,
    shipped_designs,
)
from ablations.report.statistics.paired import holm

SMALL = Design("small", folds=6, actors=4, clips=20, seeds=2)


def test_fold_level_tests_hold_alpha_under_no_effect():
    fpr = false_positives(SMALL, REALISTIC, studies=400, seed=1)
    for name in ("paired t over folds", "Nadeau-Bengio t over folds"):
        r = fpr[name]
        assert r.raw <= ALPHA + 3 * r.raw_sd, (name, r)  # each comparison on its own
        assert r.family <= ALPHA + 3 * r.family_sd, (name, r)  # the family after Holm
        assert r.holm <= r.raw and r.holm <= r.family


def test_actor_test_is_valid_only_without_training_noise():
    # conditional on the trained models (no training noise) the actor sign-flip holds alpha ...
    r = false_positives(SMALL, CONDITIONAL, studies=400, seed=2)["sign-flip over actors"]
    assert r.family <= ALPHA + 3 * r.family_sd
    # ... but training noise shared by a fold's actors makes it reject far too often: why it never decides
    wide = Design("wide", folds=5, actors=18, clips=20, seeds=2)
    r = false_positives(wide, REALISTIC, studies=300, seed=3)["sign-flip over actors"]
    assert r.family > ALPHA + 3 * r.family_sd and r.raw > ALPHA + 3 * r.raw_sd


def test_vectorised_holm_agrees_with_the_report():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.05, size=(200, 8)) ** 1.5
    ours = holm_reject(p)
    for row, rej in zip(p, ours, strict=True):
        assert list(rej) == [q < ALPHA or np.isclose(q, ALPHA) for q in holm(list(row))]


def test_designs_come_from_the_shipped_studies():
    names = {d.name: d for d in shipped_designs()}
    assert {"quickstart", "ravdess", "cremad", "mosei"} <= set(names)
    assert names["ravdess"].folds == 6 and names["ravdess"].actors == 4 and names["cremad"].folds == 5
    assert names["mosei"].folds == 1
