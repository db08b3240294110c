"""What the UIs read: names, the command and URL that open a study, the parent run's summary metrics."""

from __future__ import annotations

import csv
import math
import re
import shlex
import sys
from pathlib import Path

from ablations.masking import mask


def parent_name(study_name: str) -> str:
    """The parent run's name: not the bare study name, which the UI also shows as the experiment's link."""
    return f"{study_name} (study)"


def runs_url(base: str, experiment_id: str | None) -> str:
    """The experiment's runs table in the UI at `base` (the experiment list when there is none yet).

    `workflowType=machine_learning` puts MLflow 3.x's UI in its "Model training" mode (runs, models) instead of
    the GenAI mode (traces, evaluations) it starts in by default.
    """
    base = base.rstrip("/")
    if not experiment_id:
        return f"{base}/#/experiments?workflowType=machine_learning"
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


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


_BAD_NAME = re.compile(r"[^\w./\- :]")  # characters MLflow refuses in metric names


def summary_metrics(path: Path) -> dict[str, float]:
    """`<variant>/<metric>/<statistic>` for every numeric column of a report's summary.csv (long format: one row
    per variant and metric). Text columns (study, dataset, test name, note) identify rows; booleans become 0/1.
    Dataset/protocol prefix the name only when the file holds several."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    several = {k for k in ("dataset", "protocol") if len({r.get(k) for r in rows}) > 1}
    skip = {"study", "dataset", "protocol", "variant", "metric", "subject_independent", "reference"}
    out: dict[str, float] = {}
    for row in rows:
        prefix = "/".join([*(row[k] for k in ("dataset", "protocol") if k in several), row.get("variant", "")])
        for col, text in row.items():
            if col in skip or text in (None, ""):
                continue
            value = {"True": 1.0, "False": 0.0, "true": 1.0, "false": 0.0}.get(text, text)
            if not _finite(value):
                continue
            name = _BAD_NAME.sub("_", f"{prefix}/{row.get('metric', '')}/{col}".replace("//", "/"))
            out[name] = float(value)
    return out


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
