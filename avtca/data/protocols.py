"""Evaluation protocols: which clips train, validate and test, deterministic given (fold, seed, repeat).

The machinery is generic; which protocols a dataset accepts (and their dataset facts, such as the actors of
a published fixed split) are listed on its adapter (`DatasetAdapter.protocols`, the first is its default).
A protocol name means one protocol in every dataset that lists it, so code that has only the name (reports,
the study planner) can ask `n_folds_of(name)` and `K_FOLDS`. Actor k-fold protocols can also be repeated with
reshuffled actor groups (`data.repeat`, `reshuffled`): repeat 0 is the protocol's own grouping.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from avtca.data.registry import DATASETS


@dataclass(frozen=True)
class SplitIndex:
    """Indices into the prepared arrays for each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


class Protocol:
    """A way to split a dataset's clips; subclasses are frozen dataclasses (equal when their settings are)."""

    name: str
    subject_independent: bool = True  # no speaker appears in two parts
    needs_actor_count: bool = False  # its folds depend on the dataset's number of actors (adapter.n_actors)
    can_reshuffle: bool = False  # repeat r > 0 regroups the actors (`reshuffled`): actor k-fold protocols

    @property
    def n_folds(self) -> int:
        """Folds it has nominally (fewer when a dataset has fewer actors than folds: `folds`)."""
        return 1

    def folds(self, n_actors: int | None) -> int:
        """Folds it has on a dataset of `n_actors` actors."""
        return self.n_folds

    def label(self, n_actors: int | None) -> str:
        """Its description in tables and figures, after the dataset's title."""
        raise NotImplementedError

    def split(self, actors: np.ndarray, fold: int, seed: int, official: Sequence[str] | None) -> SplitIndex:
        """Train/val/test indices of fold `fold` (already range-checked) for clips of these actors."""
        raise NotImplementedError

    def reshuffled(self, repeat: int) -> Protocol:
        """This protocol on the actor grouping of cross-validation repeat `repeat` (0: its own grouping)."""
        if repeat == 0:
            return self
        raise ValueError(f"protocol '{self.name}' has one fixed grouping; repeat {repeat} needs actor k-fold")


@dataclass(frozen=True)
class ActorKFold(Protocol):
    """Actors sorted into k consecutive groups; fold i tests on group i, validates on group i+1 (cyclic).

    Repeat r > 0 (`reshuffled(r)`) groups a seeded permutation of the actors instead (`actor_folds`), with the
    same roles: the repeated cross-validation of docs/statistics.md. Its name stays the protocol's.
    """

    k: int
    repeat: int = 0
    needs_actor_count = True
    can_reshuffle = True

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"actor{self.k}fold"

    @property
    def n_folds(self) -> int:
        return self.k

    def folds(self, n_actors: int | None) -> int:
        return min(self.k, n_actors)

    def label(self, n_actors: int | None) -> str:
        k = min(self.k, n_actors)
        per = n_actors / k
        size = f"{int(per)}" if per == int(per) else f"{int(per)}-{int(per) + 1}"
        return f"{k}-fold subject-independent ({size} actors/fold; val = next fold)"

    def split(self, actors: np.ndarray, fold: int, seed: int, official: Sequence[str] | None) -> SplitIndex:
        groups = actor_folds(actors.tolist(), self.k, self.repeat)
        if fold >= len(groups):
            raise ValueError(f"fold {fold}: only {len(groups)} actor groups (one per actor) can be formed")
        test_actors, val_actors = set(groups[fold]), set(groups[(fold + 1) % len(groups)])
        return _by_actor(actors, test_actors, val_actors)

    def reshuffled(self, repeat: int) -> ActorKFold:
        if repeat < 0:
            raise ValueError(f"repeat {repeat}: expected 0 (the protocol's grouping) or a positive reshuffle")
        return replace(self, repeat=repeat)


@dataclass(frozen=True)
class FixedActors(Protocol):
    """A published split by actor number: `test` and `val` actors, the rest train."""

    name: str
    test: tuple[int, ...]
    val: tuple[int, ...]
    description: str = ""  # its label; by default `fixed split (test actors 5,10,...; val 11,13,...; ...)`

    def label(self, n_actors: int | None) -> str:
        if self.description:
            return self.description
        test, val = ",".join(map(str, self.test)), ",".join(map(str, self.val))
        return f"fixed split (test actors {test}; val {val}; subject-independent)"

    def split(self, actors: np.ndarray, fold: int, seed: int, official: Sequence[str] | None) -> SplitIndex:
        test_actors, val_actors = {str(a) for a in self.test}, {str(a) for a in self.val}
        norm = np.array([str(int(a)) if str(a).isdigit() else str(a) for a in actors], dtype=object)
        missing = [a for a in sorted(test_actors | val_actors, key=int) if a not in set(norm)]
        if missing:
            raise ValueError(
                f"protocol '{self.name}' needs actors {sorted(test_actors | val_actors, key=int)}; "
                f"missing from the prepared data: {missing} (use an actor k-fold or random for small/synthetic sets)"
            )
        return _by_actor(norm, test_actors, val_actors)


