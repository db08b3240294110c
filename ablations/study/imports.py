"""User modules named by a study's `imports:` (and `--import`): imported before the study is validated, in the
main process and in every worker, so that the components, datasets, metrics... they register exist there too."""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

from avtca.config.base import ConfigError

MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


def import_modules(names: Sequence[str], key: str = "imports", search: Iterable[str | Path] = ()) -> list[str]:
    """Import each module (`key[i]` names it in errors); `search` folders are appended to sys.path first.

    Returns the folders the modules were found in (what a worker process must put on its sys.path too).
    """
    for folder in search:
        text = str(Path(folder).resolve())
        if text not in sys.path:
            sys.path.append(text)  # after the installed packages: a user file never shadows a library
    found: list[str] = []
    problems = []
    for i, name in enumerate(names):
        where = f"{key}[{i}]" if key == "imports" else key
        if not isinstance(name, str) or not re.match(MODULE_PATTERN, name):
            problems.append(f"{where}: expected a module name (dotted identifiers, e.g. my_components), got {name!r}")
            continue
        try:
            module = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - any error while importing user code is reported, not raised
            last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
            at = f" ({last[0].filename}:{last[0].lineno})" if last and not isinstance(err, ImportError) else ""
            problems.append(f"{where}: cannot import '{name}': {type(err).__name__}: {err}{at}")
            continue
        root = _import_root(module.__name__, getattr(module, "__file__", None))
        if root is not None and root not in found:
            found.append(root)
    if problems:
        raise ConfigError(problems)
    return found


def import_study_modules(raw: dict, extra: list[str], folder: Path, source: str) -> dict:
    """Import a raw study's `imports` (then `--import`'s) before it is validated: they may register what it names.

    Returns the raw study with the `--import` modules added to its `imports`, so the workers import them too."""
    listed = raw.get("imports", [])
    if not isinstance(listed, list):
        raise ConfigError([f"imports: expected a list of module names, got {listed!r}"], source)
    try:
        import_modules(listed, "imports", search=[folder])
        import_modules(extra, "--import")
    except ConfigError as err:
        raise ConfigError(err.problems, source) from None
    return {**raw, "imports": [*listed, *(m for m in extra if m not in listed)]} if extra else raw


def module_roots(names: Sequence[str]) -> list[str]:
    """The sys.path folders the (imported) modules came from."""
    roots = []
    for name in names:
        module = sys.modules.get(name)
        root = _import_root(name, getattr(module, "__file__", None)) if module is not None else None
        if root is not None and root not in roots:
            roots.append(root)
    return roots


def _import_root(name: str, file: str | None) -> str | None:
    """The sys.path folder a module was imported from (`pkg/sub/mod.py` as `pkg.sub.mod` -> the folder above pkg)."""
    if not file:
        return None
    path = Path(file).resolve()
    depth = name.count(".") + (1 if path.name == "__init__.py" else 0)
    return str(path.parents[depth])


def import_in_worker(names: Sequence[str], folders: Sequence[str]) -> None:
    """In a worker process: the same folders on sys.path, the same modules imported (before any config is read)."""
    for folder in folders:
        if folder not in sys.path:
            sys.path.append(folder)
    for name in names:
        importlib.import_module(name)
