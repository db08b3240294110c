"""`python -m ablations.ui STUDY.yaml`: browse a study: MLflow's UI (runs, curves, the report on the parent run)
and, for tuned studies or with --optuna, optuna-dashboard (the search); bound to 127.0.0.1, URLs printed.

MLflow's UI is served behind a thin front (ablations/tracking/front.py) that opens every page in MLflow's
classic "Model training" view, also in a browser that has never seen it; its server logs stay quiet (a line per
request would bury the URLs) unless --verbose. optuna-dashboard is the optional extra `pip install -e ".[ui]"`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ablations.masking import mask
from ablations.storage.optuna import open_storage
from ablations.study.schema import StudyConfig, load_study
from ablations.tracking import _client, ui_command
from ablations.tracking.browse import runs_url
from ablations.tracking.front import UIFront, head_script
from ablations.tracking.view import SHARE_TAG, runs_view
from ablations.ui.dashboard import AblationDashboard
from avtca.config.base import ConfigError

HOST = "127.0.0.1"


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free on 127.0.0.1 (0: any free port)."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll `url` until it answers (True), the process exits or the time is up (False)."""
    end = time.time() + timeout_s
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def mlflow_command(uri: str, port: int, verbose: bool = False) -> list[str]:
    """The command a finished run prints (`mlflow ui` run by this interpreter, bound to 127.0.0.1) on `port`;
    without `verbose`, uvicorn logs no line per request."""
    return shlex.split(ui_command(uri, port, masked=False)) + ([] if verbose else ["--uvicorn-opts", "--no-access-log"])


def mlflow_env() -> dict[str, str]:
    """The UI server's environment: without MLflow's GenAI job runner (eight processes, 1.4 GiB measured, for LLM
    judges and trace jobs; nothing a study uses)."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def experiment(uri: str, name: str) -> tuple[str | None, bool]:
    """The study's MLflow experiment id (None when the study has not logged anything yet; creates nothing) and
    whether it holds the study's runs-table view."""
    exp = _client(uri).get_experiment_by_name(name)
    return (None, False) if exp is None else (exp.experiment_id, SHARE_TAG in exp.tags)


def start_mlflow(uri: str, port: int, verbose: bool, timeout_s: float) -> tuple[subprocess.Popen, str | None]:
    """`mlflow ui` on `port` in its own process group; returns it and, when it did not answer, why."""
    log = None if verbose else tempfile.NamedTemporaryFile("w+", prefix="avtca-mlflow-ui-", suffix=".log")
    # its own process group: stopping it also stops the web server processes it starts
    proc = subprocess.Popen(mlflow_command(uri, port, verbose), env=mlflow_env(), start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT if log else None)  # fmt: skip
    if wait_http(f"http://{HOST}:{port}/health", timeout_s, proc):
        return proc, None
    stop_group(proc)
    why = f"the MLflow UI did not answer within {timeout_s:.0f} s"
    if log is not None:
        log.seek(0)
        why += ":\n" + "\n".join(log.read().splitlines()[-20:])
    return proc, why


def parent_run(uri: str, experiment_id: str | None) -> str | None:
    """The study's parent run id, if it has one."""
    if not experiment_id:
        return None
    found = _client(uri).search_runs([experiment_id], "tags.`avtca.role` = 'study'", max_results=1)
    return found[0].info.run_id if found else None


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A request per thread: a browser's idle pre-opened connection neither stalls the other requests nor the
    shutdown on Ctrl-C (wsgiref's own server handles one connection at a time)."""

    daemon_threads = True


def start_dashboard(
    study: StudyConfig, port: int, mlflow_base: str, experiment_id: str | None, verbose: bool = False
) -> tuple[Any, str]:
    """optuna-dashboard on the study's Optuna storage in a background thread (wsgiref: no socket files), its trials
    linked to their MLflow runs and, for an ablation study, without what misleads there (dashboard.py)."""
    try:  # an optional extra (.[ui])
        from optuna_dashboard import wsgi
    except ImportError:
        raise ConfigError(
            ['optuna-dashboard is not installed: pip install -e ".[ui]" (or pip install optuna-dashboard)']
        ) from None

    class Handler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            if verbose:  # one line per request would bury the URLs
                super().log_message(*args)

    def run_url(run_id: str) -> str:
        return f"{mlflow_base}/#/experiments/{experiment_id}/runs/{run_id}"

    parent = parent_run(study.tracking, experiment_id)
    app = AblationDashboard(wsgi(open_storage(study.storage_url, create=False)), not study.tune,
                            run_url(parent) if parent else None, run_url)  # fmt: skip
    server = make_server(HOST, port, app, server_class=ThreadingWSGIServer, handler_class=Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{HOST}:{port}/dashboard"


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process group of `proc`, then SIGKILL whatever is left of it after `grace_s` (MLflow's job
    runner and huey consumers outlive the UI's main process by seconds)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.time() + grace_s
    while time.time() < end:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)  # anyone left in the group?
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m ablations.ui", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("study", help="study file (studies/*.yaml)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: the study's)")
    p.add_argument("--storage", help="Optuna storage (default: the study's)")
    p.add_argument("--port", type=int, default=5000, help="MLflow UI port (default 5000; taken: a free one)")
    p.add_argument(
        "--optuna",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also start optuna-dashboard (default: for studies with `tune`)",
    )
    p.add_argument("--dashboard-port", type=int, default=8080, help="optuna-dashboard port (default 8080)")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for the MLflow UI to answer")
    p.add_argument("--verbose", action="store_true", help="show the UI servers' logs (a line per request)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Start the UIs, print their URLs, serve until Ctrl-C; 2 on invalid input, 1 when a UI does not start."""
    args = build_parser().parse_args(argv)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM too: the finally below stops the UI's process group

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also where SIGINT came ignored (started in the background by a script)
    try:
        study = load_study(args.study, [], **{"tracking_uri": args.tracking_uri, "storage": args.storage})
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    uri = study.tracking
    proc = front = server = None
    try:
        if uri.startswith(("http://", "https://")):  # a tracking server is its own UI: the study's view is in the link
            eid, shared = experiment(uri, study.name)
            base, url = mask(uri).rstrip("/"), runs_url(mask(uri), eid, shared=shared)
        else:
            mlflow_port = free_port()
            proc, why = start_mlflow(uri, mlflow_port, args.verbose, args.timeout)
            if why is not None:
                proc = None
                print(f"error: {why}\nstart it by hand:\n  {ui_command(uri)}", file=sys.stderr)  # password masked
                return 1
            eid, _ = experiment(uri, study.name)
            views = {eid: runs_view(study.objective.metric)} if eid else {}
            front = UIFront(mlflow_port, HOST, free_port(args.port), head_script(views), args.verbose).start()
            base = f"http://{HOST}:{front.port}"
            url = runs_url(base, eid)
        print(f"MLflow UI, study '{study.name}': {url}", flush=True)
        if args.optuna if args.optuna is not None else bool(study.tune):
            try:
                server, dashboard = start_dashboard(study, free_port(args.dashboard_port), base, eid, args.verbose)
            except ConfigError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            print(f"optuna-dashboard: {dashboard}", flush=True)
        print("Ctrl-C stops the UI(s)", flush=True)
        while proc is None or proc.poll() is None:
            time.sleep(0.5)
        return 0 if proc is None else proc.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if front is not None:
            front.stop()
        if proc is not None:
            stop_group(proc)


if __name__ == "__main__":
    sys.exit(main())
