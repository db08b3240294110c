"""optuna-dashboard for a study, with what it shows wrongly for an ablation study hidden or explained.

An ablation study's trials are its cells (variant, seed, fold) with fixed settings, not a search: the dashboard's
"Best Trial" (the highest validation value of one fold) and "Hyperparameter Importance" (of `variant`, the factor
the study compares) say nothing about its answer. For such studies the API answers below leave both out; for every
study each trial without a note gets one linking its MLflow run, and the study one linking the parent run. The
rewrite is read-only: nothing is written to the Optuna storage, and a note the user writes replaces ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

_LIST = "/api/studies"
_DETAIL = re.compile(r"/api/studies/\d+")
_IMPORTANCE = re.compile(r"/api/studies/\d+/param_importances")

ABLATION_NOTE = """**An ablation study, not a search.** Each trial is one cell (a variant, seed and fold) trained \
with fixed settings.

- "Best Trial" is left out: the highest validation value of one fold is not the study's answer, and the History \
plot's best-value line means as little.
- "Hyperparameter Importance" is left out: `variant` is the factor the study compares, not a tuned setting.
- The answer (the test metric per variant, differences to the reference and verdicts) is on the MLflow parent run: \
{parent}.
- Each trial's note links its MLflow run (curves, per-class metrics, predictions)."""
READ_ME = {"key": "how to read", "value": "an ablation study: trials are cells, not a search (see Note)"}
SEARCH_NOTE = "The study's runs are in MLflow: {parent}. Each trial's note links its own run."


def _attrs(trial: dict[str, Any]) -> dict[str, str]:
    attrs = trial.get("user_attrs") or []
    if isinstance(attrs, dict):
        return {str(k): str(v) for k, v in attrs.items()}
    return {str(a.get("key")): str(a.get("value")) for a in attrs if isinstance(a, dict)}


def trial_note(trial: dict[str, Any], run_url: Callable[[str], str]) -> str:
    """`[MLflow run of full s0 f1](url)` for a trial that names its run (user attribute mlflow_run_id), else ""."""
    a = _attrs(trial)
    run_id = a.get("mlflow_run_id")
    if not run_id:
        return ""
    name = f"{a.get('variant', '?')} s{a.get('seed', '?')} f{a.get('fold', '?')}"
    return f"[MLflow run of {name}]({run_url(run_id)}): curves, per-class metrics and predictions."


def _with_note(owner: dict[str, Any], body: str) -> None:
    note = owner.get("note") or {}
    if body and not (note.get("body") or "").strip():  # the user's own note wins
        owner["note"] = {"version": int(note.get("version") or 0), "body": body}


def _with_read_me(study: dict[str, Any]) -> None:
    if isinstance(study.get("user_attrs"), list) and READ_ME not in study["user_attrs"]:
        study["user_attrs"] = [READ_ME, *study["user_attrs"]]


def rewrite_detail(data: dict[str, Any], ablation: bool, study_note: str, run_url: Callable[[str], str]) -> None:
    """The study-detail answer, edited in place: notes added; for ablation studies no best trials, and a first
    user attribute (the table the study page shows) that says how to read it."""
    if ablation:
        data["best_trials"] = []
        _with_read_me(data)
    _with_note(data, study_note)
    for trial in data.get("trials") or []:
        _with_note(trial, trial_note(trial, run_url))


class AblationDashboard:
    """WSGI middleware around optuna-dashboard's app applying `rewrite_detail` and, for ablation studies, answering
    no parameter importances and adding READ_ME to the study list's user attributes."""

    def __init__(self, app: Any, ablation: bool, parent_url: str | None, run_url: Callable[[str], str]):
        self.app, self.ablation, self.run_url = app, ablation, run_url
        parent = f"[the study's parent run]({parent_url})" if parent_url else "the study's `(study)` run"
        self.note = (ABLATION_NOTE if ablation else SEARCH_NOTE).format(parent=parent)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if method != "GET":
            return self.app(environ, start_response)
        if self.ablation and _IMPORTANCE.fullmatch(path):
            return self._json(start_response, {"param_importances": []})
        listing = self.ablation and path == _LIST  # the study page reads its user attributes from the list
        if not (listing or _DETAIL.fullmatch(path)):
            return self.app(environ, start_response)
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            seen.update(status=status, headers=headers)
            return lambda _: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        if not seen.get("status", "").startswith("200"):
            start_response(seen.get("status", "500 Internal Server Error"), seen.get("headers", []))
            return [body]
        data = json.loads(body)
        if listing:
            for study in data.get("study_summaries") or []:
                _with_read_me(study)
        else:
            rewrite_detail(data, self.ablation, self.note, self.run_url)
        return self._json(start_response, data)

    @staticmethod
    def _json(start_response: Callable[..., Any], data: Any) -> list[bytes]:
        body = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
