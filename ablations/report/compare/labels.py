"""What a table says about its rows and columns: what each variant changes, metrics equal on every row, synthetic
data."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_CHANGES = 2  # a short label names at most this many changed settings (the legend has the description)


def is_synthetic(runs: pd.DataFrame) -> bool:
    """The runs trained on generated data (`data.root: synthetic`), not on the dataset's recordings."""
    if "data.root" in runs.columns and runs["data.root"].astype(str).str.lower().eq("synthetic").any():
        return True
    return bool(runs["protocol"].astype(str).str.contains("synthetic", case=False).any())


def _value(series: pd.Series):
    values = series.dropna().unique()
    if len(values) != 1:
        return None  # varies within the variant (tuned) or unset
    v = values[0]
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _short(column: str) -> str:
    """`model.video.channel_attention.kind` -> `video.channel_attention`."""
    name = column.removeprefix("model.")
    return name.removesuffix(".kind")


def change_label(group: pd.DataFrame, variant: str, reference: str) -> str:
    """The config settings in which `variant` differs from `reference`, e.g. `fusion=lt, cross_attention=off`.

    Only dotted config columns constant within each variant count; a setting the variant leaves unset (a part it
    does not build) is not a change of its own. `.kind` settings are named first.
    """
    columns = [c for c in group.columns if "." in c and "/" not in c and c != "data.root"]
    a = group[group["variant"] == variant]
    b = group[group["variant"] == reference]
    changes = []
    for c in sorted(columns, key=lambda c: (not (c.endswith(".kind") or c == "model.modalities"), c)):
        va, vb = _value(a[c]), _value(b[c])
        if va is not None and vb is not None and va != vb:
            changes.append(f"{_short(c)}={va}")
    if len(changes) > MAX_CHANGES:
        return ", ".join(changes[:MAX_CHANGES]) + f" (+{len(changes) - MAX_CHANGES} more)"
    return ", ".join(changes)


def identical_metrics(group: pd.DataFrame, metrics: tuple[str, ...]) -> dict[str, str]:
    """metric -> the earlier metric whose test value it equals in every cell (accuracy == UAR on balanced folds)."""
    out: dict[str, str] = {}
    for i, m in enumerate(metrics):
        x = group[f"test/{m}"].to_numpy(float)
        for earlier in metrics[:i]:
            if earlier in out:
                continue
            y = group[f"test/{earlier}"].to_numpy(float)
            same_nan = np.array_equal(np.isnan(x), np.isnan(y))
            if same_nan and np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=0.0, atol=1e-9) and len(group) > 1:
                out[m] = earlier
                break
    return out
