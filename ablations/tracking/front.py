"""A thin front for MLflow's UI server: forwards every request unchanged and adds one script to the UI's page.

MLflow 3.17-3.18 keeps its "GenAI / Model training" toggle in the browser's localStorage (default GenAI) and
never reconciles it with the experiment's `mlflow.experimentKind` (mlflow #24498): in a fresh browser every
link without `?workflowType=machine_learning` (every click from the runs table) lands in the GenAI pages. The
script runs before the app loads and stores "Model training", so every page of this server opens in the
classic view, for anyone who opens its URL. It also keeps the Assistant panel closed on first load and gives
the study's runs table its view (columns, order) until the user changes it. Nothing else is touched.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# localStorage keys read by MLflow's UI bundle (3.17/3.18); a renamed key only loses that preference
WORKFLOW_KEY = "mlflow.workflowType_v1"
ASSISTANT_KEYS = {"mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true", "mlflow.assistant.panelOpen_v1": "false"}
RUNS_VIEW_KEY = 'MLflowLocalStorage-1.1-ExperimentPage-["{experiment_id}"]-ReactComponentState'
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host"}  # fmt: skip
OWN = {"server", "date"}  # the front's answers carry its own
CHUNK = 64 * 1024


def head_script(views: Mapping[str, Mapping[str, Any]] = {}) -> str:
    """The script added to the UI's page: "Model training" always, the Assistant closed and each experiment's
    runs-table view (experiment id -> UI state) unless the browser already holds one."""
    defaults = {RUNS_VIEW_KEY.format(experiment_id=eid): json.dumps(view) for eid, view in views.items()}
    defaults.update(ASSISTANT_KEYS)
    body = (
        "(function(){try{var s=window.localStorage;"
        f"s.setItem({json.dumps(WORKFLOW_KEY)},{json.dumps(json.dumps('machine_learning'))});"
        f"var d={json.dumps(defaults)};"
        "for(var k in d){if(s.getItem(k)===null){s.setItem(k,d[k]);}}"
        "}catch(e){}})();"
    )
    return f"<script>{body}</script>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int] = ("127.0.0.1", 0)
    script: bytes = b""
    verbose: bool = False

    def log_message(self, fmt: str, *args: Any) -> None:
        if self.verbose:  # one line per request would bury the printed URLs
            sys.stderr.write(f"ui front: {fmt % args}\n")

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(411, "send a Content-Length")  # MLflow's UI never streams a request body
            return
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = self.headers.get("Host") or f"{self.upstream[0]}:{self.upstream[1]}"
        page = self.command == "GET" and self.path.split("?", 1)[0] in ("/", "/index.html")
        if page:
            headers["Accept-Encoding"] = "identity"  # the page is rewritten: ask for it uncompressed
        conn = http.client.HTTPConnection(*self.upstream, timeout=600)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            if page and resp.status == 200 and "text/html" in resp.getheader("Content-Type", ""):
                self._send_page(resp)
            else:
                self._relay(resp)
        except OSError as err:
            self.send_error(502, f"MLflow's UI server did not answer: {err}")
        finally:
            conn.close()

    def _send_page(self, resp: http.client.HTTPResponse) -> None:
        html = resp.read()
        html = html.replace(b"<head>", b"<head>" + self.script, 1)
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP | OWN | {"content-length", "etag", "last-modified"}:
                self.send_header(key, value)
        self.send_header("Cache-Control", "no-store")  # the script may change between servers on one port
        self.send_header("Content-Length", str(len(html)))
        self.end_headers()
        self.wfile.write(html)

    def _relay(self, resp: http.client.HTTPResponse) -> None:
        self.send_response(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP | OWN | {"content-length"}:
                self.send_header(key, value)
        bodiless = self.command == "HEAD" or resp.status in (204, 304)
        chunked = length is None and not bodiless
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        if bodiless:
            return
        while data := resp.read1(CHUNK):  # streamed: artifact downloads and the Assistant's answers
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


class UIFront:
    """The front on `host:port` (0: a free port) for MLflow's UI server on `upstream_port`, in a daemon thread."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1", port: int = 0, script: str = "", verbose=False):
        handler = type(
            "Handler",
            (_Handler,),
            {"upstream": ("127.0.0.1", upstream_port), "script": script.encode(), "verbose": verbose},
        )
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> UIFront:
        """Serve in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
