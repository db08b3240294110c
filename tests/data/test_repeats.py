"""Repeated cross-validation: data.repeat reshuffles the actors of an actor k-fold protocol into new groups."""

from __future__ import annotations

import numpy as np
import pytest

from ablations.report.statistics.simulate import assignment
from avtca.config.base import ConfigError, validate
from avtca.data.config import DataConfig
from avtca.data.protocols import RANDOM, ActorKFold, actor_folds, split_indices

ACTORS = [f"{a:02d}" for a in range(1, 25) for _ in range(2)]  # 24 actors, two clips each


def _roles(repeat: int, k: int = 6) -> list[tuple[set[str], set[str], set[str]]]:
    out = []
    for fold in range(k):
        s = split_indices(ActorKFold(k), ACTORS, fold=fold, repeat=repeat)
        out.append(tuple({ACTORS[i] for i in idx} for idx in (s.train, s.val, s.test)))
    return out


@pytest.mark.parametrize("repeat", [0, 1, 2, 7])
def test_every_repeat_is_a_cross_validation_with_the_protocols_roles(repeat):
    roles = _roles(repeat)
    tested = [a for _, _, test in roles for a in test]
    assert sorted(tested) == sorted(set(ACTORS))  # each actor tested exactly once per repeat
    for fold, (train, val, test) in enumerate(roles):
        assert len(test) == 4 and len(val) == 4 and len(train) == 16
        assert val == roles[(fold + 1) % 6][2]  # fold i validates on fold i+1's test group, as in repeat 0
        assert not (train & val) and not (train & test) and not (val & test)


def test_repeat_zero_is_the_protocols_grouping_and_the_others_are_seeded_reshuffles():
    assert actor_folds(ACTORS, 6, repeat=0) == actor_folds(ACTORS, 6)
    assert _roles(0)[0][2] == {"01", "02", "03", "04"}
    groups = {r: actor_folds(ACTORS, 6, repeat=r) for r in range(4)}
    assert len({str(g) for g in groups.values()}) == 4  # every repeat regroups
    assert actor_folds(list(reversed(ACTORS)), 6, repeat=2) == groups[2]  # deterministic, order-free
    assert actor_folds(ACTORS, 6, repeat=2, seed=1) != groups[2]


def test_the_calibration_simulates_the_groups_training_uses():
    sim = assignment(24, 6, repeats=4)
    for repeat in range(4):
        for fold, (_, val, test) in enumerate(_roles(repeat)):
            unit = sim[(sim["repeat"] == repeat) & (sim["fold"] == fold)]
            # simulate names actors 1..24, the dataset's sorted actors in that order
            assert set(unit.loc[unit["role"] == "test", "actor"]) == {str(int(a)) for a in test}
            assert set(unit.loc[unit["role"] == "val", "actor"]) == {str(int(a)) for a in val}


def test_only_actor_kfold_protocols_can_be_reshuffled():
    with pytest.raises(ValueError, match="protocol 'random' has one fixed grouping; repeat 1 needs actor k-fold"):
        split_indices(RANDOM, ACTORS, 0, repeat=1)
    assert np.array_equal(split_indices(RANDOM, ACTORS, 0, repeat=0).test, split_indices(RANDOM, ACTORS, 0).test)
    with pytest.raises(ConfigError, match=r"repeat: repeat 2: protocol 'ecm_fixed' has one fixed grouping"):
        validate(DataConfig, {"name": "ravdess", "protocol": "ecm_fixed", "repeat": 2}, "data")
    assert validate(DataConfig, {"name": "ravdess", "protocol": "actor6fold", "repeat": 2}).repeat == 2
    assert validate(DataConfig, {"name": "ravdess"}).repeat == 0
