"""Finding 12: a SIGKILLed `ablations.server` leaves PostgreSQL and MLflow running; the next start stops them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from ablations.storage.pg import free_port
from tests.tiny import PYTHON, REPO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start(data, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [PYTHON, "-m", "ablations.server", "--data", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # as from a terminal: its own process group, apart from the test process's
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C stops both" in line or "error:" in line:
            break
    return proc, "".join(lines)


def test_restart_after_sigkill_stops_the_orphans(pg_binaries, scratch):
    data, port = scratch / "rel-server", free_port()
    proc, out = start(data, port)
    try:
        assert "Ctrl-C stops both" in out, out
        state = json.loads((data / "server.json").read_text())
        proc.kill()  # SIGKILL: no clean-up runs
        proc.wait(timeout=30)
        assert healthy(port) and (data / "pg" / "postmaster.pid").exists()  # the orphans of the report
        again, out = start(data, port)
        try:
            assert "left running by a killed ablations.server" in out and "Ctrl-C stops both" in out, out
            assert json.loads((data / "server.json").read_text())["mlflow_pgid"] != state["mlflow_pgid"]
            with pytest.raises(ProcessLookupError):
                os.kill(state["mlflow_pgid"], 0)
        finally:
            again.send_signal(signal.SIGINT)
            again.communicate(timeout=60)
        assert not (data / "server.json").exists() and not (data / "pg" / "postmaster.pid").exists()
        deadline = time.time() + 15
        while healthy(port) and time.time() < deadline:
            time.sleep(0.2)
        assert not healthy(port)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(
            [
                PYTHON,
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]); from ablations.server import "
                "StudyServers; StudyServers(sys.argv[2]).sweep_orphans()",
                str(REPO),
                str(data),
            ],
            check=False,
        )


def test_failed_start_says_where_the_logs_are(pg_binaries, scratch):
    data, port = scratch / "rel-server-busy", free_port()
    import socket

    with socket.socket() as busy:  # the MLflow port is taken
        busy.bind(("127.0.0.1", port))
        busy.listen()
        proc, out = start(data, port)
        out += proc.stdout.read()  # (communicate() would bypass what the line iterator buffered)
        proc.wait(timeout=60)
    assert proc.returncode == 1 and "cannot listen" in out and "logs: " in out and "mlflow-server.log" in out
