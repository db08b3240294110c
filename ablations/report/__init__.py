"""The report generator: per-dataset tables with honest statistics, figures, and the paper's tables.

`render(source)` renders one study (a study name read from MLflow, or an exported runs.csv) into
reports/<study>/; `render_paper()` renders the state-of-the-art and ablation tables into reports/paper/.
Report files (names, deterministic writes, the reports index) are written by `files`, exports by `export`.
"""

from __future__ import annotations

from ablations.report.export import export_from_mlflow
from ablations.report.load import ReportInputError, load_runs
from ablations.report.paper import render_paper
from ablations.report.render import FORMATS, render

__all__ = ["FORMATS", "ReportInputError", "export_from_mlflow", "load_runs", "render", "render_paper"]
