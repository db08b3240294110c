"""Before a run: the study's validated cells, each cell's current state, the --dry-run table and its power."""

from __future__ import annotations

import sys
from typing import Any

from ablations.masking import mask
from ablations.runner.checks import check_environment, static_problems, tune_problems
from ablations.runner.outcome import EXIT_INVALID, EXIT_OK
from ablations.storage.claims import open_claim_store
from ablations.storage.database import is_sql_url
from ablations.study.cells import Cell, data_section, enumerate_cells, objective_problems, resolve
from ablations.study.schema import StudyConfig
from avtca.config.base import ConfigError, validate
from avtca.data.config import DataConfig
from avtca.data.protocols import n_folds_of
from avtca.data.registry import DATASETS

# integrity (it needs Optuna) and the report load inside the functions that use them: --explain, --schema and
# invalid files answer without importing them


def validated_cells(study: StudyConfig, study_file: str | None = None, repair: bool = False) -> list[Cell]:
    """The study's cells once everything knowable before the first claim checks out; else ConfigError (exit 2).

    `repair` (--repair-storage) repairs a damaged journal first, printing what it changed."""
    from ablations.storage.integrity import check_storage, repair_storage

    for check in (static_problems, check_environment, objective_problems):
        problems = check(study)
        if problems:
            raise ConfigError(problems, study_file)
    cells = enumerate_cells(study, study_file)
    problems = tune_problems(study, cells)
    if not problems and repair:
        try:
            for line in repair_storage(study, cells):
                print(f"repaired: {line}")
        except OSError as err:
            raise ConfigError([f"storage: {err}"], study_file) from None
    problems = problems or check_storage(study, cells)
    if problems:
        raise ConfigError(problems, study_file)
    return cells


def plan(study: StudyConfig, cells: list[Cell]) -> dict[str, str]:
    """Each cell's current state (pending / RUNNING / COMPLETE / FAILED), read without writing anything."""
    states: dict[str, str] = {c.cell_id: "pending" for c in cells}
    if is_sql_url(study.storage_url):
        from ablations.storage.integrity import sql_plan_states

        return {**states, **sql_plan_states(study, cells)}  # read-only: opening the claim store would create it
    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    stale = set(store.stale())
    for cid, st in store.status().items():
        if cid in states:
            states[cid] = "stale" if cid in stale else st.state
    return states


def print_plan(study: StudyConfig, cells: list[Cell], states: dict[str, str], out: Any = None) -> None:
    """The table of cells a run would execute."""
    out = out or sys.stdout
    print(
        f"study {study.name}: {len(cells)} cells, storage {mask(study.storage_url)}, tracking {mask(study.tracking)}",
        file=out,
    )
    width = max((len(c.variant) for c in cells), default=7)
    repeats = study.dataset.repeats > 1  # the repeat column only where the cross-validation is repeated
    print(f"  {'variant':<{width}}  seed  {'repeat  ' if repeats else ''}fold  cell_id           state", file=out)
    for c in cells:
        fold = "all" if c.fold < 0 else str(c.fold)
        repeat = f"{c.repeat:>6}  " if repeats else ""
        print(f"  {c.variant:<{width}}  {c.seed:>4}  {repeat}{fold:>4}  {c.cell_id}  {states[c.cell_id]}", file=out)
    todo = sum(1 for s in states.values() if not s.startswith("COMPLETE"))  # also "COMPLETE, no MLflow run"
    print(
        f"{todo} to run, {len(cells) - todo} already complete ({study.budget.trials_per_cell} trial(s) per cell)",
        file=out,
    )


def dry_run(
    study: StudyConfig, cells: list[Cell], states: dict[str, str], pilot: str | None = None, margin: float | None = None
) -> int:
    """--dry-run: the plan (complete cells whose MLflow run is gone shown so) and, with `pilot`, the design's power
    and which design reaches the margin (`margin`, else the study's report.margin, else the report's default; in
    the primary metric's units). Writes nothing."""
    from ablations.storage.integrity import with_tracking_states

    print_plan(study, cells, with_tracking_states(study, cells, states))
    return pilot_power(pilot, cells, study, margin) if pilot else EXIT_OK


def pilot_power(pilot: str, cells: list[Cell], study: StudyConfig, margin: float | None = None) -> int:
    """--dry-run --pilot: the power of this study's design and the designs that reach a margin, estimated from a
    pilot's export (docs/statistics.md)."""
    from ablations.report.compare.settings import Settings
    from ablations.report.read.load import ReportInputError
    from ablations.report.rendering.pilot import margin_plan, pilot_estimate

    variants = len({c.variant for c in cells})
    folds, seeds, repeats = len({c.fold for c in cells}), len({c.seed for c in cells}), study.dataset.repeats
    data = validate(DataConfig, data_section(study))
    protocol = DATASETS.get(data.name).protocol(data.protocol_name)
    report = study.report
    margin = margin if margin is not None else getattr(report, "margin", None)
    settings = Settings(margin=margin, metric=getattr(report, "metric", None), objective=study.objective.metric)
    seeding = resolve(study, cells[0].overrides).train.seeding if cells else "per_fold"
    try:
        print(pilot_estimate(pilot, folds, seeds, variants - 1, n_folds_of(data.protocol_name)))
        print(margin_plan(pilot, settings.checked(), (folds, seeds, repeats), variants,
                          n_folds_of(data.protocol_name), protocol.can_reshuffle, seeding))  # fmt: skip
    except ReportInputError as err:
        print(f"error: --pilot: {err}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
