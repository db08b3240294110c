"""Which GPU each worker sees: `resources.trials_per_gpu` workers share a GPU (local, Dask and SLURM alike)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def visible_gpus() -> list[str]:
    """This process's GPUs as CUDA_VISIBLE_DEVICES names them (SLURM sets it per task), else torch's count."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - no torch / no driver: CPU only
        return []


def gpu_slots(n_workers: int, gpus: Sequence[str], trials_per_gpu: int | None = None) -> list[str | None]:
    """The GPU of each of `n_workers` workers: round-robin over `gpus`, so each GPU gets its share before any gets
    more; None for every worker when there is no GPU. With `trials_per_gpu` K, at most K workers per GPU
    (ValueError past K x len(gpus))."""
    if n_workers < 1:
        raise ValueError(f"n_workers: expected at least 1, got {n_workers}")
    if not gpus:
        return [None] * n_workers
    limit = packing_problem(n_workers, len(gpus), trials_per_gpu)
    if limit:
        raise ValueError(limit)
    return [str(gpus[i % len(gpus)]) for i in range(n_workers)]


def packing_problem(n_workers: int, n_gpus: int, trials_per_gpu: int | None) -> str | None:
    """Why `n_workers` do not fit on `n_gpus` GPUs at `trials_per_gpu` each (None when they do, or no GPU)."""
    if trials_per_gpu is None or n_gpus == 0 or n_workers <= trials_per_gpu * n_gpus:
        return None
    return (
        f"resources.n_jobs: {n_workers} workers do not fit on {n_gpus} GPU(s) at resources.trials_per_gpu "
        f"{trials_per_gpu}; use at most {trials_per_gpu * n_gpus} workers, or raise trials_per_gpu"
    )


def workers_per_task(gpus_per_task: int, trials_per_gpu: int | None) -> int:
    """Worker processes one SLURM array task runs: K per GPU it was given, one on a CPU-only task."""
    return max(1, gpus_per_task) * (trials_per_gpu or 1) if gpus_per_task else 1


def packing_problems(study: Any, submitting: bool = True) -> list[str]:
    """`resources.trials_per_gpu` workers per GPU must fit this machine's GPUs (local and Dask launchers)."""
    if not study.resources.trials_per_gpu or study.resources.device not in ("auto", "cuda"):
        return []
    problem = packing_problem(study.resources.n_jobs, len(visible_gpus()), study.resources.trials_per_gpu)
    return [problem] if problem else []
