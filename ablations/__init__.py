"""Study machinery for AVT-CA ablations: study files, Optuna search, MLflow tracking, reports."""

__version__ = "0.1.0"
