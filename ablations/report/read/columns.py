"""Metric and column names of runs.csv: what each metric means, how it is shown, which task it belongs to."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from avtca import metrics as registry
from avtca.data.registry import DATASETS


class MetricSpec:
    """How a registered metric (avtca.metrics) is shown: its label, direction and scale come from the registry."""

    def __init__(self, metric: registry.Metric):
        self.metric = metric

    @property
    def label(self) -> str:
        """Display name."""
        return self.metric.label

    @property
    def higher_is_better(self) -> bool:
        """Direction, as the registry states it."""
        return self.metric.higher_is_better

    @property
    def percent(self) -> bool:
        """Stored as a fraction in [0, 1], shown x100."""
        return self.metric.percent

    def scale(self) -> float:
        """Factor from the stored value to the shown value."""
        return 100.0 if self.percent else 1.0

    def unit(self) -> str:
        """Unit of the shown value, for axis labels and headers."""
        return " (%)" if self.percent else ""


class _Live(Mapping):
    """A read-only view of a registry dict, so metrics and tasks registered later show up here too."""

    def __init__(self, source: Mapping, view):
        self._source, self._view = source, view

    def __getitem__(self, key: str):
        return self._view(self._source[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


METRICS: Mapping[str, MetricSpec] = _Live(registry.METRICS, MetricSpec)

# the table columns of each task, in paper order; the first one is the task's main metric
TASK_METRICS: Mapping[str, tuple[str, ...]] = _Live(registry.TASKS, lambda task: task.metrics)

# the columns every runs.csv row carries (docs/ARCHITECTURE.md, "runs.csv"); trial/run_id/state are optional
IDENTITY_COLUMNS = ("study", "dataset", "protocol", "subject_independent", "variant", "reference", "seed", "fold")
OPTIONAL_COLUMNS = ("trial", "run_id", "state")
# a cross-validation repeat with reshuffled actor groups (int, 0 when absent); `fold` is numbered within the repeat;
# every export writes it (ablations.report.read.export)
REPEAT = "repeat"
CELL_KEYS = ("variant", "seed", REPEAT, "fold")  # one cell of a study: the key of runs.csv's siblings' rows
# what a cell cost, per clip or per run (numbers; optional, NaN where not measured), with how a table shows them
COST_COLUMNS = {
    "n_params": "parameters",
    "flops_per_clip": "FLOPs per clip",
    "latency_ms_per_clip": "inference latency per clip (ms)",
    "seconds_per_epoch": "training seconds per epoch",
    "seconds": "training seconds per run",
}
SPLITS = ("train", "val", "test", "val_robust", "test_robust")
_CONDITION = re.compile(r"^(audio_off|video_off|(audio|video)_noise_(\d+(?:\.\d+)?))$")


def dataset_label(name: str) -> str:
    """Display name of a dataset (`cremad` -> `CREMA-D`)."""
    key = str(name).lower()
    return DATASETS.get(key).title if key in DATASETS else str(name)


def task_of(metric_names: set[str]) -> str:
    """The task whose metrics a set of test metric names holds: the first task with a metric no other has."""
    tasks = list(TASK_METRICS)
    for task in tasks:
        others = {m for t in tasks if t != task for m in TASK_METRICS[t]}
        if metric_names & (set(TASK_METRICS[task]) - others):
            return task
    return tasks[0]


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
