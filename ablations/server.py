"""`python -m ablations.server`: private PostgreSQL plus an `mlflow server` backed by it (shared studies)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from ablations.masking import mask
from ablations.storage.database import PgError, to_sqlalchemy_url
from ablations.storage.pg import DB_USER, PgCluster, free_port, wait_for

MLFLOW_DB, OPTUNA_DB = "mlflow", "optuna"


class MlflowServer:
    """One `mlflow server` child process (its own process group, so stop() ends its workers too)."""

    def __init__(
        self,
        backend_store_uri: str,
        artifacts_dir: str | Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_path: str | Path | None = None,
    ):
        self.backend_store_uri = to_sqlalchemy_url(backend_store_uri)
        self.artifacts_dir = Path(artifacts_dir).absolute()
        self.host = host
        self.port = port or free_port("127.0.0.1" if host == "0.0.0.0" else host)
        self.workers = workers
        # MLflow's job runner (GenAI evaluation jobs: 5+ huey consumer processes) is not needed for studies
        self.env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ, **(env or {})}
        self.log_path = Path(log_path) if log_path else self.artifacts_dir.parent / "mlflow-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The tracking URI clients use (`--tracking-uri`)."""
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{self.port}"

    def command(self) -> list[str]:
        """The `mlflow server` command line (the backend URI carries no password: PGPASSFILE does)."""
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(self.artifacts_dir),
            "--serve-artifacts",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if self.host not in ("127.0.0.1", "localhost"):
            cmd += ["--allowed-hosts", "*"]  # reachable from other machines by design; see docs/distributed.md
        return cmd

    def healthy(self) -> bool:
        """True when GET /health answers OK."""
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def start(self, timeout_s: float = 120.0) -> MlflowServer:
        """Start the server and wait until it answers (first start migrates the database: ~15 s)."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # no `with`: the child keeps writing after we return
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        log.close()

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise PgError(f"mlflow server exited with {self.proc.returncode}; log tail:\n{mask(tail)}")
            return self.healthy()

        try:
            wait_for(up, timeout_s, f"mlflow server at {self.url} (log: {self.log_path})", interval_s=0.5)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> None:
        """Signal the server's process group (SIGKILL simulates a crash) and wait for it to end."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the server itself binds: connections of a stopped server in TIME_WAIT do not block the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            msg = f"--port {port}: cannot listen on {host}:{port} ({err.strerror}); pick another port"
            raise PgError(msg) from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group_gone(group: int, timeout_s: float = 15.0) -> None:
    """Wait for a signalled process group to exit; SIGKILL it after timeout_s."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)


def _wait_port_free(host: str, port: int, timeout_s: float = 15.0) -> None:
    """Wait until a stopped orphan has released the port (its workers exit a moment after the signal)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            _check_port_free(host, port)
            return
        except PgError:
            time.sleep(0.2)


