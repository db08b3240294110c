"""Database storage URLs: which storages are databases (the Optuna RDB storage and the SQL claim store)."""

from __future__ import annotations


def is_sql_url(url: str) -> bool:
    """True for database URLs (postgresql://, sqlite://, mysql://, with or without +driver)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    return scheme in ("postgresql", "postgres", "sqlite", "mysql")
