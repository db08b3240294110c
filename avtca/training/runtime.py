"""Runtime set-up for a training run: seeding, device choice, mixed precision, torch threads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA); optionally ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic (torch docs, "Reproducibility")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def run_seed(seed: int, fold: int = 0, repeat: int = 0, seeding: str = "per_fold") -> int:
    """The seed of one run: `seed` itself (`shared`), or derived from (seed, repeat, fold) (`per_fold`).

    Derived by hashing, so neighbouring seeds and folds get unrelated streams and the same cell always the same.
    """
    if seeding == "shared":
        return seed
    if seeding != "per_fold":
        raise ValueError(f"train.seeding: '{seeding}' is not one of per_fold, shared")
    digest = hashlib.sha256(f"avtca-run-seed/{seed}/{repeat}/{fold}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: derive NumPy / random seeds from torch's per-worker seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def data_generator(seed: int) -> torch.Generator:
    """A CPU generator that fixes the shuffling order of the training loader."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def resolve_device(name: str) -> torch.device:
    """`auto` -> first CUDA GPU, else MPS, else CPU; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"train.device: '{name}' requested but CUDA is not available (use auto or cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"train.device: '{name}' requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"train.device: '{name}' requested but MPS is not available (use auto or cpu)")
    return device


@dataclass(frozen=True)
class Precision:
    """Resolved mixed-precision setting: autocast dtype (None = float32) and whether a grad scaler is used."""

    dtype: torch.dtype | None
    scaler: bool

    @property
    def name(self) -> str:
        """`off`, `bf16` or `fp16`."""
        return {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX): elsewhere oneDNN emulates it, slowly."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(amp: str, device: torch.device) -> Precision:
    """`auto` = bf16 (or fp16 where bf16 is unsupported) on CUDA and float32 elsewhere.

    bf16 on a CPU without bf16 instructions is allowed but warned about: on the reference AVX2 machine
    its training step was ~10x slower than float32 (benchmarks/RESULTS.md).
    """
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return Precision(None, False)
    if amp == "auto":
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "fp16":
        if device.type != "cuda":
            raise RuntimeError(f"train.amp: 'fp16' needs a CUDA device (got {device}); use bf16 or off")
        return Precision(torch.float16, True)  # fp16 gradients underflow without loss scaling
    if device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "train.amp: 'bf16' on a CPU without bf16 instructions (AVX512-BF16/AMX) is emulated and "
            "much slower than float32; use amp: off (or auto) here",
            RuntimeWarning,
            stacklevel=2,
        )
    return Precision(torch.bfloat16, False)


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    """Autocast context for the forward pass (a no-op for float32)."""
    if precision.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=precision.dtype)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Use `threads` intra-op threads inside the block (None leaves torch's setting), then restore it."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
