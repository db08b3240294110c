"""`python -m ablations.ui STUDY.yaml`: browse a study: MLflow's UI (runs, curves, the report on the parent run)
and, for tuned studies or with --optuna, optuna-dashboard (the search); bound to 127.0.0.1, URLs printed.

optuna-dashboard is the optional extra `pip install -e ".[ui]"`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from ablations.masking import mask
from ablations.storage.optuna import open_storage
from ablations.study.schema import StudyConfig, load_study
from ablations.tracking import _client, ui_command
from ablations.tracking.browse import runs_url
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


def mlflow_command(uri: str, port: int) -> list[str]:
    """The command a finished run prints (`mlflow ui` run by this interpreter, bound to 127.0.0.1) on `port`."""
    return shlex.split(ui_command(uri, port, masked=False))


def experiment_id(uri: str, name: str) -> str | None:
    """The study's MLflow experiment id, or None when the study has not logged anything yet (creates nothing)."""
    exp = _client(uri).get_experiment_by_name(name)
    return None if exp is None else exp.experiment_id


def start_dashboard(study: StudyConfig, port: int) -> tuple[Any, str]:
    """optuna-dashboard on the study's Optuna storage in a background thread (wsgiref: no socket files)."""
    try:  # an optional extra (.[ui])
        from optuna_dashboard import wsgi
    except ImportError:
        raise ConfigError(
            ['optuna-dashboard is not installed: pip install -e ".[ui]" (or pip install optuna-dashboard)']
        ) from None

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # one line per request would bury the URLs
            pass

    server = make_server(HOST, port, wsgi(open_storage(study.storage_url, create=False)), handler_class=Quiet)
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
    return p


def main(argv: list[str] | None = None) -> int:
    """Start the UIs, print their URLs, serve until Ctrl-C; 2 on invalid input, 1 when a UI does not start."""
    args = build_parser().parse_args(argv)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM too: the finally below stops the UI's process group

    signal.signal(signal.SIGTERM, stop)
    try:
        study = load_study(args.study, [], **{"tracking_uri": args.tracking_uri, "storage": args.storage})
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    uri = study.tracking
    proc = None
    if uri.startswith(("http://", "https://")):  # a tracking server is its own UI
        base = mask(uri).rstrip("/")
    else:
        port = free_port(args.port)
        base = f"http://{HOST}:{port}"
        # its own process group: stopping it also stops the web server processes it starts
        proc = subprocess.Popen(mlflow_command(uri, port), start_new_session=True)
        if not wait_http(base + "/health", args.timeout, proc):
            stop_group(proc)
            print(
                f"error: the MLflow UI did not answer at {base} within {args.timeout:.0f} s; start it by hand:\n"
                f"  {' '.join(mlflow_command(uri, port))}",
                file=sys.stderr,
            )
            return 1
    server = None
    try:
        print(f"MLflow UI, study '{study.name}': {runs_url(base, experiment_id(uri, study.name))}", flush=True)
        if args.optuna if args.optuna is not None else bool(study.tune):
            try:
                server, url = start_dashboard(study, free_port(args.dashboard_port))
            except ConfigError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            print(f"optuna-dashboard: {url}", flush=True)
        print("Ctrl-C stops the UI(s)", flush=True)
        while proc is None or proc.poll() is None:
            time.sleep(0.5)
        return 0 if proc is None else proc.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.shutdown()
        if proc is not None:
            stop_group(proc)


if __name__ == "__main__":
    sys.exit(main())
