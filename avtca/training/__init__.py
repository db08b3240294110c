"""Training: configs, the epoch loop, evaluation with robustness conditions, and the signals it raises."""

from avtca.training.config import EvalConfig, TrainConfig
from avtca.training.errors import NonFiniteLoss, Pruned
from avtca.training.evaluate import Condition, Evaluation, evaluate, evaluate_robustness, predict, robustness_conditions
from avtca.training.loop import FitResult, fit, make_loss
from avtca.training.progress import SILENT, EpochBar, Progress
from avtca.training.train import TrainResult, make_loaders, save_best, train

__all__ = [
    "SILENT",
    "Condition",
    "EpochBar",
    "EvalConfig",
    "Evaluation",
    "FitResult",
    "NonFiniteLoss",
    "Progress",
    "Pruned",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "evaluate_robustness",
    "fit",
    "make_loaders",
    "make_loss",
    "predict",
    "robustness_conditions",
    "save_best",
    "train",
]
