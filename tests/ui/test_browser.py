"""A person opening the study in a real browser (Debian's Chromium driven by Playwright, no browser download), each
check in a fresh browser profile, as a colleague sent the link would: the printed link, a click on the parent run,
a click on a cell's run, Compare, MLflow's other entry pages and optuna-dashboard. None may land on MLflow's GenAI
pages; the assertions read what a user sees (the sidebar, the breadcrumb, the page's text), not only the URL.

Screenshots go to a temporary folder, or to $AVTCA_UI_SCREENSHOTS (docs/img refreshes the docs' ones:
`AVTCA_UI_SCREENSHOTS=docs/img .venv/bin/python -m pytest tests/ui/test_browser.py`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.ui.helpers import CELLS, DESCRIPTION

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
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

# what MLflow's GenAI pages show and its "Model training" pages never do
GENAI_SIDEBAR = ("Sessions", "Judges", "Playground", "Evaluation runs", "Agent versions", "Prompts")
GENAI_TEXT = re.compile(r"^(Evaluations|Usage)$|(?i:token usage|detect issues)", re.M)  # breadcrumb, dashboard
WAIT = 120_000  # ms: the first page of a cold server on a busy CI machine


class UI:
    """The running `python -m ablations.ui`: its printed URLs and what it prints afterwards."""

    def __init__(self, proc: subprocess.Popen, urls: dict[str, str]):
        self.proc, self.urls = proc, urls
        self.base = urls["mlflow"].split("/#", 1)[0]

    def printed_since(self) -> str:
        """What the command printed since the URLs (nothing is expected unless --verbose)."""
        fd, chunks = self.proc.stdout.fileno(), []
        os.set_blocking(fd, False)
        with contextlib.suppress(BlockingIOError):
            while data := os.read(fd, 65536):
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace")

    def processes(self) -> list[str]:
        """The command lines of the UI's processes (it and all its descendants)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        todo, found = [self.proc.pid], []
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            todo += children.get(pid, [])
        return found


@pytest.fixture(scope="module")
def ui(finished_study):
    """`python -m ablations.ui tiny.yaml --optuna` on free ports."""
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
        yield UI(proc, urls)
    finally:
        proc.send_signal(signal.SIGINT)  # stops the MLflow UI's process group too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def pw():
    with playwright.sync_playwright() as p:
        yield p


