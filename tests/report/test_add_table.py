"""docs/ARCHITECTURE.md's "a report table" recipe, copied as written into a new module, is rendered and linked."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from ablations.report import render
from ablations.report.outputs import REPORT_TABLES, ReportTable, register_table, unregister_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def _recipe() -> str:
    section = DOC.read_text().split("- **a report table**", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def cells_table(tmp_path, monkeypatch):
    (tmp_path / "cells_table.py").write_text(_recipe())
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("cells_table")
    yield
    unregister_table("cells.csv")
    sys.modules.pop("cells_table", None)


def test_recipe_table_is_written_and_linked(cells_table, export, tmp_path):
    dest = render(export, out=tmp_path / "reports", formats=("md", "csv"))
    runs = pd.read_csv(export)
    table = pd.read_csv(dest / "cells.csv")
    assert list(table.columns) == ["dataset", "protocol", "variant", "cells"]
    assert table["cells"].sum() == len(runs) and set(table["variant"]) == set(runs["variant"])
    assert "- [cells.csv](cells.csv)" in (dest / "README.md").read_text()
    # not asked for: not written
    again = render(export, out=tmp_path / "md-only", formats=("md",))
    assert not (again / "cells.csv").exists() and (again / "table.md").is_file()


def test_table_registry_rejects_bad_entries():
    assert list(REPORT_TABLES)[:2] == ["table.md", "robustness.md"]
    with pytest.raises(ValueError, match="registered twice"):
        register_table(ReportTable("table.md", "md", lambda inputs: ""))
    with pytest.raises(ValueError, match="format 'xlsx' is not one of md, tex, csv"):
        register_table(ReportTable("t.xlsx", "xlsx", lambda inputs: ""))
