"""One ablation table across datasets: a row per variant (or per component of the paper), a column per study's
dataset and protocol, each cell the difference to that study's reference with its interval and verdict (the shape of
a paper's ablation table). Used by `python -m ablations.report A B C` and by `--paper`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.settings import ADJUST
from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.rendering.captions import delta_text, design_text, margin_value, plural
from ablations.report.rendering.formats import fmt_value
from ablations.report.rendering.table import Table, to_md, to_tex

NOT_RUN = "not run"
Column = tuple[str, ComparisonTable | None]  # (study name, its comparison); None: no study for that dataset
Row = tuple[str, Callable[[ComparisonTable], str | None]]  # (label, which variant of a comparison it is)


def column_header(name: str, t: ComparisonTable | None, dataset: str = "", several: bool = False) -> str:
    """`RAVDESS Accuracy (%)`, with the protocol and the study when columns could be confused."""
    if t is None:
        return f"{dataset_label(dataset)} ({NOT_RUN})"
    spec = METRICS[t.primary]
    head = f"{dataset_label(t.dataset)} {spec.label}{spec.unit()}"
    return head + (f", `{t.protocol}`, study `{name}`" if several else "")


def cell(t: ComparisonTable | None, variant: str | None) -> str:
    """The reference: mean ± sd; another variant: Δ [interval] and the verdict; else `not run`."""
    if t is None or variant is None:
        return NOT_RUN
    r = t.row(variant)
    c = r.cells[t.primary]
    if r.is_reference or t.reference is None:
        u = c.units
        return f"{fmt_value(u.mean, t.primary, 1)} ± {fmt_value(u.std, t.primary, 1)}" + (" (ref.)" if r.is_reference
                                                                                         else "")  # fmt: skip
    verdict = c.verdict or "no verdict"
    return f"{delta_text(c, t.primary, 1)} {'**' + verdict + '**' if verdict in ('worse', 'better') else verdict}"


def across_table(columns: list[Column], rows: list[Row], title: str, key: str, datasets: list[str] | None = None,
                 extra_notes: tuple[str, ...] = (), row_header: str = "Variant") -> Table:  # fmt: skip
    """The table: `rows` x `columns`, with a caption that says how every cell was computed."""
    keys = [(t.dataset, t.protocol) for _, t in columns if t is not None]
    several = len(keys) != len(set(keys)) or len({d for d, _ in keys}) != len(keys)
    header = [row_header, *(column_header(n, t, (datasets or [""] * len(columns))[i], several)
                           for i, (n, t) in enumerate(columns))]  # fmt: skip
    body = [(label, *(cell(t, which(t) if t is not None else None) for _, t in columns)) for label, which in rows]
    notes = []
    for name, t in columns:
        if t is None:
            continue
        data = ", **synthetic data**" if t.synthetic else ""
        tested = f"{t.settings.test} test, {ADJUST[t.settings.adjust]} over {plural(t.family, 'comparison')}"
        notes.append(f"{dataset_label(t.dataset)} (`{t.protocol}`): study `{name}`, {design_text(t)} "
                     f"({plural(t.units, 'unit')}){data}; {tested}; margin {margin_value(t)}.")  # fmt: skip
    caption = ("Each column is one study's dataset and protocol, on its primary metric. The reference row: mean ± "
               "sample sd over units (folds, seeds averaged within a fold). Other rows: the difference to that "
               "study's reference (points for percent metrics) with the interval its verdict is read from, and the "
               "verdict (worse, better, equivalent within the margin, inconclusive), exactly as in the study's own "
               f"main table. `{NOT_RUN}`: no such variant or study.")  # fmt: skip
    return Table(title=title, header=tuple(header), rows=tuple(body), align="l" + "X" * len(columns),
                 caption=caption, notes=(*notes, *extra_notes), key=key)  # fmt: skip


def across_frame(columns: list[Column], rows: list[Row]) -> pd.DataFrame:
    """The same cells at full precision: one row per (row label, study)."""
    records = []
    for label, which in rows:
        for name, t in columns:
            variant = which(t) if t is not None else None
            if t is None or variant is None:
                continue
            c = t.row(variant).cells[t.primary]
            k = c.comparison
            records.append({"row": label, "study": name, "dataset": t.dataset, "protocol": t.protocol,
                            "variant": variant, "reference": variant == t.reference, "metric": f"test/{t.primary}",
                            "synthetic": t.synthetic, "n_units": t.units, "mean": c.units.mean, "std": c.units.std,
                            "delta": k.delta if k else float("nan"), "diff_ci_low": k.low if k else float("nan"),
                            "diff_ci_high": k.high if k else float("nan"), "level": k.level if k else float("nan"),
                            "p_adjusted": k.p_adjusted if k else float("nan"), "verdict": c.verdict,
                            "note": "" if (k is None or c.tested) else k.reason})  # fmt: skip
    return pd.DataFrame.from_records(records)


def variant_rows(columns: list[Column]) -> list[Row]:
    """A row per variant: the references first (one row when they share a name), then every other variant in the
    order the studies list them."""
    tables = [t for _, t in columns if t is not None]
    refs = sorted({t.reference for t in tables if t.reference is not None})
    rows: list[Row] = []
    if refs:
        label = f"`{refs[0]}` (reference)" if len(refs) == 1 else "reference"
        rows.append((label, lambda t: t.reference))
    seen = set(refs)
    for t in tables:
        for r in t.rows:
            if r.variant not in seen:
                seen.add(r.variant)
                rows.append(
                    (f"`{r.variant}`", lambda t, v=r.variant: v if any(x.variant == v for x in t.rows) else None)
                )
    return rows


def across_files(studies: list[tuple[str, list[ComparisonTable]]], sources: list[str]) -> dict:
    """ablation.md, ablation.tex and ablation.csv for several studies (one column per dataset and protocol)."""
    columns: list[Column] = [(name, t) for name, tables in studies for t in tables]
    rows = variant_rows(columns)
    table = across_table(columns, rows, "Ablation across datasets", "ablation")
    cmd = "python -m ablations.report " + " ".join(sources) + " --out <this folder>"
    md = f"# Ablation across datasets\n\nRegenerate: `{cmd}`\n\n" + to_md(table)
    tex = "% generated by python -m ablations.report; needs \\usepackage{booktabs,tabularx,array}\n" + to_tex(table)
    return {"ablation.md": md, "ablation.tex": tex, "ablation.csv": across_frame(columns, rows)}
