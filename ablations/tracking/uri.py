"""Tracking URIs: checking one before use (writes nothing), and moving `user:password@` out of an http URI."""

from __future__ import annotations

import base64
import os
import urllib.request
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ablations.masking import mask


class TrackingError(RuntimeError):
    """The tracking server or store cannot be used; the message names the (masked) URI."""


def credentials_to_env(uri: str | None) -> str | None:
    """`http(s)://user:password@host` -> `http(s)://host`, the credentials moved to MLFLOW_TRACKING_USERNAME /
    MLFLOW_TRACKING_PASSWORD, which MLflow sends as basic auth on every request. MLflow prints its tracking URI
    as is ("View run ... at http://..."): left in the URI, the password would be on the terminal. The variables
    are inherited by worker processes, which also strip their own URI here."""
    if not uri or not uri.startswith(("http://", "https://")):
        return uri
    parts = urlsplit(uri)
    if parts.username is None:
        return uri
    os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username)
    os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password or "")
    return urlunsplit((parts.scheme, _bare_netloc(parts), parts.path, parts.query, parts.fragment))


def check_tracking(uri: str, timeout_s: float = 5.0) -> None:
    """Raise TrackingError unless the tracking URI looks usable; writes nothing."""
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(health_request(uri), timeout=timeout_s) as resp:
                if resp.status != 200:
                    raise TrackingError(f"tracking server {mask(uri)} answered HTTP {resp.status}")
        except OSError as err:
            raise TrackingError(f"tracking server {mask(uri)} is not reachable: {err}") from None
        return
    if scheme == "sqlite":
        _check_writable(Path(uri.split(":///", 1)[-1]).parent, f"tracking URI {uri}")
    elif scheme == "file":
        _check_writable(Path(uri.removeprefix("file://").removeprefix("file:")), f"tracking URI {uri}")


def health_request(uri: str) -> urllib.request.Request:
    """GET <uri>/health; user:password in the URI goes as basic auth (urllib would read it as part of the host)."""
    parts = urlsplit(uri)
    request = urllib.request.Request(
        urlunsplit((parts.scheme, _bare_netloc(parts), parts.path.rstrip("/") + "/health", "", ""))
    )
    if parts.username is not None:
        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(cred).decode())
    return request


def _bare_netloc(parts: SplitResult) -> str:
    """host[:port] without user:password@ (an IPv6 host keeps its brackets)."""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return host + (f":{parts.port}" if parts.port else "")


def _check_writable(path: Path, what: str) -> None:
    """Raise TrackingError unless `path` exists writable or could be created (checks the nearest ancestor)."""
    probe = path.resolve()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise TrackingError(f"{what}: {probe} is not a writable directory")
