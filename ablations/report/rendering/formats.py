"""How numbers are shown in every table: metric values, signed differences, p-values, counts; LaTeX escaping."""

from __future__ import annotations

import math

from ablations.report.read.columns import METRICS

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def decimals(metric: str, digits: int | None = None) -> int:
    """Decimals a metric is shown with: `digits` for percent metrics (default 2), 3 for the others."""
    return (2 if digits is None else digits) if METRICS[metric].percent else 3


def fmt_value(x: float, metric: str, digits: int | None = None) -> str:
    """A stored metric value as shown: percent with `digits` decimals (default 2), else 3 decimals; NaN -> n/a."""
    if x is None or math.isnan(x):
        return "n/a"
    spec = METRICS[metric]
    out = f"{x * spec.scale():.{decimals(metric, digits)}f}"
    return out[1:] if out.startswith("-") and not out.strip("-0.") else out  # never "-0.0"


def fmt_delta(x: float, metric: str, digits: int | None = None) -> str:
    """A signed difference in shown units (percentage points for percent metrics), with a true minus sign."""
    if x is None or math.isnan(x):
        return "n/a"
    out = fmt_value(x, metric, digits)
    return "−" + out[1:] if out.startswith("-") else "+" + out


def fmt_p(p: float) -> str:
    """A p-value with 3 decimals, `<0.001` below that; NaN -> n/a."""
    if p is None or math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_count(x: float) -> str:
    """2201310 -> `2.20 M`, 1.2e9 -> `1.20 G` (parameters, FLOPs); NaN -> n/a."""
    if x is None or math.isnan(x):
        return "n/a"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2f} {unit}"
    return f"{x:.0f}"


def count_unit(values: list[float]) -> tuple[float, str]:
    """One unit for a column of counts, from its largest value: (divisor, `M`)."""
    top = max((abs(v) for v in values if v == v), default=0.0)
    return next(((d, u) for d, u in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")) if top >= d), (1.0, ""))


def fmt_number(x: float, digits: int = 1) -> str:
    """A plain number (latency in ms, seconds); NaN -> n/a."""
    return "n/a" if x is None or math.isnan(x) else f"{x:.{digits}f}"
