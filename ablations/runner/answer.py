"""The study's answer: its report rendered by ablations.report, then logged to the study's MLflow parent run."""

from __future__ import annotations

import sys
from pathlib import Path

from ablations.masking import mask
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker


def render_report(study: StudyConfig) -> Path | None:
    """Render the study's report with ablations.report (returns its folder); a failure there does not fail the
    study."""
    try:
        # the report (pandas, matplotlib) loads only here: --explain, --schema and invalid files answer without it
        from ablations.report.build import render
    except ImportError as err:
        print(f"report: ablations.report is not available ({err}); skipped")
        return None
    try:
        path = render(study.name, out=study.report.out, tracking_uri=study.tracking, margin=study.report.margin,
                      metric=study.report.metric, objective=study.objective.metric)  # fmt: skip
    except Exception as err:  # noqa: BLE001 - the trials are safe; only the rendering failed
        print(
            f"warning: report rendering failed: {type(err).__name__}: {mask(err)}; retry with "
            f"python -m ablations.report {study.name} --tracking-uri {mask(study.tracking)}",
            file=sys.stderr,
        )
        return None
    print(f"report: {path}")
    return Path(path)


def publish_answer(study: StudyConfig, tracker: Tracker, parent: str, study_file: str | None) -> None:
    """Render the report and log it to the parent run: its main table as the run's description, a few headline
    metrics, the report's files and the study file."""
    folder = render_report(study)
    try:
        # the parent run holds the study's answer
        n = tracker.log_answer(parent, folder, study_file, study.description or "")
        if folder is not None:
            print(
                f"MLflow parent run '{study.name} (study)': the answer as its description, {n} headline metrics, "
                "the report and the study file"
            )
    except Exception as err:  # noqa: BLE001 - the report is on disk; only its copy in MLflow is missing
        print(f"warning: could not log the report to MLflow: {mask(err)}", file=sys.stderr)
