"""Tuned studies: Optuna parameter importance and optimisation history from exported trial data."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import optuna

from ablations.report import render
from ablations.report.rendering.tuning import importances, trials_from_optuna_csv, trials_from_runs
from tests.report.exports import make_runs, write_export


def _optuna_csv(path) -> None:
    """A real Optuna study's trials_dataframe(): the objective depends on lr only, not on dropout."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("train.lr", 1e-5, 1e-1, log=True)
        trial.suggest_float("model.dropout", 0.0, 0.5)
        trial.suggest_categorical("train.batch_size", [8, 16])
        return -abs(np.log10(lr) + 3.0)

    study.optimize(objective, n_trials=24)
    study.trials_dataframe().to_csv(path, index=False)


def test_tuned_study_gets_importance_and_history_figures(tmp_path):
    src = write_export(tmp_path / "e")
    _optuna_csv(src.parent / "optuna.csv")
    import pandas as pd

    trials = trials_from_optuna_csv(pd.read_csv(src.parent / "optuna.csv"), "optuna.csv")
    imp = importances(trials)
    assert set(imp) == {"train.lr", "model.dropout", "train.batch_size"}
    assert max(imp, key=imp.get) == "train.lr"  # the only parameter the objective depends on
    assert imp == importances(trials)  # seeded: same numbers every time

    dest = render(src, out=tmp_path / "r", formats=("png",))
    for name in ("fig_optuna_importance.png", "fig_optuna_history.png"):
        data = (dest / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert mpimg.imread(dest / name).std() > 0.01
    assert "Optuna parameter importance" in (dest / "README.md").read_text()


def test_tuned_parameters_found_in_runs_csv():
    runs = make_runs()
    assert trials_from_runs(runs, "classification") is None  # factors are constant within a variant
    runs["train.lr"] = np.where(runs["seed"] == 0, 1e-3, 1e-4)
    trials = trials_from_runs(runs, "classification")
    assert trials is not None and trials.params == ["train.lr"] and trials.objective == "val/accuracy"
    assert len(trials.frame) == len(runs) and trials.direction == "maximize"
