"""The front before MLflow's UI server, against a real HTTP server on 127.0.0.1: the page gets the script, every
other request and answer passes unchanged (bodies, statuses, streamed answers)."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ablations.tracking.front import UIFront

PAGE = b"<!doctype html><html><head><title>MLflow</title></head><body></body></html>"


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif self.path.startswith("/stream"):  # chunked, as a streamed answer
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/missing"):
            self._send(404, b'{"error": "no such thing"}')
        else:
            self._send(200, f'{{"path": "{self.path}", "host": "{self.headers["Host"]}"}}'.encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._send(201, b"got " + body, "text/plain")


@pytest.fixture(scope="module")
def front():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    ui = UIFront(upstream.server_address[1], script="<script>stored()</script>").start()
    yield ui.port
    ui.stop()
    upstream.shutdown()


def _get(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "text/plain"} if body else {})
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def test_the_page_gets_the_script_first_in_its_head(front):
    status, headers, body = _get(front, "GET", "/")
    assert status == 200 and body.startswith(b"<!doctype html><html><head><script>stored()</script><title>")
    assert int(headers["Content-Length"]) == len(body) and headers["Cache-Control"] == "no-store"


def test_other_requests_pass_unchanged(front):
    status, _, body = _get(front, "GET", "/ajax-api/2.0/mlflow/runs/search?x=1")
    assert status == 200 and body.startswith(b'{"path": "/ajax-api/2.0/mlflow/runs/search?x=1", "host": "127.0.0.1:')
    assert _get(front, "POST", "/ajax-api/2.0/mlflow/runs/update", b"payload")[::2] == (201, b"got payload")
    assert _get(front, "GET", "/missing")[::2] == (404, b'{"error": "no such thing"}')
    assert _get(front, "GET", "/stream")[::2] == (200, b"one two")


def test_an_upstream_that_is_gone_is_a_bad_gateway():
    ui = UIFront(1).start()  # nothing listens on port 1
    try:
        assert _get(ui.port, "GET", "/")[0] == 502
    finally:
        ui.stop()
