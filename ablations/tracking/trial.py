"""The MLflow runs of one Optuna trial, best effort: a lost tracking server must not lose a finished training."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from ablations.masking import mask
from ablations.tracking import Tracker
from ablations.tracking.record import ERROR, KILLED, OPTUNA_STATE, RunHeader

MAX_ERRORS = 2  # after two failures stop trying: each call to a dead server can block on retries


class TrialRuns:
    """The MLflow runs of one trial (its run, plus one per fold when it spans folds) as a context manager.

    Inside, `start` opens runs and `call` logs to them; a failing call is recorded in `errors`, never raised.
    On exit every run is tagged with the trial's outcome (`optuna.state`) and ended with the matching status:
    FINISHED/COMPLETE after `finished()`, KILLED/PRUNED for the `pruned` exceptions, KILLED/INTERRUPTED on
    Ctrl-C, FAILED/FAIL (plus an `error` tag) for any other exception. A finished trial whose logging failed
    ends KILLED: its runs have gaps, which --resync-tracking rebuilds from the Optuna storage.
    """

    def __init__(self, tracker: Tracker, pruned: tuple[type[BaseException], ...] = ()):
        self.tracker = tracker
        self.pruned = pruned
        self.run_ids: list[str] = []
        self.errors: list[str] = []
        self.status, self.state = "FAILED", "FAIL"

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """`fn(*args, **kw)`; None when tracking is off, has already failed twice, or fails now (recorded)."""
        if self.tracker is None or len(self.errors) >= MAX_ERRORS:
            return None
        try:
            return fn(*args, **kw)
        except Exception as err:  # noqa: BLE001 - any client/server error is recorded and reported
            self.errors.append(mask(f"{what}: {type(err).__name__}: {err}")[:300])
            return None

    def start(self, parent_id: str, header: RunHeader) -> str | None:
        """A child run of `parent_id`, ended on exit; None when tracking is off or failed."""
        if self.tracker is None:
            return None
        run = self.call("start run", self.tracker.start_run, parent_id, header.name, header.tags, header.params)
        if run:
            self.run_ids.append(run)
        return run

    def finished(self) -> None:
        """The trial completed: its runs end FINISHED (KILLED when logging failed on the way)."""
        self.status, self.state = "FINISHED", "COMPLETE"

    def __enter__(self) -> TrialRuns:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, self.pruned):
            self.status, self.state = "KILLED", "PRUNED"
        elif exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.status, self.state = "KILLED", "INTERRUPTED"
        elif exc_type is not None and issubclass(exc_type, Exception):
            for run in self.run_ids:
                self.call("tag", self.tracker.set_tags, run, {ERROR: f"{exc_type.__name__}: {exc}"[:500]})
        tags = {OPTUNA_STATE: self.state}
        if self.errors and self.status == "FINISHED":  # the runs have gaps: resync rebuilds them
            self.status, tags[KILLED] = "KILLED", "tracking failed mid-trial; see --resync-tracking"
        for run in self.run_ids:
            self.call("tag", self.tracker.set_tags, run, tags)
        for run in reversed(self.run_ids):
            self.call("end run", self.tracker.end, run, self.status)
