"""`--status` from the shared stores: counts, which worker (and SLURM task) runs a cell, stale and failed cells, ETA."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from ablations.runner.status import estimate, status_lines, where
from ablations.storage.claims import CellState
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from tests.workers.studies import run_cli, write_study


def _cells(n: int) -> list[Cell]:
    return [Cell("full", {}, seed=i, fold=0, cell_id=f"c{i}") for i in range(n)]


def _trial(state: str, seconds: float, cell: str, steps=None):
    start = datetime(2026, 1, 1)
    return SimpleNamespace(state=SimpleNamespace(name=state), datetime_start=start,
                           datetime_complete=start + timedelta(seconds=seconds), user_attrs={"cell_id": cell},
                           intermediate_values=steps or {})  # fmt: skip


def test_status_lines_count_and_say_where_each_cell_runs():
    study = StudyConfig.model_validate({"name": "s", "dataset": {"name": "ravdess"}, "train": {"epochs": 4}})
    cells = _cells(6)
    now = 1000.0
    claims = {
        "c0": CellState("COMPLETE", "n1:10:0:slurm=7_0", 900),
        "c1": CellState("COMPLETE", "n1:10:0:slurm=7_0", 950),
        "c2": CellState("RUNNING", "n2:22:1:slurm=7_1", 995),
        "c3": CellState("RUNNING", "n3:33:0", 100),  # no heartbeat for 900 s > grace_s
        "c4": CellState("FAILED", "n1:10:0", 990, reason="ValueError: bad"),
    }
    trials = {"c0": [_trial("COMPLETE", 60, "c0")], "c1": [_trial("COMPLETE", 120, "c1")],
              "c2": [_trial("RUNNING", 0, "c2", {2: 0.5})]}  # fmt: skip
    lines = status_lines(study, cells, claims, trials, now, grace_s=120)
    # 2 done, 1 running, 1 failed, 2 left (one never claimed, one stale); ETA: 4 cells x 90 s over 1 running
    assert lines[0] == "s: 2/6 cells done, 1 running, 1 failed, 2 left (1 stale); ETA 6m00s"
    assert (
        lines[1]
        == "  running  full s2 f0: epoch 2/4, val/accuracy 0.500  on n2 pid 22 (SLURM job 7_1), heartbeat 5s ago"
    )
    assert lines[2].startswith("  stale    full seed=3 fold=0  (was on n3 pid 33, no heartbeat for 15m00s")
    assert lines[3] == "  failed   full seed=4 fold=0  ValueError: bad"


def test_eta_and_where():
    cells = _cells(2)
    assert estimate(cells, cells, [], {}) == "complete"
    assert estimate(cells, [], [], {}) == "ETA after the first cell"
    assert where("host:12:3") == "host pid 12" and where("h:1:0:slurm=5") == "h pid 1 (SLURM job 5)"


def test_status_of_a_study_that_never_ran_writes_nothing(tmp_path):
    study = write_study(tmp_path, "fresh", seeds=[0, 1])
    out = run_cli(study, "--status")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("fresh: 0/2 cells done, 0 running, 0 failed, 2 left; ETA after the first cell")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "mlflow.db").exists()
