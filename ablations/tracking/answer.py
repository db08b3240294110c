"""The study's answer as MLflow's run page shows it: the parent run's description (the compact main table and
verdicts), a handful of metrics named for people, and a README whose links work in MLflow's artifact view.

Built from the rendered report's files: `answer.md` verbatim when the report writes one, else `summary.csv`
(columns study, dataset, protocol, variant, description, reference, metric, mean, std, delta, diff_ci_low,
diff_ci_high, p_adjusted, verdict). The statistics' bookkeeping (n, cells, units, ...) stays in summary.csv.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from avtca.metrics import METRICS

MAX_DESCRIPTION = 7500  # MLflow keeps a run tag's value up to 8000 characters
_BAD_NAME = re.compile(r"[^\w./\- :]")  # characters MLflow refuses in metric names
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s:#]+)\)")  # a relative markdown link or image: no scheme, no anchor


def _rows(summary: Path) -> list[dict[str, str]]:
    with summary.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_true(text: str | None) -> bool:
    return str(text).strip().lower() in ("true", "1", "yes")


def _groups(rows: list[dict[str, str]]) -> dict[tuple[str, str], list[dict[str, str]]]:
    """(dataset, protocol) -> the rows of its main metric (the first metric the group lists), in file order."""
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    main: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.get("dataset", ""), row.get("protocol", ""))
        main.setdefault(key, row.get("metric", ""))
        if row.get("metric", "") == main[key]:
            out.setdefault(key, []).append(row)
    return out


def _percent(metric: str) -> bool:
    spec = METRICS.get(metric.rsplit("/", 1)[-1])
    return spec is not None and spec.percent


def _shown(metric: str, value: float | None, signed: bool = False) -> str:
    """A value as the report shows it: percent metrics x100 with one decimal, others with three."""
    if value is None:
        return ""
    if _percent(metric):
        return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _label(metric: str) -> str:
    """`test/accuracy` -> `Accuracy (test, %)`."""
    split, name = metric.split("/", 1) if "/" in metric else ("", metric)
    spec = METRICS.get(name.rsplit("/", 1)[-1])
    label = spec.label if spec is not None else name
    return f"{label} ({', '.join(x for x in (split, '%' if _percent(metric) else '') if x)})"


def summary_table(rows: list[dict[str, str]]) -> str:
    """The compact main table: per dataset/protocol, each variant's mean ± std of the main metric, its difference
    to the reference with the interval, the adjusted p and the verdict."""
    blocks = []
    for (dataset, protocol), group in _groups(rows).items():
        metric = group[0].get("metric", "")
        reference = next((r["variant"] for r in group if _is_true(r.get("reference"))), "the reference")
        head = f"**{dataset}, {protocol}** (mean ± std):\n\n"
        lines = [f"| variant | {_label(metric)} | difference to {reference} [interval] | p adj. | verdict |",
                 "|---|---|---|---|---|"]  # fmt: skip
        for r in group:
            mean, std = _number(r.get("mean")), _number(r.get("std"))
            cell = _shown(metric, mean) + (f" ± {_shown(metric, std)}" if std is not None else "")
            if _is_true(r.get("reference")):
                diff, verdict = "reference", ""
            else:
                low, high = _number(r.get("diff_ci_low")), _number(r.get("diff_ci_high"))
                diff = _shown(metric, _number(r.get("delta")), signed=True)
                if low is not None and high is not None:
                    diff += f" [{_shown(metric, low, True)}, {_shown(metric, high, True)}]"
                verdict = r.get("verdict") or r.get("note") or ""
            p = _number(r.get("p_adjusted") or r.get("p_holm"))  # p_holm: reports before the margin
            p_text = "" if p is None else f"{p:.3g}"
            lines.append(f"| {r.get('variant', '')} | {cell} | {diff} | {p_text} | {verdict} |")
        blocks.append(head + "\n".join(lines))
    return "\n\n".join(blocks)


def verdicts(rows: list[dict[str, str]]) -> str:
    """One short paragraph per dataset/protocol naming the variants by verdict on the main metric (what MLflow's
    run page shows before its "Show more": about 150 pixels of the description)."""
    out = []
    for (dataset, protocol), group in _groups(rows).items():
        reference = next((r["variant"] for r in group if _is_true(r.get("reference"))), "the reference")
        by: dict[str, list[str]] = {}
        for r in group:
            if not _is_true(r.get("reference")):
                by.setdefault(r.get("verdict") or r.get("note") or "no verdict", []).append(r.get("variant", ""))
        where = f" ({dataset}, {protocol})" if len(_groups(rows)) > 1 else ""
        said = "; ".join(f"**{verdict}**: {', '.join(names)}" for verdict, names in by.items())
        out.append(f"**Verdicts**{where} on {_label(group[0].get('metric', ''))} against {reference}: {said}")
    return "\n\n".join(out)


def answer_text(report_dir: Path) -> str:
    """The answer's markdown: the report's answer.md verbatim, else the verdicts and the table built from
    summary.csv ("" if neither is there)."""
    answer = report_dir / "answer.md"
    if answer.is_file():
        return answer.read_text(encoding="utf-8").strip()
    summary = report_dir / "summary.csv"
    if not summary.is_file():
        return ""
    rows = _rows(summary)
    return "\n\n".join(t for t in (verdicts(rows), summary_table(rows)) if t)


def description(study_description: str, answer: str, readme_link: str) -> str:
    """The parent run's description: the answer, where the full report is, and the study's own description (also
    the experiment's); cut to what a run tag holds, at a line end."""
    tail = f"\n\nFull report, figures and CSV files: [report/README.md]({readme_link})"
    if study_description.strip():
        tail += f"\n\nThe study: {study_description.strip()}"
    text = answer
    if len(text) + len(tail) > MAX_DESCRIPTION:
        cut = text[: MAX_DESCRIPTION - len(tail) - 60].rsplit("\n", 1)[0]
        text = cut + "\n\n(cut here: the full table is in the report)"
    return text + tail


def headline_metrics(summary: Path) -> dict[str, float]:
    """A handful of metrics named for people, from summary.csv: per variant, the main metric's mean (`full: test
    accuracy`) and its difference to the reference (`audio_only: test accuracy minus full`); dataset and protocol
    lead the names when the file holds several."""
    rows = _rows(summary) if summary.is_file() else []
    groups = _groups(rows)
    out: dict[str, float] = {}
    for (dataset, protocol), group in groups.items():
        prefix = f"{dataset} {protocol} " if len(groups) > 1 else ""
        reference = next((r["variant"] for r in group if _is_true(r.get("reference"))), "reference")
        for r in group:
            what = r.get("metric", "").replace("/", " ")
            if (mean := _number(r.get("mean"))) is not None:
                out[_BAD_NAME.sub("_", f"{prefix}{r['variant']}: {what}")] = mean
            if not _is_true(r.get("reference")) and (delta := _number(r.get("delta"))) is not None:
                out[_BAD_NAME.sub("_", f"{prefix}{r['variant']}: {what} minus {reference}")] = delta
    return out


def artifact_link(experiment_id: str, run_id: str, path: str) -> str:
    """A link to the run's artifact `path` in MLflow's UI, on any host. MLflow's description opens it in a new tab;
    in its artifact view a link that changes only the `#` part would leave the current file on the screen (the
    view reads its path when it opens), which is why `mlflow_readme` names files instead of linking them."""
    return f"#/experiments/{experiment_id}/runs/{run_id}/artifacts/{path}?workflowType=machine_learning"


def mlflow_readme(text: str) -> str:
    """The report's README for MLflow's artifact view, which resolves relative links against the server's root
    (404) and shows relative images as literal text: every file it links is named instead (they are all in the
    file list beside it), figures as `figure: <title> (<file>)`."""

    def name(m: re.Match[str]) -> str:
        image, label, target = m.groups()
        if image:
            return f"figure: {label} (`{target}`)"
        return f"`{target}`" if label.strip("`") == target else f"{label} (`{target}`)"

    note = "_In MLflow: the files and figures named here are in the file list on the left._\n\n"
    return note + _LINK.sub(name, text)
