"""Data pipeline: preprocessing with 1 vs N joblib workers, and the cached loader vs what training consumes.

A. `avtca.data.prepare` (decode, crop, resize, MFCC, write the cache) over a synthetic RAVDESS-format
   dataset, clips/s with `n_jobs=1` vs `n_jobs=N`; each repeat writes a fresh cache.
B. The training DataLoader over the prepared cache (`avtca.training.make_loaders`, batches moved to the
   device and converted by `avtca.data.to_device`), clips/s per `num_workers`, against the clips/s one
   training step consumes at the same clip size (benchmarks.train_step's Stepper). Target: loader >= 5x
   training, so the accelerator never waits for data.

    python -m benchmarks.data_pipeline                    # CPU-sized defaults
    python -m benchmarks.data_pipeline --device cuda --frames 15 --image-size 224 --actors 24
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

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
    usable_cores,
)


def data_config(root: str, cache: Path, args, n_jobs: int = 1):
    """The DataConfig of the benchmark (synthetic options apply only when root is `synthetic`)."""
    from avtca.config.base import validate
    from avtca.data.config import DataConfig

    raw = {"name": "ravdess", "root": root, "cache": str(cache), "protocol": "actor6fold", "frames": args.frames,
           "image_size": args.image_size, "crop": {"kind": args.crop}, "n_jobs": n_jobs,
           "synthetic": {"actors": args.actors, "statements": 1, "size": args.video_size}}  # fmt: skip
    return validate(DataConfig, raw, "benchmark data config")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=None, help="N for the parallel preprocessing (default: usable cores)")
    p.add_argument("--loader-workers", default="0,2", help="comma-separated DataLoader num_workers to compare")
    p.add_argument("--actors", type=int, default=12, help="synthetic actors (8 clips each)")
    p.add_argument("--video-size", type=int, default=96, help="synthetic video width = height")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default 4 CPU, 15 CUDA)")
    p.add_argument("--image-size", type=int, default=None, help="prepared frame size (default 64 CPU, 224 CUDA)")
    p.add_argument("--crop", choices=["none", "center", "face"], default="center")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--train-case", default=None, help="training case of benchmarks.train_step to compare with "
                   "(default: amp+cl+fused on CUDA, fused on CPU)")  # fmt: skip
    p.add_argument("--steps", type=int, default=3, help="training steps per timed call")
    p.add_argument("--workdir", default=None, help="where the synthetic data and caches go (default: temp)")
    return p


def preprocessing(root: Path, workdir: Path, args) -> str:
    """Table A: clips/s of the cache preparation with 1 vs N workers."""
    from avtca.data.prepare import ensure_prepared

    serial = iter(range(10**6))

    def case(n: int):
        def run() -> dict:
            cache = workdir / f"prep-{n}-{next(serial)}"
            prepared = ensure_prepared(data_config(str(root), cache, args, n_jobs=n), progress=False)
            shutil.rmtree(cache, ignore_errors=True)
            return {"clips": float(len(prepared.ids))}

        return run

    jobs = args.jobs or usable_cores()
    cases = {"1 worker": case(1), f"{jobs} workers": case(jobs)}
    samples = interleaved(cases, args.repeats, args.warmup, progress=not args.no_progress)
    rate = {n: s.extra_median("clips") / s.median for n, s in samples.items()}
    base = rate["1 worker"]
    rows = [[n, int(s.extra_median("clips")), fmt(s.median, 2), fmt(rate[n], 1), ratio(rate[n], base)]
            for n, s in samples.items()]  # fmt: skip
    return table(["preprocessing", "clips", "seconds", "clips/s", "vs 1 worker"], rows)


def loading(root: Path, workdir: Path, args, device: torch.device) -> str:
    """Table B: loader clips/s per num_workers vs the clips/s a training step consumes."""
    from avtca.data import build_splits, to_device
    from avtca.training import EvalConfig, TrainConfig, make_loaders
    from benchmarks.train_step import Stepper, parse_case

    splits = build_splits(data_config(str(root), workdir / "cache", args), fold=0, seed=0, progress=False)
    loaders = {}
    for w in args.workers:
        tcfg = TrainConfig(batch_size=args.batch, num_workers=w, device=device.type)
        loaders[w] = make_loaders(splits, tcfg, EvalConfig(), device)["train"]

    def load(loader):
        def run() -> dict:
            n = 0
            for batch in loader:
                audio, video, _ = to_device(batch, device)  # uint8 frames -> float [0, 1] on the device
                n += video.shape[0]
            return {"clips": float(n)}

        return run

    default = "amp+cl+fused" if device.type == "cuda" else "fused"
    case = parse_case(args.train_case or default)
    case = dataclasses.replace(case, batch=args.batch)
    audio_len = splits.info.audio_length
    shapes = {"frames": args.frames, "image_size": args.image_size, "n_mfcc": 10, "audio_length": audio_len}
    cases = {f"train step ({case.name})": Stepper("avtca", case, shapes, device, args.steps)}
    cases.update({f"loader num_workers={w}": load(loader) for w, loader in loaders.items()})
    samples = interleaved(cases, args.repeats, args.warmup, device, progress=not args.no_progress)
    rate = {n: s.extra_median("clips") / s.median for n, s in samples.items()}
    train_name = next(iter(cases))
    rows = []
    for name, s in samples.items():
        rel = "1.00x (consumption)" if name == train_name else ratio(rate[name], rate[train_name])
        rows.append([name, int(s.extra_median("clips")), fmt(s.median, 3), fmt(rate[name], 1), rel])
    return table(["stage", "clips per call", "seconds", "clips/s", "vs training"], rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    apply_threads(args.threads)
    device = pick_device(args.device)
    gpu = device.type == "cuda"
    args.frames = args.frames or (15 if gpu else 4)  # CPU: the same clip size as benchmarks.train_step
    args.image_size = args.image_size or (224 if gpu else 64)
    positive(args, "repeats", "jobs", "actors", "video_size", "frames", "image_size", "batch", "steps")
    try:
        args.workers = [int(w) for w in args.loader_workers.split(",") if w.strip()]
    except ValueError:
        raise SystemExit(
            f"error: --loader-workers: expected comma-separated integers, got '{args.loader_workers}'"
        ) from None
    if args.actors < 3:
        raise SystemExit("error: --actors must be >= 3 (actor6fold needs train, val and test actors)")
    with contextlib.ExitStack() as stack:
        workdir = Path(args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-data-")))
        from avtca.data.synthetic import ensure_synthetic

        root = ensure_synthetic(data_config("synthetic", workdir / "cache", args), progress=not args.no_progress)
        part_a = preprocessing(root, workdir, args)
        part_b = loading(root, workdir, args, device)
    body = ("A. preprocessing (`avtca.data.prepare`, joblib workers)\n\n" + part_a
            + "\n\nB. cached loader vs training consumption\n\n" + part_b)  # fmt: skip
    notes = [
        f"data: synthetic RAVDESS-format, {args.actors} actors x 8 clips, {args.video_size}px h264 video; prepared "
        f"to {args.frames} frames of {args.image_size}px ({args.crop} crop) + 10 MFCCs",
        f"loader: batch {args.batch}, one pass over the training split per call, pin_memory on CUDA; "
        f"training: {args.steps} steps per call; {os.cpu_count()} CPUs",
        f"median of {args.repeats} interleaved repeats after {args.warmup} warm-up round(s); target B: loader >= 5x",
    ]
    command = command_line("benchmarks.data_pipeline", argv)
    emit(block("Data pipeline", body, device, notes, command), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
