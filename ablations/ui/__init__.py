"""Browsing a study: `python -m ablations.ui STUDY.yaml` (__main__.py) serves MLflow's UI behind the front that
keeps its classic view, and optuna-dashboard through dashboard.py (trials linked to their MLflow runs)."""
