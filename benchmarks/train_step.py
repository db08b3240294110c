"""Training-step throughput (clips/s, forward + backward + optimizer step): the released code's way vs ours.

Baseline = how the released AVT-CA code trains: fp32, eager, batch 8, SGD (for-each, not fused), contiguous
(NCHW) tensors. Each candidate adds torch features, named by `+`-joined knobs:
  amp      autocast to bf16 (fp16 + GradScaler on GPUs without bf16)
  cl       channels_last weights (the video encoder's 4-D convolutions)
  fused    fused optimizer kernel (torch.optim.SGD(fused=True))
  compile  torch.compile of the model
  bsN      batch N with the learning rate scaled linearly (lr x N/8)
Inputs are random tensors already on the device, so this measures the step, not the data pipeline
(see benchmarks.data_pipeline for that).

    python -m benchmarks.train_step                      # CPU defaults: 4 frames of 64x64, a few minutes
    python -m benchmarks.train_step --device cuda --paper  # 15 x 224 x 224 frames, GPU cases incl. compile
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from benchmarks._common import (
    apply_threads,
    base_parser,
    block,
    command_line,
    emit,
    fmt,
    interleaved,
    pick_device,
    positive,
    ratio,
    table,
)

BASE_BATCH, BASE_LR = 8, 0.06  # the released training script's batch size and SGD learning rate
KNOBS = ("amp", "cl", "fused", "compile")
CPU_CASES = "baseline,amp,cl,fused,bs16,cl+fused+bs16,amp+cl+fused+bs16"
GPU_CASES = "baseline,amp,cl,fused,compile,bs32,amp+cl+fused+bs32,amp+cl+fused+compile+bs32"


@dataclass(frozen=True)
class Case:
    """One way of training: which torch features are on and the batch size."""

    name: str
    amp: bool = False
    channels_last: bool = False
    fused: bool = False
    compile: bool = False
    batch: int = BASE_BATCH

    @property
    def lr(self) -> float:
        """Linearly scaled learning rate (Goyal et al. 2017) for the case's batch."""
        return BASE_LR * self.batch / BASE_BATCH


def parse_case(text: str) -> Case:
    """`baseline` or `+`-joined knobs (`amp+cl+bs32`) -> Case; unknown knobs are a clear error."""
    text = text.strip()
    if text == "baseline":
        return Case("baseline")
    opts: dict = {}
    for knob in text.split("+"):
        if knob.startswith("bs") and knob[2:].isdigit() and int(knob[2:]) > 0:
            opts["batch"] = int(knob[2:])
        elif knob in KNOBS:
            opts[{"cl": "channels_last"}.get(knob, knob)] = True
        else:
            from avtca.config.base import suggest

            raise SystemExit(
                f"error: --cases: '{knob}' in '{text}' is not one of baseline, "
                f"{', '.join(KNOBS)}, bsN{suggest(knob, [*KNOBS, 'baseline'])}"
            )
    return Case(text, **opts)


