"""Task metrics (classification, MOSEI sentiment regression, MOSEI multi-label emotions) from scikit-learn."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from avtca.registry import Registry


@dataclass(frozen=True)
class Metric:
    """One metric name and what training, studies and reports need to know about it."""

    name: str  # without the split prefix: `uar`, reported as `val/uar`, `test/uar`, ...
    label: str  # display name in tables and figures
    higher_is_better: bool = True
    percent: bool = True  # a fraction in [0, 1] (reports show it x100)


# the metric registry: one home for each metric's direction and display name (listed in registration order)
METRICS: Registry[Metric] = Registry("metric", order="registration")


@dataclass(frozen=True)
class Task:
    """A prediction task: the metrics it reports and how they are computed (its metrics are registered first)."""

    name: str
    metrics: tuple[str, ...]  # in table order; the first is the task's main metric in reports
    monitor: str  # the validation metric (without `val/`) that selects the best epoch under `auto`
    compute: Callable[[np.ndarray, np.ndarray], dict[str, float]]

    def __post_init__(self) -> None:
        unknown = [m for m in (*self.metrics, self.monitor) if m not in METRICS]
        if unknown:
            raise ValueError(f"task '{self.name}': unregistered metrics {', '.join(unknown)}")


# the tasks; registering one again with `replace=True` extends it (its position, so the column order, is kept)
TASKS: Registry[Task] = Registry("task", order="registration")

for _metric in (
    Metric("accuracy", "Accuracy"),
    Metric("uar", "UAR"),
    Metric("f1_macro", "Macro F1"),
    Metric("f1_weighted", "Weighted F1"),
    Metric("acc2_has0", "Acc-2 (has-0)"),
    Metric("acc2_non0", "Acc-2 (non-0)"),
    Metric("acc7", "Acc-7"),
    Metric("mae", "MAE", higher_is_better=False, percent=False),
    Metric("corr", "Corr", percent=False),
    Metric("wacc", "Weighted accuracy"),
    Metric("loss", "Loss", higher_is_better=False, percent=False),  # train/loss and val/loss, every task
):
    METRICS.register(_metric)


def predicted_labels(logits_or_labels: np.ndarray) -> np.ndarray:
    """Class labels from (N, C) logits/probabilities (argmax) or (N,) labels (unchanged)."""
    arr = np.asarray(logits_or_labels)
    return arr.argmax(axis=1) if arr.ndim == 2 else arr.astype(np.int64)


def _skm():
    # scikit-learn (and SciPy with it: ~1 s) loads on the first score, not with avtca: a study's main process
    # while its workers train, `--dry-run` and the CLIs' error messages never need it
    from sklearn import metrics

    return metrics


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """accuracy (WAR), uar (balanced accuracy), f1_macro and f1_weighted over the classes present."""
    skm = _skm()
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = predicted_labels(y_pred)
    with warnings.catch_warnings():
        # a class predicted but absent from y_true only warns; the score is still defined
        warnings.simplefilter("ignore", UserWarning)
        uar = skm.balanced_accuracy_score(y_true, y_pred)
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "uar": float(uar),
        "f1_macro": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "f1_weighted": float(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MOSEI sentiment metrics as in MMSA: Acc-2 has-0 / non-0, Acc-7, weighted F1 (non-0), MAE, Pearson r."""
    from scipy import stats  # loaded on first use, as scikit-learn (see _skm)

    skm = _skm()
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"regression metrics: y_true has {y_true.shape} values but y_pred has {y_pred.shape}")
    non0 = y_true != 0
    # has-0: negative vs non-negative over all samples; non-0: negative vs positive, zeros excluded
    acc2_has0 = skm.accuracy_score(y_true >= 0, y_pred >= 0)
    if non0.any():
        acc2_non0 = skm.accuracy_score(y_true[non0] > 0, y_pred[non0] > 0)
        f1_non0 = skm.f1_score(y_true[non0] > 0, y_pred[non0] > 0, average="weighted", zero_division=0)
    else:
        acc2_non0 = f1_non0 = float("nan")
    acc7 = skm.accuracy_score(np.round(np.clip(y_true, -3, 3)), np.round(np.clip(y_pred, -3, 3)))
    if len(y_true) > 1 and np.std(y_true) > 0 and np.std(y_pred) > 0:
        corr = stats.pearsonr(y_true, y_pred).statistic
    else:
        corr = float("nan")  # undefined for constant inputs: reported as NaN, never as a fake 0
    return {
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "acc2_has0": float(acc2_has0),
        "acc2_non0": float(acc2_non0),
        "acc7": float(acc7),
        "f1_weighted": float(f1_non0),
        "corr": float(corr),
    }


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MOSEI emotions: wacc = mean over emotions of weighted accuracy, f1_weighted over labels.

    Presence is intensity > 0 for targets and > 0 for predictions (a logit > 0 is a probability > 0.5,
    a predicted intensity > 0 is present). Weighted accuracy (TP * N/P + TN) / 2N equals balanced accuracy.
    """
    skm = _skm()
    true = np.asarray(y_true) > 0
    pred = np.asarray(y_pred) > 0
    if true.ndim != 2 or true.shape != pred.shape:
        raise ValueError(f"multi-label metrics: expected two (N, labels) arrays, got {true.shape} and {pred.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an emotion absent from y_true: one class only
        waccs = [skm.balanced_accuracy_score(true[:, j], pred[:, j]) for j in range(true.shape[1])]
    return {
        "wacc": float(np.mean(waccs)),
        "f1_weighted": float(skm.f1_score(true, pred, average="weighted", zero_division=0)),
    }


def _regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return regression_metrics(y_true, y_pred.reshape(len(y_pred), -1)[:, 0] if y_pred.ndim > 1 else y_pred)


TASKS.register(
    Task("classification", ("accuracy", "uar", "f1_macro", "f1_weighted"), "accuracy", classification_metrics)
)
TASKS.register(Task("regression", ("acc2_non0", "acc2_has0", "acc7", "f1_weighted", "mae", "corr"), "mae", _regression))
TASKS.register(Task("multilabel", ("wacc", "f1_weighted"), "wacc", multilabel_metrics))


class _TaskMetricNames(Mapping):
    """task -> the metric names it reports, read live from TASKS (a task re-registered later shows here)."""

    def __getitem__(self, task: str) -> tuple[str, ...]:
        return TASKS.get(task).metrics

    def __iter__(self) -> Iterator[str]:
        return iter(TASKS)

    def __len__(self) -> int:
        return len(TASKS)


# the names each task reports (without the split prefix), in table order
METRIC_NAMES: Mapping[str, tuple[str, ...]] = _TaskMetricNames()


def task_metrics() -> tuple[str, ...]:
    """Every metric some task reports: tasks in registration order, each in its table order, once each."""
    return tuple(dict.fromkeys(m for task in TASKS.values() for m in task.metrics))


def compute_metrics(task: str, y_true: np.ndarray, y_pred_or_logits: np.ndarray) -> dict[str, float]:
    """Metrics for `task` (classification | regression | multilabel), keyed by the task's metric names."""
    compute = TASKS.get(task).compute
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred_or_logits)
    if len(y_true) == 0:
        raise ValueError("compute_metrics: no samples (empty split?)")
    if len(y_true) != len(y_pred):
        raise ValueError(f"compute_metrics: {len(y_true)} targets but {len(y_pred)} predictions")
    return compute(y_true, y_pred)


def per_class_report(y_true: np.ndarray, y_pred_or_logits: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Per-class precision / recall / f1 / support as a DataFrame indexed by class name."""
    labels = np.arange(len(class_names))
    p, r, f, s = _skm().precision_recall_fscore_support(
        np.asarray(y_true).astype(np.int64), predicted_labels(y_pred_or_logits), labels=labels, zero_division=0
    )
    frame = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s}, index=list(class_names))
    frame.index.name = "class"
    return frame


def confusion(y_true: np.ndarray, y_pred_or_logits: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix (rows = true class, columns = predicted class) over all n_classes."""
    return _skm().confusion_matrix(
        np.asarray(y_true).astype(np.int64), predicted_labels(y_pred_or_logits), labels=np.arange(n_classes)
    )


def default_monitor(task: str) -> str:
    """The validation metric that selects the best epoch when the config says `auto`."""
    return "val/" + TASKS.get(task).monitor


def higher_is_better(name: str) -> bool:
    """Direction of a (possibly prefixed) metric name, from the registry (unknown names are maximised)."""
    metric = name.rsplit("/", 1)[-1]
    return METRICS.get(metric).higher_is_better if metric in METRICS else True
