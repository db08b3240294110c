"""The launcher interface: how N workers are started (in this process, a process pool, Dask, a SLURM array).

A launcher is one module in `ablations/workers/launchers/` (or the user's own, imported with `imports:`) that
registers a `Launcher` in `LAUNCHERS`; `--launcher NAME` picks it. Its `run(worker_fn, n_workers, **options)` calls
`worker_fn(i)` for i < n_workers wherever it runs them and returns the workers' results in order; `options` are the
run's launcher options (`study`, `scheduler` for Dask, ...), each launcher taking the ones it knows.

What differs between launchers is said by the entry, never by `if name == ...` elsewhere: `problems` (what it
cannot do with a study, found before anything starts), `dry_run` (what --dry-run adds, e.g. a batch script) and
`submits` (its workers run as a batch job whose last task finishes the study, so the command that submitted it
only follows it: the runner's ablations/runner/slurm.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avtca.registry import Registry


@dataclass(frozen=True)
class Launcher:
    """A way to start a study's workers."""

    name: str
    run: Callable[..., list[Any]]
    help: str  # one line for `--help` and the docs' launcher table
    problems: Callable[[Any, bool], list[str]] = lambda study, submitting: []  # (study, submitting) -> problems
    dry_run: Callable[[Any], str] | None = None  # study -> text --dry-run prints after the cell table
    submits: bool = False  # a batch job: its last task finishes the study, the submitting command follows it


LAUNCHERS: Registry[Launcher] = Registry("--launcher", order="registration")
