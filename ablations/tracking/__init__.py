"""The project's only MLflow importer: one experiment per study, a parent run, nested child runs per trial."""

from __future__ import annotations

import functools
import importlib.metadata as md
import io
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ablations.masking import mask
from ablations.tracking.answer import answer_text, artifact_link, description, headline_metrics, mlflow_readme
from ablations.tracking.browse import DEFAULT_UI, parent_name, runs_url, ui_command
from ablations.tracking.record import (
    CELL_ID,
    DESCRIPTION,
    KILLED,
    LOST_TRIAL,
    OPTUNA_STATE,
    ORDER_TAG,
    PARENT_RUN,
    ROLE,
    RUN_NAME,
    STUDY_ROLE,
)

# TrackingError, check_tracking and health_request are this package's API; they live in uri.py
from ablations.tracking.uri import TrackingError, check_tracking, credentials_to_env, health_request  # noqa: F401
from ablations.tracking.view import SHARE_TAG, order_key, view_tag

# MLflow 3.x opens an experiment without a kind on the GenAI overview (traces); this kind opens the runs table
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
CURVE_PREFIXES = ("train/", "val/")  # logged once per epoch at step=epoch
BEST_PREFIX = "best/"  # the best epoch's values of the curves, logged once as final metrics under their own names
_MAX_PARAMS, _MAX_METRICS, _MAX_TAGS = 100, 1000, 100  # MLflow's per-request log_batch limits
_MAX_VALUE = 6000  # MLflow's param value length limit
_MAX_TAG = 8000  # MLflow's run tag value length limit


def _client(uri: str | None):
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # `file:` stores are opt-in since MLflow 3.x
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per downloaded CSV is noise
    # MLflow's defaults retry a dead server for minutes per call; a study should notice within seconds
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    from mlflow import MlflowClient  # heavy; imported once its environment above is set

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # schema-creation chatter
    return MlflowClient(tracking_uri=credentials_to_env(uri))


