"""Database storages (the Optuna RDB storage, the SQL claim store): URLs, a connection check, clear errors, and the
schema-creation lock. The private PostgreSQL server itself is scale-out (ablations.scaleout.pg)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ablations.masking import mask


class PgError(RuntimeError):
    """Starting, stopping or reaching a PostgreSQL server failed; the message says what to do."""


def is_sql_url(url: str) -> bool:
    """True for database URLs (postgresql://, sqlite://, mysql://, with or without +driver)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    return scheme in ("postgresql", "postgres", "sqlite", "mysql")


def to_sqlalchemy_url(url: str) -> str:
    """Map `postgresql://` / `postgres://` to SQLAlchemy's psycopg 3 dialect; other URLs pass through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_database(url: str, timeout_s: float = 10.0) -> None:
    """Connect once and run `SELECT 1`; raise PgError naming the masked URL and the cause (auth, unreachable)."""
    import sqlalchemy as sa  # heavy: loaded only when a database storage is used

    engine = sa.create_engine(
        to_sqlalchemy_url(url), connect_args=_connect_args(url, timeout_s), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - driver errors vary; we re-raise with a readable cause
        raise PgError(f"cannot use the database {mask(url)}: {explain_db_error(err)}") from None
    finally:
        engine.dispose()


def _connect_args(url: str, timeout_s: float) -> dict:
    return {"connect_timeout": max(1, int(timeout_s))} if url.startswith(("postgres", "postgresql")) else {}


def explain_db_error(err: BaseException) -> str:
    """One line saying why a database connection failed, with any password masked."""
    text = str(getattr(err, "orig", None) or err)
    text = mask(text.splitlines()[0] if text else type(err).__name__)
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
    import sqlalchemy as sa  # heavy: loaded only when a database storage is used

    engine = sa.create_engine(to_sqlalchemy_url(url), connect_args={"connect_timeout": 10}, poolclass=sa.pool.NullPool)
    try:
        conn = engine.connect()
    except Exception as err:  # noqa: BLE001 - re-raised with the password masked
        engine.dispose()
        raise PgError(f"cannot use the database {mask(url)}: {explain_db_error(err)}") from None
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
    import optuna  # heavy: loaded only when a database storage is used

    with schema_lock(url):
        return optuna.storages.RDBStorage(url, **kwargs)
