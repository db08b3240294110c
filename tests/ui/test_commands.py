"""What a finished run prints works as printed; curves are logged once per epoch; re-runs keep the report's bytes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from ablations.tracking import _client
from tests.ui.helpers import CELLS, DESCRIPTION, without_venv

pytestmark = pytest.mark.slow


def _printed(stdout: str) -> tuple[list[str], str]:
    """The `mlflow ui` command a finished run prints (after `ablations.ui`'s) and the URL to open with it."""
    cmd = re.search(r"^  or: (.+)$", stdout, re.M)
    url = re.search(r"then open (http://\S+)", stdout)
    assert cmd and url, stdout
    return shlex.split(cmd.group(1)), url.group(1)


def test_the_printed_commands_run_without_an_activated_venv(finished_study):
    root, stdout = finished_study
    argv, url = _printed(stdout)
    assert argv[:4] == [sys.executable, "-m", "mlflow", "ui"] and "127.0.0.1" in argv
    first = re.search(r"^MLflow UI: (.+)$", stdout, re.M)
    assert first and shlex.split(first.group(1)) == [sys.executable, "-m", "ablations.ui", "tiny.yaml"]
    # the commands as printed (help only: starting the servers is the browser test's job) in a plain shell
    for command in (argv, shlex.split(first.group(1))[:3]):
        done = subprocess.run(command + ["--help"], cwd=root, env=without_venv(dict(os.environ)),
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    store = argv[argv.index("--backend-store-uri") + 1]
    exp = _client(store).get_experiment_by_name("tiny")
    runs = f"http://127.0.0.1:5000/#/experiments/{exp.experiment_id}/runs"
    assert url == f"{runs}?viewStateShareKey=study&workflowType=machine_learning"  # the study's view, shared


def test_the_experiment_is_a_training_experiment_with_the_study_description(finished_study):
    root, stdout = finished_study
    argv, _ = _printed(stdout)
    client = _client(argv[argv.index("--backend-store-uri") + 1])
    exp = client.get_experiment_by_name("tiny")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"  # the runs table, not GenAI
    assert exp.tags["mlflow.note.content"] == DESCRIPTION
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("avtca.role") == "study")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["mlflow.runName"] == "tiny (study)"
    assert sorted(r.data.tags["mlflow.runName"] for r in children) == sorted(CELLS)
    for run in [parent, *children]:
        assert run.data.tags["mlflow.source.name"] == "tiny.yaml"
        assert re.fullmatch(r"[0-9a-f]{40}", run.data.tags["mlflow.source.git.commit"])
    # the study's answer: verdicts and the main table as the description, headline metrics, the report, the study
    answer = (root / "reports" / "tiny" / "answer.md").read_text().strip()
    assert parent.data.tags["mlflow.note.content"].startswith(answer)  # the report's answer.md, verdicts first
    assert answer.startswith("**Verdicts on Accuracy against `full`**") and "| `audio_only` |" in answer
    assert set(parent.data.metrics) == {"full: test accuracy", "audio_only: test accuracy",
                                        "audio_only: test accuracy minus full"}  # fmt: skip
    order = sorted([parent, *children], key=lambda r: r.data.tags["avtca.order"])
    assert [r.data.tags["mlflow.runName"] for r in order] == ["tiny (study)", *CELLS]
    assert "mlflow.sharedViewState.study" in exp.tags
    top = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert top == {"report", "study"}
    report = {f.path.split("/", 1)[1] for f in client.list_artifacts(parent.info.run_id, "report")}
    assert {"table.md", "summary.csv", "runs.csv"} <= report and any(p.endswith(".png") for p in report)


def test_every_curve_is_logged_once_per_epoch_and_final_values_once(finished_study):
    root, stdout = finished_study
    argv, _ = _printed(stdout)
    client = _client(argv[argv.index("--backend-store-uri") + 1])
    exp = client.get_experiment_by_name("tiny")
    child = next(r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("avtca.role") == "trial")
    rid = child.info.run_id
    for key in ("val/accuracy", "val/loss", "train/loss"):
        steps = [m.step for m in client.get_metric_history(rid, key)]
        assert steps == sorted(set(steps)) and len(steps) == 2, (key, steps)  # 2 epochs, one point each
    best = child.data.metrics["best/val/accuracy"]
    epochs = {m.step: m.value for m in client.get_metric_history(rid, "val/accuracy")}
    assert best == pytest.approx(epochs[int(child.data.metrics["best_epoch"])])
    for key in ("best/val/accuracy", "test/accuracy", "best_epoch"):
        assert len(client.get_metric_history(rid, key)) == 1


def test_a_rerender_of_unchanged_results_keeps_every_report_file_byte_identical(finished_study, tmp_path):
    root, stdout = finished_study
    argv, _ = _printed(stdout)
    store = argv[argv.index("--backend-store-uri") + 1]
    folder = root / "reports" / "tiny"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert any(n.endswith(".svg") for n in before) and any(n.endswith(".png") for n in before)
    done = subprocess.run(
        [sys.executable, "-m", "ablations.report", "tiny", "--tracking-uri", store, "--out", "reports"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert sorted(after) == sorted(before)
    changed = [n for n in before if before[n] != after[n]]
    assert not changed


def test_progress_is_plain_lines_when_the_output_is_not_a_terminal(finished_study):
    root, _ = finished_study
    err = (root / "stderr.txt").read_text()
    assert "\r" not in err  # no carriage-return bar in a log file
    assert "preparing the synthetic dataset on first use" in err
    lines = [ln for ln in err.splitlines() if re.match(r"\[\d\d:\d\d:\d\d\] tiny: \d/8 cells done", ln)]
    assert lines and lines[-1].endswith("done") and "8/8 cells done" in lines[-1]
    assert max(len(ln) for ln in err.splitlines()) < 300


def test_an_idle_browser_connection_neither_stalls_optuna_dashboard_nor_ctrl_c(finished_study):
    """Browsers open connections before they send anything: wsgiref's one-connection-at-a-time server stopped
    answering and Ctrl-C never returned (its shutdown waited on that connection)."""
    root, _ = finished_study
    proc = subprocess.Popen([sys.executable, "-m", "ablations.ui", "tiny.yaml", "--port", "0", "--optuna",
                             "--dashboard-port", "0", "--timeout", "300"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        seen, url = [], None
        while (line := proc.stdout.readline()) and not line.startswith("Ctrl-C"):
            seen.append(line)
            if m := re.match(r"optuna-dashboard: (http://127\.0\.0\.1:(\d+)/dashboard)", line):
                url, port = m.group(1), int(m.group(2))
        assert url, "".join(seen)[-3000:]
        with socket.create_connection(("127.0.0.1", port)):  # opened, nothing sent
            assert urllib.request.urlopen(url, timeout=60).status == 200
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=120) == 0  # the old server never returned here
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
