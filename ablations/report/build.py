"""`render`: turn one study's runs (from MLflow or an exported runs.csv) into tables, figures and READMEs;
`render_across`: one ablation table over several studies (one per dataset)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ablations.report.compare.comparison import compare_all
from ablations.report.compare.factorial import factorial
from ablations.report.compare.robustness import robustness
from ablations.report.compare.settings import Settings, regenerate_flags
from ablations.report.read.columns import dataset_label
from ablations.report.read.export import export_from_mlflow
from ablations.report.read.files import is_runs_csv, slug, write_csv, write_index, write_text
from ablations.report.read.load import ReportInputError, load_optional, load_predictions, load_runs
from ablations.report.read.order import study_order
from ablations.report.rendering import tables as _builtin_tables  # noqa: F401 - registers the built-in tables
from ablations.report.rendering.across import across_files
from ablations.report.rendering.answer import answer_md
from ablations.report.rendering.latex import report_tex, table_file_tex
from ablations.report.rendering.registry import (
    FORMATS,
    TABLE_FORMATS,
    ReportInputs,
    ReportTable,
    figures_in_order,
    tables_in_order,
)
from ablations.report.rendering.table import to_frame, to_md, to_tex
from avtca.config.base import suggest

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"  # the study runner's default (ablations/study/schema.py)
SIBLINGS = {
    "history.csv": ("variant", "seed", "fold", "epoch"),
    "confusion.csv": ("variant", "seed", "fold", "true", "pred", "count"),
    "optuna.csv": ("number",),
}
PREDICTIONS = "predictions.csv"  # per-clip test predictions (docs/reports.md); enables the clip-level comparison
__all__ = ["FORMATS", "render", "render_across"]


def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Validate `md,tex,csv,png` (a comma list or an iterable); unknown names are errors with a suggestion."""
    items = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    for f in items:
        if f not in FORMATS:
            raise ReportInputError(f"--format: '{f}' is not one of {', '.join(FORMATS)}{suggest(f, FORMATS)}")
    return tuple(f for f in FORMATS if f in items)


def runs_path_of(source: str | Path, out: Path, tracking_uri: str | None, all_cells: bool) -> Path:
    """The runs.csv of a source: the path itself (or a folder's runs.csv), else the study exported from MLflow."""
    if is_runs_csv(source):
        path = Path(source)
        return path / "runs.csv" if path.is_dir() else path
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    return export_from_mlflow(str(source), uri, out / slug(str(source)), all_cells=all_cells)


def one_study(runs: pd.DataFrame, where: Path) -> str:
    """The study a runs table holds; several are an error."""
    studies = sorted(runs["study"].unique())
    if len(studies) != 1:
        raise ReportInputError(f"{where}: column 'study' holds several studies ({', '.join(studies)}); expected one")
    return studies[0]


def render(
    source: str | Path,
    out: str | Path = "reports",
    formats: str | Iterable[str] = FORMATS,
    tracking_uri: str | None = None,
    reference: str | None = None,
    test: str | None = None,
    all_cells: bool = False,
    *,
    margin: float | None = None,
    metric: str | None = None,
    objective: str | None = None,
    adjust: str | None = None,
) -> Path:
    """Render the report of one study into `out/<study>/` and refresh `out/README.md`; returns the study folder.

    margin: in the primary metric's shown units (2 = 2 percentage points; 0 = none; None = the default); metric: the
    primary metric (default: the objective's when given and the task has it, else the task's main metric). From
    MLflow, only the cells of the study's latest run are reported unless `all_cells`.
    """
    fmts = check_formats(formats)
    base = Settings()
    settings = Settings(test or base.test, adjust or base.adjust, margin, metric, objective, reference).checked()
    out = Path(out)
    runs_path = runs_path_of(source, out, tracking_uri, all_cells)
    runs = load_runs(runs_path)
    study = one_study(runs, runs_path)
    # everything is checked and computed before anything is written
    extra = {name: load_optional(runs_path.parent / name, cols) for name, cols in SIBLINGS.items()}
    where = str(runs_path)
    predictions = load_predictions(runs_path.parent / PREDICTIONS)
    if predictions is not None and runs.groupby(["dataset", "protocol"]).ngroups > 1:
        predictions = None  # predictions.csv has no dataset column: only a one-dataset study can be matched
    tables = compare_all(runs, settings, where, predictions)
    groups = [g for _, g in runs.groupby(["dataset", "protocol"], sort=True)]
    robust = [robustness(g, t.reference, where, t.primary) for g, t in zip(groups, tables, strict=True)]
    factorials = [factorial(g, t, where) for g, t in zip(groups, tables, strict=True)]
    dest = out / slug(study)
    dest.mkdir(parents=True, exist_ok=True)
    _copy_data(runs_path, dest)
    dropped = int(runs.attrs.get("dropped", 0))
    order = study_order(runs)  # one order and one colour per variant in every table and figure
    inputs = ReportInputs(study, runs, tables, robust, dropped, groups, extra, order, dest, factorials, settings)
    files, written = _write_tables(inputs, dest, fmts)
    figures: list[tuple[str, Path]] = []
    if "png" in fmts:
        for old in [*dest.glob("fig_*.png"), *dest.glob("fig_*.svg")]:
            old.unlink()  # a figure that no longer applies (e.g. a removed optuna.csv) must not linger
        figures = _figures(inputs, dest)
    if "md" in fmts:
        files.insert(0, write_text(dest / "answer.md", answer_md(study, tables)))
    if "tex" in fmts:
        files.append(
            write_text(dest / "report.tex", report_tex(study, written, figures, any(t.synthetic for t in tables)))
        )
    flags = regenerate_flags(settings, tables[0].primary, tables[0].task) if tables else []
    write_text(dest / "README.md", study_readme(study, runs, dest, files, figures, dropped, flags=flags))
    write_index(out)
    return dest


