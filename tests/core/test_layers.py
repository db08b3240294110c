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