@pytest.fixture
def page(pw):
    """A page of a fresh browser: a new, empty profile (no stored MLflow preference)."""
    with tempfile.TemporaryDirectory(prefix="avtca-browser-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 1440, "height": 900}
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("AVTCA_UI_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("shots")


def classic(page, where: str) -> str:
    """Assert the page is one of MLflow's "Model training" pages; returns the text the user sees."""
    sidebar = page.locator("aside").first.inner_text()
    text = page.locator("body").inner_text()
    for word in GENAI_SIDEBAR:
        assert word not in sidebar.splitlines(), f"{where}: GenAI sidebar ({word!r}): {sidebar!r}"
    seen = GENAI_TEXT.search(text)
    assert not seen, f"{where}: GenAI page ({seen and seen.group(0)!r}) at {page.url}"
    return text


def runs_in_order(page) -> list[str]:
    """The run names of the runs table, top to bottom (its grid positions rows; the DOM order may differ)."""
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('[role=row][row-index]')).map(r => [Number(r.getAttribute("
        "'row-index')), (r.querySelector(\"a[href*='/runs/']\") || {}).textContent || ''])"
    )
    return [name for _, name in sorted({i: n for i, n in rows if n.strip()}.items())]


def test_the_printed_link_opens_the_runs_table_parent_first_cells_in_study_order(ui, page, shots):
    page.goto(ui.urls["mlflow"])
    page.get_by_role("link", name="tiny (study)", exact=True).first.wait_for(timeout=WAIT)
    page.get_by_role("link", name="audio_only s0 f3", exact=True).first.wait_for(timeout=30_000)
    sidebar = page.locator("aside").first.inner_text().splitlines()
    assert {"Runs", "Models"} <= set(sidebar)
    text = classic(page, "printed link")
    assert DESCRIPTION in text and "test/accuracy" in text  # the main metric is a column
    assert runs_in_order(page) == ["tiny (study)", *CELLS]
    assert not page.get_by_placeholder("Ask a question...").is_visible()  # the Assistant panel starts closed
    page.screenshot(path=str(shots / "mlflow_runs.png"))
    assert not ui.printed_since().strip()  # no line per request in the terminal


def test_a_click_on_the_parent_shows_the_verdicts_and_a_readme_that_works(ui, page, shots):
    page.goto(ui.urls["mlflow"])
    page.get_by_role("link", name="tiny (study)", exact=True).first.click(timeout=WAIT)
    page.get_by_text("Verdicts").first.wait_for(timeout=60_000)
    text = classic(page, "parent run")
    verdicts = r"(Worse than full|Better than full|Equivalent to full[^:]*|Inconclusive): audio_only"
    assert re.search(r"Verdicts on Accuracy against full.*" + verdicts, text, re.S), text[:2000]
    assert "audio_only: test accuracy minus full" in text and "Metrics (3)" in text  # three headline metrics
    assert not re.search(r"/(n|cells|n_units|cell_std|clip_actors)\b", text)  # no bookkeeping values
    page.screenshot(path=str(shots / "mlflow_parent.png"))
    page.get_by_role("tab", name=re.compile("Artifacts")).first.click()
    page.get_by_text("report", exact=True).first.click(timeout=30_000)
    page.get_by_text("README.md", exact=True).first.click(timeout=30_000)
    page.get_by_text(re.compile(r"^figure: .* \(forest plot\)")).first.wait_for(timeout=30_000)
    readme = classic(page, "README")
    assert "](" not in readme  # no markdown left unrendered, no relative link (MLflow resolves them to a 404)
    page.screenshot(path=str(shots / "mlflow_readme.png"))
    figure = re.search(r"\(([\w.-]+\.png)\)", readme).group(1)
    page.get_by_text(figure, exact=True).first.click()  # in the file list: the figure itself
    page.get_by_text(f"report/{figure}", exact=True).first.wait_for(timeout=30_000)
    page.locator("img[src^='blob:']").first.wait_for(timeout=30_000)  # the image, drawn
    classic(page, "figure")


def test_a_click_on_a_cell_opens_its_run_and_compare_stays_classic(ui, page, shots):
    page.goto(ui.urls["mlflow"])
    page.get_by_role("link", name="full s0 f0", exact=True).first.click(timeout=WAIT)
    page.get_by_role("tab", name="Model metrics").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="tiny (study)", exact=True).first.wait_for(timeout=30_000)  # "Parent run"
    text = classic(page, "cell run")
    assert "val/accuracy" in text  # its curves' metric
    page.screenshot(path=str(shots / "mlflow_child.png"))
    page.get_by_role("tab", name=re.compile("Artifacts")).first.click()
    for name in ("config.yaml", "confusion.csv", "per_class.csv", "predictions.csv"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)  # what docs/browsing.md lists
    page.get_by_role("link", name="Runs", exact=True).last.click()  # the breadcrumb
    page.get_by_role("link", name="audio_only s0 f3", exact=True).first.wait_for(timeout=60_000)
    classic(page, "breadcrumb")
    for row in (1, 2):  # the two cells, not the parent (row 0)
        box = page.locator(f".ag-pinned-left-cols-container [row-index='{row}'] .ag-selection-checkbox input")
        box.wait_for(state="attached", timeout=30_000)
        box.check(force=True)
    page.get_by_role("button", name="Compare").first.click()
    page.get_by_text("Comparing 2 Runs").first.wait_for(timeout=60_000)
    classic(page, "compare")


@pytest.mark.parametrize("where", ["/", "/#/experiments", "/#/experiments/{id}"])
def test_mlflows_other_entry_pages_open_in_the_classic_view(ui, page, where):
    experiment = re.search(r"/experiments/(\d+)/", ui.urls["mlflow"]).group(1)
    page.goto(ui.base + where.format(id=experiment))
    page.get_by_text("tiny", exact=True).first.wait_for(timeout=WAIT)
    classic(page, where)


def test_the_ui_runs_without_mlflows_genai_job_workers(ui):
    commands = ui.processes()
    assert not any("huey" in c or "_job_runner" in c for c in commands), commands
    assert len(commands) == 3, commands  # ablations.ui, mlflow ui and its uvicorn worker


def test_optuna_dashboard_names_the_metric_hides_best_trial_and_links_runs(ui, page, shots):
    page.goto(ui.urls["optuna"])
    study = page.get_by_text(re.compile(r"^\d+\. tiny$")).first  # the study list: "<id>. <name>"
    study.wait_for(timeout=60_000)
    study.click()
    page.get_by_text("Study User Attributes").first.wait_for(timeout=60_000)
    page.get_by_text("val/accuracy").first.wait_for(timeout=60_000)  # the objective's name
    text = page.locator("body").inner_text()
    assert "Objective 0" not in text and DESCRIPTION in text and "Intermediate values" in text
    assert "how to read" in text and "Best Trial (number" not in text  # an ablation study: no best trial
    page.wait_for_timeout(1500)  # let the plots finish drawing for the screenshot
    page.screenshot(path=str(shots / "optuna_dashboard.png"), full_page=True)
    page.goto(page.url.rstrip("/") + "/trials")
    link = page.get_by_role("link", name=re.compile(r"^MLflow run of (full|audio_only) s0 f0$")).first
    link.wait_for(timeout=60_000)
    assert re.fullmatch(re.escape(ui.base) + r"/#/experiments/\d+/runs/[0-9a-f]{32}", link.get_attribute("href"))