class StudyServers:
    """PostgreSQL (databases `optuna` and `mlflow`) plus MLflow, all under one data directory."""

    def __init__(self, data: str | Path, host: str = "127.0.0.1", port: int = 5000, pg_port: int | None = None):
        self.data = Path(data).absolute()
        self.pg = PgCluster(self.data / "pg", port=pg_port, host=host)
        self.host, self.port = host, port
        self.mlflow: MlflowServer | None = None

    @property
    def state_file(self) -> Path:
        """`<data>/server.json`: who runs the servers (our pid, MLflow's process group), for orphan clean-up."""
        return self.data / "server.json"

    @property
    def logs(self) -> str:
        """Where the servers' logs are, for every error message."""
        return f"logs: {self.data / 'mlflow-server.log'}, {self.pg.data_dir / 'server.log'}"

    def sweep_orphans(self) -> list[str]:
        """Stop PostgreSQL and MLflow left running by an ablations.server that was killed (SIGKILL, crash).

        Refuses (PgError) while the recorded ablations.server is still alive: two servers on one data dir.
        """
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            state = {}
        owner = state.get("pid")
        if isinstance(owner, int) and owner != os.getpid() and _alive(owner):
            raise PgError(f"another ablations.server (pid {owner}) is using {self.data}; stop it first")
        done = []
        group = state.get("mlflow_pgid")
        if isinstance(group, int) and _alive(group):
            try:
                os.killpg(group, signal.SIGTERM)
                done.append(f"MLflow (process group {group})")
                _wait_group_gone(group)
            except OSError:
                pass
        if (self.pg.data_dir / "postmaster.pid").exists():
            self.pg.stop()
            done.append("PostgreSQL")
        self.state_file.unlink(missing_ok=True)
        return done

    def start(self) -> StudyServers:
        """Start PostgreSQL, create both databases, then start MLflow against them."""
        orphans = self.sweep_orphans() if self.data.is_dir() else []
        if orphans:
            print(f"stopped {' and '.join(orphans)} left running by a killed ablations.server", flush=True)
            _wait_port_free(self.host, self.port)
        _check_port_free(self.host, self.port)
        self.data.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data, 0o711)  # the `postgres` user must reach data/pg when we run as root
        self.pg.start()
        self.pg.create_database(MLFLOW_DB)
        self.pg.create_database(OPTUNA_DB)
        self.mlflow = MlflowServer(
            self.pg.url(MLFLOW_DB),
            self.data / "artifacts",
            host=self.host,
            port=self.port,
            env={"PGPASSFILE": str(self.pg.passfile)},
            log_path=self.data / "mlflow-server.log",
        )
        try:
            self.mlflow.start()
        except Exception:
            self.pg.stop()
            raise
        assert self.mlflow.proc is not None
        self.state_file.write_text(json.dumps({"pid": os.getpid(), "mlflow_pgid": self.mlflow.proc.pid}))
        return self

    def stop(self) -> None:
        """Stop MLflow first (it holds connections), then PostgreSQL."""
        if self.mlflow is not None:
            self.mlflow.stop()
        self.pg.stop()
        self.state_file.unlink(missing_ok=True)

    def banner(self) -> str:
        """What to tell the user: the UI, the URLs to pass to workers, and where the password lives."""
        assert self.mlflow is not None
        return "\n".join(
            [
                f"MLflow UI:       {self.mlflow.url}",
                f"--tracking-uri   {self.mlflow.url}",
                f"--storage        {self.pg.url(OPTUNA_DB)}",
                f"password:        export PGPASSFILE={self.pg.passfile}   (role '{DB_USER}'; copy the file, "
                "never put the password in a study file)",
                f"bound to:        {self.host} (PostgreSQL port {self.pg.port})",
                "Ctrl-C stops both.",
            ]
        )


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(prog="python -m ablations.server", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=5000, help="MLflow port (default 5000)")
    ap.add_argument("--pg-port", type=int, default=None, help="PostgreSQL port (default: a free one)")
    ap.add_argument("--data", default=".studies/server", help="data directory (default .studies/server)")
    args = ap.parse_args(argv)

    servers = StudyServers(args.data, host=args.host, port=args.port, pg_port=args.pg_port)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _serve(servers, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(servers: StudyServers, stop: threading.Event) -> int:
    """Start both servers, print the banner, and keep them up until `stop` is set (Ctrl-C) or MLflow dies."""
    try:
        print(f"starting PostgreSQL and MLflow under {servers.data} ...", flush=True)
        servers.start()
    except PgError as err:
        print(f"error: {err}\n({servers.logs})", file=sys.stderr)
        return 1
    print(servers.banner(), flush=True)
    try:
        while not stop.wait(1.0):
            proc = servers.mlflow.proc if servers.mlflow is not None else None
            if proc is not None and proc.poll() is not None:
                print(f"error: mlflow server exited (log: {servers.mlflow.log_path})", file=sys.stderr)
                return 1
    finally:
        print("stopping ...", flush=True)
        servers.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
