"""A person opening the study in a real browser (Debian's Chromium driven by Playwright, no browser download):
MLflow's UI lands on the runs table with the parent and its children named by variant, the parent run holds
the study's answer, and optuna-dashboard shows the study with its metric name.

Screenshots go to a temporary folder, or to $AVTCA_UI_SCREENSHOTS (e.g. docs/img) to refresh the docs' ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui.helpers import DESCRIPTION

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if os.environ.get("AVTCA_REQUIRE_BROWSER") == "1":  # CI: a missing browser is an error, not a skip
    import playwright.sync_api as playwright

    assert Path(CHROMIUM).is_file(), "AVTCA_REQUIRE_BROWSER=1 but Debian's chromium is not installed"
else:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    pytest.importorskip("optuna_dashboard", reason="pip install -e '.[ui]'")
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True
        )


@pytest.fixture(scope="module")
def ui(finished_study, tmp_path_factory):
    """`python -m ablations.ui tiny.yaml --optuna` on free ports: {'mlflow': runs URL, 'optuna': dashboard URL}."""
    root, _ = finished_study
    proc = subprocess.Popen([sys.executable, "-m", "ablations.ui", "tiny.yaml", "--port", "0", "--optuna",
                             "--dashboard-port", "0", "--timeout", "300"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    urls, seen = {}, []
    deadline = time.time() + 360
    while time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        seen.append(line)
        if m := re.match(r"MLflow UI, study 'tiny': (http://127\.0\.0\.1:\d+/\S+)", line):
            urls["mlflow"] = m.group(1)
        if m := re.match(r"optuna-dashboard: (http://127\.0\.0\.1:\d+/dashboard)", line):
            urls["optuna"] = m.group(1)
        if line.startswith("Ctrl-C"):
            break
    try:
        assert set(urls) == {"mlflow", "optuna"}, "".join(seen)[-3000:]
        yield urls
    finally:
        proc.send_signal(signal.SIGINT)  # stops the MLflow UI's process group too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 1440, "height": 900})
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("AVTCA_UI_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("shots")


def _close_assistant(page) -> None:
    """MLflow 3.x opens an 'Assistant' side panel; it is not part of the study."""
    close = page.locator("button[aria-label*='lose']").filter(has_not_text="sidebar")
    heading = page.get_by_text("MLflow Assistant")
    if heading.count() and heading.first.is_visible():
        box = heading.first.bounding_box()
        for i in range(close.count()):
            b = close.nth(i).bounding_box()
            if b and box and abs(b["y"] - box["y"]) < 30:
                close.nth(i).click()
                return


def test_mlflow_opens_on_the_runs_table_with_runs_named_by_variant(ui, page, shots):
    page.goto(ui["mlflow"])
    parent = page.get_by_role("link", name="tiny (study)", exact=True).first
    parent.wait_for(timeout=120_000)
    assert page.get_by_text("Runs", exact=True).first.is_visible()  # the runs table, in "Model training" mode
    assert not page.get_by_text("Detect issues in your traces").count()  # not the GenAI overview
    assert not page.get_by_text("Token Usage").count()
    assert page.get_by_text(DESCRIPTION).first.is_visible()
    row = page.locator('[role="row"]', has=parent).last
    row.locator("button[data-component-id*='runnamecellrenderer']").first.click()  # expand the parent
    for name in ("full s0", "audio_only s0"):
        page.get_by_role("link", name=name, exact=True).first.wait_for(timeout=30_000)
    _close_assistant(page)
    page.screenshot(path=str(shots / "mlflow_runs.png"))


def test_the_parent_run_shows_the_summary_metrics_and_the_report(ui, page, shots):
    page.goto(ui["mlflow"])
    page.get_by_role("link", name="tiny (study)", exact=True).first.click(timeout=120_000)
    page.get_by_text("full/test/accuracy/mean").first.wait_for(timeout=60_000)
    assert page.get_by_text("audio_only/test/accuracy/delta").count()
    _close_assistant(page)
    page.screenshot(path=str(shots / "mlflow_parent.png"), full_page=True)
    page.get_by_role("tab", name=re.compile("Artifacts")).first.click()
    for folder in ("report", "study"):
        page.get_by_text(folder, exact=True).first.wait_for(timeout=30_000)
    page.get_by_text("report", exact=True).first.click()
    page.get_by_text("table.md").first.wait_for(timeout=30_000)
    assert page.get_by_text("summary.csv").count()


def test_optuna_dashboard_shows_the_study_and_its_metric_name(ui, page, shots):
    page.goto(ui["optuna"])
    study = page.get_by_text(re.compile(r"^\d+\. tiny$")).first  # the study list: "<id>. <name>"
    study.wait_for(timeout=60_000)
    study.click()
    page.get_by_text("Study User Attributes").first.wait_for(timeout=60_000)
    page.get_by_text("val/accuracy").first.wait_for(timeout=60_000)  # the objective's name
    assert not page.get_by_text("Objective 0").count()
    assert page.get_by_text(DESCRIPTION).count() and page.get_by_text("Intermediate values").count()
    page.wait_for_timeout(1500)  # let the plots finish drawing for the screenshot
    page.screenshot(path=str(shots / "optuna_dashboard.png"), full_page=True)
