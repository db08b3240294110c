"""Finding 12, end to end: a study logs through `http://user:password@host` to an MLflow server behind basic auth."""

from __future__ import annotations

import base64
import http.client
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ablations.server import MlflowServer
from tests.tiny import PYTHON, SECRET, subprocess_env, write_study

pytestmark = pytest.mark.slow
GOOD = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
HOP = {"connection", "keep-alive", "transfer-encoding", "authorization", "host", "content-length"}


def _proxy(port: int) -> type[BaseHTTPRequestHandler]:
    """A basic-auth gate in front of the MLflow server on `port`: 401 without alice's password, else forwarded."""

    class Gate(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        seen: list[str] = []  # the Authorization headers received (the test checks they were sent)

        def _forward(self):
            Gate.seen.append(self.headers.get("Authorization", ""))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != GOOD:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args):
            pass

    return Gate


@pytest.fixture
def gated_mlflow(tmp_path_factory):
    """`mlflow server` (SQLite) on 127.0.0.1 behind the basic-auth gate; yields (gate port, server folder)."""
    folder = tmp_path_factory.mktemp("gated-mlflow")
    server = MlflowServer(f"sqlite:///{folder}/mlflow.db", folder / "artifacts", log_path=folder / "server.log")
    server.start(timeout_s=180)
    gate = ThreadingHTTPServer(("127.0.0.1", 0), _proxy(server.port))
    threading.Thread(target=gate.serve_forever, daemon=True).start()
    yield gate, folder
    gate.shutdown()
    server.stop()


def test_study_logs_through_a_tracking_uri_with_user_and_password(workdir, data_cache, gated_mlflow):
    gate, folder = gated_mlflow
    port = gate.server_address[1]
    path = write_study(workdir, report={"kind": "render", "out": "reports"})
    uri = f"http://alice:{SECRET}@127.0.0.1:{port}"
    outputs = []
    for argv in (["--n-jobs", "2"], ["--resync-tracking"], ["--dry-run"]):  # worker processes log too
        proc = subprocess.run(
            [PYTHON, "-m", "ablations.run", str(path), "--tracking-uri", uri, *argv],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=subprocess_env(data_cache),
            timeout=300,
        )
        outputs.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "report:" in outputs[0] and "re-synced 0 run(s)" in outputs[1]
    handler = gate.RequestHandlerClass
    assert handler.seen and set(handler.seen) == {GOOD}  # every request carried alice's password, as basic auth

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")  # read the server's store directly
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.data.tags.get("avtca.role") for r in runs) == ["study", "trial", "trial"]
    assert all(r.info.status == "FINISHED" for r in runs)
    for text in outputs:
        assert SECRET not in text and "alice:***@" in text
    files = [p for p in [*workdir.rglob("*"), *folder.rglob("*")] if p.is_file() and p != path]
    assert files and not [p for p in files if SECRET.encode() in p.read_bytes()]
