"""The full model's confusion matrix, summed over its cells (fig_confusion_<dataset>_<protocol>.png)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ablations.report.read.columns import dataset_label
from ablations.report.rendering.figures.base import plt, save, sns, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure


def _class_order(labels: pd.Series) -> list:
    values = list(dict.fromkeys(labels.tolist()))
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return values  # class names: keep the exported order


def confusion_matrix(confusion: pd.DataFrame, variant: str, dataset: str, path: Path) -> Path | None:
    """The variant's confusion matrix summed over its cells, row-normalised to percent, counts annotated."""
    sub = confusion[confusion["variant"] == variant]
    if sub.empty:
        return None
    style()
    order = _class_order(pd.concat([sub["true"], sub["pred"]]))
    counts = sub.pivot_table(index="true", columns="pred", values="count", aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=order, columns=order, fill_value=0)
    totals = counts.sum(axis=1).replace(0, np.nan)
    percent = counts.div(totals, axis=0) * 100
    cells = sub[["seed", "fold"]].drop_duplicates().shape[0]
    annot = np.array([[f"{p:.0f}%\n{c:d}" if not math.isnan(p) else f"{c:d}" for p, c in zip(pr, cr, strict=True)]
                      for pr, cr in zip(percent.to_numpy(), counts.to_numpy(dtype=int), strict=True)])  # fmt: skip
    size = max(4.5, 0.75 * len(order) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(percent, annot=annot, fmt="", cmap="Blues", vmin=0, vmax=100, cbar_kws={"label": "% of true class"},
                ax=ax, annot_kws={"fontsize": 8})  # fmt: skip
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(
        f"{dataset_label(dataset)}: confusion matrix of the full model '{variant}'\n"
        f"test set, summed over {cells} (seed, fold) cells; row-normalised % and counts"
    )
    fig.tight_layout()
    return save(fig, path)


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    conf, t = inputs.cells_of("confusion.csv", i), inputs.tables[i]
    if conf is None or t.reference is None:
        return None
    return confusion_matrix(conf, t.reference, t.dataset, path)


register_figure(ReportFigure("confusion", "confusion matrix of the full model", _draw, order=30))