@dataclass(frozen=True)
class RandomSplit(Protocol):
    """Clip-level: `test` of the clips test, `val` of all clips validate (carved from the rest); seeded."""

    test: float = 0.2
    val: float = 0.1
    name = "random"
    subject_independent = False

    def label(self, n_actors: int | None) -> str:
        rest, test = round(100 * (1 - self.test)), round(100 * self.test)
        return f"random clip-level {rest}/{test} split, val carved from the {rest} (NOT subject-independent)"

    def split(self, actors: np.ndarray, fold: int, seed: int, official: Sequence[str] | None) -> SplitIndex:
        n = len(actors)
        order = np.random.default_rng(seed).permutation(n)
        n_test, n_val = int(round(self.test * n)), int(round(self.val * n))
        return SplitIndex(
            train=np.sort(order[n_test + n_val :]),
            val=np.sort(order[n_test : n_test + n_val]),
            test=np.sort(order[:n_test]),
        )


@dataclass(frozen=True)
class OfficialSplit(Protocol):
    """The split the dataset's files name for each clip (the cache's `splits`); speaker-disjoint by design."""

    train: str = "train"
    val: str = "valid"
    test: str = "test"
    name = "official"

    def label(self, n_actors: int | None) -> str:
        return f"official split ({self.train}/{self.val}/{self.test})"

    def split(self, actors: np.ndarray, fold: int, seed: int, official: Sequence[str] | None) -> SplitIndex:
        if official is None:
            raise ValueError(f"protocol '{self.name}' needs each clip's official split name")
        names = np.asarray(official, dtype=object)
        return SplitIndex(*(np.flatnonzero(names == part) for part in (self.train, self.val, self.test)))


RANDOM = RandomSplit()  # every dataset can use it: the default of an adapter that lists no protocols
OFFICIAL = OfficialSplit()


def split_indices(
    protocol: Protocol,
    actors: Sequence[str],
    fold: int = 0,
    seed: int = 0,
    official: Sequence[str] | None = None,
    repeat: int = 0,
) -> SplitIndex:
    """Train/val/test indices for `protocol`; `official` holds each clip's split name (OfficialSplit); `repeat`
    picks a reshuffled actor grouping (actor k-fold protocols; 0 = the protocol's own)."""
    folds, name = protocol.n_folds, protocol.name
    if not 0 <= fold < folds:
        raise ValueError(f"fold {fold} is out of range for protocol '{name}' ({folds} fold(s): 0..{folds - 1})")
    return protocol.reshuffled(repeat).split(np.asarray(actors, dtype=object), fold, seed, official)


RESHUFFLE_SEED = 0  # fixed, not train.seed: every variant and seed of a repeat is tested on the same actor groups


def actor_folds(actors: Sequence[str], k: int, repeat: int = 0, seed: int = RESHUFFLE_SEED) -> list[list[str]]:
    """Actors in k near-equal groups: repeat 0 sorted and consecutive (RAVDESS 6 folds: actors 1-4, 5-8, ...);
    repeat r > 0 a permutation of the sorted actors drawn from numpy's generator seeded with [seed, r]."""
    ordered = sorted(set(actors), key=_actor_sort_key)
    if len(ordered) < 3:
        raise ValueError(f"actor k-fold needs at least 3 actors, found {len(ordered)}: {ordered}")
    if repeat > 0:
        ordered = [ordered[i] for i in np.random.default_rng([seed, repeat]).permutation(len(ordered))]
    k = min(k, len(ordered))
    return [list(g) for g in np.array_split(np.array(ordered, dtype=object), k)]


def _actor_sort_key(actor: str):
    return (0, int(actor), "") if actor.isdigit() else (1, 0, actor)


def _by_actor(actors: np.ndarray, test_actors: set[str], val_actors: set[str]) -> SplitIndex:
    is_test = np.array([a in test_actors for a in actors], dtype=bool)
    is_val = np.array([a in val_actors for a in actors], dtype=bool) & ~is_test
    return SplitIndex(
        train=np.flatnonzero(~is_test & ~is_val),
        val=np.flatnonzero(is_val),
        test=np.flatnonzero(is_test),
    )


def registered(name: str | None) -> Protocol | None:
    """The protocol called `name` in the registered datasets, or None."""
    for adapter in DATASETS.values():
        for protocol in adapter.protocols:
            if protocol.name == name:
                return protocol
    return None


def n_folds_of(name: str | None) -> int:
    """Folds of the registered protocol `name` (1 for fixed, random and official splits, and unknown names)."""
    protocol = registered(name)
    return protocol.n_folds if protocol is not None else 1


class _KFolds(Mapping):
    """Actor k-fold protocol name -> k, read live from the registered datasets."""

    def _all(self) -> dict[str, int]:
        protocols = (p for a in DATASETS.values() for p in a.protocols if isinstance(p, ActorKFold))
        return {p.name: p.k for p in protocols}

    def __getitem__(self, name: str) -> int:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


K_FOLDS: Mapping[str, int] = _KFolds()
