"""A private PostgreSQL cluster (initdb / pg_ctl) for the study storage and the MLflow backend (scale-out)."""

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
from pathlib import Path

from ablations.storage.database import PgError

PG_BIN_ENV = "AVTCA_PG_BIN"
PG_USER = "postgres"  # the OS user PostgreSQL runs as when we are root (it refuses to run as root)
DB_USER = "avtca"  # the database role workers and the MLflow server log in as


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
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            PG_USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            *([] if self.durable else ["--no-sync"]),
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
            str(self.bindir / "psql"),
            "-h",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-U",
            PG_USER,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            sql,
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


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.25) -> None:
    """Poll `predicate()` until it is true, else raise PgError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise PgError(f"timed out after {timeout_s:.0f} s waiting for {what}")
