"""Workers: each loops claim a cell -> run its trials -> complete (loop.py; one trial = trial.py), started by a
launcher: in this process or a loky pool (local.py), on Dask (dask.py).

`LAUNCHERS` names them for `--launcher`; optional launchers import their dependency only when chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ablations.workers.local import run_local


def _dask(worker_fn: Callable[[int], Any], n_workers: int, **kw: Any) -> list[Any]:
    from ablations.workers.dask import run_dask  # dask is optional: imported only when asked for

    return run_dask(worker_fn, n_workers, **kw)


LAUNCHERS: dict[str, Callable[..., list[Any]]] = {"local": run_local, "dask": _dask}
