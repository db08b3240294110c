"""What the UIs read: names, the command and URL that open a study."""

from __future__ import annotations

import shlex
import sys

from ablations.masking import mask
from ablations.tracking.view import SHARE_KEY


def parent_name(study_name: str) -> str:
    """The parent run's name: not the bare study name, which the UI also shows as the experiment's link."""
    return f"{study_name} (study)"


def runs_url(base: str, experiment_id: str | None, shared: bool = False) -> str:
    """The experiment's runs table in the UI at `base` (the experiment list when there is none yet); `shared`:
    opened on the study's view (view.py), which the experiment must hold.

    `workflowType=machine_learning` puts MLflow 3.x's UI in its "Model training" mode (runs, models) instead of
    the GenAI mode (traces, evaluations) it starts in by default; MLflow forgets it on the next click unless the
    UI is served by `ablations.ui` (front.py).
    """
    base = base.rstrip("/")
    if not experiment_id:
        return f"{base}/#/experiments?workflowType=machine_learning"
    view = f"viewStateShareKey={SHARE_KEY}&" if shared else ""
    return f"{base}/#/experiments/{experiment_id}/runs?{view}workflowType=machine_learning"


DEFAULT_UI = "http://127.0.0.1:5000"  # where `mlflow ui` listens by default


def ui_command(uri: str, port: int | None = None, masked: bool = True) -> str:
    """`<this interpreter> -m mlflow ui ...`: works without an activated virtual environment (credentials masked
    unless `masked` is false)."""
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        mask(uri) if masked else uri,
        "--host",
        "127.0.0.1",
        "--workers",
        "1",
    ]  # one worker starts faster; one person browses
    if port is not None:
        cmd += ["--port", str(port)]
    return " ".join(shlex.quote(c) for c in cmd)
