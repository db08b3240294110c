"""Read and check the exported data (runs.csv, history.csv, confusion.csv, optuna.csv) behind every report."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ablations.report.read.columns import (
    COST_COLUMNS,
    IDENTITY_COLUMNS,
    METRICS,
    OPTIONAL_COLUMNS,
    REPEAT,
    SPLITS,
    TASK_METRICS,
    parse_condition,
    task_of,
)
from avtca.config.base import suggest

COMPLETED_STATES = {"", "nan", "FINISHED", "COMPLETE", "COMPLETED"}
_TRUE = {"true", "1", "yes", "t", "1.0"}
_FALSE = {"false", "0", "no", "f", "0.0", "", "nan"}


class ReportInputError(ValueError):
    """The exported data cannot be reported on; the message names the file, the column and what was expected."""


def _bool_column(df: pd.DataFrame, col: str, where: str) -> pd.Series:
    out = []
    for i, raw in enumerate(df[col].tolist()):
        low = str(raw).strip().lower()  # an empty cell reads as NaN -> "nan" -> false
        if low in _TRUE:
            out.append(True)
        elif low in _FALSE:
            out.append(False)
        else:
            raise ReportInputError(f"{where}: column '{col}', line {i + 2}: expected true/false, got {raw!r}")
    return pd.Series(out, index=df.index, dtype=bool)


def _int_column(df: pd.DataFrame, col: str, where: str) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReportInputError(f"{where}: column '{col}', line {i + 2}: expected an integer, got {df[col].iloc[i]!r}")
    return values.astype(int)


def _number_column(df: pd.DataFrame, col: str, where: str) -> pd.Series:
    """A numeric column where an empty cell is NaN (not measured) and anything else must be a number."""
    values = pd.to_numeric(df[col], errors="coerce")
    text = df[col].astype(str).str.strip()
    bad = values.isna() & df[col].notna() & ~text.isin({"", "nan", "NaN"})
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReportInputError(f"{where}: column '{col}', line {i + 2}: expected a number, got {df[col].iloc[i]!r}")
    return values.astype(float)


def check_metric_column(col: str, where: str) -> tuple[str, str | None, str] | None:
    """Split `test/uar` -> ('test', None, 'uar'), `test_robust/audio_off/uar` -> ('test_robust', 'audio_off', 'uar').

    Returns None for columns without '/' (factors, tuned parameters); raises on unknown splits, conditions or metrics.
    """
    if "/" not in col:
        return None
    parts = col.split("/")
    split = parts[0]
    if split not in SPLITS:
        raise ReportInputError(
            f"{where}: column '{col}': unknown metric split '{split}'; expected one of {', '.join(SPLITS)}"
            f"{suggest(split, SPLITS)}"
        )
    if split == "train":
        return split, None, "/".join(parts[1:])
    if split.endswith("_robust"):
        if len(parts) != 3:
            raise ReportInputError(f"{where}: column '{col}': expected {split}/<condition>/<metric>")
        condition, metric = parts[1], parts[2]
        if parse_condition(condition) is None:
            known = ["audio_off", "video_off", "audio_noise_<level>", "video_noise_<level>"]
            raise ReportInputError(
                f"{where}: column '{col}': unknown robustness condition '{condition}'; expected one of "
                f"{', '.join(known)}{suggest(condition, known[:2] + ['audio_noise_0.5', 'video_noise_0.5'])}"
            )
    else:
        if len(parts) != 2:
            raise ReportInputError(f"{where}: column '{col}': expected {split}/<metric>")
        condition, metric = None, parts[1]
    if metric not in METRICS:
        raise ReportInputError(
            f"{where}: column '{col}': unknown metric '{metric}'; known metrics are {', '.join(METRICS)}"
            f"{suggest(metric, METRICS)}"
        )
    return split, condition, metric


def group_task(group: pd.DataFrame) -> str:
    """The task of one dataset's rows, from the test metrics that hold values."""
    names = {c.split("/")[1] for c in group.columns if c.startswith("test/") and group[c].notna().any()}
    return task_of(names)


