"""What a report is made of, as registries: a new table or figure is one function plus one `register_*` call.

A table is built once (`Table`: a format-neutral object) and `render` writes it in every table format asked for
(`--format`): `<name>.md`, `<name>.tex` (also \\input by the study's report.tex) and `<name>.csv`. A figure is drawn
when `png` is asked for (a PNG and an SVG copy). The study's README links them all. `FORMATS` is the one list of
output formats. The built-in tables and figures are one module each in `rendering/tables/` and
`rendering/figures/`, found by being there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.factorial import FactorialTable
from ablations.report.compare.robustness import RobustnessTable
from ablations.report.compare.settings import Settings
from ablations.report.rendering.table import Table

FORMATS = ("md", "tex", "csv", "png")  # tables are md, tex and csv; figures are png (with an svg copy)
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
    factorials: list[FactorialTable | None] = field(default_factory=list)  # per (dataset, protocol), same order
    settings: Settings = field(default_factory=Settings)

    def cells_of(self, name: str, index: int) -> pd.DataFrame | None:
        """The rows of sibling file `name` (e.g. history.csv) that belong to the cells of group `index`."""
        df = self.extra.get(name)
        if df is None:
            return None
        keys = self.groups[index][["variant", "seed", "fold"]].drop_duplicates()
        return df.merge(keys, on=["variant", "seed", "fold"], how="inner")


@dataclass(frozen=True)
class ReportTable:
    """A table of every report: its file name (without extension), its title, and the function that builds it.

    `build(inputs)` returns the Table (or one per dataset and protocol, or none where it does not apply);
    `order` places it in the README and report.tex (lower first), `appendix` puts it in report.tex's appendix;
    `frame(inputs)`, when given, is the CSV instead of the shown cells (the same numbers at full precision).
    """

    name: str
    title: str
    build: Callable[[ReportInputs], Table | list[Table] | None]
    order: int = 50
    appendix: bool = False
    frame: Callable[[ReportInputs], pd.DataFrame] | None = None

    def tables(self, inputs: ReportInputs) -> list[Table]:
        """What `build` returns, as a list."""
        out = self.build(inputs)
        return [] if out is None else [out] if isinstance(out, Table) else list(out)


@dataclass(frozen=True)
class ReportFigure:
    """A figure: drawn once per (dataset, protocol) group (`fig_<key>_<dataset>_<protocol>.png`), or once per
    study when `per_group` is false (`fig_<key>.png`). `draw(inputs, group index or None, path)` returns the path
    it wrote, or None when the figure does not apply (e.g. no history.csv)."""

    key: str
    title: str  # shown in the README and report.tex; per group it follows "<dataset> (<protocol>): "
    draw: Callable[[ReportInputs, int | None, Path], Path | None]
    per_group: bool = True
    order: int = 50


REPORT_TABLES: dict[str, ReportTable] = {}
REPORT_FIGURES: dict[str, ReportFigure] = {}


def register_table(table: ReportTable) -> ReportTable:
    """Add a table to every report, in every table format (its name must be new)."""
    if not table.name or "." in table.name or "/" in table.name:
        raise ValueError(f"report table '{table.name}': expected a file name without extension (e.g. 'cells')")
    if table.name in REPORT_TABLES or table.name in ("README", "answer", "report", "runs"):
        raise ValueError(f"report table {table.name} is registered twice (or names a file the report writes)")
    REPORT_TABLES[table.name] = table
    return table


def register_figure(figure: ReportFigure) -> ReportFigure:
    """Add a figure to every report drawn with `png` (its key must be new)."""
    if figure.key in REPORT_FIGURES:
        raise ValueError(f"report figure {figure.key} is registered twice")
    REPORT_FIGURES[figure.key] = figure
    return figure


def unregister(name: str) -> None:
    """Forget a table (by name) or a figure (by key): tests that register a toy one."""
    REPORT_TABLES.pop(name, None)
    REPORT_FIGURES.pop(name, None)


def tables_in_order() -> list[ReportTable]:
    """The registered tables, by `order`, then by registration."""
    return sorted(REPORT_TABLES.values(), key=lambda t: t.order)


def figures_in_order() -> list[ReportFigure]:
    """The registered figures, by `order`, then by registration."""
    return sorted(REPORT_FIGURES.values(), key=lambda f: f.order)
