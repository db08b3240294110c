"""Export a study from MLflow into runs.csv, history.csv and confusion.csv (the data behind every report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ablations.report.metrics import IDENTITY_COLUMNS, OPTIONAL_COLUMNS
from ablations.report.select import select_cells, study_objective, trials_frame

_SPLIT_ORDER = {"val": 0, "test": 1, "val_robust": 2, "test_robust": 3, "train": 4}


def _metric_key(col: str) -> tuple:
    split = col.split("/", 1)[0]
    return (_SPLIT_ORDER.get(split, 9), col)


def runs_frame(done: list[dict[str, Any]], study_name: str) -> pd.DataFrame:
    """runs.csv rows from the chosen run dicts: identity, factor and varying-parameter columns, final metrics."""
    varying = sorted(
        k for k in {k for r in done for k in r["params"]}
        if "." in k and len({r["params"].get(k) for r in done}) > 1
    )  # fmt: skip
    records = []
    for r in done:
        t, p = r["tags"], r["params"]
        rec: dict[str, Any] = {
            "study": t.get("study", study_name),
            "dataset": t.get("dataset", p.get("data.name", "unknown")),
            "protocol": t.get("protocol", p.get("data.protocol", "unknown")),
            "subject_independent": str(t.get("subject_independent", "false")).lower() == "true",
            "variant": t["variant"],
            "reference": str(t.get("reference", "false")).lower() == "true",
            "seed": int(t["seed"]),
            "fold": int(t["fold"]),
            "trial": t.get("optuna.trial_number", t.get("trial", "")),
            "run_id": r["run_id"],
            "state": r["status"],
        }
        for k, v in sorted(t.items()):
            if k.startswith("factor."):
                rec[k[len("factor.") :]] = v
        for k in varying:
            rec.setdefault(k, p.get(k))
        if "data.root" in p:
            rec.setdefault("data.root", p["data.root"])
        for k, v in r["metrics"].items():
            if "/" in k and k.split("/", 1)[0] in _SPLIT_ORDER:
                rec[k] = v
            elif "/" not in k:
                rec.setdefault(k, v)  # best_epoch, n_params, seconds
        records.append(rec)
    df = pd.DataFrame.from_records(records)
    if df.empty:
        return pd.DataFrame(columns=[*IDENTITY_COLUMNS, *OPTIONAL_COLUMNS])
    fixed = [*IDENTITY_COLUMNS, *OPTIONAL_COLUMNS]
    metrics = sorted((c for c in df.columns if "/" in c), key=_metric_key)
    others = sorted(c for c in df.columns if c not in fixed and c not in metrics)
    return df[fixed + others + metrics]


def _keyed(rows: list[dict[str, Any]], runs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    keys = runs[["run_id", "variant", "seed", "fold"]]
    df = pd.DataFrame.from_records(rows)
    if df.empty:
        return pd.DataFrame(columns=["variant", "seed", "fold", *order])
    df = df.merge(keys, on="run_id", how="inner").drop(columns="run_id")
    rest = sorted(c for c in df.columns if c not in ("variant", "seed", "fold", *order))
    return df[["variant", "seed", "fold", *order, *rest]]


def export_frames(
    runs: list[dict[str, Any]], histories: list[dict[str, Any]], confusions: list[dict[str, Any]], study_name: str
) -> dict[str, pd.DataFrame]:
    """The exported tables (runs, history, confusion, optuna) from read_study's plain results."""
    objective = study_objective(runs)
    chosen, trials = select_cells(runs, objective)
    table = runs_frame(chosen, study_name)
    history = _keyed(histories, table, ["epoch"]).sort_values(["variant", "seed", "fold", "epoch"], kind="stable")
    confusion = _keyed(confusions, table, ["true", "pred", "count"])
    return {"runs.csv": table, "history.csv": history.reset_index(drop=True),
            "confusion.csv": confusion.reset_index(drop=True), "optuna.csv": trials_frame(trials, objective)}


def export_from_mlflow(study_name: str, tracking_uri: str | None, out_dir: str | Path, all_cells: bool = False) -> Path:
    """Write runs.csv, history.csv, confusion.csv (and optuna.csv for tuned cells) into out_dir; returns runs.csv.

    Only the cells of the study's latest run are exported unless `all_cells` (see ablations.cellset).
    """
    from ablations.report.load import ReportInputError
    from ablations.tracking.read import StudyNotFound, read_study
    from ablations.report.render import write_csv

    try:
        runs, histories, confusions = read_study(study_name, tracking_uri)
    except StudyNotFound as err:
        raise ReportInputError(str(err)) from None
    if not all_cells:
        from ablations.cellset import keep_current

        runs, dropped = keep_current(runs)
        if dropped:
            print(f"report: {dropped} run(s) of cells no longer in study '{study_name}' left out (--all-cells keeps them)")
    frames = export_frames(runs, histories, confusions, study_name)
    if frames["runs.csv"].empty:
        raise ReportInputError(
            f"study '{study_name}' at {tracking_uri or 'the default tracking URI'}: no finished cell runs to export "
            f"({len(runs)} cell run(s) found, none FINISHED)"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if frame.empty:
            (out / name).unlink(missing_ok=True)  # never leave an earlier export's file beside the new runs.csv
        else:
            write_csv(out / name, frame)
    return out / "runs.csv"
