"""What the browsing tests share besides their fixture: the tiny study's description and cells, a shell without the venv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DESCRIPTION = "Tiny study for the browsing tests"
# its cells' runs in study order: variant, then fold
CELLS = [f"{variant} s0 f{fold}" for variant in ("full", "audio_only") for fold in range(4)]


def without_venv(env: dict[str, str]) -> dict[str, str]:
    """The environment of a shell where the virtual environment is not activated."""
    out = dict(env)
    venv = out.pop("VIRTUAL_ENV", None)
    bin_dir = str(Path(sys.executable).parent)
    out["PATH"] = os.pathsep.join(
        p for p in out.get("PATH", "").split(os.pathsep) if p != bin_dir and not (venv and p.startswith(venv))
    )
    return out
