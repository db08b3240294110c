"""The built-in datasets, one module each: every module in this folder is imported with `avtca.data`.

A module registers its adapter when imported (`DATASETS.register(DatasetAdapter(...))`), so a new dataset is
one new file here (or in the user's own module, once imported) and no import line anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil

# sorted, so registration never depends on the file system's listing order
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
