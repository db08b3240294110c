"""The comparison tables as Markdown and LaTeX text (table.md, table.tex): captions, cells and findings."""

from __future__ import annotations

import math

from ablations.report.compare.comparison import ComparisonTable, MetricCell, summary_frame, verdict
from ablations.report.read.columns import METRICS, dataset_label
from ablations.report.rendering.formats import (
    MD,
    TEX,
    Markup,
    fmt_delta,
    fmt_p,
    fmt_value,
    md_table,
    tex_label,
    tex_table,
)
from ablations.report.rendering.registry import ReportTable, register_table
from ablations.report.statistics.paired import ALPHA, MIN_INTERVAL_UNITS, MIN_TEST_UNITS, TESTS
from ablations.report.statistics.power import design_sd, min_detectable, plan

TARGETS = (0.02, 0.05)  # differences (2 and 5 points) the replication line plans for


def protocol_text(protocol: str, subject_independent: bool, m: Markup) -> str:
    """`protocol X (subject-independent folds)` or `(random split, not subject-independent)`."""
    kind = "subject-independent folds" if subject_independent else "random split, not subject-independent"
    return f"protocol {m.code(protocol)} ({kind})"


def design_text(t: ComparisonTable) -> str:
    """`6 folds x 3 seeds`."""
    return replicates(t.folds, t.seeds)


def replicates(folds: int, seeds: int) -> str:
    """`6 folds x 1 seed`."""
    return f"{folds} fold{'s' if folds != 1 else ''} x {seeds} seed{'s' if seeds != 1 else ''}"


def test_text(t: ComparisonTable, m: Markup) -> str:
    """The deciding test, its unit and number of units, e.g. `paired t-test over 6 folds (6 folds x 3 seeds)`."""
    tested = [c.paired.n_pairs for r in t.rows for c in r.cells.values() if c.paired and not math.isnan(c.paired.p)]
    n = max(tested) if tested else 0
    rho = f" (n_test/n_train = {t.rho:.2f})" if t.test == "nb" else ""
    return f"{TESTS[t.test]}{rho} over {n} folds ({design_text(t)}, seeds averaged within each fold)"


def caption(t: ComparisonTable, m: Markup) -> str:
    """The caption: design, what the numbers are, which test (unit, n) and correction decide significance."""
    pm = m.pm.strip()
    parts = [f"{m.text(dataset_label(t.dataset))}, {protocol_text(t.protocol, t.subject_independent, m)}, "
             f"{design_text(t)} per variant."]  # fmt: skip
    if t.folds == 1:
        parts.append(
            m.text(
                f"Only one test set: the spread over its {t.seeds} seed(s) is training noise on the same "
                "actors, not evidence about unseen speakers, so nothing is called significant on seeds."
            )
        )
    parts.append(
        f"Cells: mean {pm} "
        + m.text(
            f"sample std over folds (seeds averaged within each fold) [95% t interval, "
            f"clipped to the metric's range; none below {MIN_INTERVAL_UNITS} folds]; "
            "n: completed (seed, fold) cells with a value."
        )
    )
    if t.reference is None:
        parts.append("No variant is marked as the reference (full model), so no differences or tests are shown.")
    else:
        delta = "$\\Delta$" if m.escape else "Δ"
        family = sum(1 for r in t.rows if not r.is_reference)
        if t.unit == "none":
            parts.append(f"{delta}: " + m.text("difference of means to the full model ") + m.code(t.reference)
                         + m.text(f" (percentage points for % metrics); no test: {t.folds} independent test set(s) "
                                  f"are too few for the fold-level test (it needs {MIN_TEST_UNITS} folds); "
                                  "a clip-level "
                                  "comparison (with predictions.csv) is descriptive only."))  # fmt: skip
        else:
            parts.append(
                f"{delta}: " + m.text("difference of means to the full model ") + m.code(t.reference)
                + m.text(" (percentage points for % metrics) [95% interval of the difference]; p: "
                         f"{test_text(t, m)}; Holm-corrected across the {family} variants of each column; ")
                + f"{m.star.strip()} " + m.text(f"marks corrected p < {ALPHA:g}. Significant differences read worse "
                                                 "or better; the others read inconclusive with the smallest difference "
                                                 f"this design detects at 80% power (level {ALPHA:g}/{family}).")
            )  # fmt: skip
    lowest = [METRICS[x].label for x in t.metrics if not METRICS[x].higher_is_better]
    parts.append("Bold: best mean per column" + (f" (lowest for {', '.join(lowest)})." if lowest else "."))
    return " ".join(parts)


