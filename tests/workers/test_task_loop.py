"""What an array task does between worker rounds (ablations.workers.slurm_task.task_loop), on a real claim store:
another round while a cell is claimable again, waiting while others run, no retry of its own failures."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

from ablations.storage.claims import FileClaimStore, claims_dir
from ablations.study.schema import StudyConfig
from ablations.workers.loop import WorkerSummary
from ablations.workers.slurm_task import task_loop

CELLS = ("a", "b", "c")


def _study(tmp_path, **slurm) -> StudyConfig:
    return StudyConfig.model_validate({
        "name": "loop", "dataset": {"name": "ravdess"}, "storage": str(tmp_path / "loop.journal"),
        "resources": {"grace_s": 4, "slurm": {"shared_filesystem": True, **slurm}},
    })  # fmt: skip


def _store(study: StudyConfig) -> FileClaimStore:
    return FileClaimStore(claims_dir(study.storage_url) / study.name, study.resources.grace_s)


def _pool(store: FileClaimStore, fail: set[str] = frozenset(), rounds: list | None = None):
    """A stand-in for the local launcher: one worker claiming every cell it can, completing or failing it."""

    def pool(worker, n):
        me = f"host:{os.getpid()}:0"
        summary = WorkerSummary(me)
        for cell in CELLS:
            if store.claim(cell, me):
                if cell in fail:
                    store.fail(cell, me, "ValueError: broken")
                    summary.failed[cell] = "ValueError: broken"
                else:
                    store.complete(cell, me, 0)
                    summary.completed.append(cell)
        if rounds is not None:
            rounds.append(list(summary.completed) + [f"!{c}" for c in summary.failed])
        return [summary]

    return pool


def test_one_round_when_every_cell_completes(tmp_path):
    study = _study(tmp_path)
    rounds: list = []
    assert task_loop(_pool(_store(study), rounds=rounds), SimpleNamespace(), 1, study, CELLS) == 3
    assert rounds == [["a", "b", "c"]]


def test_a_cell_failing_here_is_not_retried_by_this_task(tmp_path):
    study = _study(tmp_path)
    rounds: list = []
    assert task_loop(_pool(_store(study), fail={"b"}, rounds=rounds), SimpleNamespace(), 1, study, CELLS) == 2
    assert rounds == [["a", "c", "!b"]]  # nothing left it may help with: it returns


def test_waits_while_another_task_runs_a_cell_and_takes_it_over_when_that_task_dies(tmp_path):
    study = _study(tmp_path)
    store = _store(study)
    store.claim("b", "otherhost:1:0")  # another task (another node) holds b, then dies: its heartbeat stops
    rounds: list = []
    start = time.monotonic()
    assert task_loop(_pool(store, rounds=rounds), SimpleNamespace(), 1, study, CELLS) == 3
    assert rounds[0] == ["a", "c"] and rounds[-1] == ["b"]  # b taken over once stale ...
    assert time.monotonic() - start >= study.resources.grace_s - 1  # ... not before grace_s


def test_without_wait_for_others_it_leaves_running_cells_to_their_tasks(tmp_path):
    study = _study(tmp_path, wait_for_others=False)
    store = _store(study)
    store.claim("b", "otherhost:1:0")
    rounds: list = []
    assert task_loop(_pool(store, rounds=rounds), SimpleNamespace(), 1, study, CELLS) == 2
    assert rounds == [["a", "c"]]
