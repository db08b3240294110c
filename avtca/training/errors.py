"""Signals raised by the training loop."""

from __future__ import annotations


class Pruned(Exception):
    """Raised by a `report` callback to stop a run early (the study layer maps it to optuna.TrialPruned).

    When it propagates out of `fit`/`train`, `epoch` and `history` hold the epoch it was raised after
    and the per-epoch metrics up to it, so the caller can still log the partial curve.
    """

    def __init__(self, message: str = "pruned", epoch: int | None = None, history: list | None = None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite; carries the 1-based epoch and 0-based step where it first did."""

    def __init__(self, epoch: int, step: int, lr: float | None = None, bad_params: list[str] | None = None):
        self.epoch, self.step, self.lr = epoch, step, lr
        self.bad_params = bad_params or []
        hint = f" at lr {lr:g}" if lr is not None else ""
        cause = ""
        if self.bad_params:
            names = ", ".join(self.bad_params[:3]) + (" ..." if len(self.bad_params) > 3 else "")
            cause = (
                f"; {len(self.bad_params)} parameter(s) are already non-finite ({names}): an earlier update "
                "had non-finite gradients"
            )
        super().__init__(
            f"training loss is NaN/inf at epoch {epoch}, step {step}{hint}{cause}. Lower train.lr, enable "
            "train.clip (kind: norm) or set train.amp=off; check the inputs for NaN"
        )