def value_cell(c: MetricCell, metric: str, m: Markup) -> str:
    """`mean ± std [lo, hi]`, or why there is no interval; the mean bold when best."""
    s = c.units
    mean = fmt_value(s.mean, metric)
    if c.best:
        mean = m.bold(mean)
    if math.isnan(s.ci_low):
        spread = f"{m.pm}{fmt_value(s.std, metric)}" if s.n >= 2 else ""
        text = f"{mean}{spread} (n = {s.n}: too few for an interval)"
    else:
        text = f"{mean}{m.pm}{fmt_value(s.std, metric)} [{fmt_value(s.ci_low, metric)}, {fmt_value(s.ci_high, metric)}]"
    if m.escape:
        text = text.replace("-", "$-$").replace("[", "{\\scriptsize [", 1).replace("(n", "{\\scriptsize (n", 1)
        text += "}" if ("[" in text or "(n" in text) else ""
    return text


def delta_cell(c: MetricCell, metric: str, is_reference: bool, m: Markup) -> str:
    """`-6.25 [-9.10, -3.40] (p=0.003)* worse`, `… inconclusive (MDD 7.51)`, or why there is no test."""
    if is_reference:
        return m.text("(reference)")
    delta = fmt_delta(c.delta, metric)
    if not math.isnan(c.diff_low):
        delta += f" [{fmt_delta(c.diff_low, metric)}, {fmt_delta(c.diff_high, metric)}]"
    if m.escape:
        delta = f"${delta}$"
    if c.paired is None:
        return delta
    if math.isnan(c.paired.p):
        return f"{delta} ({m.text(c.paired.note)})" if c.paired.note else delta
    star = m.star if c.significant else ""
    p = fmt_p(c.p_holm)
    ptext = f"($p{'<' if p.startswith('<') else '='}{p.lstrip('<')}$)" if m.escape else \
        f"(p{'' if p.startswith('<') else '='}{p})"  # fmt: skip
    word = verdict(c, metric)
    if word == "inconclusive" and not math.isnan(c.mdd):
        word += f" (MDD {fmt_value(c.mdd, metric)})"
    return f"{delta} {ptext}{star} {m.text(word)}"


def table_rows(t: ComparisonTable, m: Markup) -> tuple[list[str], list[list[str]], str]:
    """Header, body rows and column alignment of one comparison table."""
    described = any(r.description for r in t.rows)
    header = [m.text("Variant"), *([m.text("What it changes")] if described else []), "n"]
    for metric in t.metrics:
        spec = METRICS[metric]
        header.append(m.text(spec.label + spec.unit()))
        if t.reference is not None:
            header.append(("$\\Delta$ " if m.escape else "Δ ") + m.text(spec.label))
    rows = []
    for r in t.rows:
        row = [m.code(r.variant), *([m.text(r.description)] if described else []), str(r.n)]
        for metric in t.metrics:
            c = r.cells[metric]
            row.append(value_cell(c, metric, m))
            if t.reference is not None:
                row.append(delta_cell(c, metric, r.is_reference, m))
        rows.append(row)
    align = "l" + ("l" if described else "") + "r" + ("cc" if t.reference is not None else "c") * len(t.metrics)
    return header, rows, align


