"""The report's tables as a registry: a new table is one function plus one `register_table` call.

`render` writes every registered table whose format was asked for (`--format md,tex,csv`), in registration
order, and links each from the study's README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ablations.report.robustness import RobustnessTable, robustness_frame, robustness_md, robustness_tex
from ablations.report.table_text import comparison_md, comparison_tex
from ablations.report.tables import ComparisonTable, summary_frame

TABLE_FORMATS = ("md", "tex", "csv")


@dataclass(frozen=True)
class TableInputs:
    """What a table is made from: one study's runs and the comparisons computed from them."""

    study: str
    runs: pd.DataFrame  # runs.csv, finished cells only
    tables: list[ComparisonTable]  # one per (dataset, protocol)
    robust: list[RobustnessTable]  # one per (dataset, protocol)
    dropped: int  # unfinished rows left out of runs.csv


@dataclass(frozen=True)
class ReportTable:
    """One file of the report: its name, its format, and the function that makes its content."""

    file: str  # file name in the study's report folder
    format: str  # md | tex (text) or csv (a DataFrame)
    build: Callable[[TableInputs], str | pd.DataFrame]


REPORT_TABLES: dict[str, ReportTable] = {}


def register_table(table: ReportTable) -> ReportTable:
    """Add a table to every report (its file name must be new)."""
    if table.format not in TABLE_FORMATS:
        raise ValueError(f"report table {table.file}: format '{table.format}' is not one of {', '.join(TABLE_FORMATS)}")
    if table.file in REPORT_TABLES:
        raise ValueError(f"report table {table.file} is registered twice")
    REPORT_TABLES[table.file] = table
    return table


def unregister_table(file: str) -> None:
    """Forget a table (tests that register a toy one)."""
    REPORT_TABLES.pop(file, None)


for _table in (
    ReportTable("table.md", "md", lambda x: comparison_md(x.tables, x.study, x.dropped)),
    ReportTable("robustness.md", "md", lambda x: robustness_md(x.robust, x.study)),
    ReportTable("table.tex", "tex", lambda x: comparison_tex(x.tables, x.study)),
    ReportTable("robustness.tex", "tex", lambda x: robustness_tex(x.robust, x.study)),
    ReportTable("summary.csv", "csv", lambda x: summary_frame(x.tables)),
    ReportTable("robustness.csv", "csv", lambda x: robustness_frame(x.robust)),
):
    register_table(_table)
