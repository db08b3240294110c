"""The study file's `report.margin` and `report.metric` reach the report the runner renders, are listed by
--explain, and a metric the task does not have is an error before anything runs."""

from __future__ import annotations

import importlib

from ablations.runner.answer import render_report
from ablations.study.cells import objective_problems
from ablations.study.explain import explain
from ablations.study.schema import load_study
from tests.tiny import write_study


def test_report_margin_and_metric_reach_the_report(workdir, monkeypatch):
    study = load_study(write_study(workdir, report={"kind": "render", "out": "reports", "margin": 5, "metric": "uar"}))
    seen = {}

    def fake_render(name, **kwargs):
        seen.update(kwargs, name=name)
        return workdir

    monkeypatch.setattr(importlib.import_module("ablations.report.build"), "render", fake_render)
    assert render_report(study) == workdir
    assert seen["name"] == "tiny" and seen["margin"] == 5 and seen["metric"] == "uar"
    assert seen["objective"] == "val/accuracy"  # the primary metric's fallback before the task's main metric
    lines = explain()
    assert any(ln.startswith("report.margin ") and "2 points" in ln for ln in lines)
    assert any(ln.startswith("report.metric ") for ln in lines)


def test_an_unknown_report_metric_is_an_error_naming_the_key(workdir):
    study = load_study(write_study(workdir, report={"kind": "render", "metric": "uarr"}))
    problems = objective_problems(study)
    assert len(problems) == 1 and problems[0].startswith("report.metric: 'uarr' is not a classification metric")
    assert "did you mean 'uar'" in problems[0]
