import math

import numpy as np
import pytest

from avtca.metrics import (
    compute_metrics,
    confusion,
    default_monitor,
    higher_is_better,
    per_class_report,
)


def test_war_and_uar_differ_on_imbalanced_data():
    # 8 samples of class 0, 2 of class 1, a model that always says 0
    y_true = np.array([0] * 8 + [1] * 2)
    y_pred = np.zeros(10, dtype=int)
    m = compute_metrics("classification", y_true, y_pred)
    assert m["accuracy"] == pytest.approx(0.8)  # WAR
    assert m["uar"] == pytest.approx(0.5)  # mean of recalls 1.0 and 0.0
    f1_0 = 2 * 0.8 * 1.0 / (0.8 + 1.0)
    assert m["f1_macro"] == pytest.approx(f1_0 / 2)
    assert m["f1_weighted"] == pytest.approx(0.8 * f1_0)


def test_logits_are_argmaxed():
    y_true = np.array([0, 1, 2, 2])
    logits = np.array([[3.0, 0, 0], [0, 1, 0.5], [0, 2, 1], [0, 0, 9]])  # predicts 0, 1, 1, 2
    m = compute_metrics("classification", y_true, logits)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["uar"] == pytest.approx((1 + 1 + 0.5) / 3)


def test_regression_acc2_has0_vs_non0():
    y_true = np.array([-2.0, -0.4, 0.0, 0.0, 1.0, 2.6])
    y_pred = np.array([-1.0, 0.2, -0.1, 0.3, 0.5, 3.4])
    m = compute_metrics("regression", y_true, y_pred)
    # has-0: (true >= 0) vs (pred >= 0): T/T? -> [F,F,T,T,T,T] vs [F,T,F,T,T,T] -> 4/6
    assert m["acc2_has0"] == pytest.approx(4 / 6)
    # non-0 drops the two zeros: [F,F,T,T] vs [F,T,T,T] -> 3/4
    assert m["acc2_non0"] == pytest.approx(3 / 4)
    # acc7: round(clip(.., -3, 3)): true [-2,-0,0,0,1,3], pred [-1,0,-0,0,0,3] -> matches at 1,2,3,5
    assert m["acc7"] == pytest.approx(4 / 6)
    assert m["mae"] == pytest.approx(np.mean(np.abs(y_true - y_pred)))
    assert m["corr"] == pytest.approx(np.corrcoef(y_true, y_pred)[0, 1])
    # weighted F1 of the non-0 binary task: negatives (2 true; precision 1, recall 1/2),
    # positives (2 true; precision 2/3, recall 1)
    f1_neg = 2 * 1.0 * 0.5 / 1.5
    f1_pos = 2 * (2 / 3) * 1.0 / (2 / 3 + 1)
    assert m["f1_weighted"] == pytest.approx((2 * f1_neg + 2 * f1_pos) / 4)


def test_regression_accepts_b1_outputs_and_constant_prediction_gives_nan_corr():
    y_true = np.array([-1.0, 1.0, 2.0])
    m = compute_metrics("regression", y_true, np.zeros((3, 1)))
    assert math.isnan(m["corr"])
    assert m["mae"] == pytest.approx(4 / 3)


def test_multilabel_weighted_accuracy_matches_formula():
    # presence = intensity > 0; predictions are logits (present iff > 0)
    y_true = np.array([[1.0, 0.0], [0.0, 0.3], [0.0, 0.0], [2.0, 0.0]])
    logits = np.array([[2.0, -1.0], [-1.0, -1.0], [1.0, -1.0], [0.5, 0.4]])
    m = compute_metrics("multilabel", y_true, logits)

    def wacc(t, p):
        tp, tn = np.sum(t & p), np.sum(~t & ~p)
        pos, neg = t.sum(), (~t).sum()
        return (tp * neg / pos + tn) / (2 * neg)

    t, p = y_true > 0, logits > 0
    expected = np.mean([wacc(t[:, j], p[:, j]) for j in range(2)])
    assert m["wacc"] == pytest.approx(expected)
    assert m["wacc"] == pytest.approx(np.mean([(1 + 1 / 2) / 2, (0 + 2 / 3) / 2]))
    # label 0: 2 true, tp 2, fp 1 -> f1 0.8; label 1: 1 true, tp 0, fp 1 -> f1 0; weighted by support 2:1
    assert m["f1_weighted"] == pytest.approx(2 / 3 * 0.8)


def test_per_class_report_and_confusion_cover_absent_classes():
    y_true = np.array([0, 1, 1, 0])
    y_pred = np.array([0, 1, 0, 0])
    names = ["neutral", "calm", "happy"]
    frame = per_class_report(y_true, y_pred, names)
    assert list(frame.index) == names
    assert list(frame.columns) == ["precision", "recall", "f1", "support"]
    assert frame.loc["neutral", "precision"] == pytest.approx(2 / 3)
    assert frame.loc["calm", "recall"] == pytest.approx(0.5)
    assert frame.loc["happy", "support"] == 0
    cm = confusion(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="did you mean 'regression'"):
        compute_metrics("regresion", np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="3 targets but 2 predictions"):
        compute_metrics("classification", np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="no samples"):
        compute_metrics("classification", np.zeros(0), np.zeros(0))


def test_monitor_defaults_and_directions():
    assert default_monitor("classification") == "val/accuracy"
    assert default_monitor("regression") == "val/mae"
    assert default_monitor("multilabel") == "val/wacc"
    assert not higher_is_better("val/loss") and not higher_is_better("val/mae")
    assert higher_is_better("val/uar")


def test_one_registry_for_training_studies_and_reports():
    from ablations.report.read.columns import METRICS as REPORT_METRICS
    from ablations.report.read.columns import TASK_METRICS
    from avtca.metrics import METRICS, TASKS, Metric

    assert set(REPORT_METRICS) == set(METRICS)
    for name, metric in METRICS.items():
        assert REPORT_METRICS[name].higher_is_better == metric.higher_is_better == higher_is_better(f"val/{name}")
        assert REPORT_METRICS[name].label == metric.label
    for task in TASKS.values():
        assert set(task.metrics) | {task.monitor} <= set(METRICS) and TASK_METRICS[task.name] == task.metrics
    # a metric registered later is seen by training (direction) and reports (label, scale) alike
    METRICS.register(Metric("brier", "Brier score", higher_is_better=False, percent=False))
    try:
        assert not higher_is_better("test/brier")
        assert REPORT_METRICS["brier"].label == "Brier score" and REPORT_METRICS["brier"].scale() == 1.0
        with pytest.raises(ValueError, match="registered twice"):
            METRICS.register(Metric("brier", "again"))
    finally:
        METRICS.unregister("brier")