def load_runs(path: str | Path) -> pd.DataFrame:
    """Load and check runs.csv; rows of unfinished cells are dropped (their count is in `df.attrs['dropped']`)."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ReportInputError(f"{where}: file not found (expected an exported runs.csv)")
    check_rows_complete(path)
    try:
        df = pd.read_csv(path, dtype={"study": str, "dataset": str, "protocol": str, "variant": str,
                                      "description": str})  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ReportInputError(f"{where}: not a readable CSV file ({err})") from None
    return check_runs(df, where)


def check_rows_complete(path: Path) -> None:
    """Every record has as many fields as the header: a file cut mid-row is an error, not a row of NaNs."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return  # empty: pandas' EmptyDataError reports it
            for record in reader:
                if record and len(record) != len(header):
                    raise ReportInputError(
                        f"{path}: line {reader.line_num}: {len(record)} fields, the header has {len(header)} "
                        "(the file looks cut mid-row or hand-edited; re-export it)"
                    )
            fh.seek(0, 2)
            if fh.tell() and not _ends_with_newline(path):
                # a last record without its line end was most likely cut mid-write, even if the field count fits
                raise ReportInputError(f"{path}: line {reader.line_num}: the last row has no line end "
                                       "(the file looks cut mid-row; re-export it)")  # fmt: skip
    except (UnicodeDecodeError, csv.Error) as err:
        raise ReportInputError(f"{path}: not a readable CSV file ({err})") from None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) in (b"\n", b"\r")


def check_runs(df: pd.DataFrame, where: str = "runs.csv") -> pd.DataFrame:
    """Check a runs table against the runs.csv contract and normalise its identity columns."""
    for col in IDENTITY_COLUMNS:
        if col not in df.columns:
            present = [c for c in df.columns if "/" not in c]
            raise ReportInputError(
                f"{where}: missing column '{col}'; runs.csv needs {', '.join(IDENTITY_COLUMNS)}{suggest(col, present)}"
            )
    for col in df.columns:
        check_metric_column(str(col), where)
    df = df.copy()
    for col in (*OPTIONAL_COLUMNS, "description"):
        if col not in df.columns:
            df[col] = ""
    df["description"] = df["description"].fillna("").astype(str).str.strip()
    for col in ("study", "dataset", "protocol", "variant"):
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise ReportInputError(f"{where}: column '{col}', line {i + 2}: empty; every row needs a {col}")
        df[col] = df[col].astype(str)
    df["seed"] = _int_column(df, "seed", where)
    df["fold"] = _int_column(df, "fold", where)
    # one cross-validation unless the export numbers its repeats; an empty cell is the first repeat
    df[REPEAT] = _int_column(df.assign(**{REPEAT: df[REPEAT].fillna(0)}), REPEAT, where) if REPEAT in df else 0
    _check_non_negative(df, REPEAT, where)
    for col in (c for c in COST_COLUMNS if c in df.columns):
        df[col] = _number_column(df, col, where)
    df["reference"] = _bool_column(df, "reference", where)
    df["subject_independent"] = _bool_column(df, "subject_independent", where)
    state = df["state"].fillna("").astype(str).str.strip().str.upper()
    keep = state.isin({s.upper() for s in COMPLETED_STATES})
    dropped = int((~keep).sum())
    df = df[keep].reset_index(drop=True)
    if df.empty:
        raise ReportInputError(f"{where}: no completed rows (state FINISHED/COMPLETE) to report on")
    _check_values(df, where)
    _check_cells(df, where)
    df.attrs["dropped"] = dropped
    return df


