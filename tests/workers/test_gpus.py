"""GPU packing: which GPU each worker sees (a pure function), checked on CPU for every launcher's use of it."""

from __future__ import annotations

import pickle

import pytest

from ablations.study.schema import StudyConfig
from ablations.workers.gpus import gpu_slots, packing_problem, visible_gpus, workers_per_task
from ablations.workers.launchers import LAUNCHERS
from ablations.workers.loop import Worker


def test_round_robin_spreads_workers_over_gpus_before_packing():
    assert gpu_slots(4, ["0", "1"]) == ["0", "1", "0", "1"]
    assert gpu_slots(3, ["3", "5", "7"], trials_per_gpu=2) == ["3", "5", "7"]  # one each before any doubles up
    assert gpu_slots(8, ["0", "1"], trials_per_gpu=4).count("1") == 4
    assert gpu_slots(2, []) == [None, None]  # CPU only: nothing pinned


def test_more_workers_than_trials_per_gpu_allows_is_refused():
    with pytest.raises(
        ValueError, match=r"resources.n_jobs: 5 workers do not fit on 2 GPU\(s\) at resources.trials_per_gpu 2"
    ):
        gpu_slots(5, ["0", "1"], trials_per_gpu=2)
    assert packing_problem(4, 2, 2) is None and packing_problem(9, 2, None) is None and packing_problem(9, 0, 1) is None


def test_workers_per_slurm_task():
    assert workers_per_task(0, 4) == 1  # a CPU task runs one worker
    assert workers_per_task(1, None) == 1
    assert workers_per_task(2, 4) == 8


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert visible_gpus() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_local_launcher_refuses_too_many_workers_per_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # as a 2-GPU machine would show them
    study = StudyConfig.model_validate(
        {"name": "p", "dataset": {"name": "ravdess"}, "resources": {"n_jobs": 5, "trials_per_gpu": 2}}
    )
    local = LAUNCHERS["local"]
    assert local.problems(study, True) == [packing_problem(5, 2, 2)]
    fits = study.model_copy(update={"resources": study.resources.model_copy(update={"n_jobs": 4})})
    assert local.problems(fits, True) == []


def _seen(index: int) -> str | None:
    import os

    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_each_worker_process_sees_only_its_gpu(monkeypatch):
    # the launchers' Worker sets CUDA_VISIBLE_DEVICES from its slot before anything touches CUDA
    monkeypatch.setattr("ablations.workers.loop.run_worker", lambda spec, index: _seen(index))
    monkeypatch.setattr(Worker, "spec", property(lambda self: None))
    worker = Worker(pickle.dumps(None)).on_gpus(gpu_slots(4, ["6", "7"], trials_per_gpu=2))
    seen = []
    for i in range(4):
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        seen.append(worker(i))
    assert seen == ["6", "7", "6", "7"]
