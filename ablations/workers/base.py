"""The launcher interface: how N workers are started (in this process, a process pool, Dask, ...).

A launcher is one module in `ablations/workers/launchers/` (or the user's own, imported with `imports:`) that
registers a `Launcher` in `LAUNCHERS`; `--launcher NAME` picks it. Its `run(worker_fn, n_workers, **options)` calls
`worker_fn(i)` for i < n_workers wherever it runs them and returns the workers' results in order; `options` are the
run's launcher options (e.g. `scheduler` for Dask), each launcher taking the ones it knows.
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


LAUNCHERS: Registry[Launcher] = Registry("--launcher", order="registration")
