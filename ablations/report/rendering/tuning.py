"""Tuned studies: Optuna parameter importance and optimisation history from exported trial data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablations.report.read.columns import METRICS, main_metric
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.registry import ReportInputs

_NOT_TUNED = ("seed", "fold", "trial")


@dataclass
class Trials:
    """Finished trials: number, objective value and the tuned parameters' values."""

    frame: pd.DataFrame  # columns: number, value, <param>...
    params: list[str]
    objective: str
    direction: str  # maximize | minimize


def trials_from_optuna_csv(df: pd.DataFrame, where: str) -> Trials:
    """Read Optuna's `study.trials_dataframe()` export (number, value, state, params_<name>).

    Optional columns: `direction` (maximize | minimize, default maximize) and `objective` (the metric's name).
    """
    value = "value" if "value" in df.columns else "values_0" if "values_0" in df.columns else None
    if value is None or "number" not in df.columns:
        raise ReportInputError(f"{where}: expected Optuna's trials_dataframe columns 'number' and 'value'")
    if "state" in df.columns:
        df = df[df["state"].astype(str).str.upper() == "COMPLETE"]
    params = sorted(c for c in df.columns if c.startswith("params_"))
    frame = df[["number", value, *params]].rename(columns={value: "value", **{p: p[7:] for p in params}})
    direction = str(df["direction"].iloc[0]).lower() if "direction" in df.columns and len(df) else "maximize"
    objective = str(df["objective"].iloc[0]) if "objective" in df.columns and len(df) else "value"
    if direction not in ("maximize", "minimize"):
        raise ReportInputError(f"{where}: column 'direction': expected maximize or minimize, got {direction!r}")
    return Trials(frame.dropna(subset=["value"]).reset_index(drop=True), [p[7:] for p in params], objective, direction)


def trials_from_runs(runs: pd.DataFrame, task: str) -> Trials | None:
    """Tuned parameters are the dotted columns that vary within a variant; the objective is val/<main metric>."""
    metric = main_metric(task)
    objective = f"val/{metric}"
    if objective not in runs.columns:
        return None
    candidates = [c for c in runs.columns if "." in c and "/" not in c and not any(w in c for w in _NOT_TUNED)]
    tuned = [c for c in candidates if (runs.groupby("variant")[c].nunique(dropna=True) > 1).any()]
    if not tuned:
        return None
    frame = runs[[objective, *tuned]].rename(columns={objective: "value"}).copy()
    number = pd.to_numeric(runs.get("trial"), errors="coerce") if "trial" in runs.columns else None
    frame.insert(0, "number", number if number is not None and number.notna().all() else np.arange(len(runs)))
    frame = frame.sort_values("number", kind="stable").dropna(subset=["value"]).reset_index(drop=True)
    direction = "maximize" if METRICS[metric].higher_is_better else "minimize"
    return Trials(frame, sorted(tuned), objective, direction)


def _distribution(values: pd.Series):
    import optuna

    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        lo, hi = float(numeric.min()), float(numeric.max())
        if (numeric == np.floor(numeric)).all():
            return optuna.distributions.IntDistribution(int(lo), int(hi)), numeric.astype(int).tolist()
        log = lo > 0 and hi / lo >= 100
        return optuna.distributions.FloatDistribution(lo, hi, log=log), numeric.astype(float).tolist()
    texts = values.astype(str)
    return optuna.distributions.CategoricalDistribution(sorted(set(texts))), texts.tolist()


def importances(trials: Trials) -> dict[str, float]:
    """fANOVA importances (seeded) of the parameters that take more than one value; empty when not computable."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = [p for p in trials.params if trials.frame[p].nunique(dropna=True) > 1]
    frame = trials.frame.dropna(subset=params)
    if len(params) == 0 or len(frame) < 2:
        return {}
    dists, columns = {}, {}
    for p in params:
        dists[p], columns[p] = _distribution(frame[p])
    study = optuna.create_study(direction=trials.direction)
    for i, value in enumerate(frame["value"].astype(float)):
        values = {p: columns[p][i] for p in params}
        study.add_trial(optuna.trial.create_trial(params=values, distributions=dists, value=value))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        result = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):
        return {}
    return {k: float(v) for k, v in sorted(result.items(), key=lambda kv: (-kv[1], kv[0]))}


def study_trials(inputs: ReportInputs) -> Trials | None:
    """The tuning trials: optuna.csv when exported, else the runs themselves (one dataset only)."""
    if inputs.extra.get("optuna.csv") is not None:
        where = str(inputs.folder / "optuna.csv") if inputs.folder else "optuna.csv"
        return trials_from_optuna_csv(inputs.extra["optuna.csv"], where)
    if len(inputs.tables) == 1:
        return trials_from_runs(inputs.groups[0], inputs.tables[0].task)
    return None
