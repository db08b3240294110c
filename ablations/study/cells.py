"""Cells (variant x seed x repeat x fold): enumerating a study's cells and their identity hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ablations.study.schema import CategoricalParam, FloatParam, IntParam, StudyConfig, choice_value, variant_grid
from avtca.config.base import ConfigError, apply_overrides, flatten, runtime_paths, suggest, validate
from avtca.data import dataset_info
from avtca.data.config import DataConfig
from avtca.experiment import ExperimentConfig, resolve_experiment
from avtca.metrics import METRIC_NAMES, higher_is_better

# knobs that pick where or how fast a cell runs, not what it computes (marked `runtime` on the config fields):
# outside its identity, so changing them (or a later release adding such a knob) never re-runs finished cells
RUNTIME_KEYS = frozenset(runtime_paths(ExperimentConfig))
ALL_FOLDS = -1  # fold of a cell whose tuning trials span every fold (budget.folds_per_trial: all)


@dataclass(frozen=True)
class Cell:
    """One unit of exactly-once work: a variant (named overrides + factor levels) at one seed, repeat and fold."""

    variant: str
    overrides: dict[str, Any]
    seed: int
    fold: int
    cell_id: str
    name: str = ""  # the named variant (without factor levels); "" when the study has no `variants`
    factors: dict[str, Any] = field(default_factory=dict)  # factor path -> level of this cell
    folds: tuple[int, ...] = ()  # folds a trial of this cell runs (one, or all of them for ALL_FOLDS)
    description: str = ""  # the named variant's one-line description (study file); not part of cell_id
    repeat: int = 0  # cross-validation repeat (data.repeat: 0 = the protocol's own actor grouping)

    def describe(self) -> str:
        """`variant seed=S fold=F` (`... repeat=R fold=F` for a reshuffled repeat) for logs and progress bars."""
        fold = "all" if self.fold == ALL_FOLDS else self.fold
        repeat = f" repeat={self.repeat}" if self.repeat else ""
        return f"{self.variant} seed={self.seed}{repeat} fold={fold}"


def cell_id(cfg: Any, seed: int, fold: int) -> str:
    """sha256 of the canonical JSON of the resolved config minus runtime knobs, plus seed and fold (16 hex).

    The repeat is in the config (`data.repeat`), and so is `train.seeding`: both change what a cell computes."""
    flat = flatten(cfg.model_dump(mode="json"))
    ident = {k: v for k, v in flat.items() if k not in RUNTIME_KEYS}
    # the dataset location is a path (runtime), but generated vs real data is not
    if "data.root" in ident:
        ident["data.root"] = "synthetic" if ident["data.root"] == "synthetic" else "<dir>"
    canonical = json.dumps({"config": ident, "seed": seed, "fold": fold}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def data_section(study: StudyConfig) -> dict[str, Any]:
    """The experiment's `data` section from the study's `dataset` block."""
    ds = study.dataset
    data: dict[str, Any] = {"name": ds.name, "root": ds.root}
    if ds.protocol is not None:
        data["protocol"] = ds.protocol
    return apply_overrides(data, ds.options)


def resolve(study: StudyConfig, overrides: Mapping[str, Any], source: str | None = None):
    """The validated ExperimentConfig of one cell (study-wide settings, then the cell's overrides)."""
    return resolve_experiment(
        study.preset, data=data_section(study), train=study.train, eval=study.eval, overrides=overrides, source=source
    )


def variant_overrides(study: StudyConfig) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(label, name, factor levels, overrides) per variant label, in study order."""
    out = []
    for label, name, levels in variant_grid(study):
        over = {**study.overrides, **(study.variant_overrides_of(name) if name else {}), **levels}
        if study.budget.epochs is not None:
            over["train.epochs"] = study.budget.epochs
        out.append((label, name, levels, over))
    return out


def study_folds(study: StudyConfig) -> list[int]:
    """The folds the study runs (`all` expands to every fold of the dataset's protocol)."""
    if study.dataset.folds != "all":
        return list(study.dataset.folds)
    return list(range(dataset_info(validate(DataConfig, data_section(study))).n_folds))


def enumerate_cells(study: StudyConfig, source: str | None = None) -> list[Cell]:
    """Every cell of the study, each resolved and validated; raises ConfigError naming the bad variant."""
    folds = study_folds(study)
    span = study.budget.folds_per_trial == "all"
    cells: list[Cell] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for label, name, levels, over in variant_overrides(study):
        where = f"variants.{name}" if name else "factors"
        for seed, repeat in ((s, r) for s in study.seeds for r in range(study.dataset.repeats)):
            # repeat 0 has no override: adding repeats to a study leaves its existing cells (and ids) as they were
            over_seed = {**over, "train.seed": seed, **({"data.repeat": repeat} if repeat else {})}
            try:
                cfg = resolve(study, over_seed)
            except ConfigError as err:
                at = where if label == name else f"{where} ({label})"
                problems += [f"{at}: {p}" for p in err.problems]
                break
            for fold in [ALL_FOLDS] if span else folds:
                cid = cell_id(cfg, seed, fold)
                if cid in seen:
                    problems.append(f"{where}: '{label}' resolves to the same experiment as '{seen[cid]}'")
                    continue
                seen[cid] = label
                run_folds = tuple(folds) if fold == ALL_FOLDS else (fold,)
                text = study.variant_description(name) if name else ""
                cells.append(Cell(label, over_seed, seed, fold, cid, name, levels, run_folds, text, repeat))
    if problems:
        raise ConfigError(sorted(set(problems), key=problems.index), source)
    return cells


def objective_problems(study: StudyConfig) -> list[str]:
    """The objective metric must be one the dataset's task produces, optimised in its natural direction; so must the
    report's primary metric."""
    task = dataset_info(validate(DataConfig, data_section(study))).task
    allowed = [f"val/{m}" for m in (*METRIC_NAMES[task], "loss")]
    metric, direction = study.objective.metric, study.objective.direction
    if metric not in allowed:
        return [
            f"objective.metric: '{metric}' is not a {task} metric; one of {', '.join(allowed)}"
            f"{suggest(metric, allowed)}"
        ]
    natural = "maximize" if higher_is_better(metric.split("/", 1)[1]) else "minimize"
    if direction != natural:
        return [f"objective.direction: '{direction}' for {metric}; it should be '{natural}'"]
    primary = getattr(study.report, "metric", None)
    if primary is not None and primary.split("/")[-1] not in METRIC_NAMES[task]:
        names = list(METRIC_NAMES[task])
        hint = suggest(primary, names)
        return [f"report.metric: '{primary}' is not a {task} metric; one of {', '.join(names)}{hint}"]
    return []


def factor_params(study: StudyConfig, cell: Cell) -> dict[str, str]:
    """The cell's fixed Optuna parameters: `variant` (when named) and each factor as its level text."""
    out = {"variant": cell.name} if study.variants else {}
    out.update({k: choice_value(v) for k, v in cell.factors.items()})
    return out


def optuna_study_name(study: StudyConfig, cell: Cell) -> str:
    """One Optuna study per study file; with `tune`, one per variant so samplers and pruners compare like with like."""
    return f"{study.name}/{cell.variant}" if study.tune else study.name


def trial_overrides(study: StudyConfig, cell: Cell, trial: Any) -> dict[str, Any]:
    """Ask the trial for the cell's factor levels (fixed) and the tuned parameters; returns dotted overrides."""
    for key, expected in factor_params(study, cell).items():
        if key == "variant":
            got = trial.suggest_categorical("variant", list(study.variants))
        else:
            got = trial.suggest_categorical(key, [choice_value(v) for v in study.factors[key]])
        if got != expected:
            raise RuntimeError(f"trial proposed {key}={got!r} for a cell with {key}={expected!r}")
    tuned: dict[str, Any] = {}
    for key, spec in study.tune.items():
        if isinstance(spec, FloatParam):
            tuned[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            tuned[key] = trial.suggest_int(key, spec.low, spec.high, step=spec.step, log=spec.log)
        elif isinstance(spec, CategoricalParam):
            texts = [choice_value(c) for c in spec.choices]
            tuned[key] = spec.choices[texts.index(trial.suggest_categorical(key, texts))]
    return tuned
