"""Which design reaches a margin (--dry-run --pilot --margin), and runs.csv's repeat column."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from ablations.report import ReportInputError
from ablations.report.read.load import load_runs
from ablations.report.statistics.designs import cheapest, design_options
from ablations.report.statistics.equivalence import kfold_rho
from ablations.report.statistics.margin import Pooled, min_margin, reachable_margin

from .test_inference import _runs

REPO = Path(__file__).resolve().parents[2]


def test_each_option_is_reachable_margin_for_its_units_and_cost_in_cells():
    pilot = Pooled(total=0.06**2, within=math.nan, seeds=1, units=6, df=40)
    options = design_options(pilot, folds=6, protocol_folds=6, family=8, variants=9, seeds=(1, 3), repeats=(1, 5))
    assert [(o.seeds, o.repeats, o.cells) for o in options] == [(1, 1, 54), (3, 1, 162), (1, 5, 270), (3, 5, 810)]
    one = options[0]
    assert one.reach == reachable_margin(pilot, 6, 1, rho=kfold_rho(6), family=8, power=0.8)
    assert one.reach.low == one.reach.high == pytest.approx(min_margin(0.06, 6, 0.25, 8, power=0.8))
    three = options[1]  # one seed a fold in the pilot: the seed-to-seed part is unknown, so a range
    assert three.reach.low < three.reach.high == pytest.approx(one.reach.high) and three.reach.note
    assert options[2].reach.high < one.reach.high  # repeats buy degrees of freedom: a smaller margin
    margin = (three.reach.low + three.reach.high) / 2
    assert three.reaches(margin) == "maybe" and one.reaches(margin) == "no"
    assert three.reaches(three.reach.high) == "yes"
    assert cheapest(options, margin, surely=False) is three
    assert cheapest(options, 1e-6) is None


def _pilot(tmp_path: Path, runs: pd.DataFrame) -> Path:
    folder = tmp_path / "pilot"
    folder.mkdir()
    runs.to_csv(folder / "runs.csv", index=False)
    return folder


def test_dry_run_says_which_design_reaches_the_margin(tmp_path, monkeypatch, capsys):
    from ablations.run import main as run_main

    study = REPO / "studies" / "ravdess.yaml"
    pilot = _pilot(tmp_path, _runs(seeds=(0, 1), folds=tuple(range(6)), shift={"audio_only": -0.1}))
    monkeypatch.chdir(tmp_path)
    args = [str(study), "--dry-run", "--set", "dataset.root=synthetic", "--pilot", str(pilot)]
    assert run_main([*args, "--margin", "50"]) == 0
    out = capsys.readouterr().out
    assert (
        "designs for a margin, from the pilot" in out and "margin 50.0 points (declared): this design reaches it" in out
    )
    assert "cheapest design that reaches it: 6 folds x 1 seed (54 cells)" in out  # 9 variants planned
    assert run_main([*args, "--margin", "0.1"]) == 0
    assert "none of these designs reaches it" in capsys.readouterr().out
    assert run_main([*args, "--set", "report.margin=50"]) == 0  # the study's declared margin
    assert "margin 50.0 points (declared): this design reaches it" in capsys.readouterr().out
    assert run_main(args) == 0  # none declared: the report's default, 2 points
    assert "margin 2.0 points (the report's default): this design does not reach it" in capsys.readouterr().out
    assert run_main([str(study), "--dry-run", "--set", "dataset.root=synthetic", "--margin", "5"]) == 2
    assert "--margin goes with --dry-run --pilot" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.db"))


def test_runs_csv_repeat_is_optional_an_integer_and_part_of_a_cells_key(tmp_path):
    runs = _runs(seeds=(0,), folds=tuple(range(4)), shift={})
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    assert set(load_runs(path)["repeat"]) == {0}  # one cross-validation
    twice = pd.concat([runs.assign(repeat=0), runs.assign(repeat=1)])
    twice.to_csv(path, index=False)
    assert sorted(load_runs(path)["repeat"].unique()) == [0, 1]  # the same (seed, fold) in two repeats: two cells
    twice.assign(repeat=0).to_csv(path, index=False)
    with pytest.raises(ReportInputError, match=r"more than one row for the cell \(.*repeat=0, seed=0, fold=0\)"):
        load_runs(path)
    runs.assign(repeat="x").to_csv(path, index=False)
    with pytest.raises(ReportInputError, match="column 'repeat', line 2: expected an integer, got 'x'"):
        load_runs(path)
    runs.assign(repeat=-1).to_csv(path, index=False)
    with pytest.raises(ReportInputError, match="column 'repeat', line 2: expected an integer >= 0"):
        load_runs(path)


def test_cost_columns_are_read_as_numbers_when_present(tmp_path):
    runs = _runs(seeds=(0,), folds=tuple(range(4)), shift={})
    path = tmp_path / "runs.csv"
    runs.assign(flops_per_clip=1.5e9, latency_ms_per_clip="", seconds_per_epoch="2.5").to_csv(path, index=False)
    loaded = load_runs(path)
    assert loaded["flops_per_clip"].dtype.kind == "f" and loaded["latency_ms_per_clip"].isna().all()
    assert (loaded["seconds_per_epoch"] == 2.5).all()
    runs.assign(flops_per_clip="many").to_csv(path, index=False)
    with pytest.raises(ReportInputError, match="column 'flops_per_clip', line 2: expected a number, got 'many'"):
        load_runs(path)
