"""What a planned design detects, from a pilot's variance components (`python -m ablations.run STUDY --dry-run
--pilot reports/<pilot>`): the smallest detectable difference and the replication that detects 2 and 5 points."""

from __future__ import annotations

import math

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.read.columns import METRICS
from ablations.report.statistics.paired import MIN_TEST_UNITS
from ablations.report.statistics.power import design_sd, min_detectable, plan

TARGETS = (0.02, 0.05)  # differences (2 and 5 points) the replication line plans for


def replicates(folds: int, seeds: int) -> str:
    """`6 folds x 1 seed`."""
    return f"{folds} fold{'s' if folds != 1 else ''} x {seeds} seed{'s' if seeds != 1 else ''}"


def replication(t: ComparisonTable, family: int | None = None) -> str:
    """What this design detects and what replication would detect the TARGETS (primary metric)."""
    c = t.components
    metric = t.primary
    scale, unit = METRICS[metric].scale(), (" points" if METRICS[metric].percent else "")
    family = family or max(1, t.family)
    if c is None or (math.isnan(c.within) and math.isnan(c.between)):
        return "Power: needs at least 2 seeds or 2 folds to estimate the variance of a difference."
    corrected = t.settings.test == "corrected"
    seeds = max(1, t.seeds)
    text = "Power (" + METRICS[metric].label + ", 80%, family of " + str(family) + "): "
    if t.folds >= MIN_TEST_UNITS:
        rho = t.rho if corrected else 0.0
        mdd = min_detectable(design_sd(c, seeds), t.folds, family, rho=rho)
        bound = " or more (the fold-to-fold variance is unknown from one fold)" if c.folds < 2 else ""
        text += f"this design ({replicates(t.folds, seeds)}) detects about {mdd * scale:.2f}{unit}{bound}; "
    elif t.folds < 2:
        text += "one fold, so the fold-to-fold variance is unknown and the plans below assume none (lower bound); "
    else:
        text += f"{t.folds} folds are too few for the fold-level test; "
    plans = []
    for target in TARGETS:
        rho_of = (lambda k: 1.0 / (k - 2) if k > 2 else math.inf) if corrected else (lambda k: 0.0)
        p = plan(c, target, max(t.max_folds, t.folds), family, rho_of)
        shown = f"{target * scale:g}{unit}"
        plans.append(f"to detect {shown}: {replicates(*p)}" if p else
                     f"{shown} is out of reach with {max(t.max_folds, t.folds)} folds and up to 10 seeds")  # fmt: skip
    sd_w = math.sqrt(c.within) * scale if not math.isnan(c.within) else math.nan
    sd_b = math.sqrt(c.between) * scale if not math.isnan(c.between) else math.nan
    observed = ", ".join(f"{name} {'unknown' if math.isnan(v) else f'{v:.2f}'}"
                         for name, v in (("seed-to-seed", sd_w), ("fold-to-fold", sd_b)))  # fmt: skip
    return text + "; ".join(plans) + f" (observed sd of a difference: {observed})."
