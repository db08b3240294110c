"""The A/A measurement: `python -m ablations.report.statistics.aa [reports/aa]` (docs/statistics.md, "A/A").

Reads the exports of the A/A studies (studies/aa/: the reference alone under several seeds with shared initial
weights, under several seeds with per-fold initial weights, and under reshuffled actor groups) and estimates the
variance components and the correlated shares (statistics.shares.estimate_shares) for each seeding and reading:

  shared    aa_shared_init (seeds on the protocol's own folds, every fold of a seed from the same weights) with
            aa_reshuffled, whose runs have per-fold weights: each of those is its own seed (an init term of the
            same size, shared with no other cell)
  per_fold  aa_per_fold_init with aa_reshuffled, as run (seed labels as they are: a seed term they shared
            would show)
  pooled    all three: aa_shared_init's seeds shared by their folds, every per-fold run its own seed; the
            tightest estimate of the training-group term, and the seed share as `train.seeding: shared` has it

Prints Markdown: the design and its cost, the estimates with standard errors, and the `--shares` arguments for
`python -m ablations.report.statistics.calibrate`. Needs only the committed runs.csv files: no training.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from ablations.report.read.load import ReportInputError, load_runs
from ablations.report.statistics.shares import COMPONENTS, READINGS, ShareEstimate, estimate_shares
from ablations.report.statistics.simulate import assignment

STUDIES = {"shared": "aa_shared_init", "per_fold": "aa_per_fold_init", "reshuffled": "aa_reshuffled"}
VALUE = "test/accuracy"
ACTORS, FOLDS = 24, 6  # the quickstart's synthetic RAVDESS (studies/aa/*.yaml) and its actor6fold protocol


def load(folder: Path) -> dict[str, pd.DataFrame]:
    """Each A/A study's runs (columns repeat, fold, seed, the value, seconds), by STUDIES key."""
    out = {}
    for key, name in STUDIES.items():
        runs = load_runs(folder / name / "runs.csv")
        runs = runs if "repeat" in runs.columns else runs.assign(repeat=0)
        out[key] = runs[["repeat", "fold", "seed", VALUE, "seconds"]].copy()
    return out


SEEDINGS = ("shared", "per_fold", "pooled")


def _own_seeds(runs: pd.DataFrame, key: str) -> pd.DataFrame:
    """Runs with per-fold weights, each its own seed label (an init term of the same size, shared with no one)."""
    return runs.assign(seed=[f"{key}-{i}" for i in range(len(runs))])


def combined(runs: dict[str, pd.DataFrame], seeding: str) -> pd.DataFrame:
    """The cells one seeding is estimated from (module docstring)."""
    if seeding == "per_fold":
        return pd.concat([runs["per_fold"], runs["reshuffled"]], ignore_index=True)
    parts = [runs["shared"], _own_seeds(runs["reshuffled"], "reshuffled")]
    if seeding == "pooled":
        parts.append(_own_seeds(runs["per_fold"], "per_fold"))
    return pd.concat(parts, ignore_index=True)


def estimates(runs: dict[str, pd.DataFrame]) -> dict[tuple[str, str], ShareEstimate]:
    """(seeding, reading) -> the estimate."""
    out = {}
    for seeding in SEEDINGS:
        cells = combined(runs, seeding)
        roles = assignment(ACTORS, FOLDS, int(cells["repeat"].max()) + 1)
        for reading in READINGS:
            out[(seeding, reading)] = estimate_shares(cells, roles, VALUE, reading)
    return out


def _pm(value: float, se: float, scale: float = 1.0, digits: int = 2) -> str:
    if math.isnan(value):
        return "-"
    return f"{scale * value:.{digits}f} ± {scale * se:.{digits}f}"


def report(runs: dict[str, pd.DataFrame], est: dict[tuple[str, str], ShareEstimate]) -> str:
    """The Markdown tables of docs/statistics.md's A/A section."""
    lines = ["| study | cells | seeds x units | test accuracy, mean (sd over cells) | cell time, summed |",
             "|---|---:|---|---|---:|"]  # fmt: skip
    for key, name in STUDIES.items():
        r = runs[key]
        units = r[["repeat", "fold"]].drop_duplicates().shape[0]
        lines.append(f"| `{name}` | {len(r)} | {r['seed'].nunique()} x {units} | "
                     f"{100 * r[VALUE].mean():.1f} % ({100 * r[VALUE].std(ddof=1):.1f}) | "
                     f"{r['seconds'].sum() / 60:.0f} min |")  # fmt: skip
    lines += ["", "Variance components (accuracy points squared, ± standard error; '-': not separable in the design):",
              "", "| seeding | " + " | ".join(COMPONENTS) + " |", "|---|" + "---:|" * len(COMPONENTS)]  # fmt: skip
    for seeding in SEEDINGS:
        e = est[(seeding, "train")]  # the variances do not depend on the reading
        cells = " | ".join(_pm(e.variances[c], e.se[c], 1e4) for c in COMPONENTS)
        lines.append(f"| {seeding} ({e.cells} cells) | {cells} |")
    lines += ["", "Shares of a single-seed unit score's variance (± standard error):", "",
              "| seeding | reading | seed | train / coupling | `--shares` |", "|---|---|---:|---:|---|"]  # fmt: skip
    for (seeding, reading), e in est.items():
        term = "train" if reading == "train" else "coupling"
        arg = f"{term}={getattr(e.shares, term):.3f},seed={e.shares.seed:.3f}"
        lines.append(f"| {seeding} | {reading} | {_pm(e.shares.seed, e.share_se['seed'])} | "
                     f"{_pm(getattr(e.shares, term), e.share_se[term])} | `{arg}` |")  # fmt: skip
    notes = sorted({n for e in est.values() for n in e.notes})
    return "\n".join(lines + ([""] + [f"- {n}" for n in notes] if notes else [])) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the A/A estimates from the exports under FOLDER (default reports/aa)."""
    p = argparse.ArgumentParser(prog="python -m ablations.report.statistics.aa", description=__doc__.split("\n")[0])
    p.add_argument("folder", nargs="?", type=Path, default=Path("reports/aa"), help="holds <study>/runs.csv")
    args = p.parse_args(argv)
    try:
        runs = load(args.folder)
    except ReportInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report(runs, estimates(runs)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