def amp_dtype(device: torch.device) -> torch.dtype:
    """bf16 where supported (CPU, Ampere+), else fp16."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


class Stepper:
    """A model + optimizer set up as `case` says, and fixed random inputs; `__call__` runs `steps` steps."""

    def __init__(self, preset: str, case: Case, shapes: dict, device: torch.device, steps: int, seed: int = 0):
        from avtca import create_model

        torch.manual_seed(seed)
        overrides = {"video.frames": shapes["frames"], "video.image_size": shapes["image_size"],
                     "audio.n_mfcc": shapes["n_mfcc"]}  # fmt: skip
        model = create_model(preset, **overrides).to(device)
        if case.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model.train()
        self.net = torch.compile(model) if case.compile else model
        # the released code's SGD settings; `fused` picks the single-kernel implementation
        self.opt = torch.optim.SGD(model.parameters(), lr=case.lr, momentum=0.9, dampening=0.9,
                                   weight_decay=1e-3, fused=True if case.fused else None)  # fmt: skip
        self.dtype = amp_dtype(device) if case.amp else None
        self.scaler = torch.amp.GradScaler(device.type) if self.dtype == torch.float16 else None
        self.device, self.steps, self.case = device, steps, case
        b, t, s = case.batch, shapes["frames"], shapes["image_size"]
        gen = torch.Generator().manual_seed(seed)
        self.audio = torch.randn(b, shapes["n_mfcc"], shapes["audio_length"], generator=gen).to(device)  # (B, C, L)
        self.video = torch.rand(b, t, 3, s, s, generator=gen).to(device)  # (B, T, 3, H, W) in [0, 1]
        self.target = torch.randint(0, 8, (b,), generator=gen).to(device)
        self.loss = nn.CrossEntropyLoss()

    def step(self) -> torch.Tensor:
        """One forward + backward + optimizer step; returns the (device) loss."""
        ctx = torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext()
        with ctx:
            out = self.net(self.audio, self.video)
        loss = self.loss(out.float(), self.target)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        return loss.detach()

    def __call__(self) -> dict[str, float]:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            resident = torch.cuda.memory_allocated(self.device)  # every case's weights, inputs, optimizer state
        for _ in range(self.steps):
            loss = self.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{self.case.name}: non-finite loss {loss.item()}")
        out = {"clips": float(self.steps * self.case.batch)}
        if self.device.type == "cuda":
            out["peak_mib"] = (torch.cuda.max_memory_allocated(self.device) - resident) / 2**20
        return out


def measure(preset: str, cases: list[Case], shapes: dict, device: torch.device, args) -> tuple[list[list[str]], str]:
    """Time every case of one preset side by side; rows of the result table (ratio vs the baseline), best case."""
    steppers: dict[str, Callable] = {c.name: Stepper(preset, c, shapes, device, args.steps) for c in cases}
    samples = interleaved(steppers, args.repeats, args.warmup, device, progress=not args.no_progress)
    rate = {n: s.extra_median("clips") / s.median for n, s in samples.items()}
    base = rate.get("baseline")
    best = max(rate, key=rate.get)
    rows = []
    for c in cases:
        s = samples[c.name]
        peak = s.extra_median("peak_mib")
        mark = " **best**" if c.name == best and len(cases) > 1 else ""
        rows.append([preset, c.name + mark, c.batch, fmt(c.lr, 3), fmt(s.median / args.steps, 3),
                     fmt(rate[c.name], 1), ratio(rate[c.name], base), fmt(peak, 0)])  # fmt: skip
    return rows, best


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--presets", default="avtca,avtca-code", help="comma-separated model presets")
    p.add_argument("--cases", default=None, help=f"comma-separated cases; default CPU: {CPU_CASES}; CUDA: {GPU_CASES}")
    p.add_argument("--paper", action="store_true", help="paper size: 15 frames of 224x224, 10 MFCCs x 156")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default 4 on CPU, 15 on CUDA)")
    p.add_argument("--image-size", type=int, default=None, help="frame size (default 64 on CPU, 224 on CUDA)")
    p.add_argument("--audio-length", type=int, default=156, help="MFCC frames (156 = 3.6 s at 22.05 kHz, hop 512)")
    p.add_argument("--n-mfcc", type=int, default=10)
    p.add_argument("--steps", type=int, default=None, help="optimizer steps per timed call (default 2 CPU, 20 CUDA)")
    p.add_argument(
        "--accuracy-epochs",
        type=int,
        default=None,
        help="equal-accuracy check: train baseline and the fastest case this many epochs on synthetic "
        "data (default 0 = skip on CPU, 10 on CUDA)",
    )
    p.add_argument("--accuracy-actors", type=int, default=12, help="synthetic actors of the accuracy check")
    p.add_argument("--workdir", default=None, help="data cache of the accuracy check (default: temp)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    apply_threads(args.threads)
    device = pick_device(args.device)
    gpu = device.type == "cuda"
    if args.paper:
        args.frames, args.image_size = args.frames or 15, args.image_size or 224
    # CPU defaults keep the whole run to a few minutes on 2 cores (a paper-size CPU step takes seconds)
    args.frames = args.frames or (15 if gpu else 4)
    args.image_size = args.image_size or (224 if gpu else 64)
    args.steps = args.steps or (20 if gpu else 2)
    positive(args, "repeats", "frames", "image_size", "steps", "audio_length", "n_mfcc")
    names = [c.strip() for c in (args.cases or (GPU_CASES if gpu else CPU_CASES)).split(",") if c.strip()]
    # the baseline always runs, first; a case named twice runs once
    cases = [Case("baseline")] + [parse_case(n) for n in dict.fromkeys(names) if n != "baseline"]
    if gpu:
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels (all cases)
    shapes = {"frames": args.frames, "image_size": args.image_size, "n_mfcc": args.n_mfcc,
              "audio_length": args.audio_length}  # fmt: skip
    rows, best = [], {}
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    for preset in presets:
        got, best[preset] = measure(preset, cases, shapes, device, args)
        rows += got
    header = ["preset", "case", "batch", "lr", "s/step", "clips/s", "vs baseline", "step peak MiB"]
    notes = [
        f"clip = {args.frames} frames of {args.image_size}x{args.image_size} + {args.n_mfcc} MFCCs x "
        f"{args.audio_length}; {args.steps} steps per timed call; median of {args.repeats} interleaved "
        f"repeats after {args.warmup} warm-up round(s)",
        "baseline = the released code's way: fp32, eager, batch 8, SGD (not fused), NCHW",
        "step peak MiB (CUDA only) = torch.cuda.max_memory_allocated during the steps minus what was resident "
        "before them (activations, gradients, workspace; weights and inputs excluded)",
    ]
    body = table(header, rows)
    epochs = args.accuracy_epochs if args.accuracy_epochs is not None else (10 if gpu else 0)
    if epochs > 0:
        import tempfile

        from benchmarks._accuracy import accuracy_table

        args.accuracy_epochs = epochs
        by_name = {c.name: c for c in cases}
        chosen = [by_name["baseline"]] + ([by_name[best[presets[0]]]] if best[presets[0]] != "baseline" else [])
        with tempfile.TemporaryDirectory(prefix="bench-acc-") as tmp:
            body += "\n\n" + accuracy_table(presets[0], chosen, args, device, amp_dtype(device), args.workdir or tmp)
    command = command_line("benchmarks.train_step", argv)
    emit(block(f"Training step throughput ({device.type})", body, device, notes, command), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
