"""Issue 15, integrity vs MLflow: a complete cell whose MLflow run is gone is not called complete until re-synced."""

from __future__ import annotations

import optuna
import pytest

from ablations.storage.optuna import open_storage
from tests.tiny import run_main, write_study

pytestmark = pytest.mark.slow
RENDER = {"kind": "render", "out": "reports"}


def _mlflow(folder):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{folder}/mlflow.db")


def _cell_ids(folder) -> list[str]:
    trials = optuna.load_study(study_name="tiny", storage=open_storage(str(folder / "runs/optuna/tiny.journal")))
    return sorted(t.user_attrs["cell_id"] for t in trials.get_trials())


def _parent_status(folder) -> str:
    client = _mlflow(folder)
    exp = client.get_experiment_by_name("tiny")
    (parent,) = client.search_runs([exp.experiment_id], filter_string="tags.`avtca.role` = 'study'")
    return parent.info.status


@pytest.mark.parametrize("damage", ["run deleted", "store replaced"])
def test_complete_cell_without_its_run_fails_until_resynced(finished, damage, capsys):
    if damage == "run deleted":
        client = _mlflow(finished)
        exp = client.get_experiment_by_name("tiny")
        runs = client.search_runs([exp.experiment_id], filter_string="tags.`avtca.role` = 'trial'")
        client.delete_run(runs[0].info.run_id)
        lost = [runs[0].data.tags["cell_id"]]
    else:  # the tracking database is lost and a new, empty one takes its place
        (finished / "mlflow.db").unlink()
        _mlflow(finished).search_experiments()  # creates the empty store
        lost = _cell_ids(finished)
    path = write_study(finished, report=RENDER)
    before = (finished / "mlflow.db").read_bytes()
    assert run_main([path, "--dry-run"]) == 0  # the plan says so, and writes nothing
    out = capsys.readouterr().out
    assert all(f"{cid}  COMPLETE, no MLflow run (--resync-tracking)" in out for cid in lost)
    assert out.count("no MLflow run") == len(lost) and "0 to run, 2 already complete" in out
    assert (finished / "mlflow.db").read_bytes() == before
    assert run_main([path]) == 1
    captured = capsys.readouterr()
    assert all(cid in captured.err for cid in lost) and f"{len(lost)} complete cell(s)" in captured.err
    assert "--resync-tracking" in captured.err and "Traceback" not in captured.err
    assert "report:" not in captured.out and not (finished / "reports").exists()
    assert _parent_status(finished) != "FINISHED"

    assert run_main([path, "--resync-tracking"]) == 0
    assert f"re-synced {len(lost)} run(s)" in capsys.readouterr().out
    assert run_main([path]) == 0
    captured = capsys.readouterr()
    assert "report:" in captured.out and "--resync-tracking" not in captured.err
    assert _parent_status(finished) == "FINISHED"
    runs = (finished / "reports" / "tiny" / "runs.csv").read_text().splitlines()
    assert len(runs) == 3  # the header and both cells: the re-synced runs are in the report
