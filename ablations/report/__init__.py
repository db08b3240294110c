"""The report generator: per-dataset tables with honest statistics, figures, and the paper's tables.

`render(source)` renders one study (a study name read from MLflow, or an exported runs.csv) into
reports/<study>/; `render_paper()` renders the state-of-the-art and ablation tables into reports/paper/.
"""

from __future__ import annotations

from ablations.report.load import ReportInputError, load_runs
from ablations.report.render import FORMATS, render


def render_paper(*args, **kwargs):
    """Render the paper tables; see ablations.report.paper.render_paper."""
    from ablations.report.paper import render_paper as _render_paper

    return _render_paper(*args, **kwargs)


def export_from_mlflow(study_name, tracking_uri, out_dir):
    """Export a study from MLflow into runs.csv/history.csv/confusion.csv; see ablations.report.export."""
    from ablations.report.export import export_from_mlflow as _export

    return _export(study_name, tracking_uri, out_dir)


__all__ = ["FORMATS", "ReportInputError", "export_from_mlflow", "load_runs", "render", "render_paper"]
