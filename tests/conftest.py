"""Fixtures shared by every test folder, and what makes the suite safe and fast under pytest-xdist.

The rules these enforce are in docs/ARCHITECTURE.md ("Tests"). In short: one torch thread per process, temporary
folders in RAM, one synthetic-data cache for the whole run (shared by the xdist workers), and the tests that use
an expensive session fixture (listed in ONE_WORKER) run on one worker, first.

AVTCA_REQUIRE_POSTGRES=1 (CI) turns a missing PostgreSQL into a failure instead of a skip.
AVTCA_TEST_PG_URL=postgresql://user:pw@host:port/db uses an existing server (the role must be able to CREATE DATABASE).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import torch

from ablations.server import MlflowServer
from ablations.storage.database import PgError
from ablations.storage.pg import PgCluster, pg_bin_dir
from tests.clips import write_ravdess_fixture
from tests.servers import ExternalPg, start_study_servers, stop_study_servers
from tests.tiny import run_main, write_study

REQUIRE_POSTGRES = os.environ.get("AVTCA_REQUIRE_POSTGRES") == "1"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under xdist; "" otherwise

# session fixtures that start servers or run whole studies: the tests using one are one xdist group (run on
# one worker, so the fixture is built once per run, not once per worker) and are scheduled before the rest
# (fixture -> group; second_mlflow runs on the study servers' cluster)
ONE_WORKER = {
    "study_servers": "study_servers",
    "second_mlflow": "study_servers",
    "finished_study": "finished_study",
    "completed_study": "completed_study",
    "slurm": "slurm",  # one test cluster per run (tests/workers/conftest.py)
}

_counter = itertools.count()
_LOST_GROUP = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """One BLAS/torch thread per process (the workers and their children share the cores); temp dirs in RAM."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    torch.set_num_threads(1)
    _temporary_folders_in_memory()


