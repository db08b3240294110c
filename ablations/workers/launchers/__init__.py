"""The launchers, one module each; a module registers its `Launcher` in `ablations.workers.base.LAUNCHERS` by
being here (every module of this package is imported), or in the user's own module once imported."""

from __future__ import annotations

import importlib
import pkgutil

from ablations.workers.base import LAUNCHERS, Launcher

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["LAUNCHERS", "Launcher"]
