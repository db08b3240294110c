"""Protocols: actor-disjoint folds covering every actor once (property test), fixed and random splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avtca.data import DATASETS
from avtca.data.protocols import (
    K_FOLDS,
    OFFICIAL,
    RANDOM,
    ActorKFold,
    FixedActors,
    actor_folds,
    n_folds_of,
    split_indices,
)

actor_lists = st.lists(st.integers(1, 40).map(lambda a: f"{a:02d}"), min_size=3, max_size=120).filter(
    lambda xs: len(set(xs)) >= 3
)


@settings(max_examples=60, deadline=None)
@given(actors=actor_lists, protocol=st.sampled_from([ActorKFold(6), ActorKFold(5)]))
def test_folds_are_actor_disjoint_and_test_every_actor_exactly_once(actors, protocol):
    k = min(protocol.k, len(set(actors)))
    tested: list[str] = []
    for fold in range(k):
        s = split_indices(protocol, actors, fold=fold)
        parts = [set(np.asarray(actors)[idx]) for idx in (s.train, s.val, s.test)]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        # every clip is in exactly one part
        allidx = np.concatenate([s.train, s.val, s.test])
        assert sorted(allidx.tolist()) == list(range(len(actors)))
        # validation is the next fold's test group
        nxt = split_indices(protocol, actors, fold=(fold + 1) % k)
        assert parts[1] == set(np.asarray(actors)[nxt.test])
        tested += sorted(parts[2])
    assert sorted(tested) == sorted(set(actors))


def test_ravdess_six_folds_are_consecutive_groups_of_four():
    groups = actor_folds([f"{a:02d}" for a in range(24, 0, -1)], 6)
    assert groups[0] == ["01", "02", "03", "04"] and groups[5] == ["21", "22", "23", "24"]


def test_fixed_splits_use_the_published_actors():
    actors = [f"{a:02d}" for a in range(1, 25) for _ in range(3)]
    fixed = [p for p in DATASETS.get("ravdess").protocols if isinstance(p, FixedActors)]
    assert [p.name for p in fixed] == ["avtca_release", "ecm_fixed"]  # facts of the RAVDESS adapter
    for protocol in fixed:
        s = split_indices(protocol, actors)
        assert {int(actors[i]) for i in s.test} == set(protocol.test)
        assert {int(actors[i]) for i in s.val} == set(protocol.val)
        assert len(s.train) == 3 * 16
    with pytest.raises(ValueError, match=r"missing from the prepared data: \['19'\]"):
        split_indices(fixed[1], [a for a in actors if a != "19"])


def test_random_split_is_seeded_clip_level_80_20_with_validation_from_the_80():
    actors = [f"{a % 7:02d}" for a in range(200)]
    a, b = split_indices(RANDOM, actors, seed=3), split_indices(RANDOM, actors, seed=3)
    c = split_indices(RANDOM, actors, seed=4)
    assert all(np.array_equal(getattr(a, p), getattr(b, p)) for p in ("train", "val", "test"))
    assert not np.array_equal(a.test, c.test)
    assert (len(a.train), len(a.val), len(a.test)) == (140, 20, 40)
    assert set(np.asarray(actors)[a.test]) & set(np.asarray(actors)[a.train])  # NOT subject-independent


def test_official_split_follows_the_file_and_fold_bounds_are_checked():
    names = ["train"] * 5 + ["valid"] * 2 + ["test"] * 3
    s = split_indices(OFFICIAL, ["v"] * 10, official=names)
    assert (s.train.tolist(), s.val.tolist(), s.test.tolist()) == ([0, 1, 2, 3, 4], [5, 6], [7, 8, 9])
    with pytest.raises(ValueError, match="out of range"):
        split_indices(OFFICIAL, ["v"] * 10, fold=1, official=names)


def test_protocols_by_name_come_from_the_registered_adapters():
    # reports and the study planner have only a protocol's name: it means one protocol in every dataset
    assert dict(K_FOLDS) == {"actor6fold": 6, "actor5fold": 5}
    assert (n_folds_of("actor5fold"), n_folds_of("ecm_fixed"), n_folds_of("official"), n_folds_of(None)) == (5, 1, 1, 1)
    labels = {p.name: p.label(24) for a in DATASETS.values() for p in a.protocols}
    assert labels["actor6fold"] == "6-fold subject-independent (4 actors/fold; val = next fold)"
    assert labels["ecm_fixed"] == "fixed split (test actors 5,10,16,19; val 11,13,18,22; subject-independent)"
    assert labels["random"] == "random clip-level 80/20 split, val carved from the 80 (NOT subject-independent)"
    assert labels["official"] == "official split (train/valid/test)"
