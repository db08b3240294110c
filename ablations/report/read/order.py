"""One variant order and one colour per variant for every table and figure of a study: the study file's order.

The export writes runs.csv in study-file order (the runs' `variant_index` tag), so the order is that of first
appearance in runs.csv; a `variant_index` column, where present, wins.
"""

from __future__ import annotations

import pandas as pd

# qualitative palettes with clearly different neighbours (tab10; tab20's pairs only beyond 10 variants)
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def study_order(runs: pd.DataFrame) -> list[str]:
    """The study's variants in study-file order."""
    if "variant_index" in runs.columns and runs["variant_index"].notna().all():
        first = runs.drop_duplicates("variant").sort_values("variant_index", kind="stable")
        return [str(v) for v in first["variant"]]
    return [str(v) for v in dict.fromkeys(runs["variant"].tolist())]


def variant_colours(order: list[str]) -> dict[str, str]:
    """A fixed colour per variant (by its position in the study order), the same in every figure."""
    if len(order) <= len(_TAB10):
        colours = _TAB10
    else:
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        colours = [matplotlib.colors.to_hex(cmap(i % 20)) for i in range(len(order))]
    return {v: colours[i % len(colours)] for i, v in enumerate(order)}


def ordered(items: list[str], order: list[str]) -> list[str]:
    """`items` sorted by the study order (unknown ones last, alphabetically)."""
    rank = {v: i for i, v in enumerate(order)}
    return sorted(items, key=lambda v: (rank.get(v, len(rank)), v))