@functools.cache
def provenance() -> dict[str, str]:
    """Tags that make a run reproducible: git commit and package versions."""
    tags = {}
    try:
        here = Path(__file__).resolve().parent  # the code's checkout, whatever the working directory
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True, cwd=here
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno"], capture_output=True, text=True, timeout=5, cwd=here
        )
        tags["git_commit"] = out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
        tags["mlflow.source.git.commit"] = out.stdout.strip()  # the UI's Version column
    except (OSError, subprocess.SubprocessError):
        tags["git_commit"] = "unknown"
    for pkg in ("torch", "torchaudio", "torchvision", "optuna", "mlflow", "avtca-ablations", "numpy"):
        try:
            tags[f"version.{pkg}"] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return tags


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Tracker:
    """Thin batched MLflow logging for a study: all calls go through MlflowClient (any process can log)."""

    def __init__(self, uri: str, study_name: str):
        self.uri = uri
        self.study_name = study_name
        self._experiment_id: str | None = None
        self.client = _client(uri)

    @property
    def experiment_id(self) -> str:
        """The study's experiment, created on first use (a concurrent creator's experiment is reused)."""
        if self._experiment_id is None:
            try:
                exp = self.client.get_experiment_by_name(self.study_name)
                if exp is None:
                    try:
                        self._experiment_id = self.client.create_experiment(self.study_name)
                    except Exception:  # another process created it between our get and create
                        exp = self.client.get_experiment_by_name(self.study_name)
                        if exp is None:
                            raise
                if exp is not None:
                    self._experiment_id = exp.experiment_id
                    if exp.lifecycle_stage == "deleted":
                        self.client.restore_experiment(exp.experiment_id)
            except Exception as err:
                raise TrackingError(f"MLflow at {mask(self.uri)}: {err}") from err
        return self._experiment_id

    def describe_experiment(
        self, description: str = "", tags: Mapping[str, str] = {}, metric: str | None = None
    ) -> None:
        """Experiment tags: its kind (so the UI opens on the runs table), the study's description and the runs
        table's view (study order, the main metric `metric` as a column; view.py)."""
        all_tags = {**EXPERIMENT_KIND, **view_tag(metric), **tags}
        if description:
            all_tags[DESCRIPTION] = description
        for key, value in all_tags.items():
            self.client.set_experiment_tag(self.experiment_id, key, str(value)[:_MAX_VALUE])

    def parent_run(self, tags: Mapping[str, str], params: Mapping[str, Any] = {}) -> str:
        """The study's parent run: reused (and set RUNNING) on resume, else created."""
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{ROLE}` = '{STUDY_ROLE}'",
            max_results=1,
            order_by=["attributes.start_time ASC"],
        )
        if found:
            run_id = found[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
            self._log(run_id, tags={RUN_NAME: parent_name(self.study_name), **tags})
            return run_id
        all_tags = {ROLE: STUDY_ROLE, RUN_NAME: parent_name(self.study_name), **provenance(), **tags}
        all_tags[ORDER_TAG] = order_key(all_tags)
        run = self.client.create_run(self.experiment_id, tags={k: str(v) for k, v in all_tags.items()})
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def start_run(self, parent_id: str, name: str, tags: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        """A nested child run (parent set by tag, so it works from any process); params logged in batches."""
        all_tags = {PARENT_RUN: parent_id, RUN_NAME: name, **provenance(), **tags}
        all_tags[ORDER_TAG] = order_key(all_tags)
        run = self.client.create_run(self.experiment_id, tags={k: str(v) for k, v in all_tags.items()})
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def _log(
        self,
        run_id: str,
        metrics: Mapping[str, float] = {},
        params: Mapping[str, Any] = {},
        tags: Mapping[str, Any] = {},
        step: int = 0,
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        ms = [Metric(k, float(v), now, step) for k, v in metrics.items() if _is_number(v)]
        ps = [Param(k, str(v)[:_MAX_VALUE]) for k, v in params.items()]
        ts = [RunTag(k, str(v)[:_MAX_TAG]) for k, v in tags.items()]
        for chunk in _chunks(ps, _MAX_PARAMS):
            self.client.log_batch(run_id, params=chunk)
        for chunk in _chunks(ts, _MAX_TAGS):
            self.client.log_batch(run_id, tags=chunk)
        for chunk in _chunks(ms, _MAX_METRICS):
            self.client.log_batch(run_id, metrics=chunk)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """One batched request for an epoch's (or the final) metrics."""
        self._log(run_id, metrics=metrics, step=step)

    def log_final(self, run_id: str, metrics: Mapping[str, float]) -> None:
        """A finished training's metrics, once: the curves' best-epoch values as `best/<name>` (re-logging them
        under the curve's own name would add a second point at the last step), everything else as is."""
        renamed = {(BEST_PREFIX + k if k.startswith(CURVE_PREFIXES) else k): v for k, v in metrics.items()}
        self._log(run_id, metrics=renamed, step=0)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags in one request."""
        self._log(run_id, tags=tags)

    def log_result(self, run_id: str, cfg_yaml: str, result: Any, checkpoint: bool = False) -> None:
        """Artifacts of a finished training: config.yaml, confusion.csv, per_class.csv, predictions.csv, best.pt."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            (out / "config.yaml").write_text(cfg_yaml)
            confusion = getattr(result, "confusion", None)
            names = list(getattr(result, "class_names", None) or [])
            if confusion is not None:
                _write_confusion(out, confusion, names)
            per_class = getattr(result, "per_class", None)
            if per_class is not None:
                per_class.to_csv(out / "per_class.csv")
            _write_predictions(out, getattr(result, "predictions", None))
            if checkpoint and getattr(result, "state_dict", None) is not None:
                torch.save(result.state_dict, out / "best.pt")
            self.client.log_artifacts(run_id, str(out))

    def end(self, run_id: str, status: str = "FINISHED") -> None:
        """Terminate a run: FINISHED, FAILED or KILLED."""
        self.client.set_terminated(run_id, status=status)

    def fail_lost(self, run_ids: Iterable[str], why: str) -> list[str]:
        """End runs whose Optuna trial is lost FAILED, tagged `avtca.lost_trial=<why>` (nothing is deleted), so that
        the report and the integrity check skip them; returns the run ids."""
        ended = []
        for rid in run_ids:
            self.client.set_tag(rid, LOST_TRIAL, why[:_MAX_VALUE])
            self.client.set_terminated(rid, status="FAILED")
            ended.append(rid)
        return ended

    def running_children(self, cell_id: str | None = None) -> list[Any]:
        """RUNNING child runs of the study (of one cell when given)."""
        flt = f"attributes.status = 'RUNNING' and tags.`{ROLE}` != '{STUDY_ROLE}'"
        if cell_id is not None:
            flt += f" and tags.{CELL_ID} = '{cell_id}'"
        return list(self.client.search_runs([self.experiment_id], filter_string=flt, max_results=10000))

    def kill_running(
        self, cell_id: str | None = None, keep: Iterable[str] = (), finished: Iterable[str] = ()
    ) -> list[str]:
        """End RUNNING child runs (of one cell) except those of cells in `keep`: FINISHED for the run ids in
        `finished` (their trial completed, only the run's end was lost), KILLED otherwise; returns run ids."""
        keep, finished = set(keep), set(finished)
        ended = []
        for run in self.running_children(cell_id):
            rid = run.info.run_id
            if run.data.tags.get(CELL_ID) in keep:
                continue
            if rid in finished or run.data.tags.get(PARENT_RUN) in finished:
                self.client.set_terminated(rid, status="FINISHED")
            else:
                self.client.set_tag(rid, KILLED, "left RUNNING by a dead or interrupted worker")
                self.client.set_terminated(rid, status="KILLED")
            ended.append(rid)
        return ended

    def reconcile(self, cell_id: str, trial_states: dict[str, str]) -> list[str]:
        """Make a cell's runs agree with its Optuna trials (run id -> COMPLETE/FAIL/PRUNED); returns changed ids.

        A worker killed between finishing its MLflow run and telling Optuna leaves a FINISHED run of a failed
        trial; one killed earlier leaves a RUNNING run. Runs of complete trials end FINISHED, all others KILLED.
        """
        changed = []
        flt = f"tags.{CELL_ID} = '{cell_id}' and tags.`{ROLE}` != '{STUDY_ROLE}'"
        for run in self.client.search_runs([self.experiment_id], filter_string=flt, max_results=10000):
            rid, status = run.info.run_id, run.info.status
            state = trial_states.get(rid) or trial_states.get(run.data.tags.get(PARENT_RUN, ""))
            want = "FINISHED" if state == "COMPLETE" else "KILLED"
            if status == "RUNNING" or (status == "FINISHED" and want == "KILLED"):
                if want == "KILLED":
                    self.client.set_tag(rid, KILLED, "its worker died before the trial was recorded")
                    self.client.set_tag(rid, OPTUNA_STATE, state or "FAIL")
                self.client.set_terminated(rid, status=want)
                changed.append(rid)
        return changed

    def runs_url(self, base: str | None = None) -> str:
        """The URL of the study's runs table in the MLflow UI served at `base` (default: the tracking server), with
        the study's view when the experiment holds one."""
        base = base or (mask(self.uri) if self.uri.startswith(("http://", "https://")) else DEFAULT_UI)
        shared = SHARE_TAG in self.client.get_experiment(self.experiment_id).tags
        return runs_url(base, self.experiment_id, shared=shared)

    def ui_hint(self, study_file: str | None = None) -> str:
        """How to open the study in the MLflow UI: commands that work as printed (`ablations.ui` first: it keeps
        every page in MLflow's "Model training" view), and the runs table's URL for MLflow's own server."""
        if self.uri.startswith(("http://", "https://")):
            return f"MLflow UI: {self.runs_url()}"
        lines = [f"MLflow UI: {ui_command(self.uri)}"]
        if study_file:
            py = shlex.quote(sys.executable)
            lines = [f"MLflow UI: {py} -m ablations.ui {shlex.quote(str(study_file))}", f"  or: {ui_command(self.uri)}"]
        lines.append(f"  then open {self.runs_url()}")
        return "\n".join(lines)

    def log_answer(
        self, run_id: str, report_dir: Path | None, study_file: str | Path | None, study_description: str = ""
    ) -> int:
        """The study's answer on its parent run (answer.py): the main table and verdicts as its description, a
        handful of metrics named for people, the report's files (its README with links that work in MLflow's
        artifact view) and the study file; returns the number of metrics logged."""
        metrics: dict[str, float] = {}
        if report_dir is not None and Path(report_dir).is_dir():
            report = Path(report_dir)
            metrics = headline_metrics(report / "summary.csv")
            readme = artifact_link(self.experiment_id, run_id, "report/README.md")
            text = description(study_description, answer_text(report), readme)
            self._log(run_id, metrics=metrics, tags={DESCRIPTION: text})
            self.client.log_artifacts(run_id, str(report), artifact_path="report")
            if (report / "README.md").is_file():  # replaces the copy above
                readme_text = (report / "README.md").read_text(encoding="utf-8")
                self.client.log_text(run_id, mlflow_readme(readme_text), "report/README.md")
        if study_file is not None and Path(study_file).is_file():
            # the study file may name its storage or tracking URI with a password: its copy is masked
            text = mask(Path(study_file).read_text(encoding="utf-8"))
            self.client.log_text(run_id, text, f"study/{Path(study_file).name}")
        return len(metrics)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _write_predictions(out: Path, predictions: Any) -> None:
    """predictions.csv: per-clip test predictions (condition, clip, actor, target, prediction), when there are any."""
    if predictions is None or len(predictions) == 0:
        return
    predictions.to_csv(out / "predictions.csv", index=False, float_format="%.6g")


def _write_confusion(out: Path, confusion: Any, names: list[str]) -> None:
    """confusion.csv (true, pred, count: the report's format); no PNG per cell (it cost 0.3 s, the report draws one)."""
    matrix = np.asarray(confusion)
    names = names or [str(i) for i in range(matrix.shape[0])]
    buf = io.StringIO()
    buf.write("true,pred,count\n")
    for i, true in enumerate(names):
        for j, pred in enumerate(names):
            buf.write(f"{true},{pred},{int(matrix[i, j])}\n")
    (out / "confusion.csv").write_text(buf.getvalue())
