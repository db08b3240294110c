"""Export a study from MLflow into runs/history/confusion/predictions.csv (the data behind every report)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from ablations.report.read.columns import CELL_KEYS, IDENTITY_COLUMNS, OPTIONAL_COLUMNS, REPEAT
from ablations.report.read.files import write_csv
from ablations.report.read.load import ReportInputError
from ablations.report.read.select import select_cells, study_objective, trials_frame
from ablations.tracking.cellset import keep_current
from ablations.tracking.record import REPEAT as REPEAT_TAG
from ablations.tracking.record import TRIAL_NUMBER, VARIANT_DESCRIPTION, VARIANT_INDEX

_SPLIT_ORDER = {"val": 0, "test": 1, "val_robust": 2, "test_robust": 3, "train": 4}
# columns that differ between two runs of the same study with the same results: ids and timings
VOLATILE = ("run_id", "start_time", "seconds", "latency_ms_per_clip", "seconds_per_epoch")
# runs.csv's leading columns: the identity columns with the repeat before the fold it numbers
_FOLD = IDENTITY_COLUMNS.index("fold")
REPEAT_PARAM = "data.repeat"  # the `repeat` column already (one name for one thing)
LEADING = (*IDENTITY_COLUMNS[:_FOLD], REPEAT, *IDENTITY_COLUMNS[_FOLD:])


def _volatile(col: str) -> bool:
    return col in VOLATILE or col.endswith(("/seconds", "_seconds"))


def _results_text(text: str) -> str:
    """A CSV's text without its volatile columns (compared as text: no float re-parsing)."""
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return df.drop(columns=[c for c in df.columns if _volatile(c)]).to_csv(index=False, lineterminator="\n")


def write_stable(path: Path, frame: pd.DataFrame) -> bool:
    """Write `frame` as CSV unless `path` already holds the same results (only run ids or timings differ): a
    re-run of an unchanged study leaves committed exports byte-identical. Returns whether it wrote."""
    if path.is_file():
        new = frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")
        try:
            same = _results_text(path.read_text(encoding="utf-8")) == _results_text(new)
        except (ValueError, pd.errors.ParserError):
            same = False  # an unreadable old file is replaced
        if same:
            return False
    write_csv(path, frame)
    return True


def _repeat(tags: dict[str, Any]) -> int:
    """A run's repeat (runs logged before repeats existed: 0, the protocol's own grouping)."""
    return int(tags.get(REPEAT_TAG, 0))


def _study_position(r: dict[str, Any]) -> tuple:
    """Study-file order (tag variant_index, from the runner) then seed, repeat and fold."""
    t = r["tags"]
    index = t.get(VARIANT_INDEX)
    return (int(index) if str(index).isdigit() else 10**9, int(t.get("seed", 0)), _repeat(t), str(t.get("fold", "")))


def _metric_key(col: str) -> tuple:
    split = col.split("/", 1)[0]
    return (_SPLIT_ORDER.get(split, 9), col)


def runs_frame(done: list[dict[str, Any]], study_name: str) -> pd.DataFrame:
    """runs.csv rows from the chosen run dicts: identity, factor and varying-parameter columns, final metrics."""
    varying = sorted(
        k for k in {k for r in done for k in r["params"]}
        if "." in k and k != REPEAT_PARAM and len({r["params"].get(k) for r in done}) > 1
    )  # fmt: skip
    records = []
    if all(VARIANT_INDEX in r["tags"] for r in done):
        done = sorted(done, key=_study_position)  # runs.csv order is the study order (ablations.report.read.order)
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
            REPEAT: _repeat(t),
            "fold": int(t["fold"]),
            "trial": t.get(TRIAL_NUMBER, t.get("trial", "")),
            "run_id": r["run_id"],
            "state": r["status"],
            "description": t.get(VARIANT_DESCRIPTION, ""),
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
                rec.setdefault(k, v)  # best_epoch, n_params, seconds, the cost figures (tracking.record.COST)
        records.append(rec)
    df = pd.DataFrame.from_records(records)
    if df.empty:
        return pd.DataFrame(columns=[*LEADING, *OPTIONAL_COLUMNS])
    fixed = [*LEADING, *OPTIONAL_COLUMNS]
    metrics = sorted((c for c in df.columns if "/" in c), key=_metric_key)
    others = sorted(c for c in df.columns if c not in fixed and c not in metrics)
    return df[fixed + others + metrics]


