"""Robustness to noise: the primary metric against the noise level per variant
(fig_noise_<dataset>_<protocol>.png; with test_robust noise columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ablations.report.compare.robustness import RobustnessTable
from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.read.order import ordered
from ablations.report.rendering.figures.base import colours, plt, save, style
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure


def noise_curves(t: RobustnessTable, path: Path, order: list[str] | None = None) -> Path | None:
    """The main metric against noise level (0 = clean) per variant, one panel per noisy modality; bands = sample
    sd over units."""
    if not t.noise_kinds:
        return None
    style()
    spec = METRICS[t.metric]
    kinds = list(t.noise_kinds)
    variants = ordered(list(t.rows), order or [])
    palette = colours(order, variants)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.4), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds, strict=True):
        conds = [c for c in t.conditions if c.startswith(kind + "_")]
        x = [0.0, *t.noise_kinds[kind]]
        for variant in variants:
            row = t.rows[variant]
            stats = [row["clean"], *(row[c] for c in conds)]
            y = np.array([s.mean for s in stats]) * spec.scale()
            sd = np.nan_to_num(np.array([s.std for s in stats]) * spec.scale())
            ax.plot(x, y, marker="o", label=variant, color=palette[variant])
            ax.fill_between(x, y - sd, y + sd, color=palette[variant], alpha=0.12, lw=0)
        ax.set_title(f"{kind.replace('_', ' ')}: {spec.label} vs noise")
        ax.set_xticks(x)
        ax.set_xlabel("")
        ax.set_ylabel(f"test {spec.label}{spec.unit()}" if ax is axes[0][0] else "")
    fig.supxlabel("noise std, relative to the input's std (0 = clean)")  # one label: two never collide
    axes[0][-1].legend(title="variant", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(
        f"{dataset_label(t.dataset)} ({t.protocol}): robustness to noise (mean over units, band = ± sample sd)"
    )
    fig.tight_layout()
    return save(fig, path)


def _draw(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    return noise_curves(inputs.robust[i], path, inputs.order)


register_figure(ReportFigure("noise", "robustness to noise", _draw, order=50))
