"""A study as a real SLURM job array on PostgreSQL + an MLflow server (the multi-node setup): one array task
killed outright mid-cell, the study still completes with every cell exactly once."""

from __future__ import annotations

import getpass
import re
import socket

import pytest

from ablations.storage.claims.sql import SqlClaimStore
from tests.scaleout import cells_of, complete_per_cell, mlflow_runs, optuna_trials, start_runner, wait_all
from tests.workers.studies import run_cli, runner_env, slurm_resources, task_logs, wait_until, write_study

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.slurm]


def test_array_completes_every_cell_once_when_a_task_is_killed_mid_cell(slurm, study_servers, scratch, tmp_path):
    name = "slurm_kill"
    servers = study_servers
    secret = servers.storage.replace("avtca@", f"avtca:{servers.password()}@")  # this process has no PGPASSFILE
    study = write_study(
        tmp_path,
        name,
        train={"epochs": 3, "batch_size": 16, "amp": "off", "device": "cpu"},
        factors={"model.fusion.kind": ["it", "lt"]},
        seeds=[0, 1],
        resources=slurm_resources(tasks=2, grace_s=30),
    )
    env = runner_env(scratch / "cache", {"PGPASSFILE": servers.passfile})
    log = tmp_path / "submit.log"
    proc = start_runner(study, servers.storage, servers.tracking, env, log, "--launcher", "slurm")
    job = wait_until(lambda: re.search(r"submitted SLURM array job (\d+)", log.read_text()), 120, "the submission")[1]
    store = SqlClaimStore(secret, name, 30)

    def task1_mid_trial():
        """The cell array task 1 is training, once its MLflow run exists (so the kill lands mid-trial)."""
        mine = [c for c, s in store.status().items() if s.state == "RUNNING" and s.worker.endswith(f":slurm={job}_1")]
        runs = [r for r in mlflow_runs(servers.tracking, name) if r.info.status == "RUNNING"]
        return next((c for c in mine if any(r.data.tags.get("cell_id") == c for r in runs)), None)

    killed = wait_until(task1_mid_trial, 240, "array task 1 to be mid-trial")
    slurm.run("scancel", "--signal=KILL", "--full", f"{job}_1")  # killed outright: no handler runs

    def task0_shown_running():
        """--status while the array runs: which cell runs on which array task."""
        out = run_cli(study, "--status", "--storage", servers.storage, "--tracking-uri", servers.tracking, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        return re.search(
            rf"^  running  .* on {socket.gethostname()} pid \d+ \(SLURM job {job}_0\), heartbeat", out.stdout, re.M
        )

    wait_until(task0_shown_running, 120, "--status to show a cell running on array task 0", poll_s=0)
    codes = wait_all([proc], timeout_s=400)
    text = log.read_text() + task_logs(tmp_path / "runs" / "slurm")
    assert codes == [0], text
    assert "1 running" in text or "2 running" in text  # the submitter followed the tasks' progress

    # every cell COMPLETE once in the claim store; only the killed one was claimed twice
    cells = cells_of(study, secret, servers.tracking)
    states = store.status()
    assert {c.cell_id: states[c.cell_id].state for c in cells} == {c.cell_id: "COMPLETE" for c in cells}, text
    assert {c.cell_id: store.attempts()[c.cell_id] for c in cells} == {
        c.cell_id: 2 if c.cell_id == killed else 1 for c in cells
    }
    # the Optuna storage: one COMPLETE trial per cell; the killed attempt FAIL, nothing lost or doubled
    trials = optuna_trials(secret, name)
    assert complete_per_cell(trials) == {c.cell_id: 1 for c in cells}, text
    assert sorted(t.state.name for t in trials if t.user_attrs.get("cell_id") == killed) == ["COMPLETE", "FAIL"]
    assert len(trials) == len(cells) + 1
    # MLflow: one FINISHED run per cell, the killed one KILLED, nothing left RUNNING, the study run FINISHED
    runs = mlflow_runs(servers.tracking, name)
    children = [r for r in runs if r.data.tags.get("avtca.role") != "study"]
    assert sorted(r.data.tags["cell_id"] for r in children if r.info.status == "FINISHED") == sorted(
        c.cell_id for c in cells
    )
    assert [r.data.tags["cell_id"] for r in children if r.info.status == "KILLED"] == [killed]
    assert [r.info.status for r in runs if r.data.tags.get("avtca.role") == "study"] == ["FINISHED"], text
    assert not slurm.queued(job)
    assert servers.password() not in text


@pytest.fixture(autouse=True)
def _no_stray_jobs(slurm):
    """Whatever a failed test left in the queue is cancelled (the next test starts on an empty cluster)."""
    yield
    if slurm.queued():
        slurm.run("scancel", "--user", getpass.getuser(), check=False)
