"""Ctrl-C and SIGTERM stop a study even when the KeyboardInterrupt they raise is lost.

Python raises a signal's KeyboardInterrupt wherever the main thread happens to be. Inside a garbage-collection
callback or a `__del__` (SQLAlchemy's, for one) it is printed as "Exception ignored in ..." and dropped, and the
study would run on as if nothing had happened. So the handler also remembers the signal, and the workers look
at it where stopping is safe (before each cell, after each epoch): a lost interrupt stops the run there, and the
cell is marked as interrupted, as any other.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_received: list[int] = []  # the signals this process got (a list: appending is atomic, no lock in a handler)


def interrupt(signum: int, frame: Any) -> None:
    """The SIGINT/SIGTERM handler: remember the signal, then raise KeyboardInterrupt (as Python's own does)."""
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt and are remembered (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)


def interrupted() -> bool:
    """Whether this process got Ctrl-C or SIGTERM."""
    return bool(_received)


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt when this process got Ctrl-C or SIGTERM (its own KeyboardInterrupt may be lost)."""
    if _received:
        raise KeyboardInterrupt
