"""Tuned studies: keep each cell's best trial by the validation objective, and list every trial (optuna.csv)."""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ablations.report.read.columns import METRICS, main_metric, task_of
from ablations.tracking.record import FOLD_ROLE, REPEAT, ROLE, TRIAL_NUMBER

_NOT_TUNED = ("seed", "fold")


@dataclass(frozen=True)
class SelectionObjective:
    """The validation metric trials were selected by, and its direction."""

    metric: str
    direction: str  # maximize | minimize


def study_objective(runs: list[dict[str, Any]]) -> SelectionObjective:
    """The objective from the parent run (`objective.metric`, `objective.direction`), else the main val metric."""
    info: dict[str, Any] = {}
    for r in runs:
        info = {**r.get("study", {}), **info}
    metric = info.get("objective.metric") or info.get("objective")
    if not metric:
        names = {k.split("/", 1)[1] for r in runs for k in r["metrics"] if k.startswith("test/")}
        metric = f"val/{main_metric(task_of(names))}"
    name = str(metric).split("/")[-1]
    default = "maximize" if METRICS.get(name, METRICS["accuracy"]).higher_is_better else "minimize"
    direction = str(info.get("objective.direction") or default).lower()
    return SelectionObjective(str(metric), direction if direction in ("maximize", "minimize") else default)


def _group_key(run: dict[str, Any]) -> tuple:
    t = run["tags"]
    base = (str(t["variant"]), int(t["seed"]), int(t.get(REPEAT, 0)))
    # a trial spanning folds is chosen as a whole: its fold runs share one group
    return base if t.get(ROLE) == FOLD_ROLE else (*base, int(t["fold"]))


def _score(runs: list[dict[str, Any]], metric: str) -> float:
    values = [float(r["metrics"][metric]) for r in runs if metric in r["metrics"]]
    return statistics.fmean(values) if len(values) == len(runs) and values else math.nan


def select_cells(
    runs: list[dict[str, Any]], objective: SelectionObjective
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One FINISHED run per (variant, seed, repeat, fold): the best trial by the objective where a cell has several.

    Returns the chosen runs and one record per finished trial (variant, seed, number, value, run).
    """
    groups: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
    for run in sorted(runs, key=lambda r: (r["start_time"] or 0, r["run_id"])):
        if run["status"] == "FINISHED":
            trial = str(run["tags"].get(TRIAL_NUMBER, run["run_id"]))
            groups.setdefault(_group_key(run), {}).setdefault(trial, []).append(run)
    chosen, trials = [], []
    sign = 1.0 if objective.direction == "maximize" else -1.0
    for key in sorted(groups):
        options = groups[key]
        scores = {tid: _score(rs, objective.metric) for tid, rs in options.items()}
        ranked = [tid for tid in options if not math.isnan(scores[tid])]
        # max() keeps the earliest of equal scores; without scores the latest trial stands
        best = max(ranked, key=lambda tid: sign * scores[tid]) if ranked else list(options)[-1]
        if len(options) > 1:
            print(f"note: cell {key}: {len(options)} finished trials, kept trial {best} "
                  f"(best {objective.metric}, {objective.direction})", file=sys.stderr)  # fmt: skip
        per_fold: dict[int, dict[str, Any]] = {}
        for run in options[best]:
            per_fold[int(run["tags"]["fold"])] = run  # a duplicate within one trial: the latest stands
        chosen.extend(per_fold[f] for f in sorted(per_fold))
        for tid, rs in options.items():
            trials.append({"variant": key[0], "seed": key[1], "number": tid, "value": scores[tid], "run": rs[0]})
    return chosen, trials


def trials_frame(trials: list[dict[str, Any]], objective: SelectionObjective) -> pd.DataFrame:
    """optuna.csv (Optuna's trials_dataframe layout) when some cell has several trials, else an empty frame."""
    by_cell: dict[tuple, list[dict[str, Any]]] = {}
    for t in trials:
        tags = t["run"]["tags"]
        by_cell.setdefault((t["variant"], t["seed"], tags.get(REPEAT, 0), tags.get("fold")), []).append(t)
    by_cell = {k: v for k, v in by_cell.items() if len(v) > 1}  # only tuned cells have an optimisation history
    if not by_cell:
        return pd.DataFrame()
    tuned = sorted(
        {k for group in by_cell.values() for k in group[0]["run"]["params"]
         if "." in k and not any(w in k for w in _NOT_TUNED)
         and len({t["run"]["params"].get(k) for t in group}) > 1}
    )  # fmt: skip
    rows = []
    for t in (t for group in by_cell.values() for t in group):
        number = pd.to_numeric(t["number"], errors="coerce")
        rows.append({"number": number, "value": t["value"], "state": "COMPLETE", "variant": t["variant"],
                     "seed": t["seed"], **{f"params_{k}": t["run"]["params"].get(k) for k in tuned},
                     "objective": objective.metric, "direction": objective.direction})  # fmt: skip
    df = pd.DataFrame(rows)
    if df["number"].isna().any():
        df["number"] = range(len(df))
    return df.sort_values(["number", "variant", "seed"], kind="stable").reset_index(drop=True)
