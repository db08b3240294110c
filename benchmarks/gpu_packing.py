"""GPU packing: trials/hour per GPU with K = 1, 2, 4, 8 worker processes sharing one GPU (resources.trials_per_gpu).

Each worker is its own process, pinned with CUDA_VISIBLE_DEVICES exactly as the launchers pin theirs
(ablations.workers.gpus.gpu_slots). It keeps a few hundred synthetic clips at the paper's input size on the device
(15 frames of 224x224, 10 MFCC x 156 steps) and runs trials: build model `avtca`, a fixed number of SGD steps
(bf16 autocast on CUDA, as train.amp: auto), one evaluation pass. After a warm-up (CUDA context, kernels) the K
workers start together; trials/hour per GPU = the trials of all K / the slowest worker's time. MPS is not started
here: where the cluster runs it, the same command measures it.

    python -m benchmarks.gpu_packing --quick                               # one GPU, under 6 minutes
    python -m benchmarks.gpu_packing --device cpu --tiny --packing 1,2     # seconds on any machine (the test)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from typing import Any

from benchmarks._common import base_parser, block, command_line, emit, fmt, pick_device, positive, ratio, table

PAPER = {"frames": 15, "image_size": 224, "n_mfcc": 10, "length": 156}
TINY = {"frames": 2, "image_size": 32, "n_mfcc": 10, "length": 16}
TINY_MODEL = {"video.frames": 2, "video.image_size": 32, "video.stage_repeats": [1, 1, 1]}


def build_parser():
    """Command-line options."""
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--packing", default="1,2,4,8", help="comma-separated K: worker processes on the one GPU")
    p.add_argument("--clips", type=int, default=256, help="synthetic clips each worker keeps on the device")
    p.add_argument("--batch", type=int, default=8, help="batch size (the released code's)")
    p.add_argument("--steps", type=int, default=40, help="training steps per trial")
    p.add_argument("--trials", type=int, default=3, help="trials each worker runs (timed)")
    p.add_argument("--quick", action="store_true", help="20 steps x 2 trials per worker: under 6 minutes on one GPU")
    p.add_argument("--tiny", action="store_true", help="2 frames of 32x32, 16 clips, 2 steps: seconds on a CPU")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown block."""
    args = build_parser().parse_args(argv)
    if args.quick:
        args.steps, args.trials = 20, 2
    if args.tiny:
        args.clips, args.steps, args.trials, args.batch = 16, 2, 1, 4
    positive(args, "clips", "batch", "steps", "trials")
    device = pick_device(args.device)
    try:
        packing = [int(k) for k in args.packing.split(",") if k.strip()]
    except ValueError:
        raise SystemExit(f"error: --packing: expected comma-separated integers, got '{args.packing}'") from None
    if not packing or min(packing) < 1:
        raise SystemExit(f"error: --packing: each K must be >= 1, got '{args.packing}'")
    from ablations.workers.gpus import gpu_slots, visible_gpus

    gpu = (visible_gpus() or ["0"])[:1] if device.type == "cuda" else []
    size = TINY if args.tiny else PAPER
    cfg = {"device": device.type, "size": size, "model": TINY_MODEL if args.tiny else {}, "clips": args.clips,
           "batch": args.batch, "steps": args.steps, "trials": args.trials, "threads": args.threads or 1}  # fmt: skip
    rows, base = [], None
    for k in packing:
        results = run_packed(cfg, gpu_slots(k, gpu, trials_per_gpu=k))
        wall = max(r["seconds"] for r in results)
        per_hour = k * args.trials * 3600 / wall
        base = base or per_hour
        memory = max(r["peak_gib"] for r in results)
        rows.append([k, k * args.trials, fmt(wall, 1), fmt(per_hour, 0), ratio(per_hour, base),
                     fmt(memory, 2) if device.type == "cuda" else "-"])  # fmt: skip
        if not args.no_progress:
            print(f"K={k}: {per_hour:.0f} trials/hour per GPU", file=sys.stderr, flush=True)
    body = table(["K (workers per GPU)", "trials", "wall s", "trials/hour per GPU", "vs K=1", "peak GiB per worker"],
                 rows)  # fmt: skip
    inputs = f"{size['frames']} frames of {size['image_size']}x{size['image_size']}, {size['n_mfcc']} MFCC x " \
             f"{size['length']}"  # fmt: skip
    notes = [
        f"model avtca, {inputs}, {args.clips} synthetic clips per worker on the device, batch {args.batch}, "
        f"{args.steps} SGD steps + one evaluation pass per trial, {args.trials} timed trial(s) per worker",
        "each worker a process pinned with CUDA_VISIBLE_DEVICES (ablations.workers.gpus.gpu_slots); MPS not started",
    ]
    command = command_line("benchmarks.gpu_packing", argv)
    emit(block("GPU packing: trials per hour per GPU", body, device, notes, command), args.out)
    return 0


