"""Ctrl-C or SIGTERM while a command is still importing (seconds: torch, mlflow) ends it quietly.

Installed first thing by the entry points, before their heavy imports; nothing has been written at that point,
so the process leaves at once with the interrupted exit code. The commands re-install their own handlers
once they start working (`ablations.interrupts` for a study run, Python's own KeyboardInterrupt elsewhere).
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130


def _leave(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted during start-up: nothing was written\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def quiet_start_up() -> None:
    """Until the command installs its own handlers, SIGINT and SIGTERM exit 130 without a traceback."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _leave)
