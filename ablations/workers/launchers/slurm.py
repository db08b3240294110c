"""`--launcher slurm`: the study's workers as one SLURM job array, submitted with submitit (docs/distributed.md).

Each array task runs the same claim loop as a local or Dask worker against the study's shared storage, so any
number of tasks, requeued or killed ones included, complete each cell once. A task warned by SLURM before its time
limit or pre-emption (`--signal=USR2@signal_s`) marks its cell FAILED (claimable again) and requeues itself; a task
killed outright leaves a claim whose heartbeat stops, which another task takes over after `resources.grace_s`.
The last task to finish renders the report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ablations.workers.base import LAUNCHERS, Launcher
from ablations.workers.gpus import packing_problem, workers_per_task
from ablations.workers.launchers.local import run_local
from ablations.workers.slurm_task import SlurmTask, options_of

SUPPORTED = (
    "SLURM tasks share the study's stores: PostgreSQL storage (--storage postgresql://...) with an MLflow server "
    "(--tracking-uri http://...), started with `python -m ablations.server --host 0.0.0.0`; or, with "
    "resources.slurm.shared_filesystem: true, a journal file / sqlite:/// storage and sqlite:/// tracking on a "
    "filesystem whose locks work across nodes"
)


def storage_problems(study: Any) -> list[str]:
    """Storage/tracking combinations SLURM tasks cannot share safely, each naming its key."""
    opts = options_of(study)
    problems = []
    storage, tracking = study.storage_url, study.tracking
    if not storage.startswith("postgresql") and not opts.shared_filesystem:
        problems.append(
            f"storage: '{_short(storage)}' is a file (journal or SQLite), which SLURM tasks on several nodes "
            "cannot share safely; use PostgreSQL (--storage postgresql://...), or set "
            "resources.slurm.shared_filesystem: true if it is on a filesystem whose locks work across nodes"
        )
    if not tracking.startswith(("http://", "https://")) and not opts.shared_filesystem:
        problems.append(
            f"tracking_uri: '{_short(tracking)}' is a local store, which SLURM tasks on several nodes cannot "
            "share safely; start an MLflow server (python -m ablations.server) and pass --tracking-uri "
            "http://HOST:PORT, or set resources.slurm.shared_filesystem: true"
        )
    return problems


def _short(url: str) -> str:
    from ablations.masking import mask

    return mask(url)[:120]


def partitions() -> list[str] | None:
    """The cluster's partitions (sinfo), None when sinfo is missing or fails."""
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted({line.strip() for line in out.stdout.splitlines() if line.strip()})


def slurm_problems(study: Any, submitting: bool = True) -> list[str]:
    """Everything knowable before submitting, each naming its key; `submitting` False (--dry-run) tolerates a
    machine without SLURM (the script is still shown)."""
    opts = options_of(study)
    problems = storage_problems(study)
    try:
        import submitit  # noqa: F401 - only its presence is checked here
    except ImportError:
        problems.append("--launcher slurm needs submitit: pip install -e '.[distributed]'")
    known = partitions()
    if known is None:
        if submitting:
            problems.append("--launcher slurm: sbatch/sinfo not found or failing; run from a SLURM login node")
    elif opts.partition is not None and opts.partition not in known:
        problems.append(
            f"resources.slurm.partition: '{opts.partition}' is not a partition of this cluster "
            f"(sinfo lists: {', '.join(known) or 'none'})"
        )
    per = workers_per_task(opts.gpus_per_task, study.resources.trials_per_gpu)
    if opts.gpus_per_task:
        problem = packing_problem(per, opts.gpus_per_task, study.resources.trials_per_gpu)
        if problem:
            problems.append(problem)
    if study.resources.device == "cpu" and opts.gpus_per_task:
        problems.append("resources.slurm.gpus_per_task: GPUs asked for, but resources.device is cpu")
    return problems


def folder_of(study: Any) -> Path:
    """Where submitit keeps the job pickles and the tasks' logs."""
    opts = options_of(study)
    return Path(opts.folder or f"runs/slurm/{study.name}").resolve()


