"""Database storages (the Optuna RDB storage, the SQL claim store, a database tracking store): URLs, the one
connection factory (`create_engine`), a connection check, clear errors, and the schema-creation lock. The private
PostgreSQL server itself is ablations.storage.pg."""

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


def connect_args(url: str, timeout_s: float = 10.0) -> dict:
    """Driver arguments: a connect timeout for PostgreSQL; SQLite waits `timeout_s` on a lock instead of failing."""
    if url.startswith(("postgres", "postgresql")):
        return {"connect_timeout": max(1, int(timeout_s))}
    if url.startswith("sqlite"):
        return {"timeout": timeout_s}
    return {}


def create_engine(url: str, timeout_s: float = 10.0, pooled: bool = False):
    """The one way the project opens a database: psycopg 3 for PostgreSQL, `connect_args`, no pool unless `pooled`
    (a long-lived client such as the claim store; SQLite is never pooled)."""
    import sqlalchemy as sa  # heavy: loaded only when a database is used

    kwargs: dict = {"connect_args": connect_args(url, timeout_s)}
    if pooled and not url.startswith("sqlite"):
        kwargs.update(pool_pre_ping=True, pool_size=2)
    else:
        kwargs["poolclass"] = sa.pool.NullPool
    return sa.create_engine(to_sqlalchemy_url(url), **kwargs)


def check_database(url: str, timeout_s: float = 10.0) -> None:
    """Connect once and run `SELECT 1`; raise PgError naming the masked URL and the cause (auth, unreachable)."""
    import sqlalchemy as sa  # heavy: loaded only when a database storage is used

    try:
        engine = create_engine(url, timeout_s)
    except Exception as err:  # noqa: BLE001 - a missing driver or a malformed URL, re-raised readably
        raise PgError(f"cannot connect to {mask(url)}: {explain_db_error(err)}") from None
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - driver errors vary; we re-raise with a readable cause
        raise PgError(f"cannot connect to {mask(url)}: {explain_db_error(err)}") from None
    finally:
        engine.dispose()


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

    engine = create_engine(url, 10.0)
    try:
        conn = engine.connect()
    except Exception as err:  # noqa: BLE001 - re-raised with the password masked
        engine.dispose()
        raise PgError(f"cannot connect to {mask(url)}: {explain_db_error(err)}") from None
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