def findings(t: ComparisonTable, m: Markup) -> list[str]:
    """Plain sentences under the table: verdicts on the main metric, the full model's rank, replication."""
    if t.reference is None:
        return []
    metric = t.metrics[0]
    label = METRICS[metric].label
    cells = {r.variant: r.cells[metric] for r in t.rows if not r.is_reference}
    groups: dict[str, list[str]] = {"worse": [], "better": [], "inconclusive": []}
    for v, c in cells.items():
        word = verdict(c, metric)
        if word:
            extra = f" (MDD {fmt_value(c.mdd, metric)})" if word == "inconclusive" and not math.isnan(c.mdd) else ""
            groups[word].append(m.code(v) + m.text(extra))
    out = []
    if any(groups.values()):
        out.append(m.text(f"{label}: significantly worse than the full model: ")
                   + (", ".join(groups["worse"]) or "none") + m.text("; significantly better: ")
                   + (", ".join(groups["better"]) or "none") + m.text("; inconclusive: ")
                   + (", ".join(groups["inconclusive"]) or "none") + ".")  # fmt: skip
    means = {r.variant: r.cells[metric].units.mean for r in t.rows}
    ranked = sorted((v for v in means if not math.isnan(means[v])), key=lambda v: means[v],
                    reverse=METRICS[metric].higher_is_better)  # fmt: skip
    if t.reference in ranked:
        rank = ranked.index(t.reference) + 1
        above = ranked[: rank - 1]
        sig_above = [v for v in above if cells[v].significant]
        text = f"The full model ranks {rank} of {len(ranked)} by {label}. "
        if not any(c.paired is not None and not math.isnan(c.p_holm) for c in cells.values()):
            text += "No test could be run, so this rank is not evidence of anything."
        elif not above:
            text += "No variant has a higher mean."
        elif not sig_above:
            text += (f"None of the {len(above)} variant(s) ranked above it differs significantly: "
                     "its rank among them is within noise.")  # fmt: skip
        else:
            text += f"{len(sig_above)} of the {len(above)} variant(s) ranked above it differ significantly."
        out.append(m.text(text))
    out.append(m.text(replication(t)))
    return out


def replication(t: ComparisonTable, family: int | None = None) -> str:
    """What this design detects and what replication would detect the TARGETS (main metric)."""
    c = t.components
    metric = t.metrics[0]
    scale, unit = METRICS[metric].scale(), (" points" if METRICS[metric].percent else "")
    family = family or max(1, sum(1 for r in t.rows if not r.is_reference))
    if c is None or (math.isnan(c.within) and math.isnan(c.between)):
        return "Power: needs at least 2 seeds or 2 folds to estimate the variance of a difference."
    seeds = max(1, t.seeds)
    text = "Power (" + METRICS[metric].label + ", 80%, Holm family of " + str(family) + "): "
    if t.folds >= MIN_TEST_UNITS:
        mdd = min_detectable(design_sd(c, seeds), t.folds, family, rho=t.rho if t.test == "nb" else 0.0)
        bound = " or more (the fold-to-fold variance is unknown from one fold)" if c.folds < 2 else ""
        text += f"this design ({replicates(t.folds, seeds)}) detects about {mdd * scale:.2f}{unit}{bound}; "
    elif t.folds < 2:
        text += "one fold, so the fold-to-fold variance is unknown and the plans below assume none (lower bound); "
    else:
        text += f"{t.folds} folds are too few for the fold-level test; "
    plans = []
    for target in TARGETS:
        rho_of = (lambda k: 1.0 / (k - 2) if k > 2 else math.inf) if t.test == "nb" else (lambda k: 0.0)
        p = plan(c, target, max(t.max_folds, t.folds), family, rho_of)
        shown = f"{target * scale:g}{unit}"
        plans.append(f"to detect {shown}: {replicates(*p)}" if p else
                     f"{shown} is out of reach with {max(t.max_folds, t.folds)} folds and up to 10 seeds")  # fmt: skip
    sd_w = math.sqrt(c.within) * scale if not math.isnan(c.within) else math.nan
    sd_b = math.sqrt(c.between) * scale if not math.isnan(c.between) else math.nan
    observed = ", ".join(f"{name} {'unknown' if math.isnan(v) else f'{v:.2f}'}"
                         for name, v in (("seed-to-seed", sd_w), ("fold-to-fold", sd_b)))  # fmt: skip
    return text + "; ".join(plans) + f" (observed sd of a difference: {observed})."


