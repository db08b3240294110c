"""Markdown and LaTeX (booktabs) output: one set of table rows, two markups."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ablations.report.metrics import METRICS

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


@dataclass(frozen=True)
class Markup:
    """How bold, plus-minus, stars and plain text are written in one output format."""

    name: str
    pm: str
    star: str
    bold_open: str
    bold_close: str
    code_open: str
    code_close: str
    escape: bool

    def text(self, s: str) -> str:
        """Plain text, escaped for the format."""
        return tex_escape(s) if self.escape else str(s)

    def bold(self, s: str) -> str:
        """Bold (s is already formatted)."""
        return f"{self.bold_open}{s}{self.bold_close}"

    def code(self, s: str) -> str:
        """An identifier such as a variant or protocol name."""
        return f"{self.code_open}{self.text(s)}{self.code_close}"


MD = Markup("md", " ± ", "*", "**", "**", "`", "`", escape=False)
TEX = Markup("tex", r" $\pm$ ", r"$^{*}$", r"\textbf{", "}", r"\texttt{", "}", escape=True)


def fmt_value(x: float, metric: str) -> str:
    """A stored metric value as shown: percent with 2 decimals, or 3 decimals; NaN -> n/a."""
    if x is None or math.isnan(x):
        return "n/a"
    spec = METRICS[metric]
    v = x * spec.scale()
    out = f"{v:.2f}" if spec.percent else f"{v:.3f}"
    return "0.00" if out == "-0.00" else ("0.000" if out == "-0.000" else out)


def fmt_delta(x: float, metric: str) -> str:
    """A signed difference in shown units (percentage points for percent metrics)."""
    if x is None or math.isnan(x):
        return "n/a"
    out = fmt_value(x, metric)
    return out if out.startswith("-") else "+" + out


def fmt_p(p: float) -> str:
    """A p-value with 3 decimals, `<0.001` below that; NaN -> n/a."""
    if p is None or math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def md_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown table; `align` is one letter (l/r/c) per column."""
    align = align or "l" * len(header)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def tex_table(header: list[str], rows: list[list[str]], caption: str, label: str, align: str) -> str:
    """A paste-ready booktabs table (needs \\usepackage{booktabs,graphicx}); cells are already TeX."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        r"\resizebox{\linewidth}{!}{%",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def tex_label(*parts: str) -> str:
    """A LaTeX label from name parts, keeping only safe characters."""
    safe = "".join(ch if ch.isalnum() or ch in "-:." else "-" for ch in ":".join(parts))
    return "tab:" + safe
