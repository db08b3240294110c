"""Cost against the primary metric: each variant's mean (± sd) against its FLOPs per clip, the Pareto front marked
(fig_pareto_<dataset>_<protocol>.png; only when runs.csv has `flops_per_clip`)."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.transforms import ScaledTranslation

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.cost import pareto_front
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import group_title
from ablations.report.rendering.figures.base import colours, plt, save, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure

COST = "flops_per_clip"
MEGA = 1e6  # the axis in MFLOPs: the paper's unit, and no "1e7" offset under the axis


def label_heights(x: list[float], y: list[float], gap: float, same_x: float) -> list[float]:
    """Where each point's label goes (its y), so labels of points at about the same cost never overlap: points
    whose x differ by less than `same_x` form a column; in a column, from the top down, a label sits at its point
    or `gap` below the label above it, whichever is lower (ablations of one part often cost exactly the same)."""
    heights = list(y)
    order = sorted(range(len(x)), key=lambda i: x[i])
    columns: list[list[int]] = []
    for i in order:
        if columns and x[i] - x[columns[-1][0]] < same_x:
            columns[-1].append(i)
        else:
            columns.append([i])
    for column in columns:
        above = math.inf
        for i in sorted(column, key=lambda i: -y[i]):
            heights[i] = min(y[i], above - gap)
            above = heights[i]
    return heights


def pareto(t: ComparisonTable, path: Path, order: list[str] | None = None) -> Path | None:
    """One point per variant with its sd as an error bar; the front (no variant cheaper and better) joined."""
    rows = [r for r in t.rows if not math.isnan(r.cost.get(COST, math.nan))]
    if len(rows) < 2:
        return None
    style()
    spec = METRICS[t.primary]
    x = [r.cost[COST] / MEGA for r in rows]
    y = [r.cells[t.primary].units.mean * spec.scale() for r in rows]
    sd = [r.cells[t.primary].units.std * spec.scale() for r in rows]
    front = pareto_front(x, y, spec.higher_is_better)
    palette = colours(order, [r.variant for r in rows])
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    log = max(x) / max(min(x), 1e-9) > 10
    span = [v for i in range(len(rows)) for v in (y[i] - _nan0(sd[i]), y[i] + _nan0(sd[i]))]
    reach = (math.log10(max(x)) - math.log10(min(x))) if log else max(x) - min(x)
    near = 0.02 * (reach or 1.0)
    where = label_heights([math.log10(v) if log else v for v in x], y, 0.055 * (max(span) - min(span) or 1.0), near)
    beside = ax.transData + ScaledTranslation(6 / 72, 0, fig.dpi_scale_trans)  # 6 points right of the point
    pts = sorted((x[i], y[i]) for i in front)
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", lw=1, ls="--", zorder=1, label="Pareto front")
    for i, r in enumerate(rows):
        on = i in front
        ax.errorbar(x[i], y[i], yerr=0 if math.isnan(sd[i]) else sd[i], fmt="o", color=palette[r.variant],
                    ms=8 if on else 6, mec="black" if on else "white", capsize=3, zorder=2)  # fmt: skip
        moved = abs(where[i] - y[i]) > 1e-9
        leader = {"arrowstyle": "-", "lw": 0.5, "color": "0.5", "relpos": (0, 0.5)} if moved else None
        ax.annotate(r.variant, (x[i], y[i]), xytext=(x[i], where[i]), textcoords=beside, fontsize=8, va="center",
                    arrowprops=leader)  # fmt: skip
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(x) / 10 ** (0.05 * reach), max(x) * 10 ** (0.35 * reach))
    else:  # room on the right for the labels of the costliest variants
        ax.set_xlim(min(x) - 0.05 * (reach or max(x)), max(x) + 0.35 * (reach or max(x)))
    ax.set_xlabel("MFLOPs per test clip (forward pass)")
    ax.set_ylabel(f"test {spec.label}{spec.unit()}, mean ± sd over units")
    data = ", synthetic data" if t.synthetic else ""
    ax.set_title(f"{group_title(t)}{data}: {spec.label} against cost (front: no variant cheaper and better)",
                 fontsize=10)  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def _nan0(v: float) -> float:
    return 0.0 if math.isnan(v) else v


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return pareto(inputs.tables[i], path, inputs.order)


register_figure(ReportFigure("pareto", "primary metric against FLOPs per clip (Pareto front)", _draw, order=20))
