"""Tuned studies: Optuna parameter importance and optimisation history from exported trial data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ablations.report.read.columns import METRICS, main_metric
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.figures import plt, save, sns
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure

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


def importance_figure(trials: Trials, title: str, path: Path) -> Path | None:
    """Horizontal bars of fANOVA importance per tuned parameter."""
    imp = importances(trials)
    if not imp:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(imp) + 2))
    names = list(imp)
    sns.barplot(x=[imp[n] for n in names], y=names, hue=names, palette="colorblind", legend=False, ax=ax)
    ax.set_xlabel("importance (fANOVA share of objective variance, sums to 1)")
    ax.set_ylabel("tuned parameter")
    ax.set_title(f"{title}: parameter importance for {trials.objective} ({len(trials.frame)} trials)")
    fig.tight_layout()
    return save(fig, path)


def history_figure(trials: Trials, title: str, path: Path) -> Path | None:
    """Objective per trial (dots) and the best value so far (line)."""
    if trials.frame.empty:
        return None
    sns.set_theme(style="whitegrid", palette="colorblind")
    x = trials.frame["number"].to_numpy(float)
    y = trials.frame["value"].to_numpy(float)
    best = np.maximum.accumulate(y) if trials.direction == "maximize" else np.minimum.accumulate(y)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.scatter(x, y, s=18, label="trial")
    ax.step(x, best, where="post", color="C3", label=f"best so far ({trials.direction})")
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"objective ({trials.objective}, as logged)")
    ax.set_title(f"{title}: optimisation history")
    ax.legend(loc="best")
    fig.tight_layout()
    return save(fig, path)


def _trials(inputs: ReportInputs) -> Trials | None:
    """The tuning trials: optuna.csv when exported, else the runs themselves (one dataset only)."""
    if inputs.extra.get("optuna.csv") is not None:
        where = str(inputs.folder / "optuna.csv") if inputs.folder else "optuna.csv"
        return trials_from_optuna_csv(inputs.extra["optuna.csv"], where)
    if len(inputs.tables) == 1:
        return trials_from_runs(inputs.groups[0], inputs.tables[0].task)
    return None


def _importance(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    trials = _trials(inputs)
    return None if trials is None else importance_figure(trials, inputs.study, path)


def _history(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    trials = _trials(inputs)
    return None if trials is None else history_figure(trials, inputs.study, path)


register_figure(ReportFigure("optuna_importance", "Optuna parameter importance", _importance, per_group=False))
register_figure(ReportFigure("optuna_history", "Optuna optimisation history", _history, per_group=False))
