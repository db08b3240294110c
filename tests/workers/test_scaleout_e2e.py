"""End to end on real servers: `python -m ablations.server`, runner processes and a Dask LocalCluster sharing one
grid study on PostgreSQL + MLflow; a worker SIGKILLed mid-trial; the tracking server going away."""

from __future__ import annotations

import os
import signal
import stat
import time
import urllib.request
from pathlib import Path

import pytest

from ablations.storage.claims.sql import SqlClaimStore
from tests.scaleout import (
    cells_of,
    complete_per_cell,
    mlflow_runs,
    optuna_trials,
    runner_env,
    start_runner,
    wait_all,
    write_study,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def with_password(servers, url: str) -> str:
    return url.replace("avtca@", f"avtca:{servers.password()}@")


def prepare(study_path: Path, storage: str, tracking: str) -> list:
    """What must happen once before workers start (the schema-creation race of concurrent first connections): storage, study, parent run."""
    from ablations.runner import prepare_optuna
    from ablations.study.schema import load_study
    from ablations.tracking import Tracker

    study = load_study(study_path, storage=storage, tracking_uri=tracking)
    cells = cells_of(study_path, storage, tracking)
    prepare_optuna(study, cells)
    SqlClaimStore(storage, study.name, study.resources.grace_s).close()
    Tracker(tracking, study.name).parent_run({"study": study.name}, {})
    return cells


def child_runs(tracking: str, name: str) -> list:
    return [r for r in mlflow_runs(tracking, name) if r.data.tags.get("avtca.role") != "study"]


def wait_until(predicate, timeout_s: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if any(p.poll() is not None for p in procs):
            raise AssertionError(f"a runner exited while waiting for {what}")
        time.sleep(0.2)


def test_server_prints_urls_without_the_password(study_servers):
    banner = study_servers.banner
    assert study_servers.tracking.startswith("http://127.0.0.1:")
    assert study_servers.storage.startswith("postgresql://avtca@127.0.0.1:")
    assert study_servers.storage.endswith("/optuna")
    assert "bound to:        127.0.0.1" in banner
    assert study_servers.password() not in banner
    assert stat.S_IMODE(os.stat(study_servers.passfile).st_mode) == 0o600
    with urllib.request.urlopen(study_servers.tracking + "/health", timeout=5) as resp:
        assert resp.status == 200
    store = SqlClaimStore(with_password(study_servers, study_servers.storage), "probe", 10)
    assert store.claim("c", "w")


def test_runners_and_dask_share_a_grid_study_and_survive_a_sigkill(study_servers, data_cache, tmp_path):
    name = "grid_shared"
    servers, tracking = study_servers, study_servers.tracking
    study = write_study(tmp_path, name, epochs=2)
    storage = servers.storage  # no password in it: PGPASSFILE supplies it to the runners
    secret = with_password(servers, storage)  # this test process has no PGPASSFILE; one runner gets it too
    env = runner_env(data_cache, {"PGPASSFILE": servers.passfile})
    cells = prepare(study, secret, tracking)
    assert len(cells) == 4
    store = SqlClaimStore(secret, name, 60)
    logs = [tmp_path / f"runner{i}.log" for i in range(4)]

    # runner A alone first: it warms the data cache, completes a cell, and is SIGKILLed in the middle of the next
    a = start_runner(study, storage, tracking, env, logs[0])
    mine = f":{a.pid}:"

    def a_is_mid_trial() -> bool:
        states = store.status()
        done = [c for c, s in states.items() if s.state == "COMPLETE"]
        running = [c for c, s in states.items() if s.state == "RUNNING" and mine in s.worker]
        if not (done and running):
            return False
        runs = child_runs(tracking, name)
        return any(r.data.tags.get("cell_id") == running[0] and r.info.status == "RUNNING" for r in runs)

    wait_until(a_is_mid_trial, 240, "runner A to be mid-trial on its second cell", [a])
    killed_cell = next(c for c, s in store.status().items() if s.state == "RUNNING")
    first_done = {c: s.trial_number for c, s in store.status().items() if s.state == "COMPLETE"}
    # B (password in its URL, to check masking) and a Dask LocalCluster of 2 workers join the same study
    b = start_runner(study, secret, tracking, env, logs[1])
    c = start_runner(study, storage, tracking, env, logs[2], "--launcher", "dask", "--n-jobs", "2")
    os.killpg(a.pid, signal.SIGKILL)
    codes = wait_all([a, b, c], timeout_s=400)
    # the restarted worker: re-runs whatever the dead one left (if no survivor took it over already)
    again = start_runner(study, storage, tracking, env, logs[3])
    codes += wait_all([again], timeout_s=200)
    text = "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs)
    assert codes[0] == -signal.SIGKILL and codes[-1] == 0, text
    assert "[dask]" in logs[2].read_text(), text

    # every grid point x seed x fold completed exactly once; the dead worker's trial FAILed, not lost or doubled
    trials = optuna_trials(secret, name)
    assert complete_per_cell(trials) == {cell.cell_id: 1 for cell in cells}, text
    assert sorted(t.state.name for t in trials if t.user_attrs.get("cell_id") == killed_cell) == ["COMPLETE", "FAIL"]
    assert len(trials) == len(cells) + 1, "a cell ran more often than once plus the killed attempt:\n" + text
    states = store.status()
    assert {cid: s.state for cid, s in states.items()} == {cell.cell_id: "COMPLETE" for cell in cells}
    assert {cid: states[cid].trial_number for cid in first_done} == first_done  # A's finished result is kept
    assert store.attempts() == {cell.cell_id: 2 if cell.cell_id == killed_cell else 1 for cell in cells}

    # MLflow: one FINISHED child run per cell, the killed one KILLED, nothing left RUNNING
    runs = child_runs(tracking, name)
    finished = sorted(r.data.tags["cell_id"] for r in runs if r.info.status == "FINISHED")
    assert finished == sorted(cell.cell_id for cell in cells)
    assert [r.data.tags["cell_id"] for r in runs if r.info.status == "KILLED"] == [killed_cell]
    assert len(runs) == len(cells) + 1 and all(r.info.status != "RUNNING" for r in runs)
    by_trial = {t.number: t.user_attrs["cell_id"] for t in trials}
    assert all(by_trial[int(r.data.tags["optuna.trial_number"])] == r.data.tags["cell_id"] for r in runs)

    # credentials: never printed, never stored in MLflow
    password = servers.password()
    assert password not in text
    for r in mlflow_runs(tracking, name):
        assert password not in repr(r.data.params) + repr(r.data.tags)


def test_tracking_server_going_away_keeps_results_and_flags_them(study_servers, second_mlflow, data_cache, tmp_path):
    name = "tracking_outage"
    servers, tracking = study_servers, second_mlflow.url
    study = write_study(tmp_path, name)
    secret = with_password(servers, servers.storage)
    env = runner_env(data_cache, {"PGPASSFILE": servers.passfile})
    cells = prepare(study, secret, tracking)
    store = SqlClaimStore(secret, name, 60)
    log = tmp_path / "runner.log"
    proc = start_runner(study, servers.storage, tracking, env, log)
    wait_until(lambda: any(s.state == "COMPLETE" for s in store.status().values()), 240, "a first cell", [proc])
    second_mlflow.stop(signal.SIGKILL)  # the tracking server dies mid-study
    codes = wait_all([proc], timeout_s=300)
    text = log.read_text()

    trials = optuna_trials(secret, name)
    assert complete_per_cell(trials) == {cell.cell_id: 1 for cell in cells}, text  # no result dropped
    flagged = [t for t in trials if "tracking_error" in t.user_attrs]
    assert flagged, text  # the trials that could not be logged are marked in the Optuna storage ...
    assert "MLflow logging failed" in text and "kept in the Optuna storage" in text  # ... and said so, loudly
    assert "--resync-tracking" in text  # ... with the command that repairs it
    assert codes[0] in (0, 1), text

    # the tracking store is back (the study server's MLflow shares its database): re-sync from Optuna
    def finished_runs() -> set:
        return {
            (r.data.tags["cell_id"], r.data.tags["optuna.trial_number"])
            for r in child_runs(servers.tracking, name)
            if r.info.status == "FINISHED"
        }

    missing = [t for t in flagged if (t.user_attrs["cell_id"], str(t.number)) not in finished_runs()]
    assert missing, text
    resync_log = tmp_path / "resync.log"
    for _attempt in range(2):  # the second pass must find nothing left to do
        proc = start_runner(study, servers.storage, servers.tracking, env, resync_log, "--resync-tracking")
        assert wait_all([proc], timeout_s=240) == [0], resync_log.read_text()
    out = resync_log.read_text()
    assert f"re-synced {len(missing)} run(s)" in out and "re-synced 0 run(s)" in out, out
    finished = finished_runs()
    for t in flagged:  # every flagged, completed trial now has a FINISHED run with its final metrics
        assert (t.user_attrs["cell_id"], str(t.number)) in finished
    runs = child_runs(servers.tracking, name)
    resynced = [r for r in runs if "avtca.resynced" in r.data.tags]
    assert len(resynced) == len(missing)
    assert all("test/accuracy" in r.data.metrics and "val/accuracy" in r.data.metrics for r in resynced)
    assert not [r for r in runs if r.info.status == "RUNNING"]  # runs cut off by the outage were ended
