"""docs/ARCHITECTURE.md's "a report table" recipe, copied as written into a new module, is written in every table
format, linked from the README and included in report.tex; the registry refuses bad entries."""

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
        unregister("cells")


def test_recipe_table_is_written_in_every_format_and_linked(cells_table, export, tmp_path):
    dest = render(export, out=tmp_path / "reports", formats=("md", "tex", "csv"))
    runs = pd.read_csv(export)
    table = pd.read_csv(dest / "cells.csv")
    assert list(table.columns) == ["Variant", "Cells"]  # the shown cells, markup stripped
    assert table["Cells"].sum() == len(runs) and set(table["Variant"]) == set(runs["variant"])
    md = (dest / "cells.md").read_text()
    assert "## ravdess (actor-6fold): finished cells" in md and "| `full` | 6 |" in md
    tex = (dest / "cells.tex").read_text()
    assert "\\toprule" in tex and "\\texttt{full} & 6 \\\\" in tex
    readme = (dest / "README.md").read_text()
    assert all(f"- [cells.{f}](cells.{f})" in readme for f in ("md", "tex", "csv"))
    assert "\\input{cells.tex}" in (dest / "report.tex").read_text()
    # not asked for: not written
    again = render(export, out=tmp_path / "md-only", formats=("md",))
    assert (again / "cells.md").is_file() and not (again / "cells.csv").exists() and not (again / "cells.tex").exists()


def test_table_registry_rejects_bad_entries():
    assert {"table", "summary", "robustness", "factorial", "clips"} <= set(REPORT_TABLES)
    with pytest.raises(ValueError, match="registered twice"):
        register_table(ReportTable("table", "again", lambda inputs: None))
    with pytest.raises(ValueError, match="expected a file name without extension"):
        register_table(ReportTable("t.xlsx", "a spreadsheet", lambda inputs: None))
