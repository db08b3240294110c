"""`render`: turn one study's runs (from MLflow or an exported runs.csv) into tables, figures and READMEs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ablations.report.compare.comparison import compare_all
from ablations.report.compare.robustness import robustness
from ablations.report.read.export import export_from_mlflow
from ablations.report.read.files import is_runs_csv, slug, write_csv, write_index, write_text
from ablations.report.read.load import ReportInputError, load_optional, load_predictions, load_runs
from ablations.report.read.order import study_order
from ablations.report.rendering import comparison_text, robustness_text  # noqa: F401 - register the built-in tables
from ablations.report.rendering.registry import FORMATS, REPORT_FIGURES, REPORT_TABLES, ReportInputs
from ablations.report.statistics.paired import DEFAULT_TEST, TESTS
from avtca.config.base import suggest

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"  # the study runner's default (ablations/study/schema.py)
SIBLINGS = {
    "history.csv": ("variant", "seed", "fold", "epoch"),
    "confusion.csv": ("variant", "seed", "fold", "true", "pred", "count"),
    "optuna.csv": ("number",),
}
PREDICTIONS = "predictions.csv"  # per-clip test predictions (docs/reports.md); enables the clip-level comparison


def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Validate `md,tex,csv,png` (a comma list or an iterable); unknown names are errors with a suggestion."""
    items = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    for f in items:
        if f not in FORMATS:
            raise ReportInputError(f"--format: '{f}' is not one of {', '.join(FORMATS)}{suggest(f, FORMATS)}")
    return tuple(f for f in FORMATS if f in items)


def render(
    source: str | Path,
    out: str | Path = "reports",
    formats: str | Iterable[str] = FORMATS,
    tracking_uri: str | None = None,
    reference: str | None = None,
    test: str = DEFAULT_TEST,
    all_cells: bool = False,
) -> Path:
    """Render the report of one study into `out/<study>/` and refresh `out/README.md`; returns the study folder.

    From MLflow, only the cells of the study's latest run are reported unless `all_cells`.
    """
    fmts = check_formats(formats)
    if test not in TESTS:
        raise ReportInputError(f"--test: '{test}' is not one of {', '.join(TESTS)}{suggest(test, TESTS)}")
    out = Path(out)
    if is_runs_csv(source):
        runs_path = Path(source)
        if runs_path.is_dir():
            runs_path = runs_path / "runs.csv"
    else:
        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
        runs_path = export_from_mlflow(str(source), uri, out / slug(str(source)), all_cells=all_cells)
    runs = load_runs(runs_path)
    studies = sorted(runs["study"].unique())
    if len(studies) != 1:
        several = ", ".join(studies)
        raise ReportInputError(f"{runs_path}: column 'study' holds several studies ({several}); expected one")
    study = studies[0]
    # everything is checked and computed before anything is written
    extra = {name: load_optional(runs_path.parent / name, cols) for name, cols in SIBLINGS.items()}
    where = str(runs_path)
    predictions = load_predictions(runs_path.parent / PREDICTIONS)
    if predictions is not None and runs.groupby(["dataset", "protocol"]).ngroups > 1:
        predictions = None  # predictions.csv has no dataset column: only a one-dataset study can be matched
    tables = compare_all(runs, test, reference, where, predictions)
    groups = [g for _, g in runs.groupby(["dataset", "protocol"], sort=True)]
    robust = [robustness(g, reference, where) for g in groups]
    dest = out / slug(study)
    dest.mkdir(parents=True, exist_ok=True)
    if runs_path.resolve() != (dest / "runs.csv").resolve():
        # the exported data travels with the report, so the tables can be regenerated from reports/ alone
        shutil.copyfile(runs_path, dest / "runs.csv")
        for name in (*SIBLINGS, PREDICTIONS):
            if (runs_path.parent / name).is_file():
                shutil.copyfile(runs_path.parent / name, dest / name)
            else:
                (dest / name).unlink(missing_ok=True)  # a stale file would change what a re-render shows
    dropped = int(runs.attrs.get("dropped", 0))
    order = study_order(runs)  # one order and one colour per variant in every table and figure
    inputs = ReportInputs(study, runs, tables, robust, dropped, groups, extra, order, dest)
    files: list[Path] = []
    # every registered table asked for, by format (FORMATS' order), then in registration order
    for table in sorted(REPORT_TABLES.values(), key=lambda x: FORMATS.index(x.format)):
        if table.format in fmts:
            content = table.build(inputs)
            write = write_csv if table.format == "csv" else write_text
            files.append(write(dest / table.file, content))
    figures: list[tuple[str, Path]] = []
    if "png" in fmts:
        for old in [*dest.glob("fig_*.png"), *dest.glob("fig_*.svg")]:
            old.unlink()  # a figure that no longer applies (e.g. a removed optuna.csv) must not linger
        figures = _figures(inputs, dest)
    write_text(dest / "README.md", study_readme(study, runs, dest, files, figures, dropped))
    write_index(out)
    return dest


def _figures(inputs: ReportInputs, dest: Path) -> list[tuple[str, Path]]:
    """Every registered figure: the per-group ones for each (dataset, protocol), then the per-study ones."""
    # matplotlib and seaborn load only when figures are asked for (--format png); importing registers the built-ins
    from ablations.report.rendering import figures, tuning  # noqa: F401

    made: list[tuple[str, Path]] = []
    per_group = [f for f in REPORT_FIGURES.values() if f.per_group]
    jobs = list(enumerate(inputs.tables))
    for i, t in tqdm(jobs, desc="figures", unit="dataset", disable=len(jobs) < 2):
        tag, name = f"{slug(t.dataset)}_{slug(t.protocol)}", f"{t.dataset} ({t.protocol})"
        for fig in per_group:
            path = fig.draw(inputs, i, dest / f"fig_{fig.key}_{tag}.png")
            if path:
                made.append((f"{name}: {fig.title}", path))
    for fig in (f for f in REPORT_FIGURES.values() if not f.per_group):
        path = fig.draw(inputs, None, dest / f"fig_{fig.key}.png")
        if path:
            made.append((fig.title, path))
    return made


def study_readme(study: str, runs: pd.DataFrame, dest: Path, files: list[Path], figures, dropped: int) -> str:
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
    lines.append(f"```bash\npython -m ablations.report {dest.name}/runs.csv --out .\n```\n")
    return "\n".join(lines) + "\n"