def _keyed(rows: list[dict[str, Any]], runs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    keys = runs[["run_id", *CELL_KEYS]]
    df = pd.DataFrame.from_records(rows)
    if df.empty:
        return pd.DataFrame(columns=[*CELL_KEYS, *order])
    df = df.merge(keys, on="run_id", how="inner").drop(columns="run_id")
    rest = sorted(c for c in df.columns if c not in (*CELL_KEYS, *order))
    return df[[*CELL_KEYS, *order, *rest]]


PREDICTION_COLUMNS = (*CELL_KEYS, "condition", "clip", "actor", "target", "prediction")


def predictions_frame(predictions: list[dict[str, Any]], runs: pd.DataFrame) -> pd.DataFrame:
    """predictions.csv: the chosen runs' per-clip test predictions, sorted by (variant in study order, seed,
    repeat, fold, condition, clip); numbers parsed (integer classes stay integers) so re-exports are byte-identical."""
    df = _keyed(predictions, runs, ["condition", "clip", "actor", "target", "prediction"])
    if df.empty:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    for col in ("target", "prediction"):
        number = pd.to_numeric(df[col], errors="coerce")
        if number.notna().all():  # multi-label rows ("0;1.5") stay text
            whole = (number == number.round()).all() and not df[col].astype(str).str.contains(r"[.eE]").any()
            df[col] = number.astype("int64") if whole else number
    df = _study_sorted(df, runs, ["condition", "clip"])
    return df[list(PREDICTION_COLUMNS)].reset_index(drop=True)


def _study_sorted(df: pd.DataFrame, runs: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    """`df` sorted by variant in study order (runs.csv keeps it), seed, repeat, fold, then the `then` columns."""
    rank = {v: i for i, v in enumerate(dict.fromkeys(runs["variant"]))}
    return df.sort_values(
        [*CELL_KEYS, *then],
        kind="stable",
        key=lambda col: col.map(rank) if col.name == "variant" else col,
    )


def export_frames(
    runs: list[dict[str, Any]],
    histories: list[dict[str, Any]],
    confusions: list[dict[str, Any]],
    study_name: str,
    predictions: list[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """The exported tables (runs, history, confusion, predictions, optuna) from read_study's plain results."""
    objective = study_objective(runs)
    chosen, trials = select_cells(runs, objective)
    table = runs_frame(chosen, study_name)
    history = _keyed(histories, table, ["epoch"])
    if not history.empty:
        history = _study_sorted(history, table, ["epoch"])
    confusion = _keyed(confusions, table, ["true", "pred", "count"])
    return {
        "runs.csv": table,
        "history.csv": history.reset_index(drop=True),
        "confusion.csv": confusion.reset_index(drop=True),
        "predictions.csv": predictions_frame(predictions or [], table),
        "optuna.csv": trials_frame(trials, objective),
    }


def export_from_mlflow(study_name: str, tracking_uri: str | None, out_dir: str | Path, all_cells: bool = False) -> Path:
    """Write runs, history, confusion, predictions (+ optuna when tuned) CSVs into out_dir; returns runs.csv.

    Only the cells of the study's latest run are exported unless `all_cells` (see ablations.tracking.cellset).
    """
    from ablations.tracking.read import StudyNotFound, read_study  # mlflow: loaded only to export from it

    try:
        runs, histories, confusions, predictions = read_study(study_name, tracking_uri)
    except StudyNotFound as err:
        raise ReportInputError(str(err)) from None
    if not all_cells:
        runs, dropped = keep_current(runs)
        if dropped:
            print(
                f"report: {dropped} run(s) of cells no longer in study '{study_name}' left out (--all-cells keeps them)"
            )
    frames = export_frames(runs, histories, confusions, study_name, predictions)
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
            write_stable(out / name, frame)
    return out / "runs.csv"
