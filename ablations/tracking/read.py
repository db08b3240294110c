"""Reading a study back out of MLflow for the report: plain Python data only, so ablations.report needs no mlflow."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ablations.tracking import BEST_PREFIX, Tracker, _client
from ablations.tracking.record import (
    CELL_ID,
    FOLD,
    FOLD_ROLE,
    PARENT_RUN,
    RESYNCED,
    ROLE,
    SEED,
    STUDY_ROLE,
    TRIAL_NUMBER,
    TRIAL_ROLE,
    VARIANT,
)
from avtca.config.base import suggest

HISTORY_PREFIXES = ("train/", "val/")
CELL_ROLES = (TRIAL_ROLE, FOLD_ROLE)  # runs that hold one (variant, seed, fold) cell


def _own_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith("mlflow.")}


class StudyNotFound(LookupError):
    """No MLflow experiment holds the study; the message lists the experiments found."""


def _experiment(client: Any, study_name: str, tracking_uri: str | None) -> Any:
    exp = client.get_experiment_by_name(study_name)
    if exp is not None:
        return exp
    names = sorted(e.name for e in client.search_experiments())
    where = tracking_uri or "the default tracking URI"
    raise StudyNotFound(
        f"no MLflow experiment named '{study_name}' at {where}; experiments there: {', '.join(names) or 'none'}"
        f"{suggest(study_name, names)}"
    )


def _all_runs(client: Any, experiment_id: str) -> list[Any]:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])  # fmt: skip
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _is_cell(run: Any) -> bool:
    tags = run.data.tags
    if PARENT_RUN not in tags or not {VARIANT, SEED, FOLD} <= set(tags):
        return False
    role = tags.get(ROLE, TRIAL_ROLE)
    return role in CELL_ROLES and tags["fold"] != "all"  # "all": a trial spanning folds; its children are cells


def _histories(client: Any, run: Any) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Final values and per-epoch rows of the train/val metrics.

    The runner logs epochs at step=epoch and the best epoch's values once as `best/<name>`. Runs logged before
    that re-logged the final values under the curves' own names in one later batch, so MLflow's "latest" value
    of a val metric was the last epoch's: there the final batch is told apart by its timestamp (the test
    metrics').
    """
    metrics = run.data.metrics
    best = {k[len(BEST_PREFIX) :]: float(v) for k, v in metrics.items() if k.startswith(BEST_PREFIX)}
    final_ts = None
    for key in sorted(metrics) if not best else []:
        if key.startswith(("test/", "test_robust/")) or key == "best_epoch":
            final_ts = max(m.timestamp for m in client.get_metric_history(run.info.run_id, key))
            break
    final: dict[str, float] = {}
    epochs: dict[int, dict[str, Any]] = {}
    for key in sorted(k for k in metrics if k.startswith(HISTORY_PREFIXES)):
        entries = client.get_metric_history(run.info.run_id, key)
        for m in entries:
            if final_ts is not None and m.timestamp == final_ts:
                final[key] = float(m.value)
            else:
                epochs.setdefault(int(m.step), {}).setdefault(key, float(m.value))  # first value per epoch
        if final_ts is None and entries:
            final[key] = float(metrics[key])
    final.update(best)
    rows = [{"run_id": run.info.run_id, "epoch": e, **vals} for e, vals in sorted(epochs.items())]
    return final, rows


