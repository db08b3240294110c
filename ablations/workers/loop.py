"""Workers: each loops claim cell -> run its trials -> complete (ablations.workers.launchers.local starts N of them)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from ablations import interrupts
from ablations.masking import mask
from ablations.storage.claims import ClaimStore, open_claim_store, worker_name
from ablations.storage.optuna import best_trial, open_storage
from ablations.study.cells import Cell
from ablations.study.imports import import_in_worker, module_roots
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker
from ablations.tracking.record import MLFLOW_RUN_ID, TRACKING_ERROR
from ablations.workers.trial import Objective, load_optuna_study
from avtca.training import SILENT, EpochBar, Progress


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, picklable (sent to loky / dask worker processes)."""

    study: StudyConfig
    cells: tuple[Cell, ...]
    parent_run_id: str | None
    n_workers: int = 1
    deadline: float | None = None  # wall-clock time after which no new trial starts
    show_epochs: bool = False  # an epoch bar (only sensible for a single in-process worker)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class WorkerSummary:
    """What one worker did."""

    worker: str
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)  # cells whose stale trials/runs were cleaned up
    timed_out: bool = False


class Heartbeat:
    """Refreshes a claim from a background thread while its cell runs."""

    def __init__(self, claims: ClaimStore, cell_id: str, worker: str, interval_s: float):
        self.claims, self.cell_id, self.worker, self.interval_s = claims, cell_id, worker, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.claims.heartbeat(self.cell_id, self.worker)
            except Exception:  # noqa: BLE001 - a missed beat only risks a takeover after grace_s
                pass

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def runtime_for(study: StudyConfig, index: int, n_workers: int) -> dict[str, Any]:
    """Device and CPU threads of worker `index`: GPUs round-robin, CPU cores shared evenly."""
    device = study.resources.device
    if device == "auto" and torch.cuda.is_available():
        device = f"cuda:{index % torch.cuda.device_count()}"
    elif device == "cuda" and n_workers > 1 and torch.cuda.device_count() > 1:
        device = f"cuda:{index % torch.cuda.device_count()}"
    threads = study.resources.threads_per_job
    if threads is None and n_workers > 1 and study.train.get("threads") is None:
        threads = max(1, (os.cpu_count() or 1) // n_workers)
    out: dict[str, Any] = {"train.device": device}
    if threads is not None:
        out["train.threads"] = threads
        torch.set_num_threads(threads)
    return out


def run_cell(
    spec: WorkerSpec,
    cell: Cell,
    storage: Any,
    tracker: Tracker,
    runtime: dict,
    summary: WorkerSummary,
    progress: Progress,
) -> int | None:
    """Run the cell's remaining trials (after cleaning up trials/runs left RUNNING by a dead worker)."""
    study = spec.study
    ostudy = load_optuna_study(study, cell, storage)
    mine = [t for t in ostudy.get_trials(deepcopy=False) if t.user_attrs.get("cell_id") == cell.cell_id]
    stale = [t for t in mine if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for t in stale:
        ostudy.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
    states = {
        t.user_attrs[MLFLOW_RUN_ID]: ("FAIL" if t in stale else t.state.name)
        for t in mine
        if MLFLOW_RUN_ID in t.user_attrs
    }
    if tracker is not None:
        changed = _safe(lambda: tracker.reconcile(cell.cell_id, states)) or []
        if stale or changed:
            summary.recovered.append(cell.cell_id)
    done = [t for t in mine if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    while len(done) < study.budget.trials_per_cell:
        if spec.deadline is not None and time.time() > spec.deadline:
            summary.timed_out = True
            return None
        ostudy = load_optuna_study(study, cell, storage, n_done=len(done))
        trial = ostudy.ask()
        trial.set_user_attr("cell_id", cell.cell_id)
        objective = Objective(study, cell, tracker, spec.parent_run_id, runtime, progress, spec.tags)
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            frozen = ostudy.tell(trial, state=TrialState.PRUNED)
        except BaseException:
            ostudy.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            raise
        else:
            frozen = ostudy.tell(trial, value)
        done.append(frozen)
        if TRACKING_ERROR in (frozen.user_attrs or {}) or objective.tracking_errors:
            print(
                f"warning: MLflow logging failed for trial {frozen.number} ({cell.describe()}); its result is "
                f"kept in the Optuna storage (user attr tracking_error): {objective.tracking_errors[:1]}. Once the "
                f"tracking server is back, run the same command with --resync-tracking to log it to MLflow"
            )
    return _best_number(study, done)


def _best_number(study: StudyConfig, trials: list[Any]) -> int | None:
    best = best_trial(trials, study.objective.direction)
    if best is None:
        return trials[-1].number if trials else None
    return best.number


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - cleanup of tracking state is best effort
        return None


def run_worker(spec: WorkerSpec, index: int = 0) -> WorkerSummary:
    """One worker: claim each unfinished cell in order, run it, mark it complete or failed."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the bars and the summary say what happened
    study = spec.study
    worker = worker_name(index)
    summary = WorkerSummary(worker)
    runtime = runtime_for(study, index, spec.n_workers)
    storage = open_storage(study.storage_url)
    claims = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    tracker = Tracker(study.tracking, study.name) if spec.parent_run_id else None
    bar = _epoch_bar(study) if spec.show_epochs else None
    interval = max(1.0, study.resources.grace_s / 4)
    _terminate_as_interrupt()  # from here on, every signal ends in a marked claim
    try:
        for cell in spec.cells:
            if spec.deadline is not None and time.time() > spec.deadline:
                summary.timed_out = True
                break
            interrupts.stop_if_interrupted()  # a Ctrl-C whose KeyboardInterrupt was lost (ablations.interrupts)
            if not claims.claim(cell.cell_id, worker):
                continue
            try:
                with Heartbeat(claims, cell.cell_id, worker, interval):
                    if bar is not None:
                        bar.restart(_epochs(study, cell), cell.describe())
                    number = run_cell(spec, cell, storage, tracker, runtime, summary, bar or SILENT)
                if summary.timed_out and number is None:
                    claims.fail(cell.cell_id, worker, "budget.timeout_s reached")
                    break
                claims.complete(cell.cell_id, worker, number)
                summary.completed.append(cell.cell_id)
            except KeyboardInterrupt as stop:
                # wherever Ctrl-C lands, the claim must not stay RUNNING (complete() already written wins)
                with _signals_ignored():  # a second signal must not cut the marking short
                    fail_claim(claims, cell.cell_id, worker, str(stop) or "interrupted (Ctrl-C or SIGTERM)")
                raise
            except Exception as err:  # noqa: BLE001 - one bad cell must not stop the study
                reason = mask(f"{type(err).__name__}: {err}")
                fail_claim(claims, cell.cell_id, worker, reason)
                summary.failed[cell.cell_id] = reason
                print(f"\ncell {cell.describe()} failed: {reason}\n{traceback.format_exc(limit=6)}")
    finally:
        if bar is not None:
            bar.close()
    return summary


def fail_claim(claims: ClaimStore, cell_id: str, worker: str, reason: str) -> None:
    """Mark the claim FAILED; when that cannot be written (disk full), drop it: a removal needs no space.

    Either way the cell is free for the next run, and its finished trials in the Optuna storage are kept.
    """
    try:
        claims.fail(cell_id, worker, reason)
    except OSError:
        release = getattr(claims, "release", None)
        if release is not None:
            release(cell_id)


@contextlib.contextmanager
def _signals_ignored():
    """Ignore SIGINT/SIGTERM inside the block (main thread only; elsewhere a no-op), then restore the handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _terminate_as_interrupt() -> None:
    """In a worker process (loky, dask), SIGTERM ends the cell like Ctrl-C: its claim is marked, not left RUNNING.

    A SIGINT ignored while the worker process started (see _pool_started_without_interrupts) is handled again.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupts.interrupt)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # inherited from the spawning parent
            signal.signal(signal.SIGINT, interrupts.interrupt)


def _epochs(study: StudyConfig, cell: Cell) -> int:
    epochs = cell.overrides.get("train.epochs") or study.train.get("epochs") or 0
    return int(epochs) * len(cell.folds) * study.budget.trials_per_cell


def _epoch_bar(study: StudyConfig) -> EpochBar:
    # one bar across the worker's cells, restarted per cell (the single in-process worker only)
    return EpochBar(0, study.objective.metric, position=1, dynamic_ncols=True, disable=False)


class Preempted(KeyboardInterrupt):
    """The scheduler warned the worker (SLURM: time limit or pre-emption): it marks its cell like a Ctrl-C."""


def raise_preempted(signum: int, frame: Any) -> None:
    """Signal handler: the signal becomes Preempted in the main thread."""
    raise Preempted(f"pre-empted or at its time limit (signal {signal.Signals(signum).name}); released to requeue")


@dataclass(frozen=True)
class Worker:
    """A picklable `index -> WorkerSummary` callable for any launcher (loky, Dask, SLURM pickle it).

    In its process it first pins its GPU, then imports the study's user modules (`imports:`), and only then
    unpickles the spec: what the modules register (components, datasets) exists before any config is read.
    """

    payload: bytes  # the pickled WorkerSpec
    imports: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()  # where the imported modules were found (put on the worker's sys.path)
    gpus: tuple[str | None, ...] = ()  # CUDA_VISIBLE_DEVICES of worker i: gpus[i]; () = leave it alone
    offset: int = 0  # index of this launcher's first worker among all workers (SLURM: task x workers per task)
    preempt_signal: str = ""  # e.g. "USR2" (SLURM's warning): raised as Preempted, so the cell is marked

    def __call__(self, index: int) -> WorkerSummary:
        if self.preempt_signal and threading.current_thread() is threading.main_thread():
            signal.signal(getattr(signal, f"SIG{self.preempt_signal}"), raise_preempted)
        if self.gpus and self.gpus[index % len(self.gpus)] is not None:
            # before torch initialises CUDA in this process: the worker sees only its GPU, as cuda:0
            os.environ["CUDA_VISIBLE_DEVICES"] = str(self.gpus[index % len(self.gpus)])
        import_in_worker(self.imports, self.folders)
        return run_worker(self.spec, self.offset + index)

    @property
    def spec(self) -> WorkerSpec:
        """The worker spec (unpickled: import the user modules first)."""
        return pickle.loads(self.payload)

    def on_gpus(self, slots: list[str | None], offset: int = 0) -> Worker:
        """The same worker, worker i pinned to `slots[i]` (see ablations.workers.gpus.gpu_slots)."""
        return dataclasses.replace(self, gpus=tuple(slots), offset=offset)

    def replace(self, **changes: Any) -> Worker:
        """A copy with `changes` (dataclasses.replace)."""
        return dataclasses.replace(self, **changes)


def worker_fn(spec: WorkerSpec) -> Worker:
    """A picklable `index -> WorkerSummary` callable for any launcher."""
    imports = tuple(spec.study.imports)
    return Worker(pickle.dumps(spec), imports, tuple(module_roots(imports)))