def clip_rows(t: ComparisonTable) -> list[list[str]]:
    """The clip-level comparison's rows (accuracy), empty when predictions.csv gave none."""
    rows = []
    for r in t.rows:
        c = r.cells.get("accuracy")
        if r.is_reference or c is None or c.clip is None:
            continue
        k = c.clip
        ci = f"[{fmt_delta(k.ci_low, 'accuracy')}, {fmt_delta(k.ci_high, 'accuracy')}]" if not k.note else k.note
        # no star: this comparison describes, it does not decide (see the paragraph above the table)
        rows.append([f"`{r.variant}`", str(k.actors), str(k.clips), fmt_delta(k.delta, "accuracy"), ci,
                     fmt_p(c.clip_p_holm)])  # fmt: skip
    return rows


def comparison_md(tables: list[ComparisonTable], study: str, dropped: int = 0) -> str:
    """table.md: one section per (dataset, protocol): caption, table, findings, clip-level comparison."""
    out = [f"# Study `{study}`: comparison with the full model\n"]
    if dropped:
        out.append(f"{dropped} row(s) of runs.csv were not completed (state other than FINISHED) and are left out.\n")
    for t in tables:
        out.append(f"## {dataset_label(t.dataset)} ({t.protocol})\n")
        out.append(caption(t, MD) + "\n")
        header, body, align = table_rows(t, MD)
        out.append(md_table(header, body, align))
        out += [f"- {line}" for line in findings(t, MD)]
        clips = clip_rows(t)
        if clips:
            k = next(r.cells["accuracy"].clip for r in t.rows if r.cells.get("accuracy") and r.cells["accuracy"].clip)
            out.append(f"\nClip-level paired comparison of accuracy (predictions.csv): paired sign-flip permutation "
                       f"over {k.actors} actors ({replicates(k.folds, k.seeds)}; each clip's correctness averaged "
                       "over seeds), "
                       "95% actor-bootstrap percentile interval of the difference, p Holm-corrected across the "
                       "variants. Descriptive only: it is conditional on the trained models (like McNemar's test it "
                       "ignores training variability), and with training noise shared by a fold's actors its "
                       "false-positive rate is far above 0.05 (docs/statistics.md), so it never decides "
                       "significance.\n")  # fmt: skip
            out.append(md_table(["Variant", "actors", "clips", "Δ Accuracy", "95% CI", "p (Holm)"], clips, "lrrccc"))
        out.append("")
    return "\n".join(out)


def comparison_tex(tables: list[ComparisonTable], study: str) -> str:
    """table.tex: one booktabs table per (dataset, protocol), the findings as a paragraph after it."""
    out = [f"% Study {study}: generated by python -m ablations.report; needs \\usepackage{{booktabs,graphicx}}\n"]
    for t in tables:
        header, body, align = table_rows(t, TEX)
        out.append(tex_table(header, body, caption(t, TEX), tex_label(study, t.dataset, t.protocol), align))
        notes = findings(t, TEX)
        if notes:
            out.append(" ".join(notes) + "\n")
    return "\n".join(out)


for _table in (
    ReportTable("table.md", "md", lambda x: comparison_md(x.tables, x.study, x.dropped)),
    ReportTable("table.tex", "tex", lambda x: comparison_tex(x.tables, x.study)),
    ReportTable("summary.csv", "csv", lambda x: summary_frame(x.tables)),
):
    register_table(_table)
