"""The parent run's answer (description, headline metrics, README for MLflow), the runs table's order and view,
and optuna-dashboard's answers for an ablation study: fast checks on small files and dicts."""

from __future__ import annotations

import json

from ablations.tracking.answer import (
    MAX_DESCRIPTION,
    answer_text,
    description,
    headline_metrics,
    mlflow_readme,
)
from ablations.tracking.front import WORKFLOW_KEY, head_script
from ablations.tracking.record import ORDER_TAG
from ablations.tracking.view import order_key, runs_view, view_tag
from ablations.ui.dashboard import AblationDashboard, rewrite_detail, trial_note

HEADER = "study,dataset,protocol,variant,description,reference,metric,n,cells,n_units,mean,std,delta,diff_ci_low,"
HEADER += "diff_ci_high,p_holm,verdict\n"
ROWS = [
    "s,ravdess,a6,full,,True,test/accuracy,6,6,6,0.75,0.05,,,,,\n",
    "s,ravdess,a6,full,,True,test/uar,6,6,6,0.74,0.05,,,,,\n",
    "s,ravdess,a6,audio_only,,False,test/accuracy,6,6,6,0.41,0.03,-0.34,-0.40,-0.28,0.0002,worse\n",
    "s,ravdess,a6,audio_only,,False,test/uar,6,6,6,0.40,0.03,-0.34,-0.40,-0.28,0.0002,worse\n",
    "s,ravdess,a6,no_x,,False,test/accuracy,6,6,6,0.76,0.05,0.01,-0.03,0.05,1,inconclusive\n",
    "s,ravdess,a6,no_x,,False,test/uar,6,6,6,0.75,0.05,0.01,-0.03,0.05,1,inconclusive\n",
]


def _report(tmp_path, rows=ROWS):
    (tmp_path / "summary.csv").write_text(HEADER + "".join(rows))
    return tmp_path


def test_the_answer_leads_with_the_verdicts_then_the_main_table(tmp_path):
    text = answer_text(_report(tmp_path))
    first = text.splitlines()[0]
    assert first.startswith("**Verdicts**") and "**worse**: audio_only" in first and "**inconclusive**: no_x" in first
    assert "| audio_only | 41.0 ± 3.0 | -34.0 [-40.0, -28.0] | 0.0002 | worse |" in text
    assert "| full | 75.0 ± 5.0 | reference |" in text
    assert "test/uar" not in text and "UAR" not in text  # the main metric only: the rest is in the report


def test_an_answer_md_of_the_report_is_used_verbatim(tmp_path):
    report = _report(tmp_path)
    (report / "answer.md").write_text("| variant | verdict |\n|---|---|\n| audio_only | worse |\n")
    assert answer_text(report) == "| variant | verdict |\n|---|---|\n| audio_only | worse |"


def test_the_description_fits_a_run_tag_and_ends_with_the_report_link(tmp_path):
    long = "\n".join(f"| v{i} | {'x' * 60} |" for i in range(400))
    text = description("The study's line", long, "#/experiments/1/runs/r/artifacts/report/README.md")
    assert len(text) <= MAX_DESCRIPTION < 8000
    assert "the full table is in the report" in text and text.rstrip().endswith("The study: The study's line")
    assert "[report/README.md](#/experiments/1/runs/r/artifacts/report/README.md)" in text


def test_headline_metrics_are_few_and_named_for_people_without_bookkeeping(tmp_path):
    got = headline_metrics(_report(tmp_path) / "summary.csv")
    assert got == {
        "full: test accuracy": 0.75,
        "audio_only: test accuracy": 0.41,
        "audio_only: test accuracy minus full": -0.34,
        "no_x: test accuracy": 0.76,
        "no_x: test accuracy minus full": 0.01,
    }


def test_the_readme_for_mlflow_names_its_files_and_figures_instead_of_linking_them(tmp_path):
    readme = "- [table.md](table.md)\n- [the runs](runs.csv)\n![metrics per variant](fig_metrics.png)\n[d](https://x.org/y)\n"
    got = mlflow_readme(readme)
    assert "- `table.md`\n- the runs (`runs.csv`)\nfigure: metrics per variant (`fig_metrics.png`)\n" in got
    assert "](table.md)" not in got and "![" not in got and "[d](https://x.org/y)" in got  # absolute links stay


