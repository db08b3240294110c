"""Issue 15 follow-up: after --repair-storage the report holds each cell's re-run only, never a lost trial's run."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest

from ablations.storage.optuna import open_storage
from tests.tiny import run_main, write_study

from .test_sql_integrity import _delete

pytestmark = pytest.mark.slow
RENDER = {"kind": "render", "out": "reports"}
JOURNAL = "runs/optuna/tiny.journal"


def _client(folder):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{folder}/mlflow.db")


def _cell_runs(folder) -> dict[str, tuple[str, str, dict[str, str]]]:
    """run id -> (cell id, status, tags) of the study's trial runs."""
    client = _client(folder)
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`avtca.role` = 'trial'")
    return {r.info.run_id: (r.data.tags["cell_id"], r.info.status, r.data.tags) for r in runs}


def _trial_run_ids(storage_url: str) -> dict[str, str]:
    """cell id -> the MLflow run id of its COMPLETE trial, as the Optuna storage (the source of truth) has it."""
    # the storage's own listing: a study object's trial list keeps one trial per number, and a storage that lost
    # a trial gives the re-run's trial a number already taken
    storage = open_storage(storage_url, create=False)
    (frozen,) = storage.get_all_studies()
    done = storage.get_all_trials(frozen._study_id, states=(optuna.trial.TrialState.COMPLETE,))
    assert len({t.user_attrs["cell_id"] for t in done}) == len(done)  # one finished trial per cell
    return {t.user_attrs["cell_id"]: t.user_attrs["mlflow_run_id"] for t in done}


def _assert_report_matches_storage(folder, storage_url: str, err: str) -> None:
    trials = _trial_run_ids(storage_url)
    runs = pd.read_csv(folder / "reports" / "tiny" / "runs.csv")
    assert len(runs) == 2 and set(runs["run_id"]) == set(trials.values())  # one run per cell: the storage's
    assert "finished trials" not in err  # no choice between two runs of one cell


def _repair_and_check(folder, path, storage_url: str, before: dict, lost: set[str], capsys) -> None:
    """--repair-storage re-runs the lost cells; their old runs end FAILED and tagged, the others are untouched."""
    assert run_main([path, "--repair-storage"]) == 0
    captured = capsys.readouterr()
    old = {rid for rid, (cid, _, _) in before.items() if cid in lost}
    assert f"repaired: marked {len(old)} MLflow run(s) of lost trials as FAILED" in captured.out
    _assert_report_matches_storage(folder, storage_url, captured.err)
    after = _cell_runs(folder)
    for rid, (cid, status, tags) in before.items():
        if cid in lost:
            assert after[rid][1] == "FAILED" and "trial is gone" in after[rid][2]["avtca.lost_trial"]
        else:
            assert after[rid] == (cid, status, tags)  # a cell that kept its trial keeps its run as it was
    assert run_main([path]) == 0  # the end-of-run check accepts the repaired study
    _assert_report_matches_storage(folder, storage_url, capsys.readouterr().err)


@pytest.mark.parametrize("damage", ["truncated", "emptied"])
def test_repaired_journal_reports_the_re_runs_only(finished, damage, capsys):
    journal = finished / JOURNAL
    path = write_study(finished, report=RENDER)
    before = _cell_runs(finished)
    trials = _trial_run_ids(str(journal))
    if damage == "emptied":
        journal.write_bytes(b"")
        lost = set(trials)
    else:
        journal.write_bytes(journal.read_bytes()[:-40])  # the last trial's completion is cut off
        lost = set(trials) - set(_trial_run_ids(str(journal)))
    assert len(lost) == (2 if damage == "emptied" else 1)
    _repair_and_check(finished, path, str(journal), before, lost, capsys)


def test_repaired_sqlite_storage_reports_the_re_runs_only(workdir, capsys):
    url = f"sqlite:///{workdir / 'optuna.db'}"
    path = write_study(workdir, storage=url, report=RENDER)
    assert run_main([path]) == 0
    capsys.readouterr()
    before, trials = _cell_runs(workdir), _trial_run_ids(url)
    _delete(url, "one trial")
    lost = set(trials) - set(_trial_run_ids(url))
    assert len(lost) == 1
    _repair_and_check(workdir, path, url, before, lost, capsys)


def test_repair_with_mlflow_unreadable_still_repairs_the_storage(finished, capsys):
    """MLflow cannot be read during the repair: the storage is repaired anyway, with a warning naming the cells."""
    from ablations.storage.integrity import repair_storage
    from ablations.study.cells import enumerate_cells
    from ablations.study.schema import load_study

    journal = finished / JOURNAL
    path = write_study(finished, report=RENDER)
    before = _cell_runs(finished)
    kept = _trial_run_ids(str(journal))
    journal.write_bytes(journal.read_bytes()[:-40])
    (lost,) = set(kept) - set(_trial_run_ids(str(journal)))
    db = finished / "mlflow.db"
    good = db.read_bytes()
    db.write_bytes(b"not a database" * 100)  # the tracking store cannot be read
    study = load_study(path)
    done = repair_storage(study, enumerate_cells(study, str(path)))
    err = capsys.readouterr().err
    assert done[-1] == "released 1 cell(s) whose trial was lost; they run again"
    assert f"warning: tracking: cannot mark the MLflow runs of the 1 cell(s) released ({lost})" in err
    assert "--repair-storage again" in err and "Traceback" not in err
    db.write_bytes(good)

    assert run_main([path]) == 0  # the lost cell runs again; its worker ends the lost run before it starts
    _assert_report_matches_storage(finished, str(journal), capsys.readouterr().err)
    assert all(_cell_runs(finished)[rid][1] != "FINISHED" for rid, (cid, _, _) in before.items() if cid == lost)


def test_finished_run_of_no_trial_keeps_the_study_incomplete_until_marked(finished, capsys):
    """A lost trial's run that nothing ended (MLflow down during the repair and the re-run): a FINISHED run no
    trial holds makes the end-of-run check refuse the study, and --repair-storage marks it."""
    journal = finished / JOURNAL
    path = write_study(finished, report=RENDER)
    client = _client(finished)
    src = client.get_run(next(iter(_trial_run_ids(str(journal)).values())))
    copy = client.create_run(src.info.experiment_id, tags=src.data.tags)
    client.log_metric(copy.info.run_id, "val/accuracy", 1.0)  # better than the real one: the report would pick it
    client.set_terminated(copy.info.run_id, "FINISHED")

    assert run_main([path]) == 1
    captured = capsys.readouterr()
    assert "1 FINISHED MLflow run(s)" in captured.err and "--repair-storage" in captured.err
    assert src.data.tags["cell_id"] in captured.err and "Traceback" not in captured.err
    assert "report:" not in captured.out and not (finished / "reports").exists()

    assert run_main([path, "--repair-storage"]) == 0
    captured = capsys.readouterr()
    assert "repaired: marked 1 MLflow run(s) of lost trials as FAILED" in captured.out
    _assert_report_matches_storage(finished, str(journal), captured.err)
    assert client.get_run(copy.info.run_id).info.status == "FAILED"
    assert client.get_run(src.info.run_id).info.status == "FINISHED"
