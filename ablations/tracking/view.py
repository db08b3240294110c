"""How the study's runs table first appears in MLflow's UI: the parent run, then every cell in study order, with
the study's main metric as a column and its curves first in the chart view.

MLflow's UI reads this view from two places: the experiment tag `mlflow.sharedViewState.<key>` (what its
"Share" button writes; a link with `viewStateShareKey=<key>` opens it, for anyone, on any server) and, behind
`ablations.ui`, the browser's stored state, which `ablations.tracking.front` fills for a fresh browser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ablations.tracking.record import (
    FOLD,
    FOLD_ROLE,
    ORDER_TAG,
    REPEAT,
    ROLE,
    SEED,
    STUDY_ROLE,
    TRIAL_NUMBER,
    VARIANT_INDEX,
)

SHARE_KEY = "study"
RUN_NAME_COLUMN = "attributes.`Run Name`"  # column ids of MLflow's runs table (3.17)
_COLUMNS = (RUN_NAME_COLUMN, "runDateAndNestInfo", "duration", "attributes.`Source`")
SHARE_TAG = f"mlflow.sharedViewState.{SHARE_KEY}"


def _padded(value: Any, width: int) -> str:
    text = str(value)
    return text.zfill(width) if text.isdigit() else text


def order_key(tags: Mapping[str, Any]) -> str:
    """The run's place in the study (its ORDER_TAG value): "0" for the parent; for a cell's run, the variant's
    position in the study file, then seed, repeat, fold and trial; a fold run under a trial spanning folds follows
    it."""
    if tags.get(ROLE) == STUDY_ROLE:
        return "0"
    parts = ["1", _padded(tags.get(VARIANT_INDEX, 9999), 4), _padded(tags.get(SEED, ""), 10)]
    repeat = str(tags.get(REPEAT, "0"))
    if repeat not in ("", "0"):  # a reshuffled repeat after the seed's repeat 0 ('r' sorts after digits)
        parts.append("r" + _padded(repeat, 3))
    if tags.get(ROLE) == FOLD_ROLE:  # under its trial, whose fold is "all"
        parts += ["all", _padded(tags.get(TRIAL_NUMBER, ""), 7), _padded(tags.get(FOLD, ""), 3)]
    else:
        parts += [_padded(tags.get(FOLD, ""), 3), _padded(tags.get(TRIAL_NUMBER, ""), 7)]
    return ".".join(parts)


def _column(kind: str, name: str) -> str:
    return f"{kind}.`{name}`"


def _chart(uuid: str, section: str, kind: str, metric: str, name: str) -> dict[str, Any]:
    chart: dict[str, Any] = {
        "uuid": uuid,
        "type": kind,
        "runsCountToCompare": 20,
        "metricSectionId": section,
        "deleted": False,
        "isGenerated": False,
        "displayName": name,
        "metricKey": metric,
    }
    if kind == "LINE":
        chart.update({"selectedMetricKeys": [metric], "lineSmoothness": 0, "xAxisKey": "step", "scaleType": "linear",
                      "xAxisScaleType": "linear", "yAxisKey": "metric", "yAxisExpressions": [],
                      "useGlobalXaxisKey": True, "useGlobalLineSmoothing": True, "ignoreOutliers": False,
                      "range": {}, "selectedXAxisMetricKey": ""})  # fmt: skip
    return chart


def runs_view(metric: str | None) -> dict[str, Any]:
    """The runs table's state as MLflow's UI stores it: sorted by ORDER_TAG (a flat list: MLflow nests children
    only when sorting by start time), the main metric's test and best-validation values as columns, and a chart
    view that leads with the curves of `metric` (a `val/*` name) and the test value per cell."""
    name = (metric or "val/accuracy").split("/", 1)[-1]
    test, best, val = f"test/{name}", f"best/val/{name}", f"val/{name}"
    sections = [
        {"uuid": "avtca-curves", "name": "per-epoch curves", "display": True, "isReordered": False,
         "deleted": False, "isGenerated": False},
        {"uuid": "avtca-test", "name": "test metric per cell", "display": True, "isReordered": False,
         "deleted": False, "isGenerated": False},
    ]  # fmt: skip
    charts = [
        _chart("avtca-val", "avtca-curves", "LINE", val, val),
        _chart("avtca-loss", "avtca-curves", "LINE", "train/loss", "train/loss"),
        _chart("avtca-test-bar", "avtca-test", "BAR", test, test),
    ]
    return {
        "searchFilter": "",
        "orderByKey": _column("tags", ORDER_TAG),
        "orderByAsc": True,
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "datasetsFilter": [],
        "modelVersionFilter": "All Runs",
        "selectedColumns": [_column("metrics", test), _column("metrics", best), _column("attributes", "Source")],
        # the main metric's test value first; run names such as "no_spatial_attention s0 f5" shown whole
        "columnOrder": [*_COLUMNS, _column("metrics", test), _column("metrics", best)],
        "columnWidths": {RUN_NAME_COLUMN: 270, _column("metrics", test): 130, _column("metrics", best): 150},
        "runsExpanded": {},
        "runsPinned": [],
        "runsHidden": [],
        "runsVisibilityMap": {},
        "runsHiddenMode": "FIRST_20_RUNS",
        "compareRunCharts": charts,
        "compareRunSections": sections,
        "viewMaximized": False,
        "runListHidden": False,
        "isAccordionReordered": True,  # keep the sections above in this order
        "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True,
        "groupBy": None,
        "groupsExpanded": {},
        "autoRefreshEnabled": True,
        "globalLineChartConfig": {"xAxisKey": "step", "lineSmoothness": 0, "selectedXAxisMetricKey": ""},
    }


def view_tag(metric: str | None) -> dict[str, str]:
    """The experiment tag a `viewStateShareKey` link opens."""
    return {SHARE_TAG: json.dumps(runs_view(metric), separators=(",", ":"))}
