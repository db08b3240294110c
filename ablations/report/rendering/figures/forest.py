"""The main figure: a forest plot of each variant's difference to the reference, with the interval its verdict is
read from, the ±margin band shaded and the verdict marked (fig_forest_<dataset>_<protocol>.png)."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import group_title, level_text, margin_value, short_test
from ablations.report.rendering.figures.base import plt, save, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure

MARKS = {  # verdict -> (marker, colour): the same in every forest plot
    "worse": ("v", "#c0392b"),
    "better": ("^", "#1e8449"),
    "equivalent": ("D", "#2471a3"),
    "inconclusive": ("o", "#7f7f7f"),
    "": ("o", "#bbbbbb"),  # no test
}


def forest(t: ComparisonTable, path: Path) -> Path | None:
    """Δ [interval] per variant (top to bottom in study order), zero line, margin band, verdict markers."""
    rows = [r for r in t.rows if not r.is_reference]
    if t.reference is None or not rows:
        return None
    style()
    metric = t.primary
    spec = METRICS[metric]
    scale = spec.scale()
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(rows) + 1.9))
    if not math.isnan(t.margin) and t.settings.test != "wilcoxon":
        ax.axvspan(-t.margin * scale, t.margin * scale, color="#2471a3", alpha=0.12, lw=0)
    ax.axvline(0.0, color="black", lw=0.8)
    label_at = blended_transform_factory(ax.transAxes, ax.transData)
    for y, r in enumerate(rows):
        c = r.cells[metric]
        k = c.comparison
        marker, colour = MARKS[c.verdict]
        if k is not None and not math.isnan(k.low):
            ax.plot([k.low * scale, k.high * scale], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
        if k is not None and not math.isnan(k.delta):
            ax.plot(k.delta * scale, y, marker=marker, color=colour, markersize=8, mec="white", mew=0.8,
                    mfc=colour if c.tested else "white")  # fmt: skip
        ax.text(1.02, y, c.verdict or "no verdict", transform=label_at, va="center", fontsize=9, color=colour)
    ax.set_yticks(range(len(rows)), [r.variant for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first variant on top, as in the table
    unit = " (percentage points)" if spec.percent else ""
    ax.set_xlabel(f"Δ test {spec.label} vs {t.reference}{unit}")
    level = level_text(t)
    what = f"{level} intervals ({short_test(t)})" if level else short_test(t)
    data = "synthetic data, " if t.synthetic else ""
    where = f"{t.units} units" + (f"; margin {margin_value(t)}" if t.settings.test != "wilcoxon" else "")
    ax.set_title(f"{group_title(t)}: {data}each variant vs {t.reference}\n{what}; {where}", fontsize=10)
    handles = [Line2D([], [], marker=m, color=col, ls="", label=v) for v, (m, col) in MARKS.items() if v]
    if not math.isnan(t.margin) and t.settings.test != "wilcoxon":
        handles.append(Patch(color="#2471a3", alpha=0.12, label=f"margin {margin_value(t)}"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / (len(rows) + 4)),
              ncol=len(handles), fontsize=8, frameon=False)  # fmt: skip
    fig.tight_layout()
    return save(fig, path)


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return forest(inputs.tables[i], path)


register_figure(
    ReportFigure("forest", "differences to the reference with their verdicts (forest plot)", _draw, order=10)
)
