"""The docs' recipes run as written: the first ```python block after a marker, saved as a module and imported."""

from __future__ import annotations

import importlib
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def python_block(doc: str, after: str) -> str:
    """The first ```python block after the text `after` in the document `doc` (relative to the repository)."""
    section = (ROOT / doc).read_text().split(after, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@contextmanager
def recipe_module(doc: str, after: str, name: str, tmp_path: Path, monkeypatch):
    """The recipe written as `<tmp_path>/<name>.py` beside the user's code and imported; forgotten afterwards."""
    (tmp_path / f"{name}.py").write_text(python_block(doc, after))
    monkeypatch.syspath_prepend(str(tmp_path))
    module: ModuleType = importlib.import_module(name)
    try:
        yield module
    finally:
        sys.modules.pop(name, None)
