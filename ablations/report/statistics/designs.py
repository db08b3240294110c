"""Which design reaches a margin: folds x seeds x repeats, the margin each reaches, and what it costs in cells.

From a pilot's pooled variance (statistics.margin.pooled), every candidate design (the protocol's folds; seeds and
cross-validation repeats from small lists) gets the smallest equivalence margin it reaches with probability
`power` at a true difference of 0 (statistics.margin.reachable_margin: a range where the pilot cannot tell the
seed-to-seed variance), read with the report's rule: the corrected t over K x R units (Nadeau-Bengio; Bouckaert-
Frank with repeats), Bonferroni over the study's comparisons. Every design assumes independent initial weights
per fold (train.seeding: per_fold): with one seed shared by all folds the corrected t does not hold its level
(docs/statistics.md, "Calibration"), whatever the margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ablations.report.statistics.equivalence import kfold_rho
from ablations.report.statistics.margin import Pooled, Reachable, reachable_margin

SEEDS = (1, 2, 3, 5, 10)
REPEATS = (1, 2, 3, 5, 10)
POWER = 0.8  # a design "reaches" a margin when a null comparison is declared equivalent at least this often


@dataclass(frozen=True)
class DesignOption:
    """One candidate design and what it reaches."""

    folds: int
    seeds: int
    repeats: int
    cells: int  # variants x folds x seeds x repeats
    reach: Reachable

    @property
    def units(self) -> int:
        """Test sets the corrected t runs over: folds x repeats."""
        return self.folds * self.repeats

    def reaches(self, margin: float) -> str:
        """'yes' (even if all the pilot's variance is between units), 'maybe' (only if some is seed noise), 'no'."""
        if not math.isfinite(self.reach.high) or not math.isfinite(self.reach.low):
            return "no"
        if self.reach.high <= margin:
            return "yes"
        return "maybe" if self.reach.low <= margin else "no"

    def label(self) -> str:
        """`6 folds x 3 seeds x 2 repeats`."""
        reps = f" x {self.repeats} repeats" if self.repeats > 1 else ""
        return f"{self.folds} folds x {self.seeds} seed{'s' if self.seeds != 1 else ''}{reps}"


def design_options(
    pilot: Pooled,
    folds: int,
    protocol_folds: int,
    family: int,
    variants: int,
    seeds: Sequence[int] = SEEDS,
    repeats: Sequence[int] = REPEATS,
    power: float | None = POWER,
) -> list[DesignOption]:
    """Every (seeds, repeats) design on `folds` folds of a `protocol_folds`-fold actor protocol, cheapest first.

    `family`: comparisons per table (Bonferroni); `variants`: variants trained (the reference included), for the
    cost. Pass repeats=(1,) where the protocol cannot be repeated with reshuffled actors.
    """
    rho = kfold_rho(protocol_folds) if protocol_folds >= 3 else 0.0
    out = []
    for s in seeds:
        for r in repeats:
            reach = reachable_margin(pilot, folds * r, s, rho=rho, family=family, power=power)
            out.append(DesignOption(folds, s, r, variants * folds * s * r, reach))
    return sorted(out, key=lambda o: (o.cells, o.reach.high, o.repeats))


def cheapest(options: Sequence[DesignOption], margin: float, surely: bool = True) -> DesignOption | None:
    """The cheapest option that reaches `margin` ('yes'; with surely=False also 'maybe'), or None."""
    ok = ("yes",) if surely else ("yes", "maybe")
    return next((o for o in options if o.reaches(margin) in ok), None)
