"""What a trained model costs: FLOPs per clip, inference latency per clip on its device, training time per epoch.

Measured where the run happens, on the run's own model, device and precision, so a report can put accuracy
beside cost (docs/training.md, "Cost"). FLOPs are torch's own count (`torch.utils.flop_counter.FlopCounterMode`):
matrix products, convolutions and attention, 2 per multiply-add; element-wise operations (activations,
normalisation, gates) are not counted, so the figure is a lower bound that ranks variants by their heavy layers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import default_collate
from torch.utils.flop_counter import FlopCounterMode

from avtca.training.evaluate import Unpack, default_unpack
from avtca.training.runtime import Precision, autocast

WARMUP, TIMED = 3, 10  # forwards before timing (allocator, kernel selection, compiled graphs) and timed ones
BUDGET_S = 0.5  # stop timing after this long (a slow model still gets >= 3 timed forwards): cheap on a CPU


@dataclass(frozen=True)
class Cost:
    """One run's cost figures (None where they could not be measured: no clip to run)."""

    flops_per_clip: int | None
    latency_ms_per_clip: float | None
    seconds_per_epoch: float | None


def one_clip(dataset: Any, device: torch.device, unpack: Unpack | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first clip of `dataset` as a batch of one (audio, video) on `device`."""
    audio, video, _ = (unpack or default_unpack)(default_collate([dataset[0]]), device)
    return audio, video


def flops_per_clip(model: nn.Module, audio: torch.Tensor, video: torch.Tensor) -> int:
    """FLOPs of one forward pass on one clip (eval mode, no gradients), as FlopCounterMode counts them."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(audio, video)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # kernels run asynchronously: time them, not their launch
    elif device.type == "mps":
        torch.mps.synchronize()


def latency_ms_per_clip(
    net: nn.Module, audio: torch.Tensor, video: torch.Tensor, device: torch.device, precision: Precision
) -> float:
    """Median wall time (ms) of a batch-of-one forward pass at the run's precision, after WARMUP untimed ones."""
    was_training = net.training
    net.eval()
    times: list[float] = []
    spent = 0.0
    try:
        with torch.no_grad():
            for i in range(WARMUP + TIMED):
                _sync(device)
                start = time.perf_counter()
                with autocast(device, precision):
                    net(audio, video)
                _sync(device)
                elapsed = time.perf_counter() - start
                if i >= WARMUP:
                    times.append(elapsed)
                    spent += elapsed
                    if spent > BUDGET_S and len(times) >= 3:
                        break
    finally:
        net.train(was_training)
    return 1000.0 * statistics.median(times)


def seconds_per_epoch(history: Sequence[dict[str, Any]]) -> float | None:
    """Mean wall time of an epoch (training pass and validation: the history's `train/seconds`)."""
    values = [float(h["train/seconds"]) for h in history if "train/seconds" in h]
    return statistics.fmean(values) if values else None


def measure(
    model: nn.Module,
    net: nn.Module,
    dataset: Any,
    device: torch.device,
    precision: Precision,
    history: Sequence[dict[str, Any]],
) -> Cost:
    """The cost of a trained run: FLOPs on the eager `model`, latency on `net` (what evaluation ran), per epoch."""
    per_epoch = seconds_per_epoch(history)
    if dataset is None or not len(dataset):
        return Cost(None, None, per_epoch)
    audio, video = one_clip(dataset, device)
    latency = latency_ms_per_clip(net, audio, video, device, precision)
    return Cost(flops_per_clip(model, audio, video), latency, per_epoch)
