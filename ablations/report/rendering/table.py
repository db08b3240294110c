"""A table built once, rendered in every format: Markdown, LaTeX (booktabs) and CSV.

A `Table` holds its cells as text in a small Markdown subset: `code`, **bold**, and the symbols ± Δ − × → ≤ ≥ ≈ α ρ
· (written as such). Markdown shows it as it is; LaTeX converts it (escaping, math symbols, a true minus sign before
numbers); CSV strips the markup (a registered table may write its numbers at full precision instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ablations.report.rendering.formats import tex_escape


@dataclass(frozen=True)
class Table:
    """One table: what it shows and what is said about it, in no particular format."""

    title: str  # the section heading (Markdown) and the caption's first sentence (LaTeX)
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""  # one letter a column: l, r, c, or X (text that wraps to fit the page); default all l
    caption: str = ""  # what the numbers are: dataset, design, test, unit, n, margin
    notes: tuple[str, ...] = ()  # sentences under the table (findings, what is shown once)
    legend: tuple[tuple[str, str], ...] = ()  # (term, what it means) under the table
    legend_title: str = ""
    key: str = ""  # a stable name: LaTeX label `tab:<key>`
    rules: tuple[int, ...] = field(default=())  # row indexes a rule goes above (groups of rows)

    @property
    def alignment(self) -> str:
        """One letter a column."""
        return self.align or "l" * len(self.header)


_CODE_OR_BOLD = re.compile(r"(`[^`]*`|\*\*.+?\*\*)")
_SYMBOLS = {"±": r"$\pm$", "Δ": r"$\Delta$", "−": "$-$", "×": r"$\times$", "→": r"$\rightarrow$", "≤": r"$\leq$",
            "≥": r"$\geq$", "≈": r"$\approx$", "α": r"$\alpha$", "ρ": r"$\rho$", "·": r"$\cdot$", "—": "---",
            "–": "--", "…": r"\dots{}", "<": "$<$", ">": "$>$", "|": r"$|$"}  # fmt: skip
_MINUS = re.compile(r"(?<![\w.])-(?=\d)")  # a sign, not a hyphen


def _tex_plain(text: str) -> str:
    out = "".join(_SYMBOLS.get(ch, ch) for ch in tex_escape(text))
    return _MINUS.sub("$-$", out)


def tex(text: str) -> str:
    """The markup subset as LaTeX."""
    out = []
    for part in _CODE_OR_BOLD.split(str(text)):
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            # identifiers may break after _ . = : long variant names and config paths still fit a narrow column
            code = tex_escape(part[1:-1]).replace(r"\_", r"\_\allowbreak{}")
            code = code.replace(".", r".\allowbreak{}").replace("=", r"=\allowbreak{}")
            out.append(r"\texttt{" + code + "}")
        elif part.startswith("**") and part.endswith("**") and len(part) >= 4:
            out.append(r"\textbf{" + tex(part[2:-2]) + "}")
        else:
            out.append(_tex_plain(part))
    return "".join(out)


def plain(text: str) -> str:
    """The markup subset as plain text (CSV)."""
    return re.sub(r"\*\*(.+?)\*\*", r"\1", str(text)).replace("`", "")


def md_table(t: Table) -> str:
    """The grid as GitHub-flavoured Markdown."""
    marks = {"l": "---", "X": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(t.header) + " |", "|" + "|".join(marks[a] for a in t.alignment) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in t.rows]
    return "\n".join(lines) + "\n"


def to_md(t: Table, level: int = 2) -> str:
    """A section: heading, caption, grid, notes, legend."""
    out = [f"{'#' * level} {t.title}\n"]
    if t.caption:
        out.append(t.caption + "\n")
    out.append(md_table(t))
    if t.notes:
        out.append("\n".join(f"- {n}" for n in t.notes) + "\n")
    if t.legend:
        head = f"{t.legend_title}:\n\n" if t.legend_title else ""
        out.append(head + "\n".join(f"- {term}: {text}" for term, text in t.legend) + "\n")
    return "\n".join(out)


def _colspec(align: str) -> str:
    cols = {"l": "l", "r": "r", "c": "c", "X": r">{\raggedright\arraybackslash}X"}
    return "@{}" + "".join(cols[a] for a in align) + "@{}"


def to_tex(t: Table) -> str:
    """A booktabs table float at the text width (tabularx when a column wraps), notes and legend under it."""
    wraps = "X" in t.alignment
    env = "tabularx" if wraps else "tabular"
    width = r"{\linewidth}" if wraps else ""
    caption = tex(t.title) + ("" if t.title.endswith(".") else ".") + (" " + tex(t.caption) if t.caption else "")
    lines = [r"\begin{table}[!htbp]", r"\centering\small", rf"\caption{{{caption}}}"]
    if t.key:
        lines.append(rf"\label{{tab:{tex_label(t.key)}}}")
    head = " & ".join(map(tex, t.header)) + r" \\"
    head = "{}" + head if head.startswith("[") else head  # `\toprule [` would read as the rule's optional width
    lines += [rf"\begin{{{env}}}{width}{{{_colspec(t.alignment)}}}", r"\toprule", head, r"\midrule"]
    for i, row in enumerate(t.rows):
        if i in t.rules and i:
            lines.append(r"\midrule")
        cells = [tex(c) for c in row]
        if cells and cells[0].startswith("["):
            cells[0] = "{}" + cells[0]  # `\\ [` would read as the row end's optional argument
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", rf"\end{{{env}}}"]
    under = [tex(n) for n in t.notes]
    if t.legend:
        items = "; ".join(f"{tex(term)}: {tex(text)}" for term, text in t.legend)
        under.append((tex(t.legend_title) + ": " if t.legend_title else "") + items + ".")
    if under:
        lines += [r"\par\smallskip\footnotesize\raggedright", "\n\n".join(under)]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_frame(tables: list[Table]) -> pd.DataFrame:
    """The tables' shown cells as one CSV (markup stripped; a `table` column when there are several)."""
    frames = []
    for t in tables:
        frame = pd.DataFrame([[plain(c) for c in row] for row in t.rows], columns=[plain(h) for h in t.header])
        if len(tables) > 1:
            frame.insert(0, "table", plain(t.title))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tex_label(key: str) -> str:
    """A LaTeX label from a key, keeping only safe characters."""
    return "".join(ch if ch.isalnum() or ch in "-:." else "-" for ch in key)
