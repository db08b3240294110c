"""Paper tables: state-of-the-art comparison (reproduced vs reported) and the components' ablation table."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from pydantic import Field

from ablations.report.compare.comparison import ComparisonTable, compare_all
from ablations.report.read.columns import METRICS, TASK_METRICS, dataset_label, main_metric
from ablations.report.read.files import study_exports, write_index, write_text
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.comparison_text import protocol_text
from ablations.report.rendering.formats import (
    MD,
    TEX,
    Markup,
    fmt_delta,
    fmt_p,
    fmt_value,
    md_table,
    tex_label,
    tex_table,
)
from ablations.report.statistics.paired import DEFAULT_TEST, TESTS
from avtca.config.base import Strict, load_yaml, suggest, validate
from avtca.data.registry import DATASETS

REFERENCES = Path(__file__).with_name("references.yaml")
NOT_RUN = "not run"
NOT_REPORTED = "not reported"
# literature columns in display order; `f1` is an F1 whose averaging the source does not state
PAPER_METRICS = {"accuracy": "Accuracy / WAR", "uar": "UAR", "f1": "F1 (averaging unstated)", "f1_macro": "Macro F1",
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


def is_synthetic(runs: pd.DataFrame) -> bool:
    """Studies on generated data must not appear next to literature numbers."""
    if "data.root" in runs.columns and runs["data.root"].astype(str).str.lower().eq("synthetic").any():
        return True
    return bool(runs["protocol"].str.contains("synthetic", case=False).any())


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


def _stat(t: ComparisonTable, variant: str, metric: str, m: Markup, with_test: bool) -> str:
    row = next(r for r in t.rows if r.variant == variant)
    c = row.cells[metric]
    text = f"{fmt_value(c.summary.mean, metric)}{m.pm}{fmt_value(c.summary.std, metric)} (n={c.summary.n})"
    if with_test and not row.is_reference and t.reference is not None:
        delta = fmt_delta(c.delta, metric)
        if c.paired is not None and c.paired.note:
            p = m.text(c.paired.note)
        else:
            p = "p" + ("" if fmt_p(c.p_holm).startswith("<") else "=") + fmt_p(c.p_holm)
            p = f"${p}$" if m.escape else p
        text += f"; $\\Delta$ ${delta}$, {p}" if m.escape else f"; Δ {delta}, {p}"
        text += m.star if c.significant else ""
    return text


def _tables(studies, test: str) -> list[tuple[str, ComparisonTable]]:
    return [(name, t) for name, runs in studies for t in compare_all(runs, test, where=f"{name}/runs.csv")]


def sota_rows(refs: References, tables, m: Markup) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per dataset: (title, header, rows) with literature rows labelled reported, study rows reproduced."""
    datasets = DATASETS.names() + sorted({t.dataset for _, t in tables} - set(DATASETS.names()))
    out = []
    for ds in datasets:
        lit = [r for r in refs.references if r.dataset == ds]
        ours = [(name, t) for name, t in tables if t.dataset == ds and t.reference is not None]
        task = ours[0][1].task if ours else (DATASETS.get(ds).default_task if ds in DATASETS else "classification")
        keys = {k for r in lit for k in r.reported} | set(TASK_METRICS[task])
        metrics = [k for k in PAPER_METRICS if k in keys]
        header = [m.text(x) for x in ("Method", "Numbers", "Protocol", "Source")]
        header += [m.text(PAPER_METRICS[k] + METRICS.get(k, METRICS["accuracy"]).unit()) for k in metrics]
        rows = []
        for r in lit:
            cells = [m.text(r.method), "reported", m.text(r.protocol), m.text(r.source)]
            cells += [f"{r.reported[k]:.2f}" if k in r.reported else NOT_REPORTED for k in metrics]
            rows.append(cells)
        for name, t in ours:
            cells = [m.text(f"AVT-CA, variant {t.reference}"), m.text(f"reproduced (study {name})"),
                     protocol_text(t.protocol, t.subject_independent, m), "this repository"]  # fmt: skip
            cells += [_stat(t, t.reference, k, m, False) if k in t.metrics else NOT_REPORTED for k in metrics]
            rows.append(cells)
        if not ours:
            rows.append([m.text("AVT-CA"), "reproduced", NOT_RUN, "this repository"] + [NOT_RUN] * len(metrics))
        out.append((dataset_label(ds), header, rows))
    return out


