"""The factorial table (factorial.md, .tex, .csv), when a dataset's variants cross two or more factors: main effects
and interactions on the primary metric, with the interval each verdict is read from."""

from __future__ import annotations

import math

import pandas as pd

from ablations.report.compare.factorial import FactorialTable
from ablations.report.compare.settings import ADJUST
from ablations.report.read.columns import METRICS
from ablations.report.rendering.captions import group_title, margin_text, plural
from ablations.report.rendering.formats import fmt_delta, fmt_p
from ablations.report.rendering.registry import ReportInputs, ReportTable, register_table
from ablations.report.rendering.table import Table

TEST_NAMES = {"corrected": "corrected t (Nadeau-Bengio)", "t": "plain paired t"}


def _short(column: str) -> str:
    return column.removeprefix("model.").removesuffix(".kind")


def effect_label(f: FactorialTable, factors: tuple[str, ...], levels: tuple[str, ...]) -> str:
    """`video.channel_attention: se → off`, or `a × b` for an interaction."""
    base = {x.column: x.levels[0] for x in f.design.factors}
    if len(factors) == 1:
        return f"`{_short(factors[0])}`: {base[factors[0]]} → {levels[0]}"
    return " × ".join(f"`{_short(c)}`" + (f" ({lv})" if len(f.design.factors[0].levels) > 2 else "")
                      for c, lv in zip(factors, levels, strict=True))  # fmt: skip


def factorial_table(f: FactorialTable) -> Table:
    """One row per effect: the estimate with its interval, the verdict and the adjusted p."""
    t, metric = f.table, f.table.primary
    spec = METRICS[metric]
    rows, breaks = [], []
    for i, e in enumerate(f.effects):
        if i and e.order != f.effects[i - 1].order:
            breaks.append(i)
        k = e.comparison
        est = fmt_delta(k.delta, metric)
        if not math.isnan(k.low):
            est += f" [{fmt_delta(k.low, metric)}, {fmt_delta(k.high, metric)}]"
        tested = not math.isnan(k.p)
        rows.append((effect_label(f, e.factors, e.levels), est, k.verdict if tested else "—",
                     fmt_p(k.p_adjusted) if tested else "—"))  # fmt: skip
    sizes = " × ".join(str(len(x.levels)) for x in f.design.factors)
    names = ", ".join(f"`{_short(x.column)}`" for x in f.design.factors)
    caption = (
        f"A full {sizes} factorial over {names} among the variants, on test {spec.label}: a main effect is "
        "the mean at the level minus the mean at the reference's level, averaged over the other factors; an "
        "interaction of r factors is the product contrast divided by 2^(r−1) (Yates). Each effect is computed "
        f"per unit ({plural(t.units, 'unit')}, seeds averaged first) and read like a comparison: "
        f"{TEST_NAMES[f.method]}, {ADJUST[t.settings.adjust]} over {plural(len(f.effects), 'effect')}; "
        f"{margin_text(t)}."
    )
    notes = [f.note] if f.note else []
    untested = sorted({e.comparison.reason for e in f.effects if math.isnan(e.comparison.p)})
    notes += [f"No verdict: {'; '.join(untested)}."] if untested else []
    legend = tuple((f"`{variant}`", ", ".join(f"{_short(x.column)}={lv}" for x, lv in zip(f.design.factors, combo,
                                                                                            strict=True)))
                   for combo, variant in f.design.cells.items())  # fmt: skip
    unit = " (points)" if spec.percent else ""
    return Table(
        title=f"{group_title(t)}: factorial effects on {spec.label}", caption=caption,
        header=("Effect", f"Estimate{unit} [interval]", "Verdict", "p adj."),
        rows=tuple(rows), align="Xrlr", notes=tuple(notes), legend=legend, legend_title="The factorial's cells",
        key=f"{t.study}:{t.dataset}:{t.protocol}:factorial", rules=tuple(breaks),
    )  # fmt: skip


def factorial_frame(inputs: ReportInputs) -> pd.DataFrame:
    """The effects at full precision."""
    records = []
    for f in (x for x in inputs.factorials if x is not None):
        t = f.table
        for e in f.effects:
            k = e.comparison
            records.append({"study": t.study, "dataset": t.dataset, "protocol": t.protocol,
                            "metric": f"test/{t.primary}", "effect": e.label, "order": e.order,
                            "factors": ";".join(e.factors), "levels": ";".join(e.levels), "estimate": k.delta,
                            "ci_low": k.low, "ci_high": k.high, "level": k.level, "n_units": k.n, "p": k.p,
                            "p_adjusted": k.p_adjusted, "adjust": t.settings.adjust, "margin": t.margin,
                            "verdict": k.verdict if not math.isnan(k.p) else "", "note": k.reason})  # fmt: skip
    return pd.DataFrame.from_records(records)


def _build(inputs: ReportInputs) -> list[Table]:
    return [factorial_table(f) for f in inputs.factorials if f is not None and f.effects]


register_table(ReportTable("factorial", "factorial effects (main effects and interactions)", _build, order=15,
                           frame=factorial_frame))  # fmt: skip
