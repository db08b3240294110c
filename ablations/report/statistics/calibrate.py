"""Calibration of the verdicts by simulation: `python -m ablations.report.statistics.calibrate [--write]`.

Simulated studies whose folds are correlated the way real ones are (statistics.simulate: training actors shared
between folds, a seed shared by every fold, validation/test coupling, clip noise resampled from a real
predictions.csv), each comparing FAMILY variants with the reference. For every design (the shipped studies'
folds and seeds, and the two design knobs: independent initial weights per unit, repeated cross-validation with
reshuffled actor groups) and every share of each correlated term, it reports the family-wise false 'worse/better'
rate under no effect, the intervals' coverage, the margin each design can declare equivalent, the false
'equivalent' rate at a true difference of exactly +-that margin, and power. Fixed seeds; vectorised numpy.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from ablations.report.statistics.paired import ALPHA
from ablations.report.statistics.rates import FAMILY, Null, false_equivalence, mc_sd, null_rates, power, testable
from ablations.report.statistics.simulate import Design, Model, Shares, clip_difficulty, parse_shares
from avtca.data.protocols import K_FOLDS

ROOT = Path(__file__).resolve().parents[3]
START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"
PREDICTIONS = ROOT / "reports" / "quickstart" / "predictions.csv"
RECOMMENDED = ("corrected", "bonferroni")  # the default test and rule (docs/statistics.md, "Verdicts")
EFFECTS = (2.0, 5.0, 10.0, 15.0, 20.0)  # points, for the power table
SWEEP = [Shares()] + [Shares(**{t: s}) for t, values in
         (("train", (0.09, 0.2, 0.5)), ("seed", (0.09, 0.2, 0.5)), ("coupling", (0.2, 0.5)), ("test", (0.3,)))
         for s in values]  # fmt: skip


def shipped_designs(studies: Path = ROOT / "studies") -> list[Design]:
    """The shipped studies' designs (folds and seeds from their YAML) and the knobs on RAVDESS's, same cost or more."""
    per_dataset = {"ravdess": (24, 60), "cremad": (91, 82)}  # actors, test clips per actor
    out = []
    for name in ("quickstart", "ravdess", "cremad"):
        path = studies / f"{name}.yaml"
        if not path.is_file():
            continue
        spec = yaml.safe_load(path.read_text())
        data = spec["dataset"]
        actors, clips = per_dataset[data["name"]]
        if str(data.get("root")) == "synthetic":
            syn = data.get("options", {}).get("synthetic", {})
            actors = int(syn.get("actors", 12))
            clips = 8 * int(syn.get("statements", 2)) * int(syn.get("repetitions", 1))
        k = K_FOLDS[data["protocol"]]
        folds = k if data.get("folds") == "all" else len(data.get("folds", [0]))
        independent = (spec.get("train") or {}).get("seeding", "per_fold") != "shared"  # avtca's default: per_fold
        out.append(Design(name, actors, folds, len(spec.get("seeds", [0])), clips=clips, independent_init=independent))
    ravdess = next((d for d in out if d.name == "ravdess"), None)
    if ravdess is not None:
        knobs = [replace(ravdess, independent_init=not ravdess.independent_init),
                 replace(ravdess, seeds=1, repeats=ravdess.seeds, independent_init=True),
                 replace(ravdess, seeds=1, repeats=5, independent_init=True)]  # fmt: skip
        at = out.index(ravdess) + 1
        out[at:at] = knobs
    return out


@dataclass(frozen=True)
class Row:
    """One (design, shares) cell of the sweep."""

    design: Design
    shares: Shares
    null: Null
    equivalence: dict  # (test, rule) -> (per comparison, family-wise) false 'equivalent' rate at +-null.margin


def sweep(designs: list[Design], sweep: list[Shares], difficulty: np.ndarray, studies: int) -> list[Row]:
    """Null and equivalence rates for every design and shares (fixed seeds per cell)."""
    rows = []
    for i, design in enumerate(designs):
        model = Model(design, difficulty)
        if not testable(model):
            continue
        for j, shares in enumerate(sweep):
            null = null_rates(model, shares, studies, np.random.default_rng([100, i, j]))
            eq = false_equivalence(model, shares, null.margin, studies, np.random.default_rng([200, i, j]))
            rows.append(Row(design, shares, null, eq))
    return rows


def power_table(designs: list[Design], shares: Shares, difficulty: np.ndarray, studies: int) -> dict:
    """design label -> effect (points) -> (test, rule) -> power."""
    out = {}
    for i, design in enumerate(designs):
        model = Model(design, difficulty)
        if testable(model):
            out[design.label()] = {e: power(model, shares, e / 100, studies, np.random.default_rng([300, i, k]))
                                   for k, e in enumerate(EFFECTS)}  # fmt: skip
    return out


def _rate(rate: float, n: int) -> str:
    text = f"{rate:.3f}"
    return f"**{text}**" if rate > ALPHA + 3 * mc_sd(rate, n) else text


def _grid(rows: list[Row], designs: list[str], cell) -> list[str]:
    lines = ["| shares | " + " | ".join(designs) + " |", "|---|" + "---:|" * len(designs)]
    for label in dict.fromkeys(r.shares.label() for r in rows):
        by = {r.design.label(): r for r in rows if r.shares.label() == label}
        lines.append(f"| {label} | " + " | ".join(cell(by[d]) if d in by else "" for d in designs) + " |")
    return lines


def report(
    rows: list[Row],
    powers: dict,
    studies: int,
    power_studies: int,
    figures: list[str],
    command: str = "python -m ablations.report.statistics.calibrate --write",
) -> str:
    """The generated Markdown block of docs/statistics.md; `command` is the one that regenerates it."""
    designs = list(dict.fromkeys(r.design.label() for r in rows))
    n = studies
    out = [f"Generated by `{command}`: {studies} simulated studies per "
           f"cell, {FAMILY} comparisons with the reference each, alpha {ALPHA:g}. Shares are of a single-seed unit "
           "score's variance (statistics/simulate.py); bold: above alpha + 3 Monte-Carlo sd "
           f"(sd {mc_sd(ALPHA, n):.3f} at alpha).", "",
           "**Family-wise rate of a false 'worse' or 'better'** (no true effect; Holm and Bonferroni share their "
           "first step, so one number): corrected test / plain t.", ""]  # fmt: skip
    out += _grid(rows, designs, lambda r: f"{_rate(r.null.fwer[('corrected', 'bonferroni')], n)} / "
                                          f"{_rate(r.null.fwer[('t', 'bonferroni')], n)}")  # fmt: skip
    out += ["", "**Coverage of the unadjusted 95 % interval** of one comparison: corrected / plain t "
            "(below 0.95: too narrow).", ""]  # fmt: skip
    out += _grid(rows, designs, lambda r: f"{r.null.coverage['corrected']:.3f} / {r.null.coverage['t']:.3f}")
    out += ["", "**Smallest margin declared equivalent** (true difference 0), points, corrected test with Bonferroni "
            "over 8: reached in 50 % / 80 % of comparisons; in brackets the sd of a seed-averaged unit difference.",
            ""]  # fmt: skip
    out += _grid(rows, designs, lambda r: "{:.1f} / {:.1f} ({:.1f})".format(
        *(100 * x for x in r.null.margins[RECOMMENDED]), 100 * r.null.sd))  # fmt: skip
    out += ["", "**Family-wise rate of a false 'equivalent'** with every true difference at +-M (M: the 50 % margin "
            "above): corrected + Bonferroni / corrected + Holm / Bayesian ROPE rule (posterior > 0.95, unadjusted) "
            "/ plain t + Bonferroni.", ""]  # fmt: skip
    rules = (RECOMMENDED, ("corrected", "holm"), ("corrected", "rope"), ("t", "bonferroni"))
    out += _grid(rows, designs, lambda r: " / ".join(_rate(r.equivalence[k][1], n) for k in rules))
    effects = " | ".join(f"{e:g} pt" for e in EFFECTS)
    out += ["", f"**Power** (no correlated terms; {power_studies} studies per point): P(the one variant that is "
            "worse by the given points is called worse), the 7 others null; Bonferroni over 8 (Holm's first step: the "
            "same power).", "", f"| design | test | {effects} |", "|---|---|" + "---:|" * len(EFFECTS)]  # fmt: skip
    for label, by_effect in powers.items():
        for key, name in ((RECOMMENDED, "corrected"), (("t", "bonferroni"), "plain t (not calibrated)")):
            cells = " | ".join(f"{by_effect[e][key]:.2f}" for e in EFFECTS)
            out.append(f"| {label} | {name} | {cells} |")
    out += [""] + [f"![{name}]({name})" for name in figures]
    return "\n".join(out) + "\n"


def write_block(doc: Path, text: str) -> None:
    """Replace the generated block of docs/statistics.md."""
    old = doc.read_text(encoding="utf-8")
    if START not in old or END not in old:
        raise SystemExit(f"error: {doc} has no {START} ... {END} block to replace")
    doc.write_text(old.split(START)[0] + START + "\n" + text + END + old.split(END)[1], encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    """Run the calibration; print the Markdown, or write it and the figures into docs/ with --write."""
    prog = "python -m ablations.report.statistics.calibrate"
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--studies", type=int, default=2000, help="simulated studies per (design, shares) cell")
    p.add_argument("--power-studies", type=int, default=1000, help="simulated studies per power point")
    p.add_argument("--shares", action="append", default=[],
                   help="measured shares to add to the sweep, e.g. train=0.2,seed=0.1 (repeatable)")  # fmt: skip
    clips = "predictions.csv the clip noise is drawn from (default: the quickstart's; binomial without one)"
    p.add_argument("--predictions", type=Path, default=None, help=clips)
    p.add_argument("--write", action="store_true", help="update docs/statistics.md and its calibration figures")
    args = p.parse_args(argv)
    if args.studies < 50 or args.power_studies < 50:
        p.error("--studies and --power-studies need at least 50 simulated studies")
    try:
        shares = [*SWEEP, *(parse_shares(text) for text in args.shares)]
    except ValueError as e:
        p.error(str(e))
    if args.predictions is not None and not args.predictions.is_file():
        p.error(f"--predictions: {args.predictions} is not a file")
    try:
        difficulty = clip_difficulty(args.predictions or PREDICTIONS)
    except ValueError as e:
        p.error(str(e))
    designs = shipped_designs()
    rows = sweep(designs, shares, difficulty, args.studies)
    powers = power_table(designs, Shares(), difficulty, args.power_studies)
    figures = []
    if args.write:
        from ablations.report.statistics.calibration_figures import draw

        figures = draw(rows, powers, ROOT / "docs")
    # the command as run (the block says how to regenerate it, measured --shares included)
    command = shlex.join(
        ["python", "-m", "ablations.report.statistics.calibrate", *(sys.argv[1:] if argv is None else argv)]
    )
    text = report(rows, powers, args.studies, args.power_studies, figures, command)
    if args.write:
        write_block(ROOT / "docs" / "statistics.md", text)
        print(f"wrote {ROOT / 'docs' / 'statistics.md'} and {', '.join(figures)}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
