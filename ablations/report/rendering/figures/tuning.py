"""Tuned studies: Optuna parameter importance and optimisation history (fig_optuna_importance.png,
fig_optuna_history.png; from optuna.csv, or from runs.csv columns that vary within a variant)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ablations.report.rendering.figures.base import plt, save, sns
from ablations.report.rendering.registry import ReportFigure, ReportInputs, register_figure
from ablations.report.rendering.tuning import Trials, importances, study_trials


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


def _importance(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    trials = study_trials(inputs)
    return None if trials is None else importance_figure(trials, inputs.study, path)


def _history(inputs: ReportInputs, i: int | None, path: Path) -> Path | None:
    trials = study_trials(inputs)
    return None if trials is None else history_figure(trials, inputs.study, path)


register_figure(
    ReportFigure("optuna_importance", "Optuna parameter importance", _importance, per_group=False, order=60)
)
register_figure(ReportFigure("optuna_history", "Optuna optimisation history", _history, per_group=False, order=61))
