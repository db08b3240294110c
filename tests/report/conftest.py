"""Fixtures of the report tests: a toy export written in the documented runs.csv format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.exports import write_export


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A complete toy export under tmp_path/export/."""
    return write_export(tmp_path / "export")
