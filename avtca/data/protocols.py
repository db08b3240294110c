"""Evaluation protocols: which clips train, validate and test, deterministic given (fold, seed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K_FOLDS = {"actor6fold": 6, "actor5fold": 5}
# fixed actor splits, as actor numbers (RAVDESS actors are 1..24)
FIXED = {
    "avtca_release": {"test": (1, 2, 3, 4), "val": (5, 6, 7, 8)},  # the AVT-CA release's annotations.txt
    "ecm_fixed": {"test": (5, 10, 16, 19), "val": (11, 13, 18, 22)},  # the code base AVT-CA forks (ICPR 2022)
}
RANDOM_TEST, RANDOM_VAL = 0.2, 0.1  # random: 20 % test, validation carved out of the other 80 % (10 % of all)


@dataclass(frozen=True)
class SplitIndex:
    """Indices into the prepared arrays for each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def n_folds_of(protocol: str) -> int:
    """Folds a protocol has (1 for fixed, random and official splits)."""
    return K_FOLDS.get(protocol, 1)


def is_subject_independent(protocol: str) -> bool:
    """Whether no speaker appears in two parts (MOSEI's official split is speaker-disjoint by design)."""
    return protocol != "random"


def actor_folds(actors: Sequence[str], k: int) -> list[list[str]]:
    """Sorted actors in k consecutive, near-equal groups (RAVDESS 6 folds: actors 1-4, 5-8, ...)."""
    ordered = sorted(set(actors), key=_actor_sort_key)
    if len(ordered) < 3:
        raise ValueError(f"actor k-fold needs at least 3 actors, found {len(ordered)}: {ordered}")
    k = min(k, len(ordered))
    return [list(g) for g in np.array_split(np.array(ordered, dtype=object), k)]


def _actor_sort_key(actor: str):
    return (0, int(actor), "") if actor.isdigit() else (1, 0, actor)


def split_indices(
    protocol: str,
    actors: Sequence[str],
    fold: int = 0,
    seed: int = 0,
    official: Sequence[str] | None = None,
) -> SplitIndex:
    """Train/val/test indices for `protocol`; `official` holds each clip's split name for `official`."""
    actors = np.asarray(actors, dtype=object)
    n = len(actors)
    folds = n_folds_of(protocol)
    if not 0 <= fold < folds:
        raise ValueError(f"fold {fold} is out of range for protocol '{protocol}' ({folds} fold(s): 0..{folds - 1})")
    if protocol in K_FOLDS:
        groups = actor_folds(actors.tolist(), K_FOLDS[protocol])
        if fold >= len(groups):
            raise ValueError(f"fold {fold}: only {len(groups)} actor groups (one per actor) can be formed")
        # fold i tests on group i and validates on group i+1 (cyclic); the rest trains
        test_actors, val_actors = set(groups[fold]), set(groups[(fold + 1) % len(groups)])
        return _by_actor(actors, test_actors, val_actors)
    if protocol in FIXED:
        spec = FIXED[protocol]
        test_actors = {str(a) for a in spec["test"]}
        val_actors = {str(a) for a in spec["val"]}
        present = {str(int(a)) if str(a).isdigit() else str(a) for a in actors}
        missing = [a for a in sorted(test_actors | val_actors, key=int) if a not in present]
        if missing:
            raise ValueError(
                f"protocol '{protocol}' needs actors {sorted(test_actors | val_actors, key=int)}; "
                f"missing from the prepared data: {missing} (use actor6fold or random for small/synthetic sets)"
            )
        norm = np.array([str(int(a)) if str(a).isdigit() else str(a) for a in actors], dtype=object)
        return _by_actor(norm, test_actors, val_actors)
    if protocol == "random":
        order = np.random.default_rng(seed).permutation(n)
        n_test = int(round(RANDOM_TEST * n))
        n_val = int(round(RANDOM_VAL * n))
        return SplitIndex(
            train=np.sort(order[n_test + n_val :]),
            val=np.sort(order[n_test : n_test + n_val]),
            test=np.sort(order[:n_test]),
        )
    if protocol == "official":
        if official is None:
            raise ValueError("protocol 'official' needs each clip's official split name")
        names = np.asarray(official, dtype=object)
        return SplitIndex(
            train=np.flatnonzero(names == "train"),
            val=np.flatnonzero(names == "valid"),
            test=np.flatnonzero(names == "test"),
        )
    raise ValueError(f"unknown protocol '{protocol}'")


def _by_actor(actors: np.ndarray, test_actors: set[str], val_actors: set[str]) -> SplitIndex:
    is_test = np.array([a in test_actors for a in actors], dtype=bool)
    is_val = np.array([a in val_actors for a in actors], dtype=bool) & ~is_test
    return SplitIndex(
        train=np.flatnonzero(~is_test & ~is_val),
        val=np.flatnonzero(is_val),
        test=np.flatnonzero(is_test),
    )
