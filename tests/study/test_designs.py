"""Designs that can conclude: repeated cross-validation (dataset.repeats) and per-fold seeding, as cells see them."""

from __future__ import annotations

import io

import pytest

from ablations.runner.plan import print_plan
from ablations.study.cells import cell_id, enumerate_cells, resolve
from ablations.study.schema import StudyConfig, load_study
from ablations.tracking.record import REPEAT, TRIAL_ROLE, run_header, run_name
from avtca.config.base import ConfigError, validate
from tests.tiny import TINY, write_study

SIX = {**TINY["dataset"], "protocol": "actor6fold", "folds": [0, 1]}


def tiny(**changes) -> StudyConfig:
    return validate(StudyConfig, {**TINY, **changes})


def test_repeats_add_cells_per_seed_and_keep_repeat_zero_as_it_was():
    plain = enumerate_cells(tiny(dataset=SIX, seeds=[0, 1]))
    repeated = enumerate_cells(tiny(dataset={**SIX, "repeats": 3}, seeds=[0, 1]))
    assert len(repeated) == 3 * len(plain) == 2 * 2 * 3 * 2  # variants x seeds x repeats x folds
    keys = [(c.variant, c.seed, c.repeat, c.fold) for c in repeated]
    assert len(set(keys)) == len(keys) and {c.repeat for c in repeated} == {0, 1, 2}
    # repeat 0 is the protocol's own grouping: its cells (ids, overrides) are the study's without repeats
    assert [(c.cell_id, c.overrides) for c in repeated if c.repeat == 0] == [(c.cell_id, c.overrides) for c in plain]
    later = next(c for c in repeated if c.repeat == 2 and c.fold == 1 and c.seed == 1)
    assert later.overrides["data.repeat"] == 2 and resolve(tiny(dataset=SIX), later.overrides).data.repeat == 2
    assert "repeat=2" in later.describe() and len({c.cell_id for c in repeated}) == len(repeated)


def test_seeding_is_part_of_what_a_cell_computes_and_per_fold_is_the_default():
    study = tiny(dataset=SIX)
    per_fold, shared = resolve(study, {}), resolve(study, {"train.seeding": "shared"})
    assert per_fold.train.seeding == "per_fold"
    assert cell_id(per_fold, 0, 0) != cell_id(shared, 0, 0)
    assert cell_id(resolve(tiny(dataset=SIX, train={**TINY["train"], "seeding": "per_fold"}), {}), 0, 0) == cell_id(
        per_fold, 0, 0
    )  # writing the default changes nothing


def test_repeats_need_an_actor_kfold_protocol_and_own_data_repeat(tmp_path):
    fixed = write_study(tmp_path, name="fixed", dataset={**TINY["dataset"], "protocol": "ecm_fixed", "repeats": 2})
    with pytest.raises(ConfigError, match="dataset.repeats: 2 reshuffles the actor groups, which protocol 'ecm_fixed'"):
        load_study(fixed)
    own = write_study(tmp_path, name="own", dataset={**SIX, "options": {**SIX["options"], "repeat": 1}})
    with pytest.raises(ConfigError, match="dataset.options.repeat: set by the study per cell; use dataset.repeats"):
        load_study(own)


def test_runs_and_the_dry_run_name_the_repeat():
    study = tiny(dataset={**SIX, "repeats": 2})
    cells = enumerate_cells(study)
    cell = next(c for c in cells if c.repeat == 1 and c.fold == 1)
    header = run_header(study, cell, resolve(study, cell.overrides), 0, cell.fold, TRIAL_ROLE)
    assert header.tags[REPEAT] == 1 and header.params["data.repeat"] == 1
    assert run_name(study, cell) == f"{cell.variant} s0 r1 f1"
    assert run_name(tiny(dataset=SIX), enumerate_cells(tiny(dataset=SIX))[1]) == "full s0 f1"  # no repeats: as before
    out = io.StringIO()
    print_plan(study, cells, {c.cell_id: "pending" for c in cells}, out)
    lines = out.getvalue().splitlines()
    assert lines[1].split() == ["variant", "seed", "repeat", "fold", "cell_id", "state"]
    assert lines[2 + cells.index(cell)].split()[:4] == [cell.variant, "0", "1", "1"]
