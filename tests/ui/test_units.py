"""Fast checks of the browsing helpers: stable exports, printed commands, order, progress lines and the ETA."""

from __future__ import annotations

import shlex
import sys

import pandas as pd

from ablations.report.read.export import write_stable
from ablations.report.read.order import study_order, variant_colours
from ablations.runner.progress import Eta, duration, running_line
from ablations.study.cells import enumerate_cells
from ablations.study.schema import StudyConfig
from ablations.tracking import ui_command
from avtca.config.base import validate
from tests.tiny import TINY


def _runs(run_ids, seconds, acc=0.5):
    return pd.DataFrame(
        {
            "variant": ["full", "audio_only"],
            "seed": [0, 0],
            "run_id": run_ids,
            "seconds": seconds,
            "train/seconds": seconds,
            "test/accuracy": [acc, 0.25],
        }
    )


def test_an_export_with_only_new_run_ids_and_timings_keeps_its_bytes(tmp_path):
    path = tmp_path / "runs.csv"
    assert write_stable(path, _runs(["a1", "b1"], [1.5, 2.5]))
    before = path.read_bytes()
    assert not write_stable(path, _runs(["a2", "b2"], [1.7, 2.2]))  # same results, another run
    assert path.read_bytes() == before
    assert write_stable(path, _runs(["a3", "b3"], [1.7, 2.2], acc=0.75))  # a result changed: rewritten
    assert b"0.75" in path.read_bytes() and b"a3" in path.read_bytes()


def test_the_printed_ui_command_names_this_interpreter_and_binds_localhost():
    argv = shlex.split(ui_command("sqlite:///mlflow.db"))
    assert argv[:4] == [sys.executable, "-m", "mlflow", "ui"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    masked = ui_command("postgresql://u:secret@db/x")
    assert "secret" not in masked


def test_study_order_and_colours_follow_the_study_file():
    runs = pd.DataFrame({"variant": ["full", "full", "no_x", "audio_only", "no_x"]})
    order = study_order(runs)
    assert order == ["full", "no_x", "audio_only"]
    indexed = runs.assign(variant_index=[2, 2, 0, 1, 0])
    assert study_order(indexed) == ["no_x", "audio_only", "full"]
    colours = variant_colours(order)
    assert len(set(colours.values())) == 3 and variant_colours(order) == colours


def test_a_running_cell_line_names_variant_seed_fold_epoch_and_value():
    study = validate(StudyConfig, {**TINY, "train": {**TINY["train"], "epochs": 8}})
    cell = next(c for c in enumerate_cells(study) if c.variant == "audio_only")
    assert running_line(study, cell, {}, {}) == "audio_only s0 f0: starting"
    assert running_line(study, cell, {}, {1: 0.2, 3: 0.4125}) == "audio_only s0 f0: epoch 3/8, val/accuracy 0.412"
    assert duration(3725) == "1h02m" and duration(250) == "4m10s" and duration(35) == "35s"


def test_the_eta_counts_from_when_the_data_is_ready_not_from_the_start():
    eta = Eta(6)
    assert eta(0, preparing=True, now=0.0) == "ETA once the data is ready"
    assert eta(0, preparing=True, now=300.0) == "ETA once the data is ready"  # five minutes of data preparation
    assert eta(1, now=310.0) == "ETA 50s"  # one cell in 10 s since the data was ready: 5 more take 50 s
    assert eta(3, now=330.0) == "ETA 30s"
    assert eta(6, now=360.0) == "done"


def test_without_data_preparation_the_eta_waits_for_the_first_cell():
    eta = Eta(4)
    assert eta(0, now=0.0) == "ETA after the first cell"
    assert eta(0, now=5.0) == "ETA after the first cell"
    assert eta(2, now=20.0) == "ETA 20s"
