"""The layer contracts in pyproject.toml ([tool.importlinter]) hold: checked on every test run, not hoped for."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _loggers_left_enabled():
    """lint_imports calls logging's dictConfig, which disables every existing logger (`avtca.data` included):
    later tests that read our warnings with caplog would see nothing."""
    loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    before = {lg: lg.disabled for lg in loggers}
    yield
    for lg, disabled in before.items():
        lg.disabled = disabled


def test_import_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert "0 broken" in out and f"Contracts: {declared} kept" in out


@pytest.mark.parametrize("package", ["avtca", "ablations"])
def test_no_import_cycle_at_module_level_type_checking_imports_included(package):
    """No circle of imports between any modules, a package and its own modules included (the contracts compare
    siblings only), imports under `if TYPE_CHECKING:` and inside functions counted: an import a -> b is in a
    circle exactly when b reaches a back."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    circles = [
        [a, *graph.find_shortest_chain(importer=b, imported=a)]
        for a in sorted(graph.modules)
        for b in sorted(graph.find_modules_directly_imported_by(a))
        if graph.chain_exists(importer=b, imported=a)
    ]
    assert circles == []
