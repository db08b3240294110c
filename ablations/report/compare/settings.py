"""What a report decides with: the test, the adjustment, the margin and the primary metric (study file or CLI).

The margin is the smallest difference that matters, declared before looking: in the primary metric's shown units
(percentage points for percent metrics). Its default, DEFAULT_MARGIN, is 2 points (0.02 for MAE and Corr): about
the seed-to-seed spread of one training run on these datasets, and the size of difference ablation tables in this
literature treat as meaningful. It is smaller than what the shipped designs can reach (docs/statistics.md,
"Margins"), so by default a null component reads "inconclusive" with the margin the design could reach, never
"equivalent" at a margin nobody chose. The same margin, in stored units, applies to every metric of the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ablations.report.read.columns import METRICS, TASK_METRICS
from ablations.report.read.load import ReportInputError
from ablations.report.statistics.equivalence import DEFAULT_ADJUST
from avtca.config.base import suggest

TESTS = {
    "corrected": "corrected t over units (Nadeau-Bengio; Bouckaert-Frank over repeats)",
    "t": "plain paired t over units (assumes independent units: liberal, docs/statistics.md)",
    "wilcoxon": "exact Wilcoxon signed-rank test over units (no interval, no equivalence)",
}
DEFAULT_TEST = "corrected"
ADJUST = {"bonferroni": "Bonferroni", "holm": "Holm"}
DEFAULT_MARGIN = 0.02  # stored units: 2 percentage points for percent metrics, 0.02 for MAE and Corr


@dataclass(frozen=True)
class Settings:
    """How the comparisons are made and read; None fields take the documented defaults."""

    test: str = DEFAULT_TEST  # corrected | t | wilcoxon
    adjust: str = DEFAULT_ADJUST  # bonferroni | holm: across the comparisons of one metric
    margin: float | None = None  # primary metric's shown units; None: DEFAULT_MARGIN; 0: none (three verdicts)
    metric: str | None = None  # the primary metric; None: the objective's when the task has it, else the task's main
    objective: str | None = None  # the study's objective (val/<metric>), when known
    reference: str | None = None  # compare with this variant instead of the one marked reference

    def checked(self) -> Settings:
        """These settings, or a clear error naming the option and the allowed values."""
        if self.test not in TESTS:
            raise ReportInputError(f"--test: '{self.test}' is not one of {', '.join(TESTS)}{suggest(self.test, TESTS)}")
        if self.adjust not in ADJUST:
            raise ReportInputError(f"--adjust: '{self.adjust}' is not one of {', '.join(ADJUST)}"
                                   f"{suggest(self.adjust, ADJUST)}")  # fmt: skip
        if self.margin is not None and not (math.isfinite(self.margin) and self.margin >= 0):
            raise ReportInputError(f"--margin / report.margin: expected a number >= 0 in the primary metric's units "
                                   f"(e.g. 2 for 2 percentage points; 0: none), got {self.margin}")  # fmt: skip
        return self


def primary_metric(s: Settings, task: str, where: str = "runs.csv") -> str:
    """The metric the main table leads with: `metric`, else the objective's when the task has it, else the task's
    main metric."""
    names = TASK_METRICS[task]
    if s.metric:
        name = s.metric.split("/")[-1]
        if name not in names:
            raise ReportInputError(f"{where}: --metric / report.metric: '{s.metric}' is not a {task} metric; one of "
                                   f"{', '.join(names)}{suggest(name, names)}")  # fmt: skip
        return name
    if s.objective and s.objective.split("/")[-1] in names:
        return s.objective.split("/")[-1]
    return names[0]


def margin_stored(s: Settings, primary: str) -> float:
    """The margin in stored units (NaN: none declared)."""
    if s.margin is None:
        return DEFAULT_MARGIN
    return math.nan if s.margin == 0 else s.margin / METRICS[primary].scale()


def regenerate_flags(s: Settings, primary: str, task: str) -> list[str]:
    """The CLI flags that reproduce these settings from runs.csv alone (only those that differ from the defaults)."""
    out = []
    if s.test != DEFAULT_TEST:
        out += ["--test", s.test]
    if s.adjust != DEFAULT_ADJUST:
        out += ["--adjust", s.adjust]
    if s.margin is not None:
        out += ["--margin", f"{s.margin:g}"]
    if primary != TASK_METRICS[task][0]:
        out += ["--metric", primary]
    if s.reference:
        out += ["--reference", s.reference]
    return out
