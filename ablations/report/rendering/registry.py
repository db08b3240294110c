"""What a report is made of, as registries: a new table or figure is one function plus one `register_*` call.

`ablations.report.render` writes every registered table whose format was asked for (`--format`), in registration
order, and draws every registered figure when `png` is asked for; the study's README links them all. `FORMATS`
is the one list of output formats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.robustness import RobustnessTable

FORMATS = ("md", "tex", "csv", "png")  # tables are md, tex or csv; figures are png (with an svg copy)
TABLE_FORMATS = tuple(f for f in FORMATS if f != "png")


@dataclass(frozen=True)
class ReportInputs:
    """What tables and figures are made from: one study's runs and everything computed from them."""

    study: str
    runs: pd.DataFrame  # runs.csv, finished cells only
    tables: list[ComparisonTable]  # one per (dataset, protocol)
    robust: list[RobustnessTable]  # one per (dataset, protocol), same order
    dropped: int  # unfinished rows left out of runs.csv
    groups: list[pd.DataFrame] = field(default_factory=list)  # the runs of each (dataset, protocol), same order
    extra: dict[str, pd.DataFrame | None] = field(default_factory=dict)  # history.csv, confusion.csv, optuna.csv
    order: list[str] = field(default_factory=list)  # variants in study-file order (one colour each in figures)
    folder: Path | None = None  # the study's report folder

    def cells_of(self, name: str, index: int) -> pd.DataFrame | None:
        """The rows of sibling file `name` (e.g. history.csv) that belong to the cells of group `index`."""
        df = self.extra.get(name)
        if df is None:
            return None
        keys = self.groups[index][["variant", "seed", "fold"]].drop_duplicates()
        return df.merge(keys, on=["variant", "seed", "fold"], how="inner")


@dataclass(frozen=True)
class ReportTable:
    """One file of the report: its name, its format, and the function that makes its content."""

    file: str  # file name in the study's report folder
    format: str  # md | tex (text) or csv (a DataFrame)
    build: Callable[[ReportInputs], str | pd.DataFrame]


@dataclass(frozen=True)
class ReportFigure:
    """A figure: drawn once per (dataset, protocol) group (`fig_<key>_<dataset>_<protocol>.png`), or once per
    study when `per_group` is false (`fig_<key>.png`). `draw(inputs, group index or None, path)` returns the path
    it wrote, or None when the figure does not apply (e.g. no history.csv)."""

    key: str
    title: str  # shown in the README; per group it follows "<dataset> (<protocol>): "
    draw: Callable[[ReportInputs, int | None, Path], Path | None]
    per_group: bool = True


REPORT_TABLES: dict[str, ReportTable] = {}
REPORT_FIGURES: dict[str, ReportFigure] = {}


def register_table(table: ReportTable) -> ReportTable:
    """Add a table to every report (its file name must be new)."""
    if table.format not in TABLE_FORMATS:
        raise ValueError(f"report table {table.file}: format '{table.format}' is not one of {', '.join(TABLE_FORMATS)}")
    if table.file in REPORT_TABLES:
        raise ValueError(f"report table {table.file} is registered twice")
    REPORT_TABLES[table.file] = table
    return table


def register_figure(figure: ReportFigure) -> ReportFigure:
    """Add a figure to every report drawn with `png` (its key must be new)."""
    if figure.key in REPORT_FIGURES:
        raise ValueError(f"report figure {figure.key} is registered twice")
    REPORT_FIGURES[figure.key] = figure
    return figure


def unregister(name: str) -> None:
    """Forget a table (by file name) or a figure (by key): tests that register a toy one."""
    REPORT_TABLES.pop(name, None)
    REPORT_FIGURES.pop(name, None)
