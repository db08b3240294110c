"""Cost against the primary metric: each variant's mean (± sd) against its FLOPs per clip, the Pareto front marked
(fig_pareto_<dataset>_<protocol>.png; only when runs.csv has `flops_per_clip`)."""

from __future__ import annotations

import math
from pathlib import Path

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.compare.cost import pareto_front
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import group_title
from ablations.report.rendering.figures.base import colours, plt, save, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure

COST = "flops_per_clip"


def pareto(t: ComparisonTable, path: Path, order: list[str] | None = None) -> Path | None:
    """One point per variant with its sd as an error bar; the front (no variant cheaper and better) joined."""
    rows = [r for r in t.rows if not math.isnan(r.cost.get(COST, math.nan))]
    if len(rows) < 2:
        return None
    style()
    spec = METRICS[t.primary]
    x = [r.cost[COST] for r in rows]
    y = [r.cells[t.primary].units.mean * spec.scale() for r in rows]
    sd = [r.cells[t.primary].units.std * spec.scale() for r in rows]
    front = pareto_front(x, y, spec.higher_is_better)
    palette = colours(order, [r.variant for r in rows])
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    pts = sorted((x[i], y[i]) for i in front)
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", lw=1, ls="--", zorder=1, label="Pareto front")
    for i, r in enumerate(rows):
        on = i in front
        ax.errorbar(x[i], y[i], yerr=0 if math.isnan(sd[i]) else sd[i], fmt="o", color=palette[r.variant],
                    ms=8 if on else 6, mec="black" if on else "white", capsize=3, zorder=2)  # fmt: skip
        ax.annotate(r.variant, (x[i], y[i]), xytext=(5, 4), textcoords="offset points", fontsize=8)
    if max(x) / max(min(x), 1.0) > 10:
        ax.set_xscale("log")
    ax.set_xlabel("FLOPs per test clip (forward pass)")
    ax.set_ylabel(f"test {spec.label}{spec.unit()}, mean ± sd over units")
    data = ", synthetic data" if t.synthetic else ""
    ax.set_title(f"{group_title(t)}{data}: {spec.label} against cost (front: no variant cheaper and better)",
                 fontsize=10)  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return pareto(inputs.tables[i], path, inputs.order)


register_figure(ReportFigure("pareto", "primary metric against FLOPs per clip (Pareto front)", _draw, order=20))
