"""The built-in report figures, one module each: every module in this folder is imported with this package.

A module registers its figure when imported (`register_figure(ReportFigure(...))`), so a new built-in figure is one
new file here (a user's own figure is one module of theirs, imported before `render`). Importing this package loads
matplotlib: `render` imports it only when `png` is asked for.
"""

from __future__ import annotations

import importlib
import pkgutil

# sorted, so registration never depends on the file system's listing order (figures are placed by their `order`)
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
