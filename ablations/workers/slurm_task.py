"""What one SLURM array task runs (`--launcher slurm`; launchers/slurm.py submits it): the claim loop of a
local or Dask worker, again while cells may still need it; on SLURM's warning signal (time limit, pre-emption) it
marks its cell FAILED (claimable again) and requeues itself; the last task to finish finishes the study.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from ablations.workers.gpus import gpu_slots, visible_gpus, workers_per_task
from ablations.workers.loop import Preempted, raise_preempted

PREEMPT_SIGNAL = "USR2"  # what `--signal=USR2@signal_s` sends; submitit's choice too (NCCL may catch USR1)


def options_of(study: Any) -> Any:
    """The study's `resources.slurm` block (the defaults when it has none)."""
    from ablations.study.resources import SlurmOptions

    return study.resources.slurm or SlurmOptions()


@dataclass(frozen=True)
class SlurmTask:
    """What one array task runs: the worker loop (workers_per_task processes), again while cells may still need
    it, then the study's finish when it is the last; picklable, with the worker and the finish as bytes so that
    nothing of the study is unpickled before the study's `imports:` are imported (by the worker)."""

    worker: Any  # ablations.workers.loop.Worker
    finisher: bytes  # pickled `() -> None`: close the runs, render the report (ablations.runner.slurm)
    cells: tuple[str, ...]  # the cell ids the array was submitted for
    study: bytes  # pickled StudyConfig (plain data)
    cwd: str
    pool: Any  # ablations.workers.launchers.local.run_local: runs `worker(i)` for i < n (a loky pool past one)

    def __call__(self, task: int) -> dict[str, Any]:
        os.chdir(self.cwd)
        signal.signal(getattr(signal, f"SIG{PREEMPT_SIGNAL}"), raise_preempted)
        try:
            study, per, worker = self._prepare(task)
            done = task_loop(self.pool, worker, per, study, self.cells)
        except Preempted:
            print(f"task {job_id()}: warned by SLURM ({PREEMPT_SIGNAL}); its cell is released, requeuing", flush=True)
            _requeue()
            raise SystemExit(3) from None
        except KeyboardInterrupt:
            print(f"task {job_id()}: stopped (SIGTERM: scancel or requeue); a cell it was running is marked "
                  "FAILED, claimable again", flush=True)  # fmt: skip
            raise SystemExit(4) from None
        # every cell this task could help with is done: a warning now only cuts the finish short
        signal.signal(getattr(signal, f"SIG{PREEMPT_SIGNAL}"), signal.SIG_IGN)
        if _is_last(study, self.cells):
            pickle.loads(self.finisher)()
        return {"task": task, "job": job_id(), "completed": done}

    def _prepare(self, task: int) -> tuple[Any, int, Any]:
        """(study, workers in this task, the worker pinned to this task's GPUs), the study's imports done first."""
        from ablations.study.imports import import_in_worker

        import_in_worker(self.worker.imports, self.worker.folders)
        study = pickle.loads(self.study)
        opts = options_of(study)
        per = workers_per_task(opts.gpus_per_task, study.resources.trials_per_gpu)
        # the GPUs SLURM gave this task (CUDA_VISIBLE_DEVICES), never more than it asked for
        gpus = visible_gpus()[: opts.gpus_per_task] if opts.gpus_per_task and study.resources.device != "cpu" else []
        slots = gpu_slots(per, gpus, study.resources.trials_per_gpu) if gpus else []
        worker = _with_threads(self.worker.on_gpus(slots, offset=task * per), study, per)
        return study, per, worker.replace(preempt_signal=PREEMPT_SIGNAL)


def _with_threads(worker: Any, study: Any, per: int) -> Any:
    """The task's CPUs (not the node's) shared by its workers, unless the study sets threads."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK") or os.environ.get("SLURM_CPUS_ON_NODE")
    if not cpus or study.resources.threads_per_job or study.train.get("threads"):
        return worker
    spec = worker.spec
    resources = spec.study.resources.model_copy(update={"threads_per_job": max(1, int(cpus) // per)})
    spec = type(spec)(**{**spec.__dict__, "study": spec.study.model_copy(update={"resources": resources})})
    return worker.replace(payload=pickle.dumps(spec))


def job_id() -> str:
    """This array task's id as squeue and scontrol name it (`123_4`), or the job id."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "?")


def _requeue() -> None:
    try:
        subprocess.run(["scontrol", "requeue", job_id()], check=True, timeout=60, capture_output=True)
    except (OSError, subprocess.SubprocessError) as err:
        print(f"task {job_id()}: scontrol requeue failed ({err}); its cells stay claimable for the others")


def task_loop(pool: Any, worker: Any, per: int, study: Any, cells: tuple[str, ...]) -> int:
    """Run the worker loop until no cell is left that this task could still help with; returns cells completed.

    Another round starts while a cell is claimable again (released by a requeued task, or stale); with
    `wait_for_others`, a task with nothing to claim waits while other tasks' cells run, so that it can take over
    one whose task dies. A cell that failed with an error in this task is not retried by it.
    """
    from ablations.storage.claims import open_claim_store

    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    failed_here: set[str] = set()
    completed = 0
    poll_s = min(10.0, max(1.0, study.resources.grace_s / 4))
    while True:
        summaries = [s for s in pool(worker, per) if s is not None]
        if any(s.timed_out for s in summaries):
            return completed + sum(len(s.completed) for s in summaries)
        completed += sum(len(s.completed) for s in summaries)
        failed_here |= {cid for s in summaries for cid in s.failed}
        status, stale = store.status(), set(store.stale())
        left = [c for c in cells if getattr(status.get(c), "state", None) != "COMPLETE"]
        free = [c for c in left if c not in failed_here and (c not in status or status[c].state == "FAILED"
                                                              or c in stale)]  # fmt: skip
        running = [c for c in left if c in status and status[c].state == "RUNNING" and c not in stale]
        if free and summaries and any(s.completed or s.failed for s in summaries):
            continue  # progress was made and there is more to claim
        if not running and not free:
            return completed
        if not study.resources.slurm or study.resources.slurm.wait_for_others:
            time.sleep(poll_s)  # others run cells: one may die, and its claim go stale
            continue
        return completed


def _is_last(study: Any, cells: tuple[str, ...]) -> bool:
    """Every cell complete, and this task won the right to finish the study (one task renders the report)."""
    from ablations.storage.claims import open_claim_store, worker_name

    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    status = store.status()
    if any(getattr(status.get(c), "state", None) != "COMPLETE" for c in cells):
        return False
    array = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID", "local")
    token, me = f"report.{array}", worker_name(0)
    if not store.claim(token, me):  # a pseudo-cell: exactly one task wins it ...
        return False
    store.complete(token, me, None)  # ... and it stays won once this task has exited
    return True
