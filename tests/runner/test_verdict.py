"""ablations.runner's verdict after the workers, on a real file claim store: complete, elsewhere, interrupted."""

from __future__ import annotations

from ablations.runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, study_outcome
from ablations.runner.finish import verdict
from ablations.storage.claims import open_claim_store
from ablations.study.cells import enumerate_cells
from ablations.study.schema import StudyConfig
from avtca.config.base import validate
from tests.tiny import TINY


def _study_and_store():
    study = validate(StudyConfig, TINY)  # default storage: a journal under the working directory
    cells = enumerate_cells(study)
    return study, cells, open_claim_store(study.storage_url, study.name, study.resources.grace_s)


def test_a_cell_still_running_elsewhere_leaves_the_report_to_that_worker(workdir, capsys):
    study, cells, store = _study_and_store()
    first, second = cells
    assert store.claim(first.cell_id, "w1")
    store.complete(first.cell_id, "w1", 0)
    assert store.claim(second.cell_id, "w2")  # a live worker of another command (fresh heartbeat)
    outcome = study_outcome(study, cells, interrupted=False)
    assert (outcome.complete, outcome.elsewhere, outcome.is_complete) == (1, 1, False)
    assert outcome.live == {second.cell_id} and outcome.parent_status == "FAILED"
    assert verdict(outcome) == EXIT_OK
    assert "1 cell(s) are still running in other workers" in capsys.readouterr().out
    stopped = study_outcome(study, cells, interrupted=True)
    assert stopped.parent_status == "KILLED" and verdict(stopped) == EXIT_INTERRUPTED


def test_failed_cells_fail_the_run_and_a_complete_study_has_no_verdict(workdir, capsys):
    study, cells, store = _study_and_store()
    first, second = cells
    for cell in cells:
        assert store.claim(cell.cell_id, "w1")
    store.complete(first.cell_id, "w1", 0)
    store.fail(second.cell_id, "w1", "boom")
    outcome = study_outcome(study, cells, interrupted=False)
    assert verdict(outcome) == EXIT_FAILED and outcome.parent_status == "FAILED"
    assert "1 cell(s) not complete; run the same command again" in capsys.readouterr().err
    assert store.claim(second.cell_id, "w2")  # a failed cell is claimed again and completes
    store.complete(second.cell_id, "w2", 1)
    done = study_outcome(study, cells, interrupted=False)
    assert done.is_complete and done.parent_status == "FINISHED" and verdict(done) is None
