"""Equal-accuracy check for benchmarks.train_step: a short synthetic training run, baseline vs the fastest case."""

from __future__ import annotations

from typing import Any

import torch

from benchmarks._common import fmt, table

BASE_LR_ADAMW = 0.0015  # the quickstart's AdamW lr (0.003 at batch 16) per 8 clips; scaled with the batch


def train_config(case: Any, epochs: int, device: torch.device, amp_dtype: torch.dtype) -> dict[str, Any]:
    """The `train` section for a case: same recipe and seed, the case's speed knobs."""
    amp = "off"
    if case.amp:
        amp = "fp16" if amp_dtype == torch.float16 else "bf16"
    return {
        "epochs": epochs, "batch_size": case.batch, "lr": BASE_LR_ADAMW * case.batch / 8,
        "optimizer": {"kind": "adamw", "fused": case.fused}, "scheduler": {"kind": "cosine"}, "amp": amp,
        "channels_last": case.channels_last, "compile": case.compile, "device": str(device), "seed": 0,
    }  # fmt: skip


def accuracy_table(preset: str, cases: list[Any], args: Any, device: torch.device, amp_dtype: torch.dtype,
                   workdir: str) -> str:  # fmt: skip
    """Train each case for args.accuracy_epochs on synthetic data; val/test accuracy side by side."""
    from avtca.experiment import resolve_experiment
    from avtca.training import SILENT, train

    data = {"name": "ravdess", "root": "synthetic", "cache": workdir, "protocol": "actor6fold",
            "frames": args.frames, "image_size": args.image_size, "crop": {"kind": "none"},
            "synthetic": {"actors": args.accuracy_actors, "statements": 2}}  # fmt: skip
    rows = []
    for case in cases:
        train_cfg = train_config(case, args.accuracy_epochs, device, amp_dtype)
        no_robustness = {"modality_off": [], "noise_levels": []}
        cfg = resolve_experiment(preset, data=data, train=train_cfg, eval=no_robustness)
        result = train(cfg, progress=SILENT if args.no_progress else None)
        m = result.metrics
        rows.append(
            [
                preset,
                case.name,
                case.batch,
                fmt(cfg.train.lr, 4),
                result.best_epoch,
                fmt(m.get("val/accuracy"), 3),
                fmt(m.get("test/accuracy"), 3),
                fmt(result.seconds, 0),
            ]
        )
    base_val = rows[0][5]
    header = ["preset", "case", "batch", "lr (AdamW)", "best epoch", "val/accuracy", "test/accuracy", "seconds"]
    note = (f"\n\nEqual-accuracy check: {args.accuracy_epochs} epochs on synthetic RAVDESS-format data "
            f"({args.accuracy_actors} actors x 16 clips, actor6fold fold 0), same recipe and seed; the baseline "
            f"reaches val/accuracy {base_val}; `fused` is `train.optimizer.fused`.")  # fmt: skip
    return table(header, rows) + note
