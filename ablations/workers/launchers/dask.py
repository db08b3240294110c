"""Dask launcher: study workers run as tasks on a Dask distributed cluster (a LocalCluster when none is given)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tqdm.auto import tqdm

from ablations.masking import mask
from ablations.workers.base import LAUNCHERS, Launcher
from ablations.workers.gpus import gpu_slots, packing_problems


class LauncherError(RuntimeError):
    """The Dask cluster cannot be used (bad address, no worker offers the requested resources)."""


def _pinned(worker_fn: Callable[[int], Any], index: int, gpus: Sequence[str] | None) -> Any:
    """Run one worker loop; on a LocalCluster with `gpus`, each Dask worker process sees only its own GPU."""
    if gpus:
        from distributed import get_worker

        name = get_worker().name  # LocalCluster names its workers 0..n-1
        slot = int(name) if isinstance(name, int) or str(name).isdigit() else index
        # set before torch touches CUDA in this (fresh, nanny-started) process; the same round-robin as every
        # launcher (resources.trials_per_gpu workers share a GPU: their count was checked before the start)
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_slots(slot + 1, gpus)[slot])
    return worker_fn(index)


def local_gpus() -> list[str]:
    """Visible GPU ids of this machine (honours CUDA_VISIBLE_DEVICES); empty without CUDA."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - no torch / no driver: CPU only
        return []


def make_client(
    scheduler: str | None, n_workers: int, resources: Mapping[str, float] | None, timeout_s: float = 30
) -> tuple[Any, Any]:
    """(Client, None) for `scheduler` (tcp://host:port), else (Client, a LocalCluster of one-thread processes)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=timeout_s), None
        except (OSError, TimeoutError) as err:
            raise LauncherError(f"--scheduler {mask(scheduler)}: cannot connect ({err})") from None
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,  # one trial per worker: a trial owns its worker's GPU and CPU threads
        processes=True,
        resources=dict(resources) if resources else None,
        dashboard_address=None,
        silence_logs=40,
    )
    return Client(cluster), cluster


def check_resources(client: Any, resources: Mapping[str, float] | None) -> None:
    """Fail early (instead of tasks waiting forever) when no worker offers the requested resources."""
    if not resources:
        return
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    offered = [w.get("resources", {}) for w in workers]
    if not any(all(r.get(k, 0) >= v for k, v in resources.items()) for r in offered):
        have = sorted({k for r in offered for k in r}) or ["none"]
        raise LauncherError(
            f"no Dask worker offers resources {dict(resources)} (workers offer: {', '.join(have)}); "
            "start workers with e.g. `dask worker tcp://SCHED:8786 --nthreads 1 --resources GPU=1`"
        )


def _offered(client: Any, name: str) -> bool:
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return any(w.get("resources", {}).get(name, 0) > 0 for w in workers)


def run_dask(
    worker_fn: Callable[[int], Any],
    n_workers: int,
    scheduler: str | None = None,
    resources: Mapping[str, float] | str | None = "auto",
    gpus: Sequence[str] | None = None,
) -> list[Any]:
    """Run `worker_fn(i)` for i in 0..n_workers-1 as Dask tasks, one per worker; return their results in order.

    Each task holds `resources` (e.g. {"GPU": 1}), so Dask places at most one per GPU worker; "auto" asks
    for {"GPU": 1} when the cluster's workers offer GPUs (or, for a LocalCluster, when this machine has
    some), else nothing. Without a scheduler a LocalCluster is started (and stopped); its workers are
    pinned one GPU each (`gpus`, default: this machine's visible GPUs when GPUs are requested).
    A task whose worker dies is re-run by Dask elsewhere; the claim store makes that safe (no cell twice).
    Every task runs to the end; then the first error, if any, is raised.
    """
    if n_workers < 1:
        raise LauncherError(f"n_workers: expected at least 1, got {n_workers}")
    from distributed import as_completed

    auto = resources == "auto"
    if auto:
        resources = {"GPU": 1} if scheduler is None and local_gpus() else None
    if scheduler is None and gpus is None and resources and "GPU" in resources:
        gpus = local_gpus() or None
    client, cluster = make_client(scheduler, n_workers, resources)  # type: ignore[arg-type]
    try:
        if cluster is None:
            if auto:
                resources = {"GPU": 1} if _offered(client, "GPU") else None
            check_resources(client, resources)  # type: ignore[arg-type]
        run = uuid.uuid4().hex[:12]  # unique task keys: many runners may share one scheduler
        futures = [
            client.submit(
                _pinned,
                worker_fn,
                i,
                None if scheduler else gpus,
                key=f"avtca-worker-{i}-{run}",
                resources=dict(resources) if resources else None,
                pure=False,
            )
            for i in range(n_workers)
        ]
        results: dict[int, Any] = {}
        errors: list[BaseException] = []
        index = {f.key: i for i, f in enumerate(futures)}
        with tqdm(total=n_workers, desc="dask workers", unit="worker") as bar:
            for fut in as_completed(futures):
                try:
                    results[index[fut.key]] = fut.result()
                except Exception as err:  # noqa: BLE001 - collected, raised after the others finish
                    errors.append(err)
                bar.update()
        if errors:
            raise errors[0]
        return [results[i] for i in range(n_workers)]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run(worker_fn: Callable[[int], Any], n_workers: int, scheduler: str | None = None, **_: Any) -> list[Any]:
    return run_dask(worker_fn, n_workers, scheduler=scheduler)


LAUNCHERS.register(
    Launcher("dask", _run, "a Dask distributed cluster (--scheduler ADDRESS, else a LocalCluster)", packing_problems)
)
