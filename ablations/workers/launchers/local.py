"""The local launcher: the workers in this process, or as a joblib loky pool that a Ctrl-C stops cleanly.

Like every launcher it runs `worker_fn(i)` for i < n_workers (`ablations.workers.loop.worker_fn` builds one) and
returns the workers' results in order (ablations/workers/base.py).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from joblib import Parallel, delayed
from joblib.externals.loky import reusable_executor
from tqdm import tqdm

from ablations import interrupts
from ablations.workers.base import LAUNCHERS, Launcher
from ablations.workers.gpus import gpu_slots, packing_problems, visible_gpus


def run_local(worker_fn: Callable[[int], Any], n_workers: int, study: Any = None, **_: Any) -> list[Any]:
    """Run `worker_fn(i)` for i < n_workers: in this process for one worker, else as joblib loky processes (on a
    GPU machine each sees only its GPU: `resources.trials_per_gpu` workers share one)."""
    if n_workers <= 1:
        return [worker_fn(0)]
    if study is not None and study.resources.device in ("auto", "cuda"):
        gpus = visible_gpus()
        if gpus:
            worker_fn = worker_fn.on_gpus(gpu_slots(n_workers, gpus, study.resources.trials_per_gpu))

    if threading.current_thread() is threading.main_thread():
        return _pool_started_without_interrupts(worker_fn, n_workers)
    return _pool(worker_fn, n_workers)


def _pool(worker_fn: Callable[[int], Any], n_workers: int) -> list[Any]:
    try:
        tasks = (delayed(_pool_task)(worker_fn, i) for i in range(n_workers))
        return list(Parallel(n_jobs=n_workers, backend="loky")(tasks))
    finally:
        # idle loky workers otherwise keep the main process waiting ~5 s in loky's exit hook (issue 13)
        executor = reusable_executor._executor
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


def _pool_task(worker_fn: Callable[[int], Any], index: int) -> Any:
    """One worker in a pool process. An interrupted worker (its claim already marked) returns None instead of
    raising: an exception would make joblib kill the other workers while they still mark their own claims."""
    # tqdm's default lock is a multiprocessing semaphore, made by the first bar (data preparation in a worker);
    # the pool ends its processes with kill_workers=True, so the main process's resource tracker would warn
    # "leaked semaphore objects" at exit. A pool process shares no bar with another process: a thread lock does.
    tqdm.set_lock(threading.RLock())
    try:
        return worker_fn(index)
    except KeyboardInterrupt:
        return None


_STOP_SIGNALS = ("SIGINT", "SIGTERM")
_GRACE_S = 5.0  # how long interrupted workers get to stop by themselves before they are sent SIGTERM


def _pool_started_without_interrupts(worker_fn: Callable[[int], Any], n_workers: int) -> list[Any]:
    """The loky pool, its worker processes spawned while SIGINT/SIGTERM are ignored (an ignored signal stays
    ignored across exec), so a Ctrl-C that reaches a worker while its interpreter is still importing is not a
    KeyboardInterrupt traceback; run_worker re-installs the handlers before it claims anything.

    The pool is driven from a helper thread, so this (main) thread keeps receiving signals once the workers
    exist (like storage set-up, the few milliseconds of spawning are not interruptible). On a signal the
    workers get a grace period to stop by themselves (a terminal's Ctrl-C reached them too), are then sent
    SIGTERM (a scheduler signalled this process alone), and the interrupt is re-raised.
    """
    stops = [getattr(signal, name) for name in _STOP_SIGNALS]
    box: dict[str, Any] = {}

    def drive() -> None:
        try:
            box["out"] = _pool(worker_fn, n_workers)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            box["err"] = err

    thread = threading.Thread(target=drive, name="avtca-pool", daemon=True)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stops}
    try:
        thread.start()
        deadline = time.time() + 30
        while thread.is_alive() and len(_pool_pids()) < n_workers and time.time() < deadline:
            time.sleep(0.01)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        while thread.is_alive():
            thread.join(0.2)
            interrupts.stop_if_interrupted()  # a Ctrl-C whose KeyboardInterrupt was lost (ablations.interrupts)
    except KeyboardInterrupt:
        thread.join(timeout=_GRACE_S)
        deadline = time.time() + 60
        while thread.is_alive() and time.time() < deadline:
            _stop_pool_workers(signal.SIGTERM)  # a worker still importing ignores it; sent again until it listens
            thread.join(timeout=1.0)
        raise
    if "err" in box:
        raise box["err"]
    return box["out"]


def _pool_pids() -> list[int]:
    """Process ids of the reusable loky executor's workers ([] when there is none)."""
    try:
        executor = reusable_executor._executor
        return list(getattr(executor, "_processes", None) or {}) if executor is not None else []
    except Exception:  # noqa: BLE001 - joblib internals changed: no pids, the caller's timeouts still hold
        return []


def _stop_pool_workers(sig: int) -> None:
    """Send `sig` to the pool's worker processes (each marks its claim FAILED and stops)."""
    for pid in _pool_pids():
        try:
            os.kill(pid, sig)
        except OSError:
            pass


LAUNCHERS.register(
    Launcher("local", run_local, "this machine: in this process, or a loky process pool (--n-jobs)", packing_problems)
)
