"""docs/ARCHITECTURE.md's "a report table" recipe, copied as written into a new module, is rendered and linked."""

from __future__ import annotations

import pandas as pd
import pytest

from ablations.report import render
from ablations.report.rendering.registry import REPORT_TABLES, ReportTable, register_table, unregister
from tests.recipes import recipe_module


@pytest.fixture
def cells_table(tmp_path, monkeypatch):
    with recipe_module("docs/ARCHITECTURE.md", "- **a report table**", "cells_table", tmp_path, monkeypatch):
        yield
        unregister("cells.csv")


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
    assert {"table.md", "robustness.md", "summary.csv"} <= set(REPORT_TABLES)
    with pytest.raises(ValueError, match="registered twice"):
        register_table(ReportTable("table.md", "md", lambda inputs: ""))
    with pytest.raises(ValueError, match="format 'xlsx' is not one of md, tex, csv"):
        register_table(ReportTable("t.xlsx", "xlsx", lambda inputs: ""))
