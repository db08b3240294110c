"""What the terminal shows while a study runs: cells done, one line per running cell, an ETA, data preparation.

Workers may be other processes (loky, dask), so everything is read by polling the shared stores: the claim store
(which cells are done) and the Optuna storage (each running trial's last reported epoch and validation value).
In a terminal the lines are redrawn in place; otherwise (a log file, CI) a plain line is printed now and then.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from optuna.trial import TrialState
from tqdm import tqdm

from ablations.storage.claims import open_claim_store
from ablations.storage.optuna import cell_trials, open_storage
from ablations.study.cells import Cell, resolve
from ablations.study.schema import StudyConfig
from avtca.data.cache import cache_dir


@dataclass
class Snapshot:
    """One poll of the stores."""

    complete: int
    failed: int
    running: list[str]  # one description per running cell
    preparing: list[str]  # data caches being prepared


def duration(seconds: float) -> str:
    """`1h02m`, `4m10s`, `35s`."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def cell_epochs(study: StudyConfig, cell: Cell) -> int | None:
    """Epochs one fold of the cell trains (None when the study does not say)."""
    epochs = study.budget.epochs or cell.overrides.get("train.epochs") or study.train.get("epochs")
    return int(epochs) if epochs else None


def running_line(study: StudyConfig, cell: Cell | None, attrs: dict[str, Any], steps: dict[int, float]) -> str:
    """`full s0 f0: epoch 3/8, val/accuracy 0.412` for a running trial (epochs as the training numbers them)."""
    if cell is not None:
        repeat = f" r{cell.repeat}" if cell.repeat else ""
        name = f"{cell.variant} s{cell.seed}{repeat} f{'all' if cell.fold < 0 else cell.fold}"
    else:
        name = f"{attrs.get('variant', '?')} s{attrs.get('seed', '?')} f{attrs.get('fold', '?')}"
    if not steps:
        return f"{name}: starting"
    last = max(steps)
    if cell is not None and cell.fold < 0:  # a trial spanning folds reports once per fold
        return f"{name}: fold {last} done, {study.objective.metric} {steps[last]:.3f}"
    total = cell_epochs(study, cell) if cell is not None else None
    return f"{name}: epoch {last}{f'/{total}' if total else ''}, {study.objective.metric} {steps[last]:.3f}"


class Eta:
    """The remaining time from the cells finished per second since the data was ready: parallel workers are
    accounted for, and a first use's data preparation (one long first cell) is not taken for a cell's time."""

    def __init__(self, n_cells: int):
        self.n_cells = n_cells
        self._complete0: int | None = None
        self._clock = 0.0

    def __call__(self, complete: int, preparing: bool = False, now: float | None = None) -> str:
        """`ETA 4m10s`, `done`, or why there is no estimate yet."""
        now = time.time() if now is None else now
        if complete >= self.n_cells:
            return "done"
        if preparing or self._complete0 is None:  # the clock starts once no data cache is being written
            self._complete0, self._clock = complete, now
            return "ETA once the data is ready" if preparing else "ETA after the first cell"
        done_here = complete - self._complete0
        if done_here <= 0:
            return "ETA after the first cell"
        return f"ETA {duration((self.n_cells - complete) * (now - self._clock) / done_here)}"


