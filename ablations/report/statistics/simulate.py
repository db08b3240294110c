"""Simulated unit scores with KNOWN correlation between folds, for the calibration and the A/A estimator.

Each variant's score on a unit (fold f of repeat r) under seed s is its true value plus independent draws of:
  train     sum over the actors the unit trains on of a per-(variant, actor) term: units that share training
            actors share these terms (actor6fold: fold i tests group i, validates on group i+1, trains on the
            other 4, so any two folds share 2-3 of their 4 training groups; avtca.data.protocols)
  seed      a per-(variant, seed) term shared by every unit of the seed (train.seed fixes the initial weights
            for all folds); per (variant, repeat, fold, seed) under independent initial weights per unit
  coupling  a per-(variant, actor) term added where the actor validates and where it is tested: fold i's
            validation actors are fold i+1's test actors, so early stopping couples neighbouring folds
  test      a per-(variant, actor) term where the actor is tested (the variant works better on some speakers):
            independent between the folds of one cross-validation, repeated across repeats
  rest      clip-level test noise (each test clip right with its difficulty p, the p resampled from a real
            predictions.csv, or binomial at 60 % where none; drawn as a normal with the clips' variance
            sum p(1-p)/n^2, accurate at 64+ clips a fold) and model noise, both independent per (unit, seed)
A share is the term's part of the variance of one variant's single-seed unit score, so of a paired difference
too (the variants' terms are independent). Scales: the independent part is the clip noise plus `model_sd`; the
correlated terms are added on top, so a larger share means a noisier study, as it would be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from avtca.data.protocols import RESHUFFLE_SEED, actor_folds

TERMS = ("train", "seed", "coupling", "test")
MODEL_SD = 0.035  # model noise per variant and unit (fraction): about 3.5 accuracy points seed to seed
BINOMIAL_P = 0.6  # clip difficulty where no predictions.csv is given


@dataclass(frozen=True)
class Shares:
    """Shares of a single-seed unit score's variance held by each correlated term; the rest is independent."""

    train: float = 0.0
    seed: float = 0.0
    coupling: float = 0.0
    test: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and 0.0 <= value < 1.0):
                raise ValueError(f"shares: '{f.name}' must be in [0, 1), got {value!r}")
        if self.rest <= 0.0:
            raise ValueError(f"shares: {self.label()} leave nothing for the independent noise (they must sum < 1)")

    @property
    def rest(self) -> float:
        """The independent share (clip and model noise)."""
        return 1.0 - sum(getattr(self, t) for t in TERMS)

    def label(self) -> str:
        """E.g. 'train 0.2, seed 0.09' ('none' when every correlated share is 0)."""
        parts = [f"{t} {getattr(self, t):g}" for t in TERMS if getattr(self, t) > 0]
        return ", ".join(parts) or "none"


def parse_shares(text: str) -> Shares:
    """Shares from 'train=0.2,seed=0.1,...' (terms: train, seed, coupling, test)."""
    values = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in TERMS:
            raise ValueError(f"--shares: '{part}' is not TERM=VALUE with TERM one of {', '.join(TERMS)}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--shares: '{part}': '{value}' is not a number") from None
    return Shares(**values)


@dataclass(frozen=True)
class Design:
    """A study design: actors split into `folds` groups, `repeats` reshuffles, `seeds` per unit."""

    name: str
    actors: int
    folds: int
    seeds: int
    repeats: int = 1
    clips: int = 60  # test clips per actor
    independent_init: bool = False  # initial weights drawn per (seed, repeat, fold), not per seed

    @property
    def units(self) -> int:
        """Test sets: folds x repeats."""
        return self.folds * self.repeats

    def label(self) -> str:
        """E.g. 'ravdess 6x3, shared init' or 'ravdess 6x1 x3 repeats, independent init'."""
        reps = f" x{self.repeats} repeats" if self.repeats > 1 else ""
        init = "independent init" if self.independent_init else "shared init"  # train.seeding per_fold | shared
        return f"{self.name} {self.folds}x{self.seeds}{reps}, {init}"


def assignment(actors: int, folds: int, repeats: int = 1, seed: int = RESHUFFLE_SEED) -> pd.DataFrame:
    """Roles per unit (columns repeat, fold, actor, role in test/val/train), as the actor k-fold protocols assign.

    The groups are the training code's own (avtca.data.protocols.actor_folds): repeat 0 is the protocol's grouping
    (sorted actors in consecutive groups; fold i tests group i and validates on group i+1); repeat r > 0 regroups a
    permutation of the actors drawn from a generator seeded with (seed, r), as `data.repeat: r` does with the
    default seed. Actors are named 1..`actors` (a dataset's sorted actors in that order).
    """
    names = [str(a + 1) for a in range(actors)]
    records = []
    for r in range(repeats):
        groups = actor_folds(names, folds, repeat=r, seed=seed)
        for f in range(len(groups)):
            test, val = set(groups[f]), set(groups[(f + 1) % len(groups)])
            for a in names:
                role = "test" if a in test else "val" if a in val else "train"
                records.append((r, f, a, role))
    return pd.DataFrame.from_records(records, columns=["repeat", "fold", "actor", "role"])


