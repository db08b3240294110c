"""The clip-level comparison (clips.md, .tex, .csv; with predictions.csv): accuracy differences resampled by actor.
Descriptive only: it is conditional on the trained models, so it never decides (docs/statistics.md)."""

from __future__ import annotations

from ablations.report.compare.comparison import ComparisonTable
from ablations.report.rendering.captions import group_title, plural
from ablations.report.rendering.formats import fmt_delta, fmt_p
from ablations.report.rendering.registry import ReportInputs, ReportTable, register_table
from ablations.report.rendering.table import Table


def clip_table(t: ComparisonTable) -> Table | None:
    """Per variant: actors, clips, Δ accuracy, the actor-bootstrap interval and the Holm-adjusted sign-flip p."""
    rows = []
    first = None
    for r in t.rows:
        c = r.cells.get("accuracy")
        if r.is_reference or c is None or c.clip is None:
            continue
        k = first = c.clip
        ci = k.note or f"[{fmt_delta(k.ci_low, 'accuracy')}, {fmt_delta(k.ci_high, 'accuracy')}]"
        rows.append((f"`{r.variant}`", str(k.actors), str(k.clips), fmt_delta(k.delta, "accuracy"), ci,
                     fmt_p(c.clip_p_holm)))  # fmt: skip
    if first is None:
        return None
    caption = (
        f"Paired sign-flip permutation over {plural(first.actors, 'actor')} (each clip's correctness "
        "averaged over its fold's seeds), 95% actor-bootstrap percentile interval of the difference, p "
        "Holm-adjusted across the variants. Descriptive only: conditional on the trained models (like "
        "McNemar's test it ignores training variability), its false-positive rate is far above 0.05 with "
        "training noise shared by a fold's actors (docs/statistics.md), so it never decides a verdict."
    )
    return Table(title=f"{group_title(t)}: clip-level accuracy differences", caption=caption,
                 header=("Variant", "Actors", "Clips", "Δ Accuracy (points)", "95% interval", "p (Holm)"),
                 rows=tuple(rows), align="Xrrrrr", key=f"{t.study}:{t.dataset}:{t.protocol}:clips")  # fmt: skip


def _build(inputs: ReportInputs) -> list[Table]:
    return [x for x in (clip_table(t) for t in inputs.tables) if x is not None]


register_table(ReportTable("clips", "clip-level comparison (descriptive; appendix)", _build, order=50, appendix=True))