def run_packed(cfg: dict[str, Any], slots: list[str | None]) -> list[dict[str, float]]:
    """K worker processes (one per slot), warmed up, then timed together; each one's seconds and peak memory."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(slots)), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(cfg, slot, barrier, results), daemon=True) for slot in slots]
    for p in procs:
        p.start()
    out = []
    try:
        for _ in procs:
            item = results.get(timeout=900)
            if "error" in item:
                raise SystemExit(f"error: a worker failed: {item['error']}")
            out.append(item)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return out


def _worker(cfg: dict[str, Any], gpu: str | None, barrier: Any, results: Any) -> None:
    """One packed worker: clips on its device, a warm-up trial, then the timed trials after the common start."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before torch touches CUDA in this fresh process
    try:
        import torch

        torch.set_num_threads(cfg["threads"])
        device = torch.device("cuda" if cfg["device"] == "cuda" else "cpu")
        data = _clips(cfg, device)
        _trial(cfg, data, device, steps=1)  # CUDA context, cuDNN autotuning, allocator: not timed
        _sync(device)
        barrier.wait(timeout=900)
        start = time.perf_counter()
        for _ in range(cfg["trials"]):
            _trial(cfg, data, device, cfg["steps"])
        _sync(device)
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
        results.put({"seconds": seconds, "peak_gib": peak})
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        barrier.abort()
        results.put({"error": f"{type(err).__name__}: {err}"})


def _clips(cfg: dict[str, Any], device: Any) -> tuple[Any, Any, Any]:
    """(video uint8 (N, T, 3, H, W), audio (N, C, L), labels (N,)) on the device."""
    import torch

    n, s = cfg["clips"], cfg["size"]
    gen = torch.Generator().manual_seed(0)
    video = torch.randint(0, 256, (n, s["frames"], 3, s["image_size"], s["image_size"]), dtype=torch.uint8,
                          generator=gen)  # fmt: skip
    audio = torch.randn(n, s["n_mfcc"], s["length"], generator=gen)
    labels = torch.randint(0, 8, (n,), generator=gen)
    return video.to(device), audio.to(device), labels.to(device)


def _trial(cfg: dict[str, Any], data: tuple[Any, Any, Any], device: Any, steps: int) -> None:
    """Build the model, train `steps` steps, evaluate a few batches: what one trial costs besides data loading."""
    import torch
    import torch.nn.functional as F

    from avtca.models import create_model

    video, audio, labels = data
    model = create_model("avtca", **cfg["model"]).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    on_gpu = device.type == "cuda"

    def amp() -> Any:  # bf16 on CUDA, as train.amp: auto; nothing on CPU
        return torch.autocast("cuda", dtype=torch.bfloat16) if on_gpu else torch.autocast("cpu", enabled=False)

    batch = cfg["batch"]
    for _ in range(steps):
        idx = torch.randint(0, len(labels), (batch,), device=device)
        with amp():
            loss = F.cross_entropy(model(audio[idx], video[idx].float().div_(255)), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad(), amp():
        for i in range(0, min(len(labels), 4 * batch), batch):
            model(audio[i : i + batch], video[i : i + batch].float().div_(255))


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    sys.exit(main())