def test_runs_sort_parent_first_then_study_order_with_fold_runs_after_their_trial():
    tags = [
        {"avtca.role": "trial", "variant_index": 1, "seed": 0, "fold": 0, "optuna.trial_number": 2},
        {"avtca.role": "trial", "variant_index": 0, "seed": 1, "fold": 0, "optuna.trial_number": 5},
        {"avtca.role": "study"},
        {"avtca.role": "fold", "variant_index": 0, "seed": 0, "fold": 1, "optuna.trial_number": 12},
        {"avtca.role": "trial", "variant_index": 10, "seed": 0, "fold": 0, "optuna.trial_number": 0},
        {"avtca.role": "trial", "variant_index": 0, "seed": 0, "fold": "all", "optuna.trial_number": 12},
        {"avtca.role": "fold", "variant_index": 0, "seed": 0, "fold": 0, "optuna.trial_number": 12},
    ]
    ranked = sorted(range(len(tags)), key=lambda i: order_key(tags[i]))
    assert ranked == [2, 5, 6, 3, 1, 0, 4]
    # repeated cross-validation: a seed's repeats in order, each repeat's folds in order (repeat 0 keeps its key)
    cells = [{"avtca.role": "trial", "variant_index": 0, "seed": 0, "repeat": r, "fold": f, "optuna.trial_number": 0}
             for r, f in ((1, 0), (0, 5), (10, 0), (2, 1), (0, 0), (2, 0))]  # fmt: skip
    ranked = sorted(cells, key=order_key)
    assert [(c["repeat"], c["fold"]) for c in ranked] == [(0, 0), (0, 5), (1, 0), (2, 0), (2, 1), (10, 0)]
    assert order_key(cells[4]) == order_key({k: v for k, v in cells[4].items() if k != "repeat"})


def test_the_view_sorts_by_the_order_tag_and_shows_the_main_metric():
    view = runs_view("val/uar")
    assert view["orderByKey"] == f"tags.`{ORDER_TAG}`" and view["orderByAsc"] is True
    assert "metrics.`test/uar`" in view["selectedColumns"] and "metrics.`best/val/uar`" in view["selectedColumns"]
    assert view["columnOrder"][-2:] == ["metrics.`test/uar`", "metrics.`best/val/uar`"]  # the test value first
    assert [c["metricKey"] for c in view["compareRunCharts"]][:2] == ["val/uar", "train/loss"]
    ((key, value),) = view_tag("val/uar").items()
    assert (
        key == "mlflow.sharedViewState.study" and json.loads(value) == view and len(value) < 6000
    )  # describe_experiment keeps 6000


def test_the_page_script_stores_model_training_and_the_study_view():
    script = head_script({"7": runs_view(None)})
    assert script.startswith("<script>") and WORKFLOW_KEY in script and '\\"machine_learning\\"' in script
    assert 'ExperimentPage-[\\"7\\"]-ReactComponentState' in script and "mlflow.assistant.panelOpen_v1" in script


def _detail():
    return {
        "best_trials": [{"number": 1}],
        "note": {"version": 0, "body": ""},
        "user_attrs": [{"key": "study_file", "value": "s.yaml"}],
        "trials": [
            {"note": {"version": 0, "body": ""}, "user_attrs": [{"key": "mlflow_run_id", "value": "r1"},
             {"key": "variant", "value": "full"}, {"key": "seed", "value": "0"}, {"key": "fold", "value": "2"}]},
            {"note": {"version": 3, "body": "mine"}, "user_attrs": [{"key": "mlflow_run_id", "value": "r2"}]},
        ],
    }  # fmt: skip


def test_an_ablation_study_has_no_best_trial_and_its_trials_link_their_runs():
    data = _detail()
    rewrite_detail(data, True, "the study note", lambda rid: f"http://ui/#/runs/{rid}")
    assert data["best_trials"] == [] and data["note"] == {"version": 0, "body": "the study note"}
    assert data["user_attrs"][0]["key"] == "how to read"
    assert data["trials"][0]["note"]["body"].startswith("[MLflow run of full s0 f2](http://ui/#/runs/r1)")
    assert data["trials"][1]["note"] == {"version": 3, "body": "mine"}  # the user's note wins
    searched = _detail()
    rewrite_detail(searched, False, "", lambda rid: rid)
    assert searched["best_trials"] == [{"number": 1}] and searched["user_attrs"][0]["key"] == "study_file"
    assert trial_note({"user_attrs": []}, str) == ""


def test_the_dashboard_middleware_rewrites_only_the_study_and_importance_answers():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        if environ["PATH_INFO"] == "/api/studies":
            return [json.dumps({"study_summaries": [{"user_attrs": []}]}).encode()]
        return [json.dumps({"path": environ["PATH_INFO"], **_detail()}).encode()]

    def call(path):
        seen = {}
        body = b"".join(mw({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, lambda s, h: seen.update(s=s, h=h)))
        return seen["s"], json.loads(body)

    mw = AblationDashboard(app, True, "http://ui/#/parent", lambda rid: rid)
    assert call("/api/studies/0/param_importances")[1] == {"param_importances": []}
    status, detail = call("/api/studies/0")
    assert status == "200 OK" and detail["best_trials"] == [] and "http://ui/#/parent" in detail["note"]["body"]
    assert call("/api/studies/0/trials")[1]["best_trials"] == [{"number": 1}]  # other answers pass through
    assert call("/api/studies")[1]["study_summaries"][0]["user_attrs"][0]["key"] == "how to read"
