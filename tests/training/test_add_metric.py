"""docs/ARCHITECTURE.md's "a metric" recipe, copied as written into a new module: training, studies and reports see it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from ablations.report.read.columns import METRICS as REPORT_METRICS
from ablations.report.read.columns import TASK_METRICS
from avtca.metrics import METRIC_NAMES, METRICS, TASKS, compute_metrics, default_monitor, higher_is_better
from tests.recipes import recipe_module


@pytest.fixture
def kappa(tmp_path, monkeypatch):
    base = TASKS["classification"]
    with recipe_module("docs/ARCHITECTURE.md", "- **a metric**", "kappa_metric", tmp_path, monkeypatch):
        yield
        TASKS.register(base, replace=True)
        METRICS.unregister("kappa")


def test_recipe_metric_is_computed_and_shown(kappa):
    y_true = np.array([0, 1, 2, 2, 1, 0, 1, 2])
    logits = np.eye(3)[[0, 1, 2, 1, 1, 0, 2, 2]]
    metrics = compute_metrics("classification", y_true, logits)
    assert metrics["kappa"] == pytest.approx(cohen_kappa_score(y_true, logits.argmax(1)))
    assert metrics["accuracy"] == pytest.approx(6 / 8)  # the task's own metrics are still there
    assert METRIC_NAMES["classification"][-1] == "kappa" == TASK_METRICS["classification"][-1]
    assert higher_is_better("val/kappa") and REPORT_METRICS["kappa"].label == "Cohen's kappa"
    assert default_monitor("classification") == "val/accuracy"


def test_recipe_metric_is_a_valid_study_objective(kappa):
    from ablations.study.cells import objective_problems
    from ablations.study.schema import StudyConfig

    study = StudyConfig.model_validate(
        {
            "name": "k",
            "dataset": {"name": "ravdess"},
            "objective": {"metric": "val/kappa", "direction": "maximize"},
        }
    )
    assert objective_problems(study) == []
    wrong = study.model_copy(update={"objective": study.objective.model_copy(update={"direction": "minimize"})})
    assert objective_problems(wrong) == ["objective.direction: 'minimize' for val/kappa; it should be 'maximize'"]


def test_recipe_metric_reaches_the_end_of_study_summary(kappa):
    from ablations.storage.optuna import summary_attrs

    final = {"val/accuracy": 0.5, "test/kappa": 0.25, "test/uar": 0.5, "train/loss": 1.0, "test_robust/x/kappa": 0.1}
    # the trial keeps the objective and every task metric of val/ and test/, in one list read from the registry
    assert summary_attrs(final, "val/accuracy") == {"val/accuracy": 0.5, "test/kappa": 0.25, "test/uar": 0.5}
