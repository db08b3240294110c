"""The end-of-study summary: per variant, mean +- std of the objective and main test metrics over its cells."""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking.record import MLFLOW_RUN_ID
from avtca.metrics import task_metrics


def cell_trials(study: StudyConfig, cells: list[Cell]) -> list[Any]:
    """Every Optuna trial of the study's cells."""
    # optuna (heavy) loads only when a summary is made: the CLI imports this module for --dry-run and --explain too
    from ablations.storage import optuna as ostorage

    return list(ostorage.cell_trials(ostorage.open_storage(study.storage_url), study, cells))


def completed_run_ids(study: StudyConfig, cells: list[Cell]) -> set[str]:
    """MLflow run ids of completed trials."""
    from optuna.trial import TrialState

    return {
        t.user_attrs[MLFLOW_RUN_ID]
        for t in cell_trials(study, cells)
        if t.state == TrialState.COMPLETE and MLFLOW_RUN_ID in t.user_attrs
    }


def summary_rows(study: StudyConfig, cells: list[Cell]) -> list[dict[str, Any]]:
    """Per variant: n and mean +- sample std of the objective and main test metrics over completed cells."""
    from ablations.storage.optuna import best_trial, trial_metrics

    by_cell: dict[str, list] = defaultdict(list)
    for t in cell_trials(study, cells):
        by_cell[t.user_attrs["cell_id"]].append(t)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        best = best_trial(by_cell.get(c.cell_id, []), study.objective.direction)
        if best is None:
            continue
        metrics = trial_metrics(best)
        values[c.variant][study.objective.metric].append(best.value)
        for m in task_metrics():  # the registry's order is the summary's column order
            if f"test/{m}" in metrics:
                values[c.variant][f"test/{m}"].append(metrics[f"test/{m}"])
    rows = []
    for label in dict.fromkeys(c.variant for c in cells):
        row: dict[str, Any] = {"variant": label, "n": len(values[label].get(study.objective.metric, []))}
        for key, xs in values[label].items():
            row[key] = (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else None)
        rows.append(row)
    return rows


def format_summary(study: StudyConfig, rows: list[dict[str, Any]]) -> str:
    """A plain-text table: variant, n, mean +- std per metric (std n/a with n < 2); reference marked with *."""
    keys = list(dict.fromkeys(k for r in rows for k in r if k not in ("variant", "n")))

    def cell(v):
        if v is None:
            return "-"
        mean, std = v
        return f"{mean:.3f} +- {std:.3f}" if std is not None else f"{mean:.3f} +- n/a"

    table = [["variant", "n", *keys]]
    for r in rows:
        star = "*" if r["variant"] == study.reference_label else ""
        table.append([r["variant"] + star, str(r["n"]), *[cell(r.get(k)) for k in keys]])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n(* = reference; mean +- sample std over seeds and folds)"


def print_summary(study: StudyConfig, cells: list[Cell], failed: Mapping[str, str]) -> None:
    """The console summary at the end of a run: each failed cell and why (stderr), then the table."""
    for cid, reason in failed.items():
        print(f"failed cell {cid}: {reason}", file=sys.stderr)
    print(format_summary(study, summary_rows(study, cells)))
