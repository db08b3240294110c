"""The built-in report tables, one module each: every module in this folder is imported with this package.

A module registers its table when imported (`register_table(ReportTable(...))`), so a new built-in table is one
new file here (a user's own table is one module of theirs, imported before `render`), and no list names them.
"""

from __future__ import annotations

import importlib
import pkgutil

# sorted, so registration never depends on the file system's listing order (tables are placed by their `order`)
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