def _check_values(df: pd.DataFrame, where: str) -> None:
    if not any(c.startswith("test/") for c in df.columns):
        raise ReportInputError(f"{where}: no test metric columns (test/<metric>); nothing to report")
    for col in df.columns:
        parsed = check_metric_column(col, where)
        if parsed is None or parsed[0] == "train":
            continue
        values = df[col] = _number_column(df, col, where)
        if METRICS[parsed[2]].percent and ((values < 0) | (values > 1)).any():
            i = int(np.flatnonzero(((values < 0) | (values > 1)).to_numpy())[0])
            raise ReportInputError(
                f"{where}: column '{col}', line {i + 2}: {values.iloc[i]} is not a fraction in [0, 1] "
                f"(runs.csv stores {parsed[2]} as a fraction; the report shows percent)"
            )
    for (dataset,), group in df.groupby(["dataset"], sort=True):
        task = group_task(group)
        for metric in TASK_METRICS[task]:
            if f"test/{metric}" not in df.columns:
                need = ", ".join(f"test/{m}" for m in TASK_METRICS[task])
                raise ReportInputError(
                    f"{where}: missing column 'test/{metric}' for dataset '{dataset}' ({task} studies need {need})"
                )


def _check_non_negative(df: pd.DataFrame, col: str, where: str) -> None:
    bad = df[col] < 0
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReportInputError(f"{where}: column '{col}', line {i + 2}: expected an integer >= 0, "
                               f"got {df[col].iloc[i]}")  # fmt: skip


def _check_cells(df: pd.DataFrame, where: str) -> None:
    keys = ["dataset", "protocol", "variant", REPEAT, "seed", "fold"]
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        cell = ", ".join(f"{k}={row[k]}" for k in keys)
        raise ReportInputError(f"{where}: more than one row for the cell ({cell}); runs.csv holds one row per cell")
    for (dataset, protocol), group in df.groupby(["dataset", "protocol"], sort=True):
        flags = group.groupby("variant")["reference"].agg(["min", "max"])
        mixed = flags[flags["min"] != flags["max"]].index.tolist()
        if mixed:
            raise ReportInputError(f"{where}: variant '{mixed[0]}' is marked reference in some rows but not others")
        refs = flags[flags["max"]].index.tolist()
        if len(refs) > 1:
            raise ReportInputError(
                f"{where}: dataset '{dataset}' ({protocol}) has more than one reference variant: {', '.join(refs)}"
            )


def load_optional(path: Path, required: tuple[str, ...]) -> pd.DataFrame | None:
    """Load a sibling CSV (history, confusion, optuna) if it exists; a missing required column is an error."""
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    for col in required:
        if col not in df.columns:
            raise ReportInputError(
                f"{path}: missing column '{col}'; expected {', '.join(required)}{suggest(col, df.columns)}"
            )
    if "variant" in df.columns:
        df["variant"] = df["variant"].fillna("").astype(str)
    return df


PREDICTION_COLUMNS = ("variant", "seed", "fold", "condition", "clip", "actor", "target", "prediction")


def load_predictions(path: Path) -> pd.DataFrame | None:
    """Load predictions.csv (docs/reports.md) if it exists; checked strictly like runs.csv."""
    if not path.is_file():
        return None
    check_rows_complete(path)
    try:
        text_columns = ("variant", "condition", "clip", "actor", "target", "prediction")
        df = pd.read_csv(path, dtype={c: str for c in text_columns})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ReportInputError(f"{path}: not a readable CSV file ({err})") from None
    for col in PREDICTION_COLUMNS:
        if col not in df.columns:
            raise ReportInputError(f"{path}: missing column '{col}'; predictions.csv needs "
                                   f"{', '.join(PREDICTION_COLUMNS)}{suggest(col, df.columns)}")  # fmt: skip
    for col in ("variant", "condition", "clip", "actor"):
        empty = df[col].isna() | (df[col].str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise ReportInputError(f"{path}: column '{col}', line {i + 2}: empty")
    df["seed"] = _int_column(df, "seed", str(path))
    df["fold"] = _int_column(df, "fold", str(path))
    if REPEAT in df.columns:  # written by every export (ablations.report.read.export); optional when read
        df[REPEAT] = _int_column(df, REPEAT, str(path))
    return df
