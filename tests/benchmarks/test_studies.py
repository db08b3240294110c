"""The runner benchmarks (tracking overhead, pruning, parallel trials) run once at tiny size."""

import pytest

from ablations.tracking import Tracker
from benchmarks import parallel_trials, pruning, tracking_overhead

COMMON = ["--device", "cpu", "--actors", "3", "--repeats", "1", "--warmup", "0", "--no-progress", "--threads", "1"]


@pytest.mark.slow
def test_tracking_overhead_tiny(tmp_path, study_workdir):
    before = dict(vars(Tracker))
    out = tmp_path / "track.md"
    code = tracking_overhead.main(
        COMMON + ["--variants", "1", "--epochs", "1", "--workdir", str(study_workdir), "--out", str(out)]
    )
    assert code == 0
    text = out.read_text()
    assert "| without MLflow |" in text and "| with MLflow |" in text
    assert "stays under 2% for trials longer than" in text
    calls = {line.split(" | ")[0]: line.split(" | ")[1] for line in text.splitlines() if line.startswith("| `Tracker.")}
    assert calls["| `Tracker.start_run`"] == "1"  # one trial -> one child run
    assert int(calls["| `Tracker.log_metrics`"]) >= 1  # per epoch (one epoch here)
    assert calls["| `Tracker.log_final`"] == "1"  # the final metrics, once
    assert vars(Tracker) == before  # the timing wrappers are removed again
    assert any((study_workdir / "artifacts").rglob("config.yaml"))  # artifacts stay in the work dir


@pytest.mark.slow
def test_pruning_tiny(tmp_path, study_workdir):
    out = tmp_path / "prune.md"
    code = pruning.main(
        COMMON
        + [
            "--statements",
            "1",
            "--trials",
            "2",
            "--startup",
            "1",
            "--epochs",
            "2",
            "--workdir",
            str(study_workdir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    rows = [line.split(" | ") for line in out.read_text().splitlines() if "pruner | 0 |" in line]
    assert [r[0] for r in rows] == ["| no pruner", "| hyperband pruner"]  # the default pruner
    assert rows[0][3] == "0" and rows[0][4] == "4"  # no pruning: 2 trials x 2 epochs
    assert 2 <= int(rows[1][4]) <= 4  # with the pruner: at least one epoch per trial, at most all


@pytest.mark.slow
def test_parallel_trials_tiny(tmp_path, study_workdir):
    out = tmp_path / "par.md"
    code = parallel_trials.main(
        COMMON
        + ["--workers", "1,2", "--cells", "2", "--epochs", "1", "--workdir", str(study_workdir), "--out", str(out)]
    )
    assert code == 0
    rows = {
        line.split(" | ")[0]: line.split(" | ")
        for line in out.read_text().splitlines()
        if "worker" in line and line.startswith("| ")
    }
    assert rows["| 1 worker"][1] == "2" and rows["| 2 workers"][1] == "2"  # both ran every cell
    assert rows["| 1 worker"][4] == "1.00x |"
