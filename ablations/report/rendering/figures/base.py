"""What every figure shares: the style, one colour per variant, and a save that gives identical bytes for
identical inputs (a PNG at 200 dpi and an SVG copy, without version stamps or dates)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
import seaborn as sns

from ablations.report.read.order import variant_colours

DPI = 200
VECTOR = ".svg"  # the vector copy written beside every PNG

__all__ = ["DPI", "VECTOR", "colours", "plt", "save", "sns", "style"]


def save(fig: plt.Figure, path: Path) -> Path:
    """Write the PNG and its SVG copy without version stamps or dates, so identical inputs give identical bytes."""
    plt.rcParams["svg.hashsalt"] = "avtca"  # fixed ids inside the SVG
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(path.with_suffix(VECTOR), bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return path


def style() -> None:
    """The look of every figure."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams["svg.hashsalt"] = "avtca"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text (smaller, editable, no glyph paths)


def colours(order: list[str] | None, variants: list[str]) -> dict[str, str]:
    """One colour per variant, by its place in the study order (the same in every figure)."""
    return variant_colours(order if order else variants)
