"""Real servers for the tests (the fixtures are in tests/conftest.py): an existing PostgreSQL named by a URL, and
`python -m ablations.server` as a user runs it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ablations.storage.database import to_sqlalchemy_url
from ablations.storage.pg import free_port
from tests.tiny import REPO


class ExternalPg:
    """An existing server named by AVTCA_TEST_PG_URL: same create_database/url API as PgCluster."""

    def __init__(self, url: str):
        self.admin = sa.create_engine(to_sqlalchemy_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.base = sa.make_url(to_sqlalchemy_url(url))
        self.passfile = None

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; its URL."""
        with self.admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def url(self, db: str = "postgres", with_password: bool = False) -> str:
        """URL of database `db` on this server."""
        return self.base.set(database=db, drivername="postgresql").render_as_string(hide_password=not with_password)

    def stop(self) -> None:
        """Close the admin connections (the server is not ours to stop)."""
        self.admin.dispose()


@dataclass
class Servers:
    """A running `python -m ablations.server`: the URLs it printed and its process."""

    tracking: str
    storage: str
    passfile: str
    banner: str
    proc: subprocess.Popen
    data: Path

    def url(self, db: str) -> str:
        """Another database of the same cluster (no password: PGPASSFILE supplies it)."""
        return self.storage.rsplit("/", 1)[0] + "/" + db

    def password(self) -> str:
        """The password the server generated (from its password file)."""
        return Path(self.passfile).read_text().strip().rsplit(":", 1)[1]


def _read_banner(proc: subprocess.Popen, timeout_s: float) -> str:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    text, deadline = "", time.monotonic() + timeout_s
    while "Ctrl-C stops both" not in text:
        try:
            text += lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"no banner after {timeout_s:.0f} s; output so far:\n{text}") from None
        if proc.poll() is not None and lines.empty():
            raise RuntimeError(f"python -m ablations.server exited with {proc.returncode}:\n{text}")
    return text


def start_study_servers(data: Path, timeout_s: float = 240) -> Servers:
    """Start `python -m ablations.server --data DATA` in its own session; wait for its banner."""
    cmd = [sys.executable, "-m", "ablations.server", "--data", str(data), "--port", str(free_port())]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        banner = _read_banner(proc, timeout_s)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever went wrong, the server must not outlive the test
        raise
    found = dict(re.findall(r"^(--tracking-uri|--storage)\s+(\S+)", banner, re.M))
    passfile = re.search(r"PGPASSFILE=(\S+)", banner).group(1)
    return Servers(found["--tracking-uri"], found["--storage"], passfile, banner, proc, data)


def stop_study_servers(servers: Servers) -> None:
    """Ctrl-C, as a user stops it; SIGKILL to its process group if it is not gone within a minute."""
    servers.proc.send_signal(signal.SIGINT)
    try:
        servers.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(servers.proc.pid, signal.SIGKILL)
        raise
