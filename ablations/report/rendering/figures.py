"""Figures (seaborn): metric bars, the full model's confusion matrix, learning curves, noise curves.

Each figure is a PNG (200 dpi) plus an SVG copy for papers, both byte-identical for identical inputs. Variants
appear in the study file's order with one colour each, the same in every figure (ablations.report.read.order).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.robustness import RobustnessTable
from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.read.order import ordered, variant_colours
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure

DPI = 200
VECTOR = ".svg"  # the vector copy written beside every PNG


def save(fig: plt.Figure, path: Path) -> Path:
    """Write the PNG and its SVG copy without version stamps or dates, so identical inputs give identical bytes."""
    plt.rcParams["svg.hashsalt"] = "avtca"  # fixed ids inside the SVG
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(path.with_suffix(VECTOR), bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return path


def _style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams["svg.hashsalt"] = "avtca"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text (smaller, editable, no glyph paths)


def _colours(order: list[str] | None, variants: list[str]) -> dict[str, str]:
    return variant_colours(order if order else variants)


def metric_bars(t: ComparisonTable, path: Path, order: list[str] | None = None) -> Path:
    """One panel per metric: a bar per variant (mean, study order) with sample-std error bars."""
    _style()
    rows = sorted(t.rows, key=lambda r: ordered([x.variant for x in t.rows], order or []).index(r.variant))
    variants = [r.variant for r in rows]
    colours = _colours(order, variants)
    width = max(3.2, 0.38 * len(variants) + 1.2)  # room for every variant's label
    fig, axes = plt.subplots(1, len(t.metrics), figsize=(width * len(t.metrics), 4.6), squeeze=False)
    for ax, metric in zip(axes[0], t.metrics, strict=True):
        spec = METRICS[metric]
        means = np.array([r.cells[metric].summary.mean for r in rows]) * spec.scale()
        stds = np.nan_to_num(np.array([r.cells[metric].summary.std for r in rows]) * spec.scale())
        ax.bar(range(len(variants)), means, color=[colours[v] for v in variants], edgecolor="white")
        ax.errorbar(range(len(variants)), means, yerr=stds, fmt="none", ecolor="black", capsize=3, lw=1)
        ax.set_xticks(range(len(variants)), variants, rotation=60, ha="right", rotation_mode="anchor")
        ax.set_title(spec.label + (" (lower is better)" if not spec.higher_is_better else ""))
        ax.set_xlabel("")
        ax.set_ylabel(spec.label + spec.unit())
    n = max(r.n for r in t.rows)
    fig.suptitle(
        f"{dataset_label(t.dataset)} ({t.protocol}): test metrics per variant\n"
        f"mean ± sample std (error bars) over up to {n} (seed, fold) cells"
    )
    fig.tight_layout()
    return save(fig, path)


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
    _style()
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


def learning_curves(history: pd.DataFrame, order: list[str], metric: str, dataset: str, path: Path) -> Path | None:
    """Training loss and validation metric per epoch, one line per variant (mean, band = sample std)."""
    sub = history[history["variant"].isin(order)]
    columns = [c for c in ("train/loss", "val/loss", f"val/{metric}") if c in sub.columns and sub[c].notna().any()]
    if sub.empty or not columns:
        return None
    _style()
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


def noise_curves(t: RobustnessTable, path: Path, order: list[str] | None = None) -> Path | None:
    """The main metric against noise level (0 = clean) per variant, one panel per noisy modality; bands = sample
    std over cells."""
    if not t.noise_kinds:
        return None
    _style()
    spec = METRICS[t.metric]
    kinds = list(t.noise_kinds)
    variants = ordered(list(t.rows), order or [])
    colours = _colours(order, variants)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.4), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds, strict=True):
        conds = [c for c in t.conditions if c.startswith(kind + "_")]
        x = [0.0, *t.noise_kinds[kind]]
        for variant in variants:
            row = t.rows[variant]
            stats = [row["clean"], *(row[c] for c in conds)]
            y = np.array([s.mean for s in stats]) * spec.scale()
            sd = np.nan_to_num(np.array([s.std for s in stats]) * spec.scale())
            ax.plot(x, y, marker="o", label=variant, color=colours[variant])
            ax.fill_between(x, y - sd, y + sd, color=colours[variant], alpha=0.12, lw=0)
        ax.set_title(f"{kind.replace('_', ' ')}: {spec.label} vs noise")
        ax.set_xticks(x)
        ax.set_xlabel("")
        ax.set_ylabel(f"test {spec.label}{spec.unit()}" if ax is axes[0][0] else "")
    fig.supxlabel("noise std, relative to the input's std (0 = clean)")  # one label: two never collide
    axes[0][-1].legend(title="variant", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(
        f"{dataset_label(t.dataset)} ({t.protocol}): robustness to noise (mean over cells, band = ± sample std)"
    )
    fig.tight_layout()
    return save(fig, path)


def _metrics(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return metric_bars(inputs.tables[i], path, inputs.order)


def _confusion(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    conf, t = inputs.cells_of("confusion.csv", i), inputs.tables[i]
    if conf is None or t.reference is None:
        return None
    return confusion_matrix(conf, t.reference, t.dataset, path)


def _learning(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    hist = inputs.cells_of("history.csv", i)
    if hist is None:
        return None
    return learning_curves(hist, inputs.order, inputs.robust[i].metric, inputs.tables[i].dataset, path)


def _noise(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return noise_curves(inputs.robust[i], path, inputs.order)


for _figure in (
    ReportFigure("metrics", "metrics per variant", _metrics),
    ReportFigure("confusion", "confusion matrix of the full model", _confusion),
    ReportFigure("learning", "learning curves", _learning),
    ReportFigure("noise", "robustness to noise", _noise),
):
    register_figure(_figure)
