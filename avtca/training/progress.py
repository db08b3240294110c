"""What `train`/`fit` tell about each finished epoch: one type, a callable `progress(epoch, metrics)`.

`None` (the default) is an own tqdm epoch bar, `SILENT` shows nothing (data preparation included), and any
other callable is told after every epoch; `EpochBar` is the tqdm bar itself, reusable across runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from tqdm.auto import tqdm


@runtime_checkable
class Progress(Protocol):
    """Called after every epoch (1-based) with that epoch's metrics (`train/loss`, `val/<metric>`, ...)."""

    def __call__(self, epoch: int, metrics: Mapping[str, float]) -> None: ...


class _Silent:
    """Shows nothing; `train(progress=SILENT)` also prepares its data without progress bars."""

    def __call__(self, epoch: int, metrics: Mapping[str, float]) -> None:
        return None

    def __repr__(self) -> str:
        return "avtca.training.SILENT"


SILENT: Progress = _Silent()


class EpochBar:
    """A tqdm bar advanced once per epoch, showing the training loss and the `monitor` metric."""

    def __init__(self, total: int | None = None, monitor: str | None = None, **tqdm_kw: Any):
        self.monitor = monitor
        kw = {"desc": "epochs", "unit": "epoch", "leave": False, "disable": None, **tqdm_kw}
        self.bar = tqdm(total=total, **kw)

    def __call__(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.bar.update(1)
        shown = {"loss": f"{metrics['train/loss']:.3f}"}
        if self.monitor in metrics:
            shown[self.monitor] = f"{metrics[self.monitor]:.3f}"
        self.bar.set_postfix(shown)

    def restart(self, total: int, desc: str) -> None:
        """Count again from 0 (one bar across the runs of a worker)."""
        self.bar.reset(total=total)
        self.bar.set_description(desc)

    def close(self) -> None:
        """Remove the bar."""
        self.bar.close()


def check_progress(progress: Any) -> Progress | None:
    """`progress` itself when it is None or a callable(epoch, metrics); else a TypeError naming the argument."""
    if progress is None or callable(progress):
        return progress
    raise TypeError(
        f"progress: expected None (an epoch bar), avtca.training.SILENT or a callable(epoch, metrics), "
        f"got {type(progress).__name__} {progress!r}"
    )
