"""A private PostgreSQL cluster (initdb / pg_ctl) for the study storage and the MLflow backend, plus URL helpers."""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ablations.masking import mask, mask_url

PG_BIN_ENV = "AVTCA_PG_BIN"
PG_USER = "postgres"  # the OS user PostgreSQL runs as when we are root (it refuses to run as root)
DB_USER = "avtca"  # the database role workers and the MLflow server log in as


class PgError(RuntimeError):
    """Starting, stopping or reaching a PostgreSQL server failed; the message says what to do."""


scrub = mask  # historical name: every URL and message goes through ablations.masking.mask


def to_sqlalchemy_url(url: str) -> str:
    """Map `postgresql://` / `postgres://` to SQLAlchemy's psycopg 3 dialect; other URLs pass through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pg_bin_dir() -> Path | None:
    """Directory holding initdb/pg_ctl: $AVTCA_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    env = os.environ.get(PG_BIN_ENV)
    if env:
        return Path(env) if (Path(env) / "pg_ctl").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _is_root() -> bool:
    return os.geteuid() == 0


class PgCluster:
    """One private PostgreSQL cluster in `data_dir`, listening on `host:port` only.

    Local (unix-socket) connections are trusted; TCP connections need the password of role `avtca`,
    kept in `data_dir/../pgpass` (mode 0600) and never printed.
    """

    def __init__(self, data_dir: str | Path, port: int | None = None, host: str = "127.0.0.1", durable: bool = True):
        self.data_dir = Path(data_dir).absolute()
        if len(str(self.data_dir)) > 90:  # the unix socket lives in the data dir; its path is limited to 107 bytes
            raise PgError(f"data dir {self.data_dir}: path too long for PostgreSQL's socket; use a shorter one")
        self.host = host
        self.durable = durable  # False (tests): no fsync, faster, unsafe on power loss
        self.port = port or free_port(host if host != "0.0.0.0" else "127.0.0.1")
        self.passfile = self.data_dir.parent / f"{self.data_dir.name}.pgpass"
        bindir = pg_bin_dir()
        if bindir is None:
            raise PgError(
                "PostgreSQL binaries not found (looked in $AVTCA_PG_BIN, /usr/lib/postgresql/*/bin, PATH); "
                "install them, e.g. `apt-get install postgresql`"
            )
        self.bindir = bindir

    # -- process control -------------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        cmd = list(args)
        if _is_root():
            cmd = ["runuser", "-u", PG_USER, "--"] + cmd
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise PgError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def _check_reachable_by_postgres(self) -> None:
        """As root, the `postgres` user must be able to walk to the data dir (pytest tmp dirs are 0700)."""
        for parent in list(self.data_dir.parents)[::-1]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise PgError(
                    f"{parent} is not searchable by the '{PG_USER}' user (mode {oct(mode & 0o777)}); "
                    f"put the data dir somewhere it can reach, e.g. under /tmp"
                )

    def init(self) -> PgCluster:
        """Run initdb once (idempotent) and create role `avtca` with a fresh password."""
        if (self.data_dir / "PG_VERSION").exists():
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _is_root():
            self._check_reachable_by_postgres()
            uid = pwd.getpwnam(PG_USER)
            os.chown(self.data_dir, uid.pw_uid, uid.pw_gid)
        os.chmod(self.data_dir, 0o700)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", PG_USER,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", *([] if self.durable else ["--no-sync"]),
        )
        if self.host not in ("127.0.0.1", "localhost"):
            # initdb only admits loopback TCP clients; other machines must come in with the password
            with open(self.data_dir / "pg_hba.conf", "a") as hba:
                hba.write("host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n")
        password = secrets.token_urlsafe(18)
        self.passfile.write_text(f"*:*:*:{DB_USER}:{password}\n")
        os.chmod(self.passfile, 0o600)
        return self

    @property
    def password(self) -> str:
        """The password of role `avtca` (read from the pgpass file)."""
        return self.passfile.read_text().strip().rsplit(":", 1)[1]

    def start(self) -> PgCluster:
        """Start the server (init first if needed) and wait until it accepts connections."""
        self.init()
        listen = self.host if self.host != "localhost" else "127.0.0.1"
        log = self.data_dir / "server.log"
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses={listen}"
        if not self.durable:
            options += " -c fsync=off"
        ctl = str(self.bindir / "pg_ctl")
        self._run(ctl, "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        if not self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'"):
            pw = self.password.replace("'", "''")  # token_urlsafe has no quotes; escaped anyway
            self.psql(f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{pw}'")
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown); a no-op when it is not running."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)

    def kill(self) -> None:
        """Stop the server abruptly (immediate shutdown): simulates the database going away."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- SQL over the local socket (trusted, no password needed) ------------------------------------------
    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run one SQL statement as the superuser over the unix socket; returns psql's output."""
        proc = self._run(
            str(self.bindir / "psql"), "-h", str(self.data_dir), "-p", str(self.port), "-U", PG_USER,
            "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        )
        return proc.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create database `name` owned by `avtca` if missing; return its URL (without the password)."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise PgError(f"database name {name!r}: use letters, digits and underscores")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f"CREATE DATABASE {name} OWNER {DB_USER}")
        return self.url(name)

    def url(self, db: str = "postgres", with_password: bool = False) -> str:
        """`postgresql://avtca@host:port/db`; the password only when asked (prefer PGPASSFILE=self.passfile)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "localhost") else self.host
        cred = f"{DB_USER}:{self.password}" if with_password else DB_USER
        return f"postgresql://{cred}@{host}:{self.port}/{db}"


def check_database(url: str, timeout_s: float = 10.0) -> None:
    """Connect once and run `SELECT 1`; raise PgError naming the masked URL and the cause (auth, unreachable)."""
    import sqlalchemy as sa

    engine = sa.create_engine(
        to_sqlalchemy_url(url), connect_args=_connect_args(url, timeout_s), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - driver errors vary; we re-raise with a readable cause
        raise PgError(f"cannot use the database {mask_url(url)}: {explain_db_error(err)}") from None
    finally:
        engine.dispose()


def _connect_args(url: str, timeout_s: float) -> dict:
    return {"connect_timeout": max(1, int(timeout_s))} if url.startswith(("postgres", "postgresql")) else {}


def explain_db_error(err: BaseException) -> str:
    """One line saying why a database connection failed, with any password masked."""
    text = str(getattr(err, "orig", None) or err)
    text = scrub(text.splitlines()[0] if text else type(err).__name__)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "wrong user or password (give it in the URL or via PGPASSWORD / PGPASSFILE)"
    elif "connection refused" in low or "could not connect" in low or "timeout" in low or "timed out" in low:
        hint = "server unreachable (is it running, and is host:port right?)"
    elif "does not exist" in low and "database" in low:
        hint = "the database does not exist (create it first, e.g. `createdb`)"
    else:
        hint = type(err).__name__
    return f"{hint}: {text}"


SCHEMA_LOCK_KEY = 0x61767464  # pg advisory lock held while a process creates or upgrades the Optuna schema


@contextmanager
def schema_lock(url: str, key: int = SCHEMA_LOCK_KEY, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock (no-op for other URLs): processes creating a schema at once take turns."""
    if not url.startswith(("postgresql", "postgres")):
        yield
        return
    import sqlalchemy as sa

    engine = sa.create_engine(to_sqlalchemy_url(url), connect_args={"connect_timeout": 10}, poolclass=sa.pool.NullPool)
    try:
        conn = engine.connect()
    except Exception as err:  # noqa: BLE001 - re-raised with the password masked
        engine.dispose()
        raise PgError(f"cannot use the database {mask_url(url)}: {explain_db_error(err)}") from None
    try:
        conn.execute(sa.text(f"SET lock_timeout = {int(timeout_s * 1000)}"))
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
    finally:
        conn.close()
        engine.dispose()


def open_rdb_storage(url: str, **kwargs):
    """`optuna.storages.RDBStorage(url, **kwargs)` created under `schema_lock`, so workers may start together."""
    import optuna

    with schema_lock(url):
        return optuna.storages.RDBStorage(url, **kwargs)


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.25) -> None:
    """Poll `predicate()` until it is true, else raise PgError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise PgError(f"timed out after {timeout_s:.0f} s waiting for {what}")
