"""Resume after SIGKILL: a real `python -m ablations.run` process is killed mid-study, then re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import optuna
import pytest
from optuna.trial import TrialState

from ablations.run import EXIT_OK, main
from ablations.storage.optuna import open_storage
from ablations.study.cells import enumerate_cells
from ablations.study.schema import load_study
from tests.tiny import PYTHON, subprocess_env, write_study

pytestmark = pytest.mark.slow


def claims(directory):
    out = {}
    for p in directory.glob("*.json"):
        try:
            out[p.stem] = json.loads(p.read_text())
        except (json.JSONDecodeError, FileNotFoundError):
            pass
    return out


def test_sigkill_mid_study_then_same_command_completes_without_loss_or_duplicates(workdir, data_cache):
    path = write_study(workdir, seeds=[0, 1])
    study = load_study(path)
    cells = {c.cell_id: c for c in enumerate_cells(study)}
    claim_dir = workdir / "runs" / "optuna" / "tiny.claims" / "tiny"
    proc = subprocess.Popen(
        [PYTHON, "-m", "ablations.run", str(path)],
        cwd=workdir,
        env=subprocess_env(data_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 180
        # kill once one cell is complete and another is running with its trial and MLflow run created
        # (polled, not slept for: on a loaded machine the run may come seconds after the claim)
        while time.time() < deadline:
            states = [c["state"] for c in claims(claim_dir).values()]
            if states.count("COMPLETE") >= 1 and "RUNNING" in states and _running_trial_has_run(study):
                break
            assert proc.poll() is None, "the study ended before it could be killed"
            time.sleep(0.1)
        else:
            pytest.fail("the study never reached a running second cell")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = claims(claim_dir)
    done_before = {cid for cid, c in before.items() if c["state"] == "COMPLETE"}
    assert done_before and any(c["state"] == "RUNNING" for c in before.values())
    storage = open_storage(study.storage_url)
    trials_before = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    kept = {t.number: t.user_attrs["cell_id"] for t in trials_before if t.state == TrialState.COMPLETE}

    assert main([str(path)]) == EXIT_OK

    trials = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["cell_id"] for t in complete) == sorted(cells)  # every cell once, none twice
    assert {t.number: t.user_attrs["cell_id"] for t in complete if t.number in kept} == kept  # nothing lost
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in trials)  # the killed trial: FAIL
    assert all(c["state"] == "COMPLETE" for c in claims(claim_dir).values())

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id], max_results=1000)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    finished = [r for r in runs if r.data.tags.get("avtca.role") == "trial" and r.info.status == "FINISHED"]
    assert sorted(r.data.tags["cell_id"] for r in finished) == sorted(cells)
    killed = [r for r in runs if r.info.status == "KILLED"]
    assert len(killed) == len(trials) - len(complete)  # the interrupted trial's run is KILLED, not RUNNING


def _running_trial_has_run(study) -> bool:
    try:
        trials = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    except Exception:  # noqa: BLE001 - the storage may not exist yet
        return False
    return any(t.state == TrialState.RUNNING and "mlflow_run_id" in t.user_attrs for t in trials)


def test_ctrl_c_marks_the_current_trial_and_exits_130(workdir, data_cache):
    path = write_study(workdir)
    claim_dir = workdir / "runs" / "optuna" / "tiny.claims" / "tiny"
    proc = subprocess.Popen(
        [PYTHON, "-m", "ablations.run", str(path)],
        cwd=workdir,
        env=subprocess_env(data_cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # only this test's signal reaches it (see tests/runner/test_signals.py)
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline and "RUNNING" not in [c["state"] for c in claims(claim_dir).values()]:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        time.sleep(1.5)  # inside the trial (its MLflow run exists)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert "run the same command again to continue" in err
    states = claims(claim_dir)
    assert not [c for c in states.values() if c["state"] == "RUNNING"]
    interrupted = [c for c in states.values() if c["state"] == "FAILED"]
    assert all("interrupted" in c["reason"] for c in interrupted)
    study = load_study(path)
    trials = optuna.load_study(study_name="tiny", storage=open_storage(study.storage_url)).get_trials()
    assert trials and not [t for t in trials if t.state == TrialState.RUNNING]
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert not [r for r in runs if r.info.status == "RUNNING"]
    parent = next(r for r in runs if r.data.tags.get("avtca.role") == "study")
    all_done = all(c["state"] == "COMPLETE" for c in states.values()) and len(states) == 2
    assert parent.info.status == ("FINISHED" if all_done else "KILLED"), (states, out[-3000:], err[-3000:])
