"""Compatibility import: the experiment config sits above data, training and models, in avtca/experiment.py."""

from avtca.experiment import ExperimentConfig, resolve_experiment

__all__ = ["ExperimentConfig", "resolve_experiment"]
