"""run_dask on a real LocalCluster: results in order, errors after the others finish, GPU pinning, worker death."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ablations.storage.claims.sql import SqlClaimStore
from ablations.workers.launchers.dask import LauncherError, run_dask
from tests.children import cell_loop


def _whoami(index: int) -> tuple[int, int, str | None]:
    return index, os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


def _resources_left(index: int) -> dict:
    from distributed import get_worker

    return dict(get_worker().state.available_resources)


def _fails_on_one(index: int) -> int:
    if index == 1:
        raise ValueError("worker 1 broke")
    return index


pytestmark = pytest.mark.slow


def test_one_task_per_worker_results_in_order_gpus_pinned():
    out = run_dask(_whoami, 2, resources={"GPU": 1}, gpus=["3", "5"])
    assert [i for i, _, _ in out] == [0, 1]
    assert len({pid for _, pid, _ in out}) == 2  # two worker processes, one task each
    assert {gpu for _, _, gpu in out} == {"3", "5"}  # each worker process sees only its own GPU


def test_remote_scheduler_errors_and_resources():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(ValueError, match="worker 1 broke"):  # raised once every worker finished
            run_dask(_fails_on_one, 2, scheduler=cluster.scheduler_address)
        with pytest.raises(LauncherError, match=r"no Dask worker offers resources \{'GPU': 1\}.*--resources GPU=1"):
            run_dask(_whoami, 1, scheduler=cluster.scheduler_address, resources={"GPU": 1})
        assert run_dask(_whoami, 1, scheduler=cluster.scheduler_address)[0][0] == 0


def test_auto_resources_take_a_gpu_on_gpu_workers():
    from distributed import LocalCluster

    kw = dict(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with LocalCluster(resources={"GPU": 1}, **kw) as cluster:
        # while a task runs it holds its worker's only GPU: one trial per GPU worker
        assert run_dask(_resources_left, 2, scheduler=cluster.scheduler_address) == [{"GPU": 0}, {"GPU": 0}]
    with LocalCluster(**kw) as cluster:
        assert run_dask(_resources_left, 2, scheduler=cluster.scheduler_address) == [{}, {}]


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(LauncherError, match="--scheduler tcp://127.0.0.1:1: cannot connect"):
        from ablations.workers.launchers import dask as distributed

        client, _ = distributed.make_client("tcp://127.0.0.1:1", 1, None, timeout_s=2)


def test_rejects_zero_workers():
    with pytest.raises(LauncherError, match="n_workers"):
        run_dask(_whoami, 0)


def test_worker_killed_mid_cell_is_rerun_and_every_cell_completes_once(tmp_path: Path):
    # a miniature study on the SQL claim store: one Dask worker SIGKILLs itself in the middle of a cell
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    cells = [f"cell{i}" for i in range(6)]
    SqlClaimStore(url, "mini", 60).close()
    logs = tmp_path / "logs"
    logs.mkdir()
    marker = str(tmp_path / "killed-once")
    done = run_dask(_loop(url, cells, str(logs), marker), 2)
    assert Path(marker).exists()  # the kill happened
    store = SqlClaimStore(url, "mini", 60)
    assert {c: s.state for c, s in store.status().items()} == {c: "COMPLETE" for c in cells}
    finished = {c: (logs / f"{c}.log").read_text().count("done ") for c in cells}
    assert finished == {c: 1 for c in cells}  # every cell completed exactly once
    started = {c: (logs / f"{c}.log").read_text().count("start ") for c in cells}
    killed = [c for c, n in started.items() if n == 2]
    assert len(killed) == 1 and sorted(started.values()) == [1] * 5 + [2]  # only the killed cell ran twice
    assert store.attempts()[killed[0]] == 2
    assert sum(done) == len(cells)


def _loop(url, cells, logs, marker):
    import functools

    return functools.partial(cell_loop, url, "mini", cells, logs, marker)