def role_matrices(roles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per role, a (units x actors) 0/1 matrix; units in (repeat, fold) order, actors in sorted order."""
    units = roles[["repeat", "fold"]].drop_duplicates().sort_values(["repeat", "fold"])
    index = {tuple(u): i for i, u in enumerate(units.itertuples(index=False))}
    actors = {a: j for j, a in enumerate(sorted(roles["actor"].unique(), key=lambda a: (len(str(a)), str(a))))}
    out = {role: np.zeros((len(index), len(actors))) for role in ("test", "val", "train")}
    for r, f, a, role in roles[["repeat", "fold", "actor", "role"]].itertuples(index=False):
        out[role][index[(r, f)], actors[a]] = 1.0
    return out


def _normalised(m: np.ndarray) -> np.ndarray:
    return m / np.sqrt(np.maximum(m.sum(axis=1, keepdims=True), 1.0))  # each unit's term has variance 1


def clip_difficulty(predictions: Path | None) -> np.ndarray:
    """Per test clip, the fraction of models that got it right (clean condition of a predictions.csv)."""
    if predictions is None or not Path(predictions).is_file():
        return np.array([BINOMIAL_P])
    pred = pd.read_csv(predictions, dtype={"target": str, "prediction": str, "clip": str, "actor": str})
    missing = {"condition", "clip", "fold", "target", "prediction"} - set(pred.columns)
    if missing:
        raise ValueError(f"{predictions}: no column(s) {', '.join(sorted(missing))}")
    clean = pred[pred["condition"] == "clean"]
    correct = (clean["target"] == clean["prediction"]).astype(float)
    return correct.groupby([clean["fold"], clean["clip"]]).mean().to_numpy(float)


@dataclass(frozen=True)
class Model:
    """What the simulation draws from: the design's role matrices, the clip difficulties and the model noise."""

    design: Design
    difficulty: np.ndarray
    model_sd: float = MODEL_SD

    def roles(self) -> dict[str, np.ndarray]:
        """The design's role matrices (units x actors)."""
        return role_matrices(assignment(self.design.actors, self.design.folds, self.design.repeats))

    def independent_variance(self) -> float:
        """Mean variance of the independent part of a unit score: clip noise over the unit's test clips + model."""
        q = float(np.mean(self.difficulty * (1.0 - self.difficulty)))
        n_test = self.design.actors / self.design.folds * self.design.clips
        return q / n_test + self.model_sd**2


def simulate(model: Model, shares: Shares, effects: np.ndarray, studies: int, rng: np.random.Generator) -> np.ndarray:
    """Unit scores (studies, variants, units, seeds); effects: each variant's true value (index 0: reference)."""
    d = model.design
    v, u, s = len(effects), d.units, d.seeds
    roles = model.roles()
    sigma = math.sqrt(model.independent_variance() / shares.rest)  # sd of a single-seed unit score
    out = np.broadcast_to(np.asarray(effects, float)[None, :, None, None], (studies, v, u, s)).copy()
    mats = {"train": _normalised(roles["train"]), "test": _normalised(roles["test"]),
            "coupling": _normalised(roles["val"] + roles["test"])}  # fmt: skip
    for term, mat in mats.items():
        share = getattr(shares, term)
        if share > 0:
            draws = rng.standard_normal((studies, v, mat.shape[1]))
            out += (math.sqrt(share) * sigma * draws @ mat.T)[..., None]
    if shares.seed > 0:
        shape = (studies, v, u, s) if d.independent_init else (studies, v, 1, s)
        out += math.sqrt(shares.seed) * sigma * rng.standard_normal(shape)
    n_test = roles["test"].sum(axis=1).astype(int) * d.clips  # test clips per unit
    picks = model.difficulty[rng.integers(0, model.difficulty.size, (studies, u, int(n_test.max())))]
    mask = np.arange(picks.shape[-1]) < n_test[:, None]
    clip_var = (picks * (1 - picks) * mask).sum(axis=-1) / n_test**2  # (studies, units): resampled clips
    out += np.sqrt(clip_var)[:, None, :, None] * rng.standard_normal((studies, v, u, s))
    out += model.model_sd * rng.standard_normal((studies, v, u, s))
    return out


def unit_differences(scores: np.ndarray) -> np.ndarray:
    """Seed-averaged differences of every variant with the reference: (studies, variants - 1, units)."""
    means = scores.mean(axis=-1)
    return means[:, 1:] - means[:, :1]


def aa_runs(model: Model, shares: Shares, rng: np.random.Generator, value: str = "test/accuracy") -> pd.DataFrame:
    """One simulated A/A runs table: the reference alone on every (repeat, fold, seed) of the design."""
    scores = simulate(model, shares, np.array([0.7]), 1, rng)[0, 0]  # (units, seeds)
    d = model.design
    rows = [(u // d.folds, u % d.folds, seed, scores[u, seed]) for u in range(d.units) for seed in range(d.seeds)]
    runs = pd.DataFrame.from_records(rows, columns=["repeat", "fold", "seed", value])
    runs["variant"] = "reference"
    return runs
