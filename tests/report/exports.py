"""Small hand-made exports (runs.csv, history.csv, confusion.csv) in the documented format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

VARIANTS = ("full", "no_cross_attention", "audio_only")
CONDITIONS = ("audio_off", "video_off", "audio_noise_0.5", "audio_noise_1.0", "video_noise_0.5", "video_noise_1.0")
CLASSES = ("neutral", "happy", "sad")


def make_runs(seeds=(0, 1, 2), folds=(0, 1), seed: int = 7) -> pd.DataFrame:
    """One row per (variant, seed, fold): full model best, audio-only clearly worse."""
    rng = np.random.default_rng(seed)
    shift = {"full": 0.0, "no_cross_attention": -0.02, "audio_only": -0.15}
    rows = []
    trial = 0
    for variant in VARIANTS:
        for s in seeds:
            for f in folds:
                base = 0.70 + shift[variant] + rng.normal(0, 0.02)
                row = {
                    "study": "toy",
                    "dataset": "ravdess",
                    "protocol": "actor-6fold",
                    "subject_independent": True,
                    "variant": variant,
                    "reference": variant == "full",
                    "seed": s,
                    "fold": f,
                    "trial": trial,
                    "run_id": f"run{trial:03d}",
                    "state": "FINISHED",
                    "model.cross_attention.kind": "off" if variant == "no_cross_attention" else "bidirectional",
                    "model.modalities": "audio" if variant == "audio_only" else "audio_video",
                    "val/accuracy": round(base + rng.normal(0, 0.01), 4),
                    "test/accuracy": round(base, 4),
                    "test/uar": round(base - 0.01 + rng.normal(0, 0.01), 4),
                    "test/f1_macro": round(base - 0.02 + rng.normal(0, 0.01), 4),
                    "test/f1_weighted": round(base - 0.015 + rng.normal(0, 0.01), 4),
                }
                for k, cond in enumerate(CONDITIONS):
                    row[f"test_robust/{cond}/accuracy"] = round(base - 0.05 * (k + 1) + rng.normal(0, 0.01), 4)
                rows.append(row)
                trial += 1
    return pd.DataFrame(rows)


def make_history(runs: pd.DataFrame, epochs: int = 3) -> pd.DataFrame:
    """Per-epoch train loss and val accuracy for every cell."""
    rows = []
    for _, r in runs.iterrows():
        for e in range(epochs):
            rows.append({"variant": r["variant"], "seed": r["seed"], "fold": r["fold"], "epoch": e,
                         "train/loss": 1.5 / (e + 1),
                         "val/accuracy": r["val/accuracy"] * (e + 1) / epochs})  # fmt: skip
    return pd.DataFrame(rows)


def make_confusion(runs: pd.DataFrame) -> pd.DataFrame:
    """A diagonal-heavy confusion matrix per cell in long format."""
    rows = []
    for _, r in runs.iterrows():
        for i, t in enumerate(CLASSES):
            for j, p in enumerate(CLASSES):
                count = 8 if i == j else (i + j + r["seed"]) % 3
                rows.append({"variant": r["variant"], "seed": r["seed"], "fold": r["fold"], "true": t, "pred": p,
                             "count": count})  # fmt: skip
    return pd.DataFrame(rows)


def write_export(folder: Path, runs: pd.DataFrame | None = None) -> Path:
    """Write runs.csv, history.csv and confusion.csv into `folder`; returns the runs.csv path."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = make_runs() if runs is None else runs
    runs.to_csv(folder / "runs.csv", index=False)
    if "val/accuracy" in runs.columns:
        make_history(runs).to_csv(folder / "history.csv", index=False)
        make_confusion(runs).to_csv(folder / "confusion.csv", index=False)
    return folder / "runs.csv"


def unit_runs(values: dict[str, list[float]], study="known", dataset="ravdess", protocol="actor-6fold",
              seeds=(0,), repeats: int | None = None, **columns) -> pd.DataFrame:  # fmt: skip
    """runs.csv rows with exact per-unit values: `values[variant][u]` is the test accuracy (and UAR, F1) of unit u
    for every seed; with `repeats`, unit u is fold u % (units / repeats) of repeat u // (units / repeats). The first
    variant is the reference; `columns` are added to every row (a callable gets the variant)."""
    rows = []
    for i, (variant, per_unit) in enumerate(values.items()):
        folds = len(per_unit) // (repeats or 1)
        for u, v in enumerate(per_unit):
            for s in seeds:
                row = {
                    "study": study,
                    "dataset": dataset,
                    "protocol": protocol,
                    "subject_independent": True,
                    "variant": variant,
                    "reference": i == 0,
                    "seed": s,
                    "fold": u % folds,
                    "state": "FINISHED",
                    "test/accuracy": v,
                    "test/uar": v,
                    "test/f1_macro": v - 0.01,
                    "test/f1_weighted": v - 0.01,
                }
                if repeats:
                    row["repeat"] = u // folds
                row.update({k: (c(variant) if callable(c) else c) for k, c in columns.items()})
                rows.append(row)  # fmt: skip
    return pd.DataFrame(rows)