def _temporary_folders_in_memory() -> None:
    """pytest's tmp_path (and every child process's temp dir) on /dev/shm unless TMPDIR is set.

    SQLite (MLflow), the Optuna journal and PostgreSQL fsync on every commit: on a disk shared with other jobs
    that costs seconds per study (creating an MLflow database: ~8 s on disk, ~3 s in RAM, measured here).
    """
    shm = Path("/dev/shm")
    if "TMPDIR" in os.environ or not (shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)):
        return
    if shutil.disk_usage(shm).free < 4 * 2**30:
        return
    os.environ["TMPDIR"] = str(shm)
    tempfile.tempdir = None  # recomputed from TMPDIR on next use


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist groups (see _group), then the order: slow groups and tests first, the rest after."""
    slow_groups = set()
    for item in items:
        group = _group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            if item.get_closest_marker("slow"):
                slow_groups.add(group)

    def rank(item: pytest.Item) -> int:
        group = item.get_closest_marker("xdist_group")
        if group and not group.args[0].startswith("tests/"):
            return 0  # a ONE_WORKER fixture's tests
        return 1 if item.get_closest_marker("slow") or (group and group.args[0] in slow_groups) else 2

    # longest first (with --no-loadscope-reorder): a long group started last runs alone while the others idle
    items.sort(key=rank)


def _group(item: pytest.Item) -> str:
    """The xdist group of a test: its ONE_WORKER session fixtures (`name:folder`: two conftests may define one
    name), else its module when it uses a module- or class-scoped fixture (set up once, not once per worker)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return ""
    used, scoped = [], False
    for name in item.fixturenames:
        defs = info.name2fixturedefs.get(name)
        if not defs:
            continue
        if name in ONE_WORKER:
            used.append(f"{ONE_WORKER[name]}:{defs[-1].baseid or '.'}")
        scoped = scoped or defs[-1].scope in ("module", "class")
    if used:
        return "+".join(sorted(set(used)))
    return item.nodeid.split("::", 1)[0] if scoped else ""


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail the grouped tests of a worker whose groups were lost (every worker would build every expensive
    fixture, silently): pytest 9.2 ignores xdist's renaming of grouped tests (pytest-xdist issue #1386)."""
    if WORKER and session.config.getvalue("loadgroup"):
        for item in session.items:
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
                item.stash[_LOST_GROUP] = (
                    f"xdist did not group this test: pytest {pytest.__version__} ignores xdist's renaming of grouped "
                    "tests (pytest-xdist issue #1386); pip install -e '.[dev]' installs a pytest that works, or run "
                    "with -n 0"
                )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """See pytest_collection_finish."""
    if _LOST_GROUP in item.stash:
        pytest.fail(item.stash[_LOST_GROUP], pytrace=False)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test runs with one torch thread (a test that changes it does not leak the change)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder of this run shared by all xdist workers (their basetemps' parent); for concurrency-safe content."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if WORKER else base) / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> Path:
    """One synthetic-data cache for the whole run: the workers share it (avtca's file locks in `.locks/` make one
    process generate and prepare a dataset while the others wait, then read it)."""
    return shared_dir(tmp_path_factory, "avtca-cache")


@pytest.fixture
def workdir(tmp_path, data_cache, monkeypatch) -> Path:
    """An empty working directory (default storage/tracking land here) with the shared data cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AVTCA_CACHE", str(data_cache))
    return tmp_path


@pytest.fixture(scope="session")
def completed_study(tmp_path_factory, data_cache) -> Path:
    """A folder where the tiny study (2 cells, tests/tiny.py) ran to completion: study file, journal, claims,
    mlflow.db. Read it through `finished` (a private copy): tests that only look at a result need no new run."""
    folder = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("AVTCA_CACHE", str(data_cache))
        assert run_main([write_study(folder)]) == 0
    return folder


@pytest.fixture
def finished(completed_study, workdir) -> Path:
    """A private copy of the completed tiny study in the test's working directory."""
    for item in completed_study.iterdir():
        dest = workdir / item.name
        if item.is_dir():
            shutil.copytree(item, dest)
        else:
            shutil.copy2(item, dest)
    return workdir


@pytest.fixture(scope="session")
def ravdess_root(tmp_path_factory) -> Path:
    """Hand-made RAVDESS clips: 3 actors x 2 emotions of speech, song, a video-only pair, and bad files."""
    return write_ravdess_fixture(tmp_path_factory.mktemp("ravdess"))


def _unavailable(why: str):
    if REQUIRE_POSTGRES:
        pytest.fail(f"{why} (AVTCA_REQUIRE_POSTGRES=1, so this is an error, not a skip)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def scratch():
    """A short temp dir reachable by the `postgres` user (pytest's own tmp dirs are 0700 when run as root)."""
    root = Path(tempfile.mkdtemp(prefix="avtca-dist-"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_binaries():
    """Skip (or fail, under AVTCA_REQUIRE_POSTGRES=1) without initdb/pg_ctl."""
    if pg_bin_dir() is None:
        _unavailable("PostgreSQL binaries not found (apt-get install postgresql, or set AVTCA_PG_BIN)")


@pytest.fixture(scope="session")
def pg_cluster(scratch):
    """A running PostgreSQL server per test process (private cluster on a free port, or AVTCA_TEST_PG_URL)."""
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


@pytest.fixture
def pg_url(pg_cluster, request) -> str:
    """URL (with password) of a fresh database for this test (named after the worker too: one external server)."""
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40].strip("_")
    name = f"t{WORKER}_{next(_counter)}_{base}"
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


@pytest.fixture(scope="session")
def study_servers(scratch):
    """`python -m ablations.server` as a user runs it: private PostgreSQL + MLflow; stopped with Ctrl-C."""
    if pg_bin_dir() is None:
        _unavailable("PostgreSQL binaries not found (apt-get install postgresql, or set AVTCA_PG_BIN)")
    try:
        servers = start_study_servers(scratch / "server")
    except Exception as err:  # noqa: BLE001 - any failure to come up is the test's failure, with its output
        pytest.fail(f"ablations.server did not come up: {err}")
    yield servers
    stop_study_servers(servers)


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
