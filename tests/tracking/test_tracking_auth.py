"""Finding 12: `http://user:pass@host` tracking URIs are checked with basic auth, not as a host name."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ablations.runner.checks import tracking_problems

GOOD = "Basic " + base64.b64encode(b"alice:RightPW_x1").decode()


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health" and self.headers.get("Authorization") == GOOD
        self.send_response(200 if ok else 401)
        self.end_headers()
        self.wfile.write(b"OK" if ok else b"no")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_user_and_password_in_the_tracking_uri_are_sent_as_basic_auth(server):
    assert tracking_problems(f"http://alice:RightPW_x1@127.0.0.1:{server}") == []
    problems = tracking_problems(f"http://alice:WrongPW_x2@127.0.0.1:{server}/")
    assert len(problems) == 1 and "401" in problems[0] and "WrongPW_x2" not in problems[0]
    assert "Name or service not known" not in problems[0]
