"""Clip-level paired comparison from predictions.csv, resampled by actor (the independent unit of the test set).

Each clip's correctness is averaged over the seeds of its fold first; the per-actor sums of the paired
difference are then sign-flipped (the p-value) and resampled with replacement (the 95% percentile interval
of the accuracy difference). Actors are the clusters: under a subject-independent protocol every actor is
in exactly one test fold, and clips of one actor are not independent of each other (docs/statistics.md).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_ACTORS = 6  # fewer clusters: the sign-flip p cannot go under 2 / 2**5 and a bootstrap of 5 says little
EXACT_UP_TO = 16  # enumerate all 2**A sign flips up to this many actors, else draw N_FLIPS of them
N_FLIPS = 20000
N_BOOT = 4000
SEED = 20240613  # fixed: a re-render gives the same p-values and intervals


@dataclass(frozen=True)
class ClipComparison:
    """Accuracy difference (variant - reference, fraction), its actor-bootstrap CI and sign-flip p."""

    actors: int
    clips: int
    folds: int
    seeds: int
    delta: float
    ci_low: float
    ci_high: float
    p: float
    note: str


def correctness(pred: pd.DataFrame) -> pd.DataFrame:
    """Seed-averaged correctness per (variant, fold, actor, clip) of the clean test set (classification)."""
    clean = pred[pred["condition"] == "clean"].copy()
    clean["correct"] = (clean["target"].astype(str) == clean["prediction"].astype(str)).astype(float)
    out = clean.groupby(["variant", "fold", "actor", "clip"], sort=True).agg(
        correct=("correct", "mean"), seeds=("seed", "nunique")
    )
    return out.reset_index()


def sign_flip_p(sums: np.ndarray, total: int, rng: np.random.Generator) -> float:
    """Two-sided sign-flip permutation p of sum(sums) / total over clusters (exact when few clusters)."""
    a = sums.size
    observed = abs(sums.sum())
    tol = 1e-12 * max(1.0, float(np.abs(sums).sum()))
    if a <= EXACT_UP_TO:
        flips = np.array(list(itertools.product((1.0, -1.0), repeat=a)))
        return float(np.mean(np.abs(flips @ sums) >= observed - tol))
    flips = rng.choice((1.0, -1.0), size=(N_FLIPS, a))
    hits = int(np.sum(np.abs(flips @ sums) >= observed - tol))
    return (hits + 1) / (N_FLIPS + 1)  # the observed flip counts as one draw: never p = 0


def bootstrap_ci(sums: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of sum(sums)/sum(counts) resampling clusters with replacement."""
    a = sums.size
    weights = rng.multinomial(a, np.full(a, 1.0 / a), size=N_BOOT).astype(float)
    stat = (weights @ sums) / np.maximum(weights @ counts, 1.0)
    lo, hi = np.quantile(stat, [0.025, 0.975])
    return float(max(-1.0, lo)), float(min(1.0, hi))


def compare_clips(corr: pd.DataFrame, variant: str, reference: str) -> ClipComparison:
    """Paired comparison of two variants over the clips both were tested on."""
    a = corr[corr["variant"] == variant]
    b = corr[corr["variant"] == reference]
    both = a.merge(b, on=["fold", "actor", "clip"], suffixes=("_v", "_r"))
    if both.empty:
        return ClipComparison(0, 0, 0, 0, math.nan, math.nan, math.nan, math.nan, "no clips in common")
    both["d"] = both["correct_v"] - both["correct_r"]
    per_actor = both.groupby(["fold", "actor"], sort=True)["d"].agg(["sum", "count"])
    sums, counts = per_actor["sum"].to_numpy(float), per_actor["count"].to_numpy(float)
    n_act, n_clips = len(per_actor), len(both)
    seeds = int(min(both["seeds_v"].min(), both["seeds_r"].min()))
    delta = float(sums.sum() / counts.sum())
    folds = int(both["fold"].nunique())
    if n_act < MIN_ACTORS:
        return ClipComparison(n_act, n_clips, folds, seeds, delta, math.nan, math.nan, math.nan,
                              f"n = {n_act} actors: too few (< {MIN_ACTORS})")  # fmt: skip
    rng = np.random.default_rng(SEED)
    p = 1.0 if np.allclose(sums, 0.0) else sign_flip_p(sums, n_clips, rng)
    lo, hi = bootstrap_ci(sums, counts, rng)
    return ClipComparison(n_act, n_clips, folds, seeds, delta, lo, hi, p, "")
