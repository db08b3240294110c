"""Paper tables: state-of-the-art comparison (reproduced vs reported) and the components' ablation table."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from pydantic import Field

from ablations.report.compare.comparison import ComparisonTable, compare_all
from ablations.report.compare.labels import is_synthetic
from ablations.report.compare.settings import DEFAULT_TEST, Settings
from ablations.report.read.columns import TASK_METRICS, dataset_label
from ablations.report.read.files import study_exports, write_index, write_text
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.across import NOT_RUN, across_frame, across_table
from ablations.report.rendering.captions import plural, protocol_text
from ablations.report.rendering.formats import fmt_value
from ablations.report.rendering.latex import PREAMBLE
from ablations.report.rendering.table import Table, to_md, to_tex
from avtca.config.base import Strict, load_yaml, suggest, validate
from avtca.data.registry import DATASETS

REFERENCES = Path(__file__).with_name("references.yaml")
NOT_REPORTED = "—"  # a number the source does not give
# literature metrics in display order; `f1` is an F1 whose averaging the source does not state (F1*)
PAPER_METRICS = {"accuracy": "Accuracy / WAR", "uar": "UAR", "f1": "F1*", "f1_macro": "Macro F1",
                 "f1_weighted": "Weighted F1", "acc2_has0": "Acc-2 (has-0)", "acc2_non0": "Acc-2 (non-0)",
                 "acc7": "Acc-7", "wacc": "Weighted accuracy", "mae": "MAE", "corr": "Corr"}  # fmt: skip


class Reference(Strict):
    """One literature row: reported numbers (percent as printed) with their protocol and citation."""

    dataset: str
    method: str
    reported: dict[str, float]
    protocol: str
    source: str


class Component(Strict):
    """One row of the paper's ablation table and the variant names that stand for it."""

    key: str
    label: str
    aliases: list[str] = Field(default_factory=list)


class References(Strict):
    """The versioned references file."""

    version: int
    references: list[Reference]
    components: list[Component]


def load_references(path: str | Path = REFERENCES) -> References:
    """Load and check the references file; unknown metric names are errors naming the row."""
    refs = validate(References, load_yaml(path), str(path))
    for i, r in enumerate(refs.references):
        for key in r.reported:
            if key not in PAPER_METRICS:
                raise ReportInputError(f"{path}: references.{i}.reported.{key}: unknown metric; expected one of "
                                       f"{', '.join(PAPER_METRICS)}{suggest(key, PAPER_METRICS)}")  # fmt: skip
    return refs


def find_studies(reports: Path) -> tuple[list[tuple[str, pd.DataFrame]], list[str]]:
    """Studies with a readable runs.csv under `reports/` (real data only) and notes on the ones left out."""
    found, notes = [], []
    for name, runs in study_exports(reports):
        if isinstance(runs, ReportInputError):
            notes.append(f"{name}: left out, runs.csv unreadable ({runs})")
        elif is_synthetic(runs):
            notes.append(f"{name}: left out, synthetic data")
        else:
            found.append((name, runs))
    return found, notes


def _norm(name: str) -> str:
    return str(name).lower().replace("-", "_").replace(" ", "_")


def _tables(studies, settings: Settings) -> list[tuple[str, ComparisonTable]]:
    return [(name, t) for name, runs in studies for t in compare_all(runs, settings, f"{name}/runs.csv")]


def _datasets(tables) -> list[str]:
    return DATASETS.names() + sorted({t.dataset for _, t in tables} - set(DATASETS.names()))


def sota_tables(refs: References, tables) -> list[Table]:
    """Per dataset: a row per metric, a column per method (literature rows reported, study rows reproduced)."""
    out = []
    for ds in _datasets(tables):
        lit = [r for r in refs.references if r.dataset == ds]
        ours = [(name, t) for name, t in tables if t.dataset == ds and t.reference is not None]
        task = ours[0][1].task if ours else (DATASETS.get(ds).default_task if ds in DATASETS else "classification")
        keys = {k for r in lit for k in r.reported} | set(TASK_METRICS[task])
        metrics = [k for k in PAPER_METRICS if k in keys]
        header, legend, columns = ["Metric"], [], []
        for r in lit:
            n = len(legend) + 1
            header.append(f"{r.method} [{n}]")
            legend.append((f"[{n}]", f"reported; protocol: {r.protocol}; source: {r.source}"))
            columns.append([f"{r.reported[k]:.2f}" if k in r.reported else NOT_REPORTED for k in metrics])
        for name, t in ours:
            n = len(legend) + 1
            header.append(f"AVT-CA, reproduced [{n}]")
            legend.append(
                (
                    f"[{n}]",
                    f"reproduced by study `{name}` (variant `{t.reference}`), "
                    f"{protocol_text(t.protocol, t.subject_independent)}, mean ± sample sd over "
                    f"{plural(t.units, 'unit')} (folds, seeds averaged within a fold); this repository",
                )
            )
            columns.append([_reproduced(t, k) for k in metrics])
        if not ours:
            header.append("AVT-CA, reproduced")
            columns.append([NOT_RUN] * len(metrics))
        rows = tuple((PAPER_METRICS[k], *(col[i] for col in columns)) for i, k in enumerate(metrics))
        caption = (
            f"{dataset_label(ds)}: numbers reported in the literature next to the numbers reproduced here, "
            "each with its protocol (legend); percent, except MAE and Corr. F1*: an F1 whose averaging the "
            f"source does not state; {NOT_REPORTED}: not reported by the source; {NOT_RUN}: no study yet."
        )
        out.append(Table(title=f"State of the art: {dataset_label(ds)}", header=tuple(header), rows=rows,
                         align="l" + "X" * len(columns), caption=caption, legend=tuple(legend),
                         legend_title="Numbers and protocols", key=f"sota:{ds}"))  # fmt: skip
    return out


