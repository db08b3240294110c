"""Factorial analysis (statistics.factorial) on hand-made runs tables with known effects."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ablations.report.statistics.equivalence import kfold_rho
from ablations.report.statistics.factorial import contrasts, detect_factorial, factorial_effects

CA, SA, LF = (
    "model.video.channel_attention.kind",
    "model.video.spatial_attention.kind",
    "model.video.local_features.kind",
)
ROOT = Path(__file__).resolve().parents[2]


def modulator_runs(noise: float = 0.004, seed: int = 1, folds: int = 6, extra: bool = True) -> pd.DataFrame:
    """A 2x2x2 on the video modulator: removing the channel gate costs 5 points, but 4 of them come back when the
    spatial gate is removed too (an interaction); the local features do nothing. Plus an audio-only variant."""
    rng = np.random.default_rng(seed)
    rows = []
    for ca, sa, lf in itertools.product(["se", "off"], ["conv", "off"], ["lfe", "off"]):
        name = "full" if (ca, sa, lf) == ("se", "conv", "lfe") else f"{ca}-{sa}-{lf}"
        for fold, s in itertools.product(range(folds), range(2)):
            y = 0.70 + 0.01 * fold - 0.05 * (ca == "off") + 0.04 * (ca == "off" and sa == "off")
            rows.append({"variant": name, "reference": name == "full", "seed": s, "fold": fold, CA: ca, SA: sa, LF: lf,
                         "model.video.spatial_attention.reduction": 16.0 if sa == "conv" else np.nan,  # aliased
                         "model.modalities": "audio_video", "data.root": "synthetic", "train.seed": s,
                         "test/accuracy": y + rng.normal(0, noise)})  # fmt: skip
    runs = pd.DataFrame(rows)
    if extra:
        audio = runs[runs["variant"] == "full"].assign(variant="audio_only", reference=False)
        audio["model.modalities"], audio["test/accuracy"] = "audio", 0.4
        runs = pd.concat([runs, audio], ignore_index=True)
    return runs


def test_detects_the_factorial_among_other_variants_with_aliases_and_baselines():
    d = detect_factorial(modulator_runs())
    assert d is not None and [f.column for f in d.factors] == [CA, LF, SA]
    assert [f.levels for f in d.factors] == [("se", "off"), ("lfe", "off"), ("conv", "off")]  # reference's first
    assert d.factors[2].aliases == ("model.video.spatial_attention.reduction",)
    assert "audio_only" not in d.variants and len(d.variants) == 8 and d.cells[("se", "lfe", "conv")] == "full"


def test_recovers_the_known_main_effect_and_interaction():
    effects = {
        e.factors: e for e in factorial_effects(modulator_runs(), "test/accuracy", margin=0.01, rho=kfold_rho(6))
    }
    assert len(effects) == 7
    ca, sa, ca_sa = effects[(CA,)], effects[(SA,)], effects[(CA, SA)]
    # main effect of the channel gate: -5 + 4/2 = -3 points; spatial: +4/2 = +2; interaction (Yates): 4/2 = +2
    assert ca.comparison.delta == pytest.approx(-0.03, abs=0.003) and ca.comparison.verdict == "worse"
    assert sa.comparison.delta == pytest.approx(0.02, abs=0.003) and sa.comparison.verdict == "better"
    assert ca_sa.comparison.delta == pytest.approx(0.02, abs=0.003) and ca_sa.comparison.verdict == "better"
    for term in [(LF,), (CA, LF), (LF, SA), (CA, LF, SA)]:  # nothing else: equivalent within 1 point
        assert effects[term].comparison.verdict == "equivalent", effects[term]
    assert ca.label == f"{CA}: se -> off" and ca_sa.order == 2


def test_effects_are_exact_without_noise():
    effects = {
        e.factors: e.comparison.delta for e in factorial_effects(modulator_runs(noise=0.0), "test/accuracy", rho=0.25)
    }
    assert effects[(CA,)] == pytest.approx(-0.03, abs=1e-12) and effects[(SA,)] == pytest.approx(0.02, abs=1e-12)
    assert effects[(CA, SA)] == pytest.approx(0.02, abs=1e-12) and effects[(LF,)] == pytest.approx(0.0, abs=1e-12)


def test_a_noisy_factorial_is_inconclusive():
    effects = factorial_effects(modulator_runs(noise=0.2, extra=False), "test/accuracy", margin=0.01, rho=0.25)
    assert {e.comparison.verdict for e in effects} == {"inconclusive"}


def test_a_three_level_factor_gets_one_effect_per_level():
    rows = []
    for fusion, ca in itertools.product(["it", "lt", "ia"], ["se", "off"]):
        for fold in range(5):
            y = 0.6 + {"it": 0.0, "lt": -0.04, "ia": 0.02}[fusion] - 0.01 * (ca == "off") + 0.02 * fold
            y += 0.02 * (fusion == "ia" and ca == "off")  # interaction: 'ia' gains 2 points without the gate
            rows.append({"variant": f"{fusion}/{ca}", "seed": 0, "fold": fold, "model.fusion.kind": fusion, CA: ca,
                         "test/accuracy": y})  # fmt: skip
    runs = pd.DataFrame(rows)
    d = detect_factorial(runs, reference="it/se")
    levels = {f.column: f.levels for f in d.factors}
    assert levels["model.fusion.kind"] == ("it", "ia", "lt") and levels[CA] == ("se", "off")  # baseline, then sorted
    effects = {
        (e.factors, e.levels): e.comparison.delta for e in factorial_effects(runs, "test/accuracy", d, rho=kfold_rho(5))
    }
    assert effects[(("model.fusion.kind",), ("lt",))] == pytest.approx(-0.04)
    assert effects[(("model.fusion.kind",), ("ia",))] == pytest.approx(0.02 + 0.01)  # averaged over the gate
    assert effects[((CA,), ("off",))] == pytest.approx(-0.01 + 0.02 / 3)  # averaged over 3 fusion levels
    assert effects[(("model.fusion.kind", CA), ("lt", "off"))] == pytest.approx(0.0, abs=1e-12)
    assert effects[(("model.fusion.kind", CA), ("ia", "off"))] == pytest.approx(0.02 / 2)  # Yates: half of 2
    assert len(effects) == 1 + 2 + 2  # main CA, two fusion levels, two interactions


def test_contrast_weights_follow_effect_coding():
    d = detect_factorial(modulator_runs(noise=0.0, extra=False))
    for _, _, w in contrasts(d):
        assert sum(w.values()) == pytest.approx(0.0) and {abs(x) for x in w.values()} == {0.25}


def test_explicit_factors_must_form_a_full_factorial():
    runs = modulator_runs(extra=False)
    half = runs[~runs["variant"].isin(["off-off-off"])]
    with pytest.raises(ValueError, match="not a full factorial over"):
        detect_factorial(half, factors=[CA, SA, LF])
    with pytest.raises(ValueError, match="not found"):
        detect_factorial(runs, factors=["model.nope"])
    with pytest.raises(ValueError, match="vary within a variant"):
        detect_factorial(runs, factors=[CA, "train.seed"])
    assert detect_factorial(runs, factors=[CA, SA, LF]) is not None


def test_units_missing_a_variant_are_left_out():
    runs = modulator_runs(noise=0.0, extra=False)
    runs = runs[~((runs["variant"] == "off-off-off") & (runs["fold"] == 5))]
    e = factorial_effects(runs, "test/accuracy", rho=0.25)[0]
    assert e.comparison.n == 5


def test_one_at_a_time_studies_are_not_factorial():
    runs = pd.read_csv(ROOT / "reports" / "quickstart" / "runs.csv")
    assert detect_factorial(runs) is None
    with pytest.raises(ValueError, match="do not form a full factorial"):
        factorial_effects(runs, "test/accuracy")
