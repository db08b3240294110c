"""Shared benchmark machinery: machine/version info, interleaved side-by-side timing, Markdown tables."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

VERSIONED = ("torch", "torchvision", "torchaudio", "optuna", "mlflow", "numpy", "joblib")


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_isa() -> str:
    """The vector ISA torch dispatches to and whether bf16 runs in hardware: bf16 autocast speed hinges on it."""
    capability = torch.backends.cpu.get_cpu_capability()
    try:
        from avtca.training.runtime import cpu_has_native_bf16  # the training stack (its data readers too)
    except ImportError:  # a GPU box running only the model benchmarks may lack the media readers (PyAV)
        return capability
    return f"{capability}, bf16 {'in hardware' if cpu_has_native_bf16() else 'emulated'}"


def usable_cores() -> int:
    """Cores this process may run on (affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def gpu_model(device: torch.device | None = None) -> str:
    """Name of the CUDA device in use, or `none`."""
    if device is not None and device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return torch.cuda.get_device_name(0) + " (not used)" if torch.cuda.is_available() else "none"


def versions() -> dict[str, str]:
    """Installed versions of the packages the figures depend on (plus Python and CUDA)."""
    out = {"python": platform.python_version()}
    for pkg in VERSIONED:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    if torch.version.cuda:
        out["cuda (torch build)"] = torch.version.cuda
    return out


def command_line(module: str | None = None, argv: Sequence[str] | None = None) -> str:
    """`python -m <module> <args>` for the running benchmark (sys.argv when argv is None)."""
    args = sys.argv[1:] if argv is None else argv
    return f"python -m {module or _module_name()} " + " ".join(shlex.quote(a) for a in args)


def machine_lines(device: torch.device | None = None, command: str | None = None) -> list[str]:
    """The Markdown bullet lines that head every result block: machine, versions, date, command."""
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    command = command or command_line()
    return [
        f"- machine: {cpu_model()} ({cpu_isa()}), {usable_cores()} usable cores, "
        f"torch threads {torch.get_num_threads()}; "
        f"GPU: {gpu_model(device)}",
        f"- versions: {vers}",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command.strip()}`",
    ]


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return spec.name
    return Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "benchmarks"


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when available, else CPU; an explicit CUDA device that is absent is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {name}: CUDA is not available on this machine (use auto or cpu)")
    return device


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so wall-clock timings cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- side-by-side timing


@dataclass
class Samples:
    """Wall-clock seconds of each timed repeat of one case, plus any figures the case returned."""

    seconds: list[float] = field(default_factory=list)
    extra: list[dict[str, float]] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median seconds over the timed repeats."""
        return statistics.median(self.seconds)

    def extra_median(self, key: str) -> float | None:
        """Median of a returned figure over the repeats that returned it."""
        values = [e[key] for e in self.extra if e.get(key) is not None]
        return statistics.median(values) if values else None


def interleaved(
    cases: Mapping[str, Callable[[], Mapping[str, float] | None]],
    repeats: int,
    warmup: int = 1,
    device: torch.device | None = None,
    progress: bool = True,
) -> dict[str, Samples]:
    """Run every case once per round, alternating the order each round; the first `warmup` rounds are discarded.

    Interleaving puts baseline and candidate under the same machine load, so their ratio is fair even
    when the absolute figures drift. A case may return a dict of figures (e.g. epochs, peak memory).
    """
    from tqdm.auto import tqdm

    names = list(cases)
    out = {name: Samples() for name in names}
    total = (warmup + repeats) * len(names)
    with tqdm(total=total, desc="bench", unit="case", disable=not progress, leave=False) as bar:
        for round_ in range(warmup + repeats):
            order = names if round_ % 2 == 0 else names[::-1]
            for name in order:
                bar.set_postfix_str(f"{name} ({'warm-up' if round_ < warmup else f'repeat {round_ - warmup + 1}'})")
                if device is not None:
                    sync(device)
                start = time.perf_counter()
                extra = cases[name]()
                if device is not None:
                    sync(device)
                seconds = time.perf_counter() - start
                if round_ >= warmup:
                    out[name].seconds.append(seconds)
                    out[name].extra.append(dict(extra or {}))
                bar.update(1)
    return out


# ---------------------------------------------------------------- output


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell (`-` for missing)."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    """`a / b` as `1.23x` (or `-`)."""
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def block(title: str, body: str, device: torch.device | None = None, notes: Sequence[str] = (),
          command: str | None = None) -> str:  # fmt: skip
    """One result block: heading, machine lines (with the command that reproduces it), the table, notes."""
    parts = [f"### {title}", "", *machine_lines(device, command), "", body]
    if notes:
        parts += ["", *[f"- {n}" for n in notes]]
    return "\n".join(parts) + "\n"


def emit(text: str, out: str | None) -> None:
    """Print the block and, when asked, write it to `out` (parent directories created)."""
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def base_parser(description: str | None) -> argparse.ArgumentParser:
    """Options every benchmark takes: device, repeats, warm-up rounds, output file, threads."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (CUDA when available) | cpu | cuda | cuda:N")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--out", default=None, help="also write the Markdown block to this file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def apply_threads(threads: int | None) -> None:
    """Set torch's intra-op threads when given."""
    if threads:
        torch.set_num_threads(threads)


def positive(args: argparse.Namespace, *names: str) -> None:
    """Exit with a clear message when a numeric option is < 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 1 (got {value})")
