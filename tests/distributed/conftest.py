"""Real servers for the scale-out tests: a private PostgreSQL cluster and an `mlflow server` on 127.0.0.1.

Without PostgreSQL binaries the tests that need them skip, unless AVTCA_REQUIRE_POSTGRES=1 (CI): then they fail.
AVTCA_TEST_PG_URL=postgresql://user:pw@host:port/db uses an existing server (the role must be able to CREATE DATABASE).
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from ablations.server import MlflowServer
from ablations.storage.database import PgError, to_sqlalchemy_url
from ablations.storage.pg import PgCluster, free_port, pg_bin_dir

REPO = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("AVTCA_REQUIRE_POSTGRES") == "1"
_counter = itertools.count()


def _unavailable(why: str):
    if REQUIRE:
        pytest.fail(f"{why} (AVTCA_REQUIRE_POSTGRES=1, so this is an error, not a skip)")
    pytest.skip(why)


class ExternalPg:
    """An existing server named by AVTCA_TEST_PG_URL: same create_database/url API as PgCluster."""

    def __init__(self, url: str):
        self.admin = sa.create_engine(to_sqlalchemy_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.base = sa.make_url(to_sqlalchemy_url(url))
        self.passfile = None

    def create_database(self, name: str) -> str:
        with self.admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def url(self, db: str = "postgres", with_password: bool = False) -> str:
        return self.base.set(database=db, drivername="postgresql").render_as_string(hide_password=not with_password)

    def stop(self) -> None:
        self.admin.dispose()


@pytest.fixture(scope="session")
def scratch():
    """A short temp dir reachable by the `postgres` user (pytest's own tmp dirs are 0700 when run as root)."""
    root = Path(tempfile.mkdtemp(prefix="avtca-dist-"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster(scratch):
    """A running PostgreSQL server for the whole session (private cluster on a free port, or AVTCA_TEST_PG_URL)."""
    external = os.environ.get("AVTCA_TEST_PG_URL")
    if external:
        server = ExternalPg(external)
        yield server
        server.stop()
        return
    if pg_bin_dir() is None:
        _unavailable("PostgreSQL binaries not found (apt-get install postgresql, or set AVTCA_PG_BIN)")
    cluster = PgCluster(scratch / "pg", durable=False)
    try:
        cluster.start()
    except PgError as err:
        pytest.fail(f"PostgreSQL binaries exist but the cluster did not start: {err}")
    yield cluster
    cluster.stop()


@pytest.fixture
def private_pg(pg_cluster):
    """The private PgCluster (its password file, psql, role `avtca`); skipped against AVTCA_TEST_PG_URL."""
    if not isinstance(pg_cluster, PgCluster):
        pytest.skip("needs the private cluster, not AVTCA_TEST_PG_URL")
    return pg_cluster


@pytest.fixture(scope="session")
def pg_binaries():
    """Skip (or fail, under AVTCA_REQUIRE_POSTGRES=1) without initdb/pg_ctl."""
    if pg_bin_dir() is None:
        _unavailable("PostgreSQL binaries not found (apt-get install postgresql, or set AVTCA_PG_BIN)")


@pytest.fixture
def pg_url(pg_cluster, request) -> str:
    """URL (with password) of a fresh database for this test."""
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40].strip("_")
    name = f"t{next(_counter)}_{base}"
    pg_cluster.create_database(name)
    return pg_cluster.url(name, with_password=True)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'claims.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """Both claim-store backends: a fresh SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


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


@pytest.fixture(scope="session")
def study_servers(scratch):
    """`python -m ablations.server` as a user runs it: private PostgreSQL + MLflow; stopped with Ctrl-C (SIGINT)."""
    if pg_bin_dir() is None:
        _unavailable("PostgreSQL binaries not found (apt-get install postgresql, or set AVTCA_PG_BIN)")
    data = scratch / "server"
    cmd = [sys.executable, "-m", "ablations.server", "--data", str(data), "--port", str(free_port())]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        banner = _read_banner(proc, timeout_s=240)
    except Exception as err:  # noqa: BLE001 - whatever went wrong, the server process must not outlive the test
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"ablations.server did not come up: {err}")
    found = dict(re.findall(r"^(--tracking-uri|--storage)\s+(\S+)", banner, re.M))
    passfile = re.search(r"PGPASSFILE=(\S+)", banner).group(1)
    yield Servers(found["--tracking-uri"], found["--storage"], passfile, banner, proc, data)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


@pytest.fixture
def second_mlflow(study_servers, scratch):
    """Another `mlflow server` process on the session's (already migrated) MLflow database: tests may kill it."""
    name = f"mlflow_extra_{next(_counter)}"
    server = MlflowServer(
        study_servers.url("mlflow"),
        scratch / f"{name}-artifacts",
        env={"PGPASSFILE": study_servers.passfile},
        log_path=scratch / f"{name}.log",
    )
    try:
        server.start(timeout_s=240)
    except PgError as err:
        pytest.fail(str(err))
    yield server
    server.stop(signal.SIGKILL)
