"""The calibration's figures: level against each correlated share, and what each design can conclude."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt

from ablations.report.statistics.paired import ALPHA
from ablations.report.statistics.rates import EFFECTS_NOTE, PROBS
from ablations.report.statistics.simulate import TERMS

LEVEL, POWER = "fig_calibration_level.png", "fig_calibration_power.png"
DPI = 110


def _colours(labels: list[str]) -> dict[str, str]:
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def level_figure(rows, path: Path) -> None:
    """Family-wise false 'worse/better' rate against each term's share: corrected (solid) and plain t (dashed)."""
    designs = list(dict.fromkeys(r.design.label() for r in rows))
    colour = _colours(designs)
    terms = [t for t in TERMS if any(getattr(r.shares, t) > 0 for r in rows)]
    fig, axes = plt.subplots(1, len(terms), figsize=(3.4 * len(terms), 3.6), sharey=True, squeeze=False)
    for ax, term in zip(axes[0], terms, strict=True):
        for design in designs:
            mine = [r for r in rows if r.design.label() == design and
                    all(getattr(r.shares, t) == 0 for t in TERMS if t != term)]  # fmt: skip
            mine.sort(key=lambda r: getattr(r.shares, term))
            x = [getattr(r.shares, term) for r in mine]
            for test, style in (("corrected", "-"), ("t", "--")):
                ax.plot(x, [r.null.fwer[(test, "bonferroni")] for r in mine], style, marker="o", ms=3,
                        color=colour[design], lw=1.2)  # fmt: skip
        ax.axhline(ALPHA, color="black", lw=0.8, ls=":")
        ax.set_title(f"{term} share")
        ax.set_xlabel("share of a unit score's variance")
    axes[0][0].set_ylabel("family-wise false worse/better")
    handles = [plt.Line2D([], [], color=colour[d]) for d in designs]
    handles += [plt.Line2D([], [], color="grey", ls="-"), plt.Line2D([], [], color="grey", ls="--")]
    fig.legend(handles, [*designs, "corrected t", "plain t"], loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    _save(fig, path)


def power_figure(rows, powers: dict, path: Path) -> None:
    """P(equivalent | no difference) against the margin, and power against the effect, per design."""
    designs = list(dict.fromkeys(r.design.label() for r in rows))
    colour = _colours(designs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for r in rows:
        if all(getattr(r.shares, t) == 0 for t in TERMS):
            left.plot(100 * r.null.reach, PROBS, color=colour[r.design.label()], lw=1.4)
    left.set_xlabel("margin (accuracy points)")
    left.set_ylabel("P(declared equivalent | true difference 0)")
    left.set_title("reachable margin (corrected, Bonferroni over 8)")
    for design, by_effect in powers.items():
        effects = sorted(by_effect)
        right.plot(effects, [by_effect[e][("corrected", "bonferroni")] for e in effects], "-o", ms=3,
                   color=colour[design], lw=1.4)  # fmt: skip
        right.plot(effects, [by_effect[e][("t", "bonferroni")] for e in effects], "--", color=colour[design], lw=1)
    right.axhline(0.8, color="grey", lw=0.8, ls=":")
    right.set_xlabel("true accuracy difference (points)")
    right.set_ylabel("P(called worse)")
    right.set_title(EFFECTS_NOTE)
    handles = [plt.Line2D([], [], color=colour[d]) for d in designs]
    handles += [plt.Line2D([], [], color="grey", ls="-"), plt.Line2D([], [], color="grey", ls="--")]
    fig.legend(handles, [*designs, "corrected t", "plain t (not calibrated)"], loc="lower center", ncol=4, fontsize=7,
               frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    _save(fig, path)


def draw(rows, powers: dict, folder: Path) -> list[str]:
    """Write both figures into `folder`; their file names, for the Markdown."""
    level_figure(rows, folder / LEVEL)
    power_figure(rows, powers, folder / POWER)
    return [LEVEL, POWER]