class StudyProgress:
    """Polls the stores from a background thread and shows the study's progress on `out` (default stderr)."""

    def __init__(
        self,
        study: StudyConfig,
        cells: list[Cell],
        n_workers: int = 1,
        out: TextIO | None = None,
        interval_s: float | None = None,
        plain_every_s: float = 30.0,
    ):
        self.study, self.cells, self.n_workers = study, cells, max(1, n_workers)
        self.out = out or sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (1.0 if self.tty else 5.0)
        self.plain_every_s = plain_every_s
        self.by_id = {c.cell_id: c for c in cells}
        self.store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
        self.caches = _data_caches(study, cells)
        self._storage: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._bars: list[Any] = []
        self._start = time.time()
        self._eta = Eta(len(cells))
        self._last_plain = 0.0
        self._last_text = ""

    # -- polling
    def snapshot(self) -> Snapshot:
        """The current state of the study's cells (running cells described from their Optuna trials)."""
        status = {cid: st for cid, st in self.store.status().items() if cid in self.by_id}
        complete = sum(st.state == "COMPLETE" for st in status.values())
        failed = sum(st.state == "FAILED" for st in status.values())
        running_ids = [cid for cid, st in status.items() if st.state == "RUNNING"]
        trials = self._running_trials()
        running = []
        for cid in running_ids:
            cell = self.by_id[cid]
            attrs, steps = trials.get(cid, ({}, {}))
            running.append(running_line(self.study, cell, attrs, steps))
        preparing = [str(p) for p in self.caches if not p.is_dir()] if running_ids else []
        return Snapshot(complete, failed, running, preparing)

    def _running_trials(self) -> dict[str, tuple[dict[str, Any], dict[int, float]]]:
        """cell id -> (user attrs, intermediate values) of its RUNNING trial."""
        try:
            if self._storage is None:
                self._storage = open_storage(self.study.storage_url, create=False)
            running = cell_trials(self._storage, self.study, self.cells, (TrialState.RUNNING,))
            return {t.user_attrs["cell_id"]: (t.user_attrs, dict(t.intermediate_values)) for t in running}
        except Exception:  # noqa: BLE001 - a failed poll (no study yet, a half-written journal) delays a line
            return {}

    def lines(self, snap: Snapshot) -> list[str]:
        """The header line, then one line per running cell (and per data cache being prepared)."""
        head = (
            f"{self.study.name}: {snap.complete}/{len(self.cells)} cells done, {len(snap.running)} running"
            f"{f', {snap.failed} failed' if snap.failed else ''}, {duration(time.time() - self._start)} "
            f"elapsed, {self._eta(snap.complete, bool(snap.preparing))}"
        )
        body = [f"  preparing the data cache {p} (first use; cells start once it is written)" for p in snap.preparing]
        body += [f"  {line}" for line in snap.running]
        return [head, *body]

    # -- display
    def show(self) -> None:
        """Poll once and show the result."""
        try:
            snap = self.snapshot()
        except Exception:  # noqa: BLE001 - the claim store is briefly unreadable; try at the next poll
            return
        lines = self.lines(snap)
        if self.tty:
            self._draw(lines)
            return
        text = "\n".join(lines)
        changed = text.split(", ", 1)[0] != self._last_text.split(", ", 1)[0]  # a cell finished
        if changed or time.time() - self._last_plain >= self.plain_every_s:
            print(time.strftime("[%H:%M:%S] ") + text, file=self.out, flush=True)
            self._last_plain, self._last_text = time.time(), text

    def _draw(self, lines: list[str]) -> None:
        want = 1 + self.n_workers + len(self.caches)  # fixed number of rows: no jumping
        while len(self._bars) < want:
            self._bars.append(
                tqdm(
                    total=0,
                    bar_format="{desc}",
                    position=len(self._bars),
                    leave=True,
                    file=self.out,
                    dynamic_ncols=True,
                )
            )
        for i, bar in enumerate(self._bars):
            bar.set_description_str(lines[i] if i < len(lines) else "", refresh=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.show()

    def __enter__(self) -> StudyProgress:
        if self.caches and any(not p.is_dir() for p in self.caches):
            kind = "synthetic dataset" if self.study.dataset.root == "synthetic" else "dataset cache"
            print(
                f"preparing the {kind} on first use (cached under {self.caches[0].parent}); the first cells "
                "start once it is written",
                file=self.out,
                flush=True,
            )
        self.show()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.show()
        for bar in self._bars:
            bar.close()


def _data_caches(study: StudyConfig, cells: list[Cell]) -> list[Path]:
    """The data cache directories the cells read (one per distinct data config)."""
    try:
        out: dict[str, Path] = {}
        for c in cells:
            path = cache_dir(resolve(study, c.overrides).data)
            out.setdefault(str(path), path)
        return list(out.values())
    except Exception:  # noqa: BLE001 - the message is a courtesy; the workers report real data errors
        return []
