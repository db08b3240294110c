"""Finding 10: SIGTERM is handled like Ctrl-C (real signals to a real `python -m ablations.run`); no tracebacks.

Each run has its own session (process group), as a study started from a terminal has: a signal sent to the
test process's group (a Ctrl-C in pytest's terminal, another test signalling its own children) cannot reach
it, only the signals these tests send, to the process alone or to its group as a terminal would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.tiny import PYTHON, TINY, subprocess_env, write_study

pytestmark = pytest.mark.slow
CLAIMS = "runs/optuna/tiny.claims/tiny"


def claim_states(workdir) -> dict[str, dict]:
    out = {}
    for p in (workdir / CLAIMS).glob("*.json"):
        try:
            out[p.stem] = json.loads(p.read_text())
        except (ValueError, OSError):
            pass
    return out


def start(workdir, data_cache, path) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "ablations.run", str(path)],
        cwd=workdir,
        env=subprocess_env(data_cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def exited(proc, err: str) -> str:
    """How the process ended, for a failure message: its exit code, or the signal that killed it, and stderr."""
    code = proc.returncode
    how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
    return f"{how}; stderr:\n{err[-3000:]}"


def wait_for_running_cell(proc, workdir, n: int = 1) -> None:
    deadline = time.time() + 240
    while time.time() < deadline:
        if [c["state"] for c in claim_states(workdir).values()].count("RUNNING") >= n:
            time.sleep(1.5)  # inside the trial: its Optuna trial and MLflow run exist
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("no cell started running")


def wait_for_start_up_handlers(proc) -> None:
    """Wait until the interpreter runs the command's first lines (ablations.startup catches SIGTERM): a signal
    before that finds no Python handler at all, like a Ctrl-C in the first milliseconds of any program."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            caught = next(line for line in status.read_text().splitlines() if line.startswith("SigCgt:"))
        except OSError:  # no /proc (not Linux): the imports take far longer than this
            time.sleep(0.8)
            return
        if int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)


def finish(proc, sig, group: bool = False) -> tuple[str, str]:
    try:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_nothing_left_running(workdir) -> None:
    import optuna
    from mlflow import MlflowClient

    from ablations.storage.optuna import open_storage

    states = claim_states(workdir)
    assert states and not [c for c in states.values() if c["state"] == "RUNNING"]
    assert all("interrupted" in c["reason"] for c in states.values() if c["state"] == "FAILED")
    trials = optuna.load_study(study_name="tiny", storage=open_storage("runs/optuna/tiny.journal")).get_trials()
    assert trials and not [t for t in trials if t.state.name == "RUNNING"]
    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert runs and not [r for r in runs if r.info.status == "RUNNING"]


def test_an_interrupt_lost_in_a_garbage_collection_callback_still_stops_the_run(tmp_path):
    """Python drops a KeyboardInterrupt raised inside a garbage-collection callback ("Exception ignored in ...",
    seen from SQLAlchemy's in a real run, which then went on to the end): the signal is remembered all the same,
    and the worker's next look at it (before a cell, after an epoch) stops the run."""
    script = tmp_path / "lost.py"
    script.write_text(
        "import gc, os, signal, weakref\n"
        "from ablations import interrupts\n"
        "interrupts.install()\n"
        "class Thing: pass\n"
        "thing = Thing()\n"
        "weakref.finalize(thing, lambda: [os.kill(os.getpid(), signal.SIGINT), sum(range(100000))])\n"
        "del thing\n"
        "gc.collect()\n"
        "print('went on', flush=True)\n"
        "interrupts.stop_if_interrupted()\n"
        "print('not stopped')\n"
    )
    proc = subprocess.run(
        [PYTHON, str(script)], cwd=tmp_path, env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert "Exception ignored" in proc.stderr and "KeyboardInterrupt" in proc.stderr  # lost where it was raised
    assert proc.stdout == "went on\n" and proc.returncode == -signal.SIGINT  # ... and raised at the next look
    assert proc.stderr.rstrip().endswith("KeyboardInterrupt"), proc.stderr


def test_sigterm_mid_trial_is_handled_like_ctrl_c(workdir, data_cache):
    proc = start(workdir, data_cache, write_study(workdir))
    wait_for_running_cell(proc, workdir)
    out, err = finish(proc, signal.SIGTERM)
    assert proc.returncode == 130, exited(proc, err)
    assert "run the same command again to continue" in err and "Traceback" not in err
    assert_nothing_left_running(workdir)


def test_ctrl_c_during_start_up_prints_no_traceback(workdir, data_cache):
    proc = start(workdir, data_cache, write_study(workdir))
    wait_for_start_up_handlers(proc)
    time.sleep(0.3)  # the heavy imports (seconds) are loading
    out, err = finish(proc, signal.SIGINT)
    assert proc.returncode == 130, exited(proc, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.parametrize("when", ["workers starting", "cells running"])
def test_ctrl_c_with_two_workers_prints_no_traceback(workdir, data_cache, when):
    """A terminal's Ctrl-C reaches the whole process group, worker processes included (also mid-start-up)."""
    path = write_study(workdir, resources={"n_jobs": 2}, train={**TINY["train"], "epochs": 3})
    proc = start(workdir, data_cache, path)
    if when == "workers starting":
        while "cells to run" not in (proc.stdout.readline() or "cells to run"):
            pass
        time.sleep(0.3)  # the loky worker interpreters are importing
    else:
        wait_for_running_cell(proc, workdir, n=2)
    out, err = finish(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130, exited(proc, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert not [c for c in claim_states(workdir).values() if c["state"] == "RUNNING"]


def test_sigterm_to_the_parent_alone_stops_two_workers_cleanly(workdir, data_cache):
    """A scheduler may signal only the main process: its workers are asked to stop and mark their claims."""
    path = write_study(workdir, resources={"n_jobs": 2}, train={**TINY["train"], "epochs": 3})
    proc = start(workdir, data_cache, path)
    wait_for_running_cell(proc, workdir, n=2)
    out, err = finish(proc, signal.SIGTERM)
    assert proc.returncode == 130, exited(proc, err)
    assert "Traceback" not in err, err[-3000:]
    assert_nothing_left_running(workdir)
