"""Metric and column names of runs.csv: what each metric means, how it is shown, which task it belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is labelled, scaled and compared."""

    label: str
    higher_is_better: bool = True
    percent: bool = True  # stored as a fraction in [0, 1], shown x100

    def scale(self) -> float:
        """Factor from the stored value to the shown value."""
        return 100.0 if self.percent else 1.0

    def unit(self) -> str:
        """Unit of the shown value, for axis labels and headers."""
        return " (%)" if self.percent else ""


METRICS: dict[str, MetricSpec] = {
    "accuracy": MetricSpec("Accuracy"),
    "uar": MetricSpec("UAR"),
    "f1_macro": MetricSpec("Macro F1"),
    "f1_weighted": MetricSpec("Weighted F1"),
    "acc2_has0": MetricSpec("Acc-2 (has-0)"),
    "acc2_non0": MetricSpec("Acc-2 (non-0)"),
    "acc7": MetricSpec("Acc-7"),
    "mae": MetricSpec("MAE", higher_is_better=False, percent=False),
    "corr": MetricSpec("Corr", percent=False),
    "wacc": MetricSpec("Weighted accuracy"),
    "loss": MetricSpec("Loss", higher_is_better=False, percent=False),
}

# the table columns of each task, in paper order; the first one is the task's main metric
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "uar", "f1_macro", "f1_weighted"),
    "regression": ("acc2_non0", "acc2_has0", "acc7", "f1_weighted", "mae", "corr"),
    "multilabel": ("wacc", "f1_weighted"),
}

DATASET_LABELS = {"ravdess": "RAVDESS", "cremad": "CREMA-D", "mosei": "CMU-MOSEI"}

# the columns every runs.csv row carries (docs/ARCHITECTURE.md, "runs.csv"); trial/run_id/state are optional
IDENTITY_COLUMNS = ("study", "dataset", "protocol", "subject_independent", "variant", "reference", "seed", "fold")
OPTIONAL_COLUMNS = ("trial", "run_id", "state")
SPLITS = ("train", "val", "test", "val_robust", "test_robust")
_CONDITION = re.compile(r"^(audio_off|video_off|(audio|video)_noise_(\d+(?:\.\d+)?))$")


def dataset_label(name: str) -> str:
    """Display name of a dataset (`cremad` -> `CREMA-D`)."""
    return DATASET_LABELS.get(str(name).lower(), str(name))


def task_of(metric_names: set[str]) -> str:
    """The task whose metrics a set of test metric names holds (regression and multi-label have unique ones)."""
    if metric_names & {"acc2_non0", "acc2_has0", "acc7", "mae", "corr"}:
        return "regression"
    if "wacc" in metric_names:
        return "multilabel"
    return "classification"


def main_metric(task: str) -> str:
    """The metric the robustness table and figures use for `task`."""
    return TASK_METRICS[task][0]


def parse_condition(name: str) -> tuple[str, float | None] | None:
    """`audio_noise_0.5` -> ('audio_noise', 0.5); `video_off` -> ('video_off', None); unknown -> None."""
    m = _CONDITION.match(name)
    if m is None:
        return None
    if m.group(2):
        return f"{m.group(2)}_noise", float(m.group(3))
    return m.group(1), None


def condition_label(name: str) -> str:
    """Readable condition name: `audio_noise_0.5` -> `audio noise 0.5`, `video_off` -> `video removed`."""
    parsed = parse_condition(name)
    if parsed is None:
        return name
    kind, level = parsed
    if level is None:
        return kind.replace("_off", " removed")
    return f"{kind.replace('_', ' ')} {level:g}"
