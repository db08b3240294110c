"""The study's current cells, recorded on its MLflow parent run so the report leaves out cells no longer in it.

After `seeds` (or a variant) is edited and the study re-run under the same name, MLflow still holds the
runs of the old cells; the report keeps only the cells the study file had at its latest run, unless asked
for all (`python -m ablations.report NAME --all-cells`). MLflow caps a tag value at a few thousand characters,
so the ids are spread over numbered tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TAG = "avtca.cells"
_PER_TAG = 280  # 16-hex ids + commas: 4760 characters, under MLflow's 5000-character tag limit


def cells_tags(cell_ids: Iterable[str]) -> dict[str, str]:
    """Parent-run tags listing the cell ids: `avtca.cells.n` chunks, `avtca.cells.0` ... (sorted ids)."""
    ids = sorted(cell_ids)
    chunks = [ids[i : i + _PER_TAG] for i in range(0, len(ids), _PER_TAG)] or [[]]
    return {f"{TAG}.n": str(len(chunks)), **{f"{TAG}.{i}": ",".join(c) for i, c in enumerate(chunks)}}


def current_cells(tags: Mapping[str, Any]) -> set[str] | None:
    """The cell ids recorded by `cells_tags`, or None when the parent run predates the record (keep all)."""
    n = tags.get(f"{TAG}.n")
    if n is None or not str(n).isdigit():
        return None
    ids: set[str] = set()
    for i in range(int(n)):
        text = str(tags.get(f"{TAG}.{i}", ""))
        ids.update(x for x in text.split(",") if x)
    return ids


def keep_current(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """(runs of the study's current cells, how many runs of other cells were left out)."""
    current = current_cells(runs[0]["study"]) if runs else None
    if current is None:
        return runs, 0
    kept = [r for r in runs if r["tags"].get("cell_id") in current]
    return kept, len(runs) - len(kept)