def _copy_data(runs_path: Path, dest: Path) -> None:
    """The exported data travels with the report, so the tables can be regenerated from reports/ alone."""
    if runs_path.resolve() == (dest / "runs.csv").resolve():
        return
    shutil.copyfile(runs_path, dest / "runs.csv")
    for name in (*SIBLINGS, PREDICTIONS):
        if (runs_path.parent / name).is_file():
            shutil.copyfile(runs_path.parent / name, dest / name)
        else:
            (dest / name).unlink(missing_ok=True)  # a stale file would change what a re-render shows


def _write_tables(inputs: ReportInputs, dest: Path, fmts: tuple[str, ...]) -> tuple[list[Path], list[ReportTable]]:
    """Every registered table in every table format asked for; returns the files and the tables with a .tex."""
    files: list[Path] = []
    with_tex: list[ReportTable] = []
    for spec in tables_in_order():
        built = spec.tables(inputs)
        for fmt in TABLE_FORMATS:
            path = dest / f"{spec.name}.{fmt}"
            if not built:
                path.unlink(missing_ok=True)  # it does not apply (any more): an old copy would mislead
                continue
            if fmt not in fmts:
                continue
            if fmt == "md":
                text = f"# Study `{inputs.study}`: {spec.title}\n\n" + "\n".join(to_md(t) for t in built)
                files.append(write_text(path, text))
            elif fmt == "tex":
                files.append(write_text(path, table_file_tex(inputs.study, spec.title, [to_tex(t) for t in built])))
                with_tex.append(spec)
            else:
                files.append(write_csv(path, spec.frame(inputs) if spec.frame else to_frame(built)))
    return files, with_tex


def _figures(inputs: ReportInputs, dest: Path) -> list[tuple[str, Path]]:
    """Every registered figure: the per-group ones for each (dataset, protocol), then the per-study ones."""
    # matplotlib and seaborn load only when figures are asked for (--format png); importing registers the built-ins
    from ablations.report.rendering import figures as _builtin_figures  # noqa: F401

    made: list[tuple[str, Path]] = []
    ordered = figures_in_order()
    jobs = list(enumerate(inputs.tables))
    for i, t in tqdm(jobs, desc="figures", unit="dataset", disable=len(jobs) < 2):
        tag, name = f"{slug(t.dataset)}_{slug(t.protocol)}", f"{dataset_label(t.dataset)} ({t.protocol})"
        for fig in (f for f in ordered if f.per_group):
            path = fig.draw(inputs, i, dest / f"fig_{fig.key}_{tag}.png")
            if path:
                made.append((f"{name}: {fig.title}", path))
    for fig in (f for f in ordered if not f.per_group):
        path = fig.draw(inputs, None, dest / f"fig_{fig.key}.png")
        if path:
            made.append((fig.title, path))
    return made


def study_readme(
    study: str, runs: pd.DataFrame, dest: Path, files: list[Path], figures, dropped: int, flags: list[str] | None = None
) -> str:
    """The study folder's README: what was run and links to every table and figure."""
    lines = [f"# Report: study `{study}`\n"]
    for (dataset, protocol, si), g in runs.groupby(["dataset", "protocol", "subject_independent"], sort=True):
        kind = "subject-independent folds" if si else "random split"
        lines.append(
            f"- {dataset}, protocol `{protocol}` ({kind}): {g['variant'].nunique()} variants, "
            f"seeds {sorted(g['seed'].unique().tolist())}, folds {sorted(g['fold'].unique().tolist())}, "
            f"{len(g)} completed cells"
        )
    if dropped:
        lines.append(f"- {dropped} unfinished row(s) in runs.csv left out")
    lines.append("\n## Tables\n")
    for f in files:
        lines.append(f"- [{f.name}]({f.name})")
    lines.append("\n## Data\n")
    for name in ("runs.csv", *SIBLINGS, PREDICTIONS):
        if (dest / name).is_file():
            lines.append(f"- [{name}]({name})")
    if figures:
        lines.append("\n## Figures\n")
        for title, path in figures:
            lines.append(f"### {title}\n\n![{title}]({path.name})\n")
    lines.append("\n## Regenerate\n")
    lines.append("From the folder that holds this study folder (e.g. `reports/`), without MLflow or re-training:\n")
    extra = "".join(f" {x}" for x in flags or [])
    lines.append(f"```bash\npython -m ablations.report {dest.name}/runs.csv --out .{extra}\n```\n")
    return "\n".join(lines) + "\n"


def render_across(
    sources: list[str | Path],
    out: str | Path = "reports/ablation",
    formats: str | Iterable[str] = FORMATS,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    all_cells: bool = False,
) -> Path:
    """One ablation table over several studies (one per dataset, each a runs.csv or a study name exported from
    MLflow into `out/<study>/`): a row per variant, a column per dataset; writes ablation.md/.tex/.csv into `out`."""
    fmts = check_formats(formats)
    settings = (settings or Settings()).checked()
    out = Path(out)
    studies, paths = [], []
    for source in sources:
        path = runs_path_of(source, out, tracking_uri, all_cells)
        runs = load_runs(path)
        studies.append((one_study(runs, path), compare_all(runs, settings, str(path))))
        paths.append(str(path))
    out.mkdir(parents=True, exist_ok=True)
    for name, content in across_files(studies, paths).items():
        fmt = name.rsplit(".", 1)[1]
        if fmt in fmts:
            (write_csv if fmt == "csv" else write_text)(out / name, content)
    return out
