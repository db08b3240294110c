"""The test suite's own rules (docs/ARCHITECTURE.md, "Tests"), checked on the sources of tests/."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _name(path: Path) -> str:
    return path.relative_to(TESTS.parent).as_posix()


def test_no_module_imports_a_conftest():
    """Fixtures reach a test through pytest, helpers through plain modules (tests/tiny.py, ...): an imported
    conftest registers its fixtures twice, and a relative `.conftest` import breaks when a test file moves."""
    found = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n == "conftest" or n.endswith(".conftest") for n in names):
                found.append(f"{_name(path)}:{node.lineno}")
    assert found == [], "import a helper module instead (move the helper out of the conftest): " + ", ".join(found)


def test_one_tiny_configuration():
    """Only tests/tiny.py defines a TINY* constant; a test that needs another size writes it as a change to it."""
    found = []
    for path in SOURCES:
        if path == TESTS / "tiny.py":
            continue
        for node in _tree(path).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.upper().startswith("TINY"):
                    found.append(f"{_name(path)}:{node.lineno} {target.id}")
    assert found == [], "use tests/tiny.py: " + ", ".join(found)


def test_a_signalled_child_process_has_its_own_session():
    """A module that signals its child processes starts them with start_new_session=True: a signal meant for
    the pytest worker's process group (or a Ctrl-C in its terminal) then never reaches them, and theirs never
    reach the worker."""
    found = []
    for path in SOURCES:
        tree = _tree(path)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
        signals = any(c.func.attr in ("send_signal", "killpg", "kill", "terminate") for c in calls)
        for call in calls:
            popen = call.func.attr == "Popen" and getattr(call.func.value, "id", "") == "subprocess"
            if signals and popen and not any(k.arg == "start_new_session" for k in call.keywords):
                found.append(f"{_name(path)}:{call.lineno}")
    assert found == [], "pass start_new_session=True to: " + ", ".join(found)


def test_tests_mirror_the_tree():
    """Each folder of tests/ is named for a package of avtca/ or ablations/ (or benchmarks/), so a change to
    `ablations/storage/` has its tests in `tests/storage/`; tests/rules holds the tree's own rules."""
    repo = TESTS.parent
    packages = {
        p.name for root in ("avtca", "ablations") for p in (repo / root).iterdir() if (p / "__init__.py").is_file()
    }
    allowed = packages | {"benchmarks", "rules"}
    folders = sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    assert folders, "no test folders found"
    strays = [name for name in folders if name not in allowed]
    assert strays == [], f"tests/{strays}: name a test folder for the package it tests ({', '.join(sorted(allowed))})"
