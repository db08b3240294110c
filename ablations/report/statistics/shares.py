"""Estimate the correlated shares from A/A runs: the reference under many seeds and under reshuffled actor groups.

Variance components by REML (Fisher scoring, Harville 1977): the scores of the cells (repeat, fold, seed) are
Gaussian with covariance sum_c var_c K_c, where the kernel K_c says how much of component c two cells share:
  seed      same seed (shared by all folds): needs >= 2 seeds on the same units
  out       actors held out of training (tested or validating) in common, |O_i & O_j| / |O|: the part of the
            training-group term that varies between units, and the validation/test coupling (their kernels are
            equal up to a constant, so no run can tell them apart: `reading` chooses, docs/statistics.md)
  test      test actors in common: needs >= 2 repeats (with one grouping it is `unit`)
  unit      same unit (repeat, fold): needs >= 2 seeds
  residual  the cell itself
What no within-dataset run can see is the part of the training term common to every unit (all units train on
most of the same actors): a constant, absorbed by the mean. Reading `train` restores it from the measured `out`
under the simulation's additive model (each training actor adds its own term); reading `coupling` assumes none
(the optimistic bound). The shares leave out the test-side terms (test, unit): in one model's scores they are
mostly the test actors' difficulty, which cancels in a paired difference; leaving them out can only overstate
the correlated shares. Standard errors: inverse Fisher information (shares: by drawing from it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ablations.report.statistics.simulate import Shares, role_matrices

READINGS = ("train", "coupling")
COMPONENTS = ("seed", "out", "test", "unit", "residual")
DRAWS, SEED = 2000, 20240613  # draws from the estimate's sampling distribution for the shares' se


@dataclass(frozen=True)
class ShareEstimate:
    """Estimated variances (metric units squared; NaN where the A/A design cannot tell) and the shares."""

    variances: dict[str, float]  # per COMPONENTS
    se: dict[str, float]  # their standard errors
    shares: Shares  # for python -m ablations.report.statistics.calibrate --shares
    share_se: dict[str, float]  # standard errors of the estimated shares
    reading: str
    cells: int
    notes: tuple[str, ...] = ()


def _kernels(cells: pd.DataFrame, roles: pd.DataFrame) -> tuple[dict[str, np.ndarray], float]:
    """Each component's kernel over the cells, and n_train / n_out (the train reading's factor)."""
    mats = role_matrices(roles)
    units = roles[["repeat", "fold"]].drop_duplicates().sort_values(["repeat", "fold"])
    row = {tuple(u): i for i, u in enumerate(units.itertuples(index=False))}
    keys = list(zip(cells["repeat"], cells["fold"], strict=True))
    missing = sorted(set(keys) - set(row))
    if missing:
        raise ValueError(f"A/A runs: units (repeat, fold) {missing[:5]} have no actor assignment in the roles")
    idx = np.array([row[k] for k in keys])
    out_m, test_m = mats["test"][idx] + mats["val"][idx], mats["test"][idx]
    out_m, test_m = out_m / np.sqrt(out_m.sum(1, keepdims=True)), test_m / np.sqrt(test_m.sum(1, keepdims=True))
    seed = cells["seed"].to_numpy()
    kernels = {
        "seed": (seed[:, None] == seed[None, :]).astype(float),
        "out": out_m @ out_m.T,
        "test": test_m @ test_m.T,
        "unit": (idx[:, None] == idx[None, :]).astype(float),
        "residual": np.eye(len(cells)),
    }
    train_per_out = float(np.mean(mats["train"].sum(1) / (mats["test"] + mats["val"]).sum(1)))
    return kernels, train_per_out


def _projection(theta: np.ndarray, kernels: list[np.ndarray]) -> np.ndarray:
    """The REML projection P = V^-1 - V^-1 1 1' V^-1 / (1' V^-1 1) of V = sum theta_c K_c (removes the mean)."""
    inv = np.linalg.inv(sum(t * k for t, k in zip(theta, kernels, strict=True)))
    s1 = inv.sum(axis=1)
    return inv - np.outer(s1, s1) / s1.sum()


def fisher(theta: np.ndarray, kernels: list[np.ndarray]) -> np.ndarray:
    """Expected REML information of the variance components: 1/2 tr(P K_c P K_d)."""
    pk = [_projection(theta, kernels) @ k for k in kernels]
    return np.array([[0.5 * np.sum(a * b.T) for b in pk] for a in pk])


def reml(y: np.ndarray, kernels: list[np.ndarray], iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """REML variance components of y ~ N(mu 1, sum_c theta_c K_c) by Fisher scoring; (theta, Fisher information)."""
    scale = max(float(np.var(y)), 1e-300)
    theta = np.full(len(kernels), scale / len(kernels))
    with threadpool_limits(1):  # small matrices: BLAS threads only contend (10x slower on a busy machine)
        for _ in range(iterations):
            p = _projection(theta, kernels)
            py = p @ y
            pk = [p @ k for k in kernels]
            score = np.array([-0.5 * (np.trace(a) - py @ k @ py) for a, k in zip(pk, kernels, strict=True)])
            info = np.array([[0.5 * np.sum(a * b.T) for b in pk] for a in pk])
            new = np.maximum(theta + np.linalg.solve(info, score), 1e-9 * scale)  # variances stay >= 0
            done = np.max(np.abs(new - theta)) < 1e-8 * scale
            theta = new
            if done:
                break
        return theta, fisher(theta, kernels)


def _shares(v: dict[str, float], factor: float, term: str) -> Shares:
    v = {c: max(0.0, x) for c, x in v.items()}
    correlated = v.get("out", 0.0) * factor
    total = v.get("seed", 0.0) + correlated + v.get("residual", 0.0)
    if total <= 0:
        return Shares()
    raw = {"seed": v.get("seed", 0.0) / total, term: correlated / total}
    scale = min(1.0, 0.999 / max(sum(raw.values()), 1e-300))  # Shares needs some independent noise left
    return Shares(**{k: float(x * scale) for k, x in raw.items()})


def estimate_shares(
    runs: pd.DataFrame, roles: pd.DataFrame, value: str = "test/accuracy", reading: str = "train"
) -> ShareEstimate:
    """Variance components and shares from an A/A runs table (columns repeat (optional), fold, seed, value).

    roles: each unit's actors and their role, as simulate.assignment returns it (columns repeat, fold, actor,
    role in test/val/train); the units of `runs` must be among them.
    """
    if reading not in READINGS:
        raise ValueError(f"reading: '{reading}' is not one of {', '.join(READINGS)}")
    need = {"fold", "seed", value} - set(runs.columns)
    if need:
        raise ValueError(f"A/A runs: no column(s) {', '.join(sorted(need))}")
    cells = runs.assign(repeat=runs["repeat"] if "repeat" in runs.columns else 0).dropna(subset=[value])
    cells = cells.reset_index(drop=True)
    kernels, train_per_out = _kernels(cells, roles)
    notes, use = [], ["out", "residual"]
    if cells.groupby(["repeat", "fold"])["seed"].nunique().max() >= 2:
        use += ["seed", "unit"]
    else:
        notes.append("one seed per unit: the seed term is not told apart from the residual (needs >= 2 seeds a fold)")
    if cells["repeat"].nunique() >= 2:
        use.append("test")
    else:
        notes.append("one actor grouping: the test-actor term is part of 'unit' (needs reshuffled repeats)")
    centred = [k - k.mean(0, keepdims=True) - k.mean(1, keepdims=True) + k.mean() for k in (kernels[c] for c in use)]
    upper = np.triu_indices(len(cells))
    if np.linalg.matrix_rank(np.column_stack([c[upper] for c in centred])) < len(use):
        raise ValueError("A/A runs: the design cannot separate the components (too few folds, seeds or repeats)")
    y = cells[value].to_numpy(float)
    theta, info = reml(y, [kernels[c] for c in use])
    cov = np.linalg.inv(info)
    variances = dict.fromkeys(COMPONENTS, math.nan) | {c: float(t) for c, t in zip(use, theta, strict=True)}
    se = dict.fromkeys(COMPONENTS, math.nan) | {c: float(math.sqrt(max(0.0, cov[i, i]))) for i, c in enumerate(use)}
    term, factor = ("train", train_per_out) if reading == "train" else ("coupling", 1.0)
    shares = _shares(dict(zip(use, theta, strict=True)), factor, term)
    draws = np.random.default_rng(SEED).multivariate_normal(theta, cov, DRAWS, method="eigh")
    spread = [_shares(dict(zip(use, d, strict=True)), factor, term) for d in draws]
    share_se = {t: float(np.std([getattr(s, t) for s in spread], ddof=1)) for t in ("seed", term)}
    return ShareEstimate(variances, se, shares, share_se, reading, len(cells), tuple(notes))


def planned_se(cells: pd.DataFrame, roles: pd.DataFrame, shares: Shares, reading: str = "train") -> dict[str, float]:
    """Standard errors of the shares an A/A design (cells: columns repeat, fold, seed) would measure, if true.

    From the expected information at the variances `shares` imply (total variance 1; the test-side terms near
    0), so an A/A study can be sized before it is run.
    """
    cells = cells.assign(repeat=cells["repeat"] if "repeat" in cells.columns else 0).reset_index(drop=True)
    kernels, train_per_out = _kernels(cells, roles)
    term, factor = ("train", train_per_out) if reading == "train" else ("coupling", 1.0)
    correlated = getattr(shares, term)
    truth = {"out": correlated / factor, "residual": shares.rest + sum(
        getattr(shares, t) for t in ("train", "coupling", "test") if t != term), "seed": shares.seed,
        "unit": 1e-3, "test": 1e-3}  # fmt: skip
    use = ["out", "residual"] + (["seed", "unit"] if cells.groupby(["repeat", "fold"])["seed"].nunique().max() >= 2
                                 else []) + (["test"] if cells["repeat"].nunique() >= 2 else [])  # fmt: skip
    theta = np.array([max(truth[c], 1e-6) for c in use])
    with threadpool_limits(1):
        cov = np.linalg.inv(fisher(theta, [kernels[c] for c in use]))
    draws = np.random.default_rng(SEED).multivariate_normal(theta, cov, DRAWS, method="eigh")
    spread = [_shares(dict(zip(use, d, strict=True)), factor, term) for d in draws]
    return {t: float(np.std([getattr(s, t) for s in spread], ddof=1)) for t in ("seed", term)}