def _reproduced(t: ComparisonTable, metric: str) -> str:
    if metric not in t.metrics:
        return NOT_REPORTED
    u = t.row(t.reference).cells[metric].units
    return f"{fmt_value(u.mean, metric)} ± {fmt_value(u.std, metric)}"


def _component_rows(refs: References):
    rows = []
    for comp in refs.components:
        aliases = {_norm(a) for a in comp.aliases}

        def which(t: ComparisonTable, aliases=aliases, full=comp.key == "full") -> str | None:
            found = next((r.variant for r in t.rows if _norm(r.variant) in aliases), None)
            return found if found is not None or not full else t.reference

        rows.append((comp.label, which))
    return rows


def ablation_table(refs: References, tables) -> tuple[Table, pd.DataFrame, list[str]]:
    """Rows = the paper's components, columns = each study's dataset and protocol (`not run` where none): the
    ablation table across datasets; plus its full-precision frame and notes on variants that match no component."""
    columns = list(tables) + [("", None) for ds in DATASETS.names() if not any(t.dataset == ds for _, t in tables)]
    missing = [ds for ds in DATASETS.names() if not any(t.dataset == ds for _, t in tables)]
    datasets = [t.dataset for _, t in tables] + missing
    rows = _component_rows(refs)
    table = across_table(columns, rows, "Ablation of AVT-CA's components", "ablation", datasets,
                         row_header="Component")  # fmt: skip
    matched = {(name, which(t)) for name, t in tables for _, which in rows}
    notes = [f"{name}: variant `{r.variant}` is not one of the paper's components"
             for name, t in tables for r in t.rows if (name, r.variant) not in matched]  # fmt: skip
    return table, across_frame(columns, rows), notes


def render_paper(
    reports: str | Path = "reports",
    out: str | Path | None = None,
    formats: Iterable[str] = ("md", "tex"),
    references: str | Path = REFERENCES,
    test: str = DEFAULT_TEST,
    settings: Settings | None = None,
) -> tuple[Path, str]:
    """Write paper.md / paper.tex (a standalone document) into `out` (default reports/paper); returns the folder and
    the Markdown text."""
    reports = Path(reports)
    out = Path(out) if out is not None else reports / "paper"
    settings = (settings or Settings(test=test)).checked()
    refs = load_references(references)
    studies, notes = find_studies(reports)
    tables = _tables(studies, settings)
    sota = sota_tables(refs, tables)
    ablation, _, more = ablation_table(refs, tables)
    out.mkdir(parents=True, exist_ok=True)
    md = _paper_md(refs, sota, ablation, notes + more, references)
    files = []
    if "md" in formats:
        files.append(write_text(out / "paper.md", md))
    if "tex" in formats:
        files.append(write_text(out / "paper.tex", _paper_tex(sota, ablation)))
    links = "\n".join(f"- [{f.name}]({f.name})" for f in files)
    write_text(out / "README.md", f"# Paper tables\n\n{links}\n\nRegenerate: `python -m ablations.report --paper`\n")
    if out.parent.resolve() == reports.resolve():
        write_index(reports)
    return out, md


def _paper_md(refs: References, sota: list[Table], ablation: Table, notes: list[str], references) -> str:
    lines = ["# Paper tables\n", f"Literature numbers from `{Path(references).name}` (version {refs.version}); "
             "each column keeps its protocol. Reproduced numbers: the reference (full model) of each study under "
             f"`reports/` on real data. \"{NOT_RUN}\": no study for that cell yet.\n",
             "## Comparison with the state of the art\n"]  # fmt: skip
    lines += [to_md(t, level=3) for t in sota]
    lines += ["## Ablation of the paper's components\n", to_md(ablation, level=3)]
    if notes:
        lines += ["Notes:\n"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _paper_tex(sota: list[Table], ablation: Table) -> str:
    body = [to_tex(t) for t in [*sota, ablation]]
    return "\n".join([PREAMBLE, r"\begin{document}",
                      "% generated by python -m ablations.report --paper; each table is paste-ready (booktabs, "
                      "tabularx, array)", *body, r"\end{document}"]) + "\n"  # fmt: skip
