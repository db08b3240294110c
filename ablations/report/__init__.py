"""The report generator: per-dataset tables with honest statistics, figures, and the paper's tables.

`render(source)` renders one study (a study name read from MLflow, or an exported runs.csv) into
reports/<study>/; `render_across(sources)` one ablation table over several studies (one per dataset);
`render_paper()` renders the state-of-the-art and ablation tables into reports/paper/.
The package is in layers: read/ (runs.csv and siblings, the MLflow export) -> statistics/ (pure functions of
arrays) -> compare/ (each variant against the reference, per dataset) -> rendering/ (the registered tables and
figures in every format) -> build.py (`render`).
"""

from __future__ import annotations

from ablations.report.build import FORMATS, render, render_across
from ablations.report.read.export import export_from_mlflow
from ablations.report.read.load import ReportInputError, load_runs
from ablations.report.rendering.paper import render_paper

__all__ = ["FORMATS", "ReportInputError", "export_from_mlflow", "load_runs", "render", "render_across", "render_paper"]
