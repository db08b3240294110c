"""The Objective under optuna.trial.FixedTrial: real training on tiny synthetic data, fixed cell params."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest

from ablations.storage.optuna import trial_metrics
from ablations.study.cells import enumerate_cells, trial_overrides
from ablations.study.schema import StudyConfig
from ablations.workers.trial import Objective, make_pruner
from avtca.config.base import validate
from avtca.training import Pruned
from tests.tiny import TINY


def tiny(**changes) -> StudyConfig:
    return validate(StudyConfig, {**TINY, **changes})


def test_objective_trains_a_cell_under_a_fixed_trial(workdir):
    study = tiny()
    cell = next(c for c in enumerate_cells(study) if c.variant == "audio_only")
    trial = optuna.trial.FixedTrial({"variant": "audio_only"})
    value = Objective(study, cell)(trial)
    metrics = trial_metrics(trial)
    assert 0.0 <= value <= 1.0 and value == pytest.approx(metrics["val/accuracy"])
    assert {"val/uar", "test/accuracy", "test/f1_macro"} <= set(metrics)
    assert trial.user_attrs["cell_id"] == cell.cell_id and trial.user_attrs["seed"] == 0
    # short attributes only (optuna-dashboard shows each as one row); curves and per-class data live in MLflow
    assert all(not isinstance(v, (dict, list)) and len(str(v)) < 80 for v in trial.user_attrs.values())


def test_a_trial_proposing_another_variant_is_refused(workdir):
    study = tiny()
    cell = next(c for c in enumerate_cells(study) if c.variant == "audio_only")
    with pytest.raises(RuntimeError, match="variant='full' for a cell with variant='audio_only'"):
        Objective(study, cell)(optuna.trial.FixedTrial({"variant": "full"}))


def _fake_result(cfg, value=0.5):
    # what the objective reads from avtca.training.TrainResult
    return SimpleNamespace(
        metrics={"val/accuracy": value, "test/accuracy": value},
        best_epoch=1,
        n_params=1,
        seconds=0.0,
        confusion=None,
        class_names=None,
        per_class=None,
        state_dict=None,
        device="cpu",
        precision="off",
    )


def test_tuned_parameters_reach_the_resolved_config():
    study = tiny(
        tune={
            "train.lr": {"kind": "float", "low": 1e-4, "high": 1e-1, "log": True},
            "train.batch_size": {"kind": "categorical", "choices": [4, 8]},
        },
        budget={"trials_per_cell": 3},
    )
    cell = enumerate_cells(study)[0]
    seen = []

    def record(cfg, fold, report, progress):
        seen.append((cfg.train.lr, cfg.train.batch_size, fold))
        return _fake_result(cfg)

    trial = optuna.trial.FixedTrial({"variant": "full", "train.lr": 0.0123, "train.batch_size": 4})
    assert Objective(study, cell, train_fn=record)(trial) == 0.5
    assert seen == [(0.0123, 4, 0)]
    assert trial_overrides(study, cell, trial) == {"train.lr": 0.0123, "train.batch_size": 4}


def test_pruning_applies_to_tuning_trials_only():
    assert isinstance(make_pruner(tiny(pruner={"kind": "median"})), optuna.pruners.NopPruner)
    tuned = tiny(
        pruner={"kind": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
        tune={"train.lr": {"kind": "float", "low": 1e-4, "high": 1e-1}},
        budget={"trials_per_cell": 3},
    )
    assert isinstance(make_pruner(tuned), optuna.pruners.MedianPruner)
    cell = enumerate_cells(tuned)[0]
    ostudy = optuna.create_study(direction="maximize", pruner=make_pruner(tuned))

    def curve(values):
        def train(cfg, fold, report, progress):
            for epoch, v in enumerate(values, 1):
                report(epoch, {"val/accuracy": v, "train/loss": 1.0})
            return _fake_result(cfg, values[-1])

        return train

    good = ostudy.ask({"variant": optuna.distributions.CategoricalDistribution(["full", "audio_only"])})
    # the first trial sets the median; a later, clearly worse curve is pruned at its first epoch
    ostudy.tell(good, Objective(tuned, cell, train_fn=curve([0.9, 0.9]))(_fixed(good, "full")))
    bad = ostudy.ask()
    with pytest.raises(optuna.TrialPruned):
        Objective(tuned, cell, train_fn=curve([0.1, 0.1]))(_FixedWithPruning(bad))
    assert Pruned is not optuna.TrialPruned  # the study layer translates one into the other


def _fixed(trial, variant):
    trial.suggest_categorical("variant", ["full", "audio_only"])
    return _FixedWithPruning(trial)


class _FixedWithPruning:
    """A real optuna Trial whose `variant` answer is pinned (as PartialFixedSampler pins it in a study)."""

    def __init__(self, trial):
        self._trial = trial

    def suggest_categorical(self, name, choices):
        return "full" if name == "variant" else self._trial.suggest_categorical(name, choices)

    def __getattr__(self, name):
        return getattr(self._trial, name)
