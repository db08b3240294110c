"""CLI: `python -m avtca.data.synthetic --format ravdess|cremad|mosei --out DIR [--actors N] [--n-jobs J]`."""

from __future__ import annotations

import argparse
import sys

from avtca.config.base import ConfigError, validate
from avtca.data.config import SyntheticOptions
from avtca.data.synthetic import generate


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write the synthetic dataset."""
    p = argparse.ArgumentParser(prog="python -m avtca.data.synthetic", description=__doc__)
    p.add_argument("--format", required=True, choices=["ravdess", "cremad", "mosei"])
    p.add_argument("--out", required=True)
    p.add_argument("--actors", type=int, default=None)
    p.add_argument("--statements", type=int, default=None)
    p.add_argument("--clips", type=int, default=None, help="MOSEI: number of segments")
    p.add_argument("--size", type=int, default=None, help="video width = height in pixels")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n-jobs", type=int, default=1, help="RAVDESS: clips generated in parallel (-1 = all cores)")
    args = p.parse_args(argv)
    raw = {k: v for k in ("actors", "statements", "clips", "size", "seed") if (v := getattr(args, k)) is not None}
    try:
        opts = validate(SyntheticOptions, raw, "command line")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = generate(args.format, args.out, opts, n_jobs=args.n_jobs)
    print(f"wrote synthetic {args.format} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
