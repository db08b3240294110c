"""Prediction over a loader, task metrics, and the robustness conditions (a modality off or noisy)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from avtca.metrics import compute_metrics
from avtca.training.runtime import Precision, autocast

# (batch, device) -> (audio, video, target); avtca.data.to_device by default
Unpack = Callable[[object, torch.device], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def default_unpack(batch: object, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Move a collated dataset batch to `device` with avtca.data.to_device (uint8 video -> float [0, 1])."""
    from avtca.data import to_device

    return to_device(batch, device)


@dataclass(frozen=True)
class Condition:
    """One robustness condition: `modality` zeroed (`off`) or with Gaussian noise of std level x input std."""

    modality: str  # audio | video
    kind: str  # off | noise
    level: float = 0.0

    @property
    def name(self) -> str:
        """Metric-key name: audio_off, video_noise_0.5, ..."""
        return f"{self.modality}_off" if self.kind == "off" else f"{self.modality}_noise_{float(self.level)}"

    def apply(
        self, audio: torch.Tensor, video: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (audio, video) with this condition applied to one of them."""
        if self.modality == "audio":
            return self._perturb(audio, generator), video
        return audio, self._perturb(video, generator)

    def _perturb(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.kind == "off":
            return torch.zeros_like(x)
        # per-sample std so the noise does not depend on which samples share a batch: (B,) -> (B, 1, ...)
        std = x.flatten(1).float().std(dim=1).view(-1, *([1] * (x.dim() - 1)))
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=torch.float32)
        return (x.float() + self.level * std * noise).to(x.dtype)


def robustness_conditions(modality_off: Iterable[str], noise_levels: Iterable[float]) -> list[Condition]:
    """Conditions of an EvalConfig, in report order: each modality off, then each noise level per modality."""
    conds = [Condition(m, "off") for m in modality_off]
    conds += [Condition(m, "noise", float(lvl)) for lvl in noise_levels for m in ("audio", "video")]
    return conds


@dataclass
class Evaluation:
    """Metrics of one pass over a loader plus the raw targets and model outputs (CPU numpy)."""

    metrics: dict[str, float]
    targets: np.ndarray
    outputs: np.ndarray
    extra: dict = field(default_factory=dict)


def _device_of(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def task_outputs(task: str, out: torch.Tensor) -> torch.Tensor:
    """Model output in the form the loss and metrics use: regression (B, 1) -> (B,), others unchanged."""
    return out.reshape(-1) if task == "regression" else out


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable,
    task: str,
    *,
    device: torch.device | None = None,
    precision: Precision | None = None,
    unpack: Unpack | None = None,
    loss_fn: LossFn | None = None,
    condition: Condition | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Run `model` in eval mode over `loader`: (targets, outputs, mean loss or None); one host sync at the end."""
    device = device or _device_of(model)
    precision = precision or Precision(None, False)
    unpack = unpack or default_unpack
    generator = None
    if condition is not None and condition.kind == "noise":
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
    model.eval()
    outs, targets = [], []
    loss_sum = torch.zeros((), device=device)
    for batch in loader:
        audio, video, target = unpack(batch, device)
        if condition is not None:
            audio, video = condition.apply(audio, video, generator)
        with autocast(device, precision):
            out = task_outputs(task, model(audio, video)).float()
        if loss_fn is not None:
            loss_sum += loss_fn(out, target) * target.shape[0]
        outs.append(out)
        targets.append(target)
    if not outs:
        raise ValueError("evaluate: the loader yielded no batches (empty split?)")
    outputs = torch.cat(outs).cpu().numpy()
    y_true = torch.cat(targets).cpu().numpy()
    mean_loss = float(loss_sum.item()) / len(y_true) if loss_fn is not None else None
    return y_true, outputs, mean_loss


def evaluate(
    model: nn.Module,
    loader: Iterable,
    task: str,
    *,
    prefix: str = "",
    device: torch.device | None = None,
    precision: Precision | None = None,
    unpack: Unpack | None = None,
    loss_fn: LossFn | None = None,
    condition: Condition | None = None,
    seed: int = 0,
) -> Evaluation:
    """Task metrics of `model` on `loader`, keys prefixed (e.g. `val/accuracy`); includes `loss` if loss_fn."""
    y_true, outputs, loss = predict(
        model,
        loader,
        task,
        device=device,
        precision=precision,
        unpack=unpack,
        loss_fn=loss_fn,
        condition=condition,
        seed=seed,
    )
    metrics = compute_metrics(task, y_true, outputs)
    if loss is not None:
        metrics = {"loss": loss, **metrics}
    return Evaluation({prefix + k: v for k, v in metrics.items()}, y_true, outputs)


def evaluate_robustness(
    model: nn.Module, loader: Iterable, task: str, conditions: Sequence[Condition], **kwargs
) -> dict[str, float]:
    """Metrics under each condition, keyed `<split>_robust/<condition>/<metric>` (see robustness_evaluations)."""
    out: dict[str, float] = {}
    for evaluation in robustness_evaluations(model, loader, task, conditions, **kwargs).values():
        out.update(evaluation.metrics)
    return out


def robustness_evaluations(
    model: nn.Module,
    loader: Iterable,
    task: str,
    conditions: Sequence[Condition],
    *,
    split: str = "test",
    seed: int = 0,
    **kwargs,
) -> dict[str, Evaluation]:
    """One Evaluation per condition (name -> metrics keyed `<split>_robust/<condition>/...`, targets, outputs)."""
    out: dict[str, Evaluation] = {}
    for cond in conditions:
        # the noise seed depends on the condition's name, not on its position in the list
        cond_seed = seed + zlib.crc32(cond.name.encode())
        prefix = f"{split}_robust/{cond.name}/"
        out[cond.name] = evaluate(model, loader, task, condition=cond, seed=cond_seed, prefix=prefix, **kwargs)
    return out


PREDICTION_COLUMNS = ("condition", "clip", "actor", "target", "prediction")


def _joined(row: np.ndarray) -> str:
    return ";".join(f"{float(v):g}" for v in np.ravel(row))


def prediction_frame(condition: str, evaluation: Evaluation, clips: Sequence[str], actors: Sequence[str],
                     task: str) -> pd.DataFrame:  # fmt: skip
    """Per-clip rows `condition, clip, actor, target, prediction` of one pass (docs/ARCHITECTURE.md, predictions).

    classification: integer class indices (argmax of the logits); regression: floats; multilabel: the
    targets' intensities and the predicted labels (logit > 0) as ';'-joined strings.
    """
    targets, outputs = evaluation.targets, evaluation.outputs
    if len(clips) != len(targets) or len(actors) != len(targets):
        raise ValueError(f"prediction_frame: {len(targets)} predictions for {len(clips)} clips / {len(actors)} actors")
    if task == "classification":
        target = np.asarray(targets).astype(np.int64)
        prediction = np.asarray(outputs).argmax(axis=1).astype(np.int64)
    elif task == "regression":
        target = np.asarray(targets, dtype=np.float64).reshape(-1)
        prediction = np.asarray(outputs, dtype=np.float64).reshape(-1)
    else:
        target = [_joined(t) for t in np.asarray(targets)]
        prediction = [_joined((np.asarray(o) > 0).astype(int)) for o in np.asarray(outputs)]
    return pd.DataFrame({
        "condition": condition, "clip": [str(c) for c in clips], "actor": [str(a) for a in actors],
        "target": target, "prediction": prediction,
    }, columns=list(PREDICTION_COLUMNS))  # fmt: skip