def _artifact_csv(client: Any, run_id: str, name: str) -> list[list[str]] | None:
    """The rows (header first) of the run's CSV artifact `name`, all strings; None when the run has none."""
    if name not in {Path(f.path).name for f in client.list_artifacts(run_id)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(client.download_artifacts(run_id, name, tmp))
        with path.open(newline="") as fh:
            return [row for row in csv.reader(fh) if row]


def _confusion(client: Any, run_id: str) -> list[dict[str, Any]]:
    rows = _artifact_csv(client, run_id, "confusion.csv")
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if [h.strip() for h in header] == ["true", "pred", "count"]:
        return [{"run_id": run_id, "true": t, "pred": p, "count": int(float(c))} for t, p, c in body]
    # a square matrix: first header cell empty, then predicted labels; each row starts with the true label
    labels = header[1:]
    return [
        {"run_id": run_id, "true": row[0], "pred": labels[j], "count": int(float(v))}
        for row in body
        for j, v in enumerate(row[1:])
    ]


def _predictions(client: Any, run_id: str) -> list[dict[str, Any]]:
    """The run's predictions.csv artifact (condition, clip, actor, target, prediction) as dicts; [] when absent."""
    rows = _artifact_csv(client, run_id, "predictions.csv")
    if not rows:
        return []
    # clip and actor ids stay strings ("01", "1001_DFA_ANG_XX"); numbers are parsed by the exporter
    return [{"run_id": run_id, **dict(zip(rows[0], row, strict=True))} for row in rows[1:]]


def read_study(study_name: str, tracking_uri: str | None) -> tuple[list[dict[str, Any]], ...]:
    """Read a study's cell runs: (runs, histories, confusions, predictions) as plain dicts.

    runs: {run_id, status, start_time, tags, params, metrics, study (the parent run's params and tags)};
    histories: {run_id, epoch, <metric>...};
    confusions: {run_id, true, pred, count};
    predictions: {run_id, condition, clip, actor, target, prediction} (strings, as in the artifact).
    """
    client = _client(tracking_uri)
    exp = _experiment(client, study_name, tracking_uri)
    runs, histories, confusions, predictions = [], [], [], []
    every = _all_runs(client, exp.experiment_id)
    # the study's parent run carries study-wide settings such as objective.metric / objective.direction
    parent = next((r for r in every if r.data.tags.get(ROLE) == STUDY_ROLE), None)
    study = {**parent.data.params, **_own_tags(parent.data.tags)} if parent is not None else {}
    cells = [run for run in every if _is_cell(run)]
    for run in tqdm(cells, desc=f"export {study_name}", unit="run", disable=None):
        metrics = {k: v for k, v in run.data.metrics.items() if not k.startswith(BEST_PREFIX)}
        final, rows = _histories(client, run)
        metrics.update(final)
        runs.append({
            "run_id": run.info.run_id,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "tags": _own_tags(run.data.tags),
            "params": dict(run.data.params),
            "metrics": metrics,
            "study": study,
        })  # fmt: skip
        if run.info.status == "FINISHED":
            histories.extend(rows)
            confusions.extend(_confusion(client, run.info.run_id))
            predictions.extend(_predictions(client, run.info.run_id))
    return runs, histories, confusions, predictions


class LiveRuns:
    """The live (not deleted) runs of a study's experiment, read once: does an Optuna trial still have its run?"""

    def __init__(self, runs: list[Any]):
        self.ids = {r.info.run_id for r in runs}
        # a run rebuilt by --resync-tracking stands for the trial's lost or gappy one
        self.resynced = {
            (r.data.tags.get(CELL_ID), r.data.tags.get(TRIAL_NUMBER))
            for r in runs
            if r.info.status == "FINISHED" and RESYNCED in r.data.tags
        }
        # FINISHED runs that hold a cell's result (the report keeps these): (run id, parent's, cell, trial, resynced)
        self.finished = [
            (r.info.run_id, r.data.tags.get(PARENT_RUN), r.data.tags[CELL_ID],
             r.data.tags.get(TRIAL_NUMBER), RESYNCED in r.data.tags)
            for r in runs
            if r.info.status == "FINISHED" and "cell_id" in r.data.tags
            and r.data.tags.get(ROLE, TRIAL_ROLE) in CELL_ROLES
        ]  # fmt: skip

    def has_run(self, cell_id: str, number: int, run_id: str | None) -> bool:
        """True when the trial's own run is live, or a re-synced run replaced it."""
        return (run_id is not None and run_id in self.ids) or self.has_resynced(cell_id, number)

    def has_resynced(self, cell_id: str, number: int) -> bool:
        """True when --resync-tracking already rebuilt the trial's run."""
        return (cell_id, str(number)) in self.resynced

    def unbacked(self, complete: list[tuple[str, int, str | None]], cell_ids: set[str]) -> dict[str, list[str]]:
        """FINISHED runs of the cells `cell_ids` that none of the `complete` trials (cell id, number, MLflow run
        id) holds: a lost trial's run, which the report would mix in. Cell id -> run ids."""
        own = {rid for _, _, rid in complete if rid}
        numbers = {(cid, str(number)) for cid, number, _ in complete}
        out: dict[str, list[str]] = {}
        for rid, parent, cid, number, resynced in self.finished:
            backed = rid in own or parent in own or (resynced and (cid, number) in numbers)
            if cid in cell_ids and not backed:
                out.setdefault(cid, []).append(rid)
        return out


def live_runs(tracker: Tracker) -> LiveRuns:
    """The live runs of the tracker's study experiment (deleted runs are not listed)."""
    return LiveRuns(_all_runs(tracker.client, tracker.experiment_id))


def peek_live_runs(tracking_uri: str, study_name: str) -> LiveRuns:
    """Like `live_runs`, read-only for --dry-run: no store or experiment is created (none there: no runs)."""
    if tracking_uri.startswith("sqlite:") and not Path(tracking_uri.split(":///", 1)[-1].split("?", 1)[0]).exists():
        return LiveRuns([])
    client = _client(tracking_uri)
    exp = client.get_experiment_by_name(study_name)
    if exp is None or exp.lifecycle_stage == "deleted":
        return LiveRuns([])
    return LiveRuns(_all_runs(client, exp.experiment_id))