def ablation_rows(refs: References, tables, m: Markup) -> tuple[list[str], list[list[str]], list[str]]:
    """Rows = the paper's components, columns = (dataset, protocol, study) main metric; plus notes."""
    columns: list[tuple[str, ComparisonTable]] = list(tables)
    for ds in DATASETS.names():
        if not any(t.dataset == ds for _, t in tables):
            task = DATASETS.get(ds).default_task
            columns.append(("", ComparisonTable("", ds, NOT_RUN, False, task, (), None, "", [])))
    header = [m.text("Component")]
    for name, t in columns:
        spec = METRICS[main_metric(t.task)]
        head = f"{dataset_label(t.dataset)} {spec.label}{spec.unit()}"
        if name:
            head = m.text(head) + ", " + protocol_text(t.protocol, t.subject_independent, m) + ", " + m.code(name)
        else:
            head = m.text(head + ", " + NOT_RUN)
        header.append(head)
    rows, matched = [], set()
    for comp in refs.components:
        cells = [m.text(comp.label)]
        for name, t in columns:
            variant = next((r.variant for r in t.rows if _norm(r.variant) in {_norm(a) for a in comp.aliases}), None)
            if variant is None and comp.key == "full" and t.reference is not None:
                variant = t.reference
            if variant is None:
                cells.append(NOT_RUN)
                continue
            matched.add((name, variant))
            cells.append(_stat(t, variant, main_metric(t.task), m, True))
        rows.append(cells)
    notes = [f"{name}: variant `{r.variant}` is not one of the paper's components"
             for name, t in columns for r in t.rows if name and (name, r.variant) not in matched]  # fmt: skip
    return header, rows, notes


def render_paper(
    reports: str | Path = "reports",
    out: str | Path | None = None,
    formats: Iterable[str] = ("md", "tex"),
    references: str | Path = REFERENCES,
    test: str = DEFAULT_TEST,
) -> tuple[Path, str]:
    """Write paper.md / paper.tex into `out` (default reports/paper); returns the folder and the Markdown text."""
    reports = Path(reports)
    out = Path(out) if out is not None else reports / "paper"
    out.mkdir(parents=True, exist_ok=True)
    refs = load_references(references)
    studies, notes = find_studies(reports)
    tables = _tables(studies, test)
    md = _paper_md(refs, tables, notes, references, test)
    files = []
    if "md" in formats:
        files.append(write_text(out / "paper.md", md))
    if "tex" in formats:
        files.append(write_text(out / "paper.tex", _paper_tex(refs, tables)))
    links = "\n".join(f"- [{f.name}]({f.name})" for f in files)
    write_text(out / "README.md", f"# Paper tables\n\n{links}\n\nRegenerate: `python -m ablations.report --paper`\n")
    if out.parent.resolve() == reports.resolve():
        write_index(reports)
    return out, md


def _paper_md(refs: References, tables, notes: list[str], references, test: str) -> str:
    lines = ["# Paper tables\n", f"Literature numbers from `{Path(references).name}` (version {refs.version}); "
             "each row keeps its protocol. Reproduced numbers: the full model of each study under `reports/`, "
             "mean ± sample std over (seed, fold) cells. \"not run\": no study for that cell yet.\n",
             "## Comparison with the state of the art\n"]  # fmt: skip
    for title, header, rows in sota_rows(refs, tables, MD):
        lines += [f"### {title}\n", md_table(header, rows)]
    header, rows, more = ablation_rows(refs, tables, MD)
    lines += ["## Ablation of the paper's components\n",
              "Main metric per (dataset, protocol, study), mean ± sample std (n cells); Δ and p against the study's "
              f"full model over folds, seeds averaged within each fold ({TESTS[test]}, Holm-corrected across the "
              "study's "
              "variants); * marks corrected p < 0.05.\n",
              md_table(header, rows)]  # fmt: skip
    if notes or more:
        lines += ["\nNotes:\n"] + [f"- {n}" for n in notes + more]
    return "\n".join(lines) + "\n"


def _paper_tex(refs: References, tables) -> str:
    out = ["% Paper tables: generated by python -m ablations.report --paper; needs \\usepackage{booktabs,graphicx}\n"]
    for title, header, rows in sota_rows(refs, tables, TEX):
        cap = f"{TEX.text(title)}: reproduced numbers next to reported literature numbers, each with its protocol."
        out.append(tex_table(header, rows, cap, tex_label("sota", title), "l" * len(header)))
    header, rows, _ = ablation_rows(refs, tables, TEX)
    cap = "Ablation of AVT-CA's components: main metric (mean $\\pm$ sample std), $\\Delta$ and Holm-corrected $p$."
    out.append(tex_table(header, rows, cap, tex_label("ablation"), "l" * len(header)))
    return "\n".join(out)
