"""Learning curves: training loss and validation metric per epoch, one line per variant
(fig_learning_<dataset>_<protocol>.png; with history.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.ticker import MaxNLocator

from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.read.order import ordered, variant_colours
from ablations.report.rendering.figures.base import plt, save, sns, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure


def learning_curves(history: pd.DataFrame, order: list[str], metric: str, dataset: str, path: Path) -> Path | None:
    """Training loss and validation metric per epoch, one line per variant (mean, band = sample std)."""
    sub = history[history["variant"].isin(order)]
    columns = [c for c in ("train/loss", "val/loss", f"val/{metric}") if c in sub.columns and sub[c].notna().any()]
    if sub.empty or not columns:
        return None
    style()
    fig, axes = plt.subplots(1, len(columns), figsize=(5.2 * len(columns), 4.2), squeeze=False)
    hue_order = ordered([v for v in dict.fromkeys(sub["variant"]) if v in order], order)
    palette = variant_colours(order)
    for ax, col in zip(axes[0], columns, strict=True):
        name = col.split("/", 1)[1]
        spec = METRICS.get(name)
        data = sub[["variant", "epoch", col]].dropna().copy()
        if spec is not None:
            data[col] = data[col] * spec.scale()
        sns.lineplot(data=data, x="epoch", y=col, hue="variant", hue_order=hue_order, palette=palette,
                     errorbar="sd", marker="o", markersize=4, ax=ax, legend=ax is axes[0][-1])  # fmt: skip
        label = f"{col.split('/')[0]} {spec.label if spec else name}{spec.unit() if spec else ''}"
        ax.set_title(f"{label} per epoch")
        epochs = sorted(data["epoch"].unique())
        if len(epochs) <= 12:
            ax.set_xticks(epochs)  # whole epochs only, also for one- or two-epoch runs
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    legend = axes[0][-1].get_legend()
    if legend is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), title="variant")
    fig.suptitle(f"{dataset_label(dataset)}: learning curves (mean over seeds and folds, band = ± sample std)")
    fig.tight_layout()
    return save(fig, path)


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    hist = inputs.cells_of("history.csv", i)
    if hist is None:
        return None
    return learning_curves(hist, inputs.order, inputs.robust[i].metric, inputs.tables[i].dataset, path)


register_figure(ReportFigure("learning", "learning curves", _draw, order=40))