def executor_parameters(study: Any) -> dict[str, Any]:
    """The study's `resources.slurm` as submitit SlurmExecutor parameters."""
    opts = options_of(study)
    params: dict[str, Any] = {
        "job_name": opts.job_name or f"avtca-{study.name}",
        "time": opts.minutes,
        "array_parallelism": opts.array_parallelism or opts.tasks,
        "signal_delay_s": opts.signal_s,
        "setup": list(opts.setup),
        "stderr_to_stdout": True,
        "additional_parameters": opts.extra_flags(),
    }
    optional = {
        "partition": opts.partition,
        "account": opts.account,
        "qos": opts.qos,
        "cpus_per_task": opts.cpus_per_task,
        "gpus_per_node": opts.gpus_per_task or None,
        "mem": opts.mem,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    return params


def batch_script(study: Any) -> str:
    """The batch script `--launcher slurm` submits (what --dry-run prints)."""
    from submitit.slurm.slurm import _make_sbatch_string  # the function SlurmExecutor itself writes scripts with

    opts = options_of(study)
    python = opts.python or sys.executable
    command = f"{python} -u -m submitit.core._submit {folder_of(study) / '%j'}"
    return _make_sbatch_string(command, folder_of(study) / "%j", map_count=opts.tasks, **executor_parameters(study))


@dataclass
class ArrayJob:
    """A submitted array: its SLURM id, and the submitit jobs (one per task)."""

    job_id: str
    tasks: int
    jobs: list[Any]

    def queued(self) -> bool | None:
        """True while any task is pending, running or requeued (squeue); None when squeue cannot tell."""
        try:
            out = subprocess.run(
                ["squeue", "-h", "-j", self.job_id, "-o", "%i"], capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode != 0:
            # squeue refuses an id it no longer knows (finished long ago): nothing of it is queued
            return False if "Invalid job id" in out.stderr else None
        return bool(out.stdout.strip())

    def wait(self, poll_s: float = 5.0) -> None:
        """Until no task of the array is queued or running (requeued tasks count as queued)."""
        unknown = 0
        while True:
            state = self.queued()
            if state is False:
                return
            unknown = unknown + 1 if state is None else 0
            if unknown >= 60:  # squeue failing for minutes: stop following, the array is not touched
                raise RuntimeError(f"squeue has not answered for job {self.job_id}; follow with --status")
            time.sleep(poll_s)

    def cancel(self) -> None:
        """scancel the whole array."""
        subprocess.run(["scancel", self.job_id], check=False, timeout=60)


def submit(study: Any, task: SlurmTask) -> ArrayJob:
    """Submit `task` as the study's array (resources.slurm.tasks tasks, task i called with i)."""
    import submitit

    opts = options_of(study)
    folder = folder_of(study)
    folder.mkdir(parents=True, exist_ok=True)
    executor = submitit.SlurmExecutor(folder=folder / "%j", python=opts.python)
    executor.update_parameters(**executor_parameters(study))
    try:
        jobs = executor.map_array(task, range(opts.tasks))
    except submitit.core.utils.FailedJobError as err:  # sbatch refused (account, qos, limits): nothing submitted
        raise SubmitError(f"sbatch refused the array: {str(err).strip()}") from None
    return ArrayJob(str(jobs[0].job_id).split("_")[0], opts.tasks, jobs)


class SubmitError(RuntimeError):
    """sbatch refused the job (the message says why); nothing was submitted."""


def run_slurm(
    worker_fn: Any,
    n_workers: int,
    *,
    study: Any,
    finisher: bytes,
    cells: tuple[str, ...],
    pool: Callable[[Any, int], list[Any]],
    detach: bool = False,
    on_submit: Callable[[ArrayJob], None] | None = None,
) -> list[ArrayJob]:
    """Submit the study's array (`resources.slurm.tasks` tasks; `n_workers` is not used) and, unless `detach`,
    wait until no task is queued any more. Each task runs its workers with `pool` (the local launcher); `on_submit`
    hears of the job at once (a Ctrl-C while waiting leaves it running)."""
    task = SlurmTask(worker_fn, finisher, cells, pickle_study(study), str(Path.cwd()), pool)
    job = submit(study, task)
    if on_submit is not None:
        on_submit(job)
    if not detach:
        job.wait()
    return [job]


def pickle_study(study: Any) -> bytes:
    """The study config as bytes (unpickled in the task only after its `imports:`)."""
    import pickle

    return pickle.dumps(study)


def _run(worker_fn: Any, n_workers: int, **options: Any) -> list[ArrayJob]:
    # each array task runs its own workers with the local launcher
    keep = ("study", "finisher", "cells", "detach", "on_submit")
    return run_slurm(worker_fn, n_workers, pool=run_local, **{k: v for k, v in options.items() if k in keep})


def dry_run_text(study: Any) -> str:
    """--dry-run --launcher slurm: the batch script that would be submitted."""
    head = "\n# the batch script --launcher slurm would submit (nothing was submitted):"
    if partitions() is None:
        head += "\n# (no sinfo here: resources.slurm.partition was not checked against the cluster)"
    return f"{head}\n{batch_script(study)}"


LAUNCHERS.register(
    Launcher(
        "slurm",
        _run,
        "a SLURM job array (resources.slurm), submitted with submitit; its last task renders the report",
        problems=slurm_problems,
        dry_run=dry_run_text,
        submits=True,
    )
)
