"""Run every benchmark at its default size (each in a fresh process) and write their tables into RESULTS.md.

    python -m benchmarks.run_all                    # CPU defaults (about 16 minutes on a quiet 2-core box)
    python -m benchmarks.run_all --device cuda      # GPU: CUDA sizes, GPU rows of RESULTS.md
    python -m benchmarks.run_all --only train_step,pruning --no-update

Each table lands in `benchmarks/results/<device>/<name>.md` and, unless --no-update, replaces the block
between `<!-- results:<device>:<name> -->` and `<!-- /results:<device>:<name> -->` in RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("train_step", "data_pipeline", "tracking_overhead", "pruning", "parallel_trials")
# tiny arguments that exercise every code path in seconds (tests, and checking a new machine works)
SMOKE: dict[str, list[str]] = {
    "train_step": ["--frames", "2", "--image-size", "32", "--steps", "1", "--presets", "avtca",
                   "--cases", "baseline,amp+cl+fused+bs16"],
    "data_pipeline": ["--actors", "3", "--video-size", "32", "--frames", "2", "--image-size", "32", "--steps", "1",
                      "--loader-workers", "0"],
    "tracking_overhead": ["--actors", "3", "--variants", "1", "--epochs", "1"],
    "pruning": ["--actors", "3", "--statements", "1", "--trials", "2", "--startup", "1", "--epochs", "2"],
    "parallel_trials": ["--actors", "3", "--cells", "2", "--epochs", "1"],
}  # fmt: skip
SMOKE_COMMON = ["--repeats", "1", "--warmup", "0", "--no-progress", "--threads", "1"]
# what the full run adds to a benchmark's own defaults: the equal-accuracy check on CPU too (about 3 minutes),
# and three TPE seeds for pruning (one seed saved 40% of the epochs on one machine and 23% on another)
FULL: dict[str, list[str]] = {"train_step": ["--accuracy-epochs", "10"], "pruning": ["--sampler-seeds", "0,1,2"]}


def marker(device: str, name: str) -> tuple[str, str]:
    """The opening and closing comment lines around a benchmark's block in RESULTS.md."""
    return f"<!-- results:{device}:{name} -->", f"<!-- /results:{device}:{name} -->"


def splice(document: str, device: str, name: str, text: str) -> str:
    """Replace the marked block of (device, name) in `document` with `text`; a missing marker is an error."""
    start, end = marker(device, name)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(document):
        raise ValueError(f"RESULTS.md has no block '{start}' ... '{end}'; add the two marker lines where it belongs")
    return pattern.sub(lambda _: f"{start}\n{text.strip()}\n{end}", document, count=1)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (selects the RESULTS.md rows too)")
    p.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmarks to run")
    p.add_argument("--results", default=str(HERE / "RESULTS.md"), help="the Markdown file whose blocks are replaced")
    p.add_argument("--out-dir", default=str(HERE / "results"), help="where each table is written")
    p.add_argument("--no-update", action="store_true", help="write the tables only, leave RESULTS.md alone")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks that everything runs")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks one after another; returns non-zero if any failed."""
    args = build_parser().parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        from avtca.config.base import suggest

        raise SystemExit(f"error: --only: '{unknown[0]}' is not one of {', '.join(BENCHMARKS)}"
                         f"{suggest(unknown[0], BENCHMARKS)}")  # fmt: skip
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    out_dir = Path(args.out_dir) / kind
    failed = []
    for name in names:
        out = out_dir / f"{name}.md"
        cmd = [sys.executable, "-m", f"benchmarks.{name}", "--device", args.device, "--out", str(out)]
        cmd += (SMOKE[name] + SMOKE_COMMON) if args.smoke else FULL.get(name, [])
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        code = subprocess.call(cmd, cwd=HERE.parent)
        print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
            continue
        if not args.no_update:
            results = Path(args.results)
            results.write_text(splice(results.read_text(), kind, name, out.read_text()))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
