"""Pre-emption on a real SLURM cluster: a detached array, SLURM's warning signal to the task mid-cell, the task
releases its cell and requeues, the requeued task resumes; the study uses the README's one-file component through
`imports:`, and its last task renders the report."""

from __future__ import annotations

import getpass
import re

import pytest

from ablations.storage.claims import open_claim_store
from tests.recipes import python_block
from tests.scaleout import complete_per_cell, mlflow_runs, optuna_trials
from tests.workers.studies import run_cli, runner_env, slurm_resources, task_logs, wait_until, write_study

pytestmark = [pytest.mark.slow, pytest.mark.slurm]


def test_warned_task_releases_its_cell_requeues_and_resumes(slurm, tmp_path, scratch):
    name = "slurm_preempt"
    (tmp_path / "my_cross_attention.py").write_text(python_block("README.md", "## Adding a component"))
    study = write_study(
        tmp_path,
        name,
        imports=["my_cross_attention"],  # beside the study file: found there, and by every array task
        train={"epochs": 4, "batch_size": 16, "amp": "off", "device": "cpu"},
        variants={"full": {}, "mine": {"model.cross_attention.kind": "mine", "model.cross_attention.heads": 4}},
        resources=slurm_resources(tasks=1, grace_s=30, shared_filesystem=True),
        storage=str(tmp_path / "runs" / f"{name}.journal"),
        tracking_uri=f"sqlite:///{scratch / 'workers-mlflow.db'}",  # one MLflow database per session
        report={"kind": "render", "out": str(tmp_path / "reports")},
    )
    env = runner_env(scratch / "cache")
    out = run_cli(study, "--launcher", "slurm", "--detach", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    job = re.search(r"submitted SLURM array job (\d+)", out.stdout)[1]
    assert "--status" in out.stdout and f"scancel {job}" in out.stdout and "detached" in out.stdout
    task = job  # an array of one task is submitted as a plain job
    store = open_claim_store(str(tmp_path / "runs" / f"{name}.journal"), name, 30)

    def mid_cell():
        running = [c for c, s in store.status().items() if s.state == "RUNNING"]
        trials = optuna_trials(str(tmp_path / "runs" / f"{name}.journal"), name) if running else []
        return next((t.user_attrs["cell_id"] for t in trials if t.state.name == "RUNNING"
                     and t.user_attrs.get("cell_id") in running and t.intermediate_values), None)  # fmt: skip

    cell = wait_until(mid_cell, 240, "the task to be mid-cell (one epoch reported)")
    slurm.run("scancel", "--signal=USR2", task)  # what --signal=USR2@signal_s sends before the time limit
    slurm.wait_gone(job, 400)
    logs = task_logs(tmp_path / "runs" / "slurm")
    assert "warned by SLURM (USR2); its cell is released, requeuing" in logs, logs
    history = slurm.run("sacct", "-j", task, "--duplicates", "-n", "-X", "-o", "State%20").split()
    assert history[0] == "REQUEUED" and history[-1] == "COMPLETED", history  # one task, run twice

    # exactly once: each cell COMPLETE once; the interrupted attempt FAIL in Optuna and KILLED in MLflow
    storage = str(tmp_path / "runs" / f"{name}.journal")
    trials = optuna_trials(storage, name)
    ids = sorted({t.user_attrs["cell_id"] for t in trials})
    assert len(ids) == 2 and complete_per_cell(trials) == {c: 1 for c in ids}, logs
    assert sorted(t.state.name for t in trials if t.user_attrs["cell_id"] == cell) == ["COMPLETE", "FAIL"], logs
    assert {c: s.state for c, s in store.status().items() if c in ids} == {c: "COMPLETE" for c in ids}
    runs = [
        r
        for r in mlflow_runs(f"sqlite:///{scratch / 'workers-mlflow.db'}", name)
        if r.data.tags.get("avtca.role") == "trial"
    ]
    assert sorted(r.data.tags["cell_id"] for r in runs if r.info.status == "FINISHED") == ids
    assert [r.data.tags["cell_id"] for r in runs if r.info.status == "KILLED"] == [cell]
    assert any(r.data.params.get("model.cross_attention.kind") == "mine" for r in runs)  # the user's component ran
    # the last task rendered the report; --status says complete
    assert list((tmp_path / "reports" / name).glob("*.md")), logs
    final = run_cli(study, "--status", env=env)
    assert "2/2 cells done, 0 running, 0 failed, 0 left; complete" in final.stdout, final.stdout + final.stderr


@pytest.fixture(autouse=True)
def _no_stray_jobs(slurm):
    yield
    if slurm.queued():
        slurm.run("scancel", "--user", getpass.getuser(), check=False)
