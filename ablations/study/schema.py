"""The study-file schema (`studies/*.yaml`), its loading and defaults (`ablations.study.explain` lists it)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from ablations.study.imports import MODULE_PATTERN, import_study_modules
from ablations.study.resources import SlurmOptions
from avtca.config.base import ConfigError, Strict, apply_overrides, load_yaml, parse_value, suggest, validate
from avtca.data.registry import DATASETS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# the name becomes file and folder names (`<name>.journal`, `<name>.claims/`); file systems stop at 255 bytes
MAX_NAME = 100
DESCRIPTION_KEY = "description"  # inside a variant: its one-line description, never a config override


class DatasetSpec(Strict):
    """Which dataset, where it lives, which protocol and folds, and preprocessing overrides."""

    name: Annotated[str, DATASETS] = Field(description="dataset adapter (a registered dataset)")
    root: str = Field("synthetic", description="dataset directory, or `synthetic` (generated on first use)")
    protocol: str | None = Field(None, description="evaluation protocol; None = the dataset's default")
    folds: list[NonNegativeInt] | Literal["all"] = Field(
        default_factory=lambda: [0], description="folds to run (list of indices) or `all`"
    )
    repeats: PositiveInt = Field(
        1,
        description="cross-validation repeats (actor k-fold protocols): repeat 0 is the protocol's own actor "
        "grouping, repeat r > 0 a seeded reshuffle of the actors into groups (each runs `folds`; data.repeat)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="extra `data` keys (dotted or nested): frames, image_size, n_mfcc, ..."
    )


class FloatParam(Strict):
    """A float hyper-parameter; `log: true` samples log-uniformly (e.g. learning rates)."""

    kind: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: PositiveFloat | None = None

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("log-uniform needs low > 0")
        return self


class IntParam(Strict):
    """An integer hyper-parameter (e.g. heads, layers)."""

    kind: Literal["int"] = "int"
    low: int
    high: int
    step: PositiveInt = 1
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        return self


class CategoricalParam(Strict):
    """A categorical hyper-parameter (e.g. batch size)."""

    kind: Literal["categorical"] = "categorical"
    choices: list[Any] = Field(min_length=1)


ParamSpec = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="kind")]


class TPESampler(Strict):
    """Tree-structured Parzen estimator for tuned parameters (Optuna's default)."""

    kind: Literal["tpe"] = "tpe"
    seed: int | None = 0
    n_startup_trials: NonNegativeInt = 5
    multivariate: bool = True


class RandomSampler(Strict):
    """Uniform random sampling of tuned parameters."""

    kind: Literal["random"] = "random"
    seed: int | None = 0


SamplerCfg = Annotated[TPESampler | RandomSampler, Field(discriminator="kind")]


class PrunerOff(Strict):
    """Never prune."""

    kind: Literal["off"] = "off"


class MedianPruner(Strict):
    """Prune a trial whose intermediate value is worse than the median of earlier trials at the same epoch."""

    kind: Literal["median"] = "median"
    n_startup_trials: NonNegativeInt = 5
    n_warmup_steps: NonNegativeInt = 1


class HyperbandPruner(Strict):
    """Hyperband over epochs."""

    kind: Literal["hyperband"] = "hyperband"
    min_resource: PositiveInt = 1
    reduction_factor: int = Field(3, ge=2)


class WilcoxonPruner(Strict):
    """Cross-validation pruner: a trial reports one score per fold and stops when it is significantly worse."""

    kind: Literal["wilcoxon"] = "wilcoxon"
    p_threshold: float = Field(0.1, gt=0, lt=1)
    n_startup_steps: NonNegativeInt = 2


PrunerCfg = Annotated[PrunerOff | MedianPruner | HyperbandPruner | WilcoxonPruner, Field(discriminator="kind")]


class Budget(Strict):
    """How long cells train and how many tuning trials each cell gets."""

    epochs: PositiveInt | None = Field(None, description="overrides train.epochs for every cell")
    trials_per_cell: PositiveInt = Field(1, description="Optuna trials per cell (>1 needs `tune`)")
    timeout_s: PositiveFloat | None = Field(None, description="stop starting new trials after this many seconds")
    folds_per_trial: Literal["one", "all"] = Field(
        "one", description="`all`: a tuning trial spans every fold (one score per fold; the wilcoxon pruner)"
    )


class ObjectiveSpec(Strict):
    """The value Optuna optimises and the summary table leads with."""

    metric: str = Field("val/accuracy", description="a `val/*` metric name")
    direction: Literal["maximize", "minimize"] = "maximize"


class Resources(Strict):
    """Where trials run."""

    device: str = Field("auto", description="auto | cpu | cuda | cuda:N (auto: GPUs round-robin over workers)")
    n_jobs: PositiveInt = Field(1, description="parallel workers, one trial each")
    threads_per_job: PositiveInt | None = Field(
        None, description="torch CPU threads per worker; None = train.threads, else cores/n_jobs"
    )
    grace_s: PositiveFloat = Field(120.0, description="a RUNNING claim with no heartbeat for this long is stale")
    trials_per_gpu: PositiveInt | None = Field(
        None,
        description="K workers share each GPU (CUDA_VISIBLE_DEVICES set per worker; local, dask, slurm); "
        "None = GPUs round-robin, no limit",
    )
    slurm: SlurmOptions | None = Field(None, description="the SLURM job array of `--launcher slurm`")


class ReportRender(Strict):
    """Render the report (`ablations.report.build`) when the study ends."""

    kind: Literal["render"] = "render"
    out: str = "reports"
    margin: NonNegativeFloat | None = Field(
        None,
        description="smallest difference that matters, declared before the study, in the primary metric's units "
        "(2 = 2 percentage points for % metrics; 0 = none: no 'equivalent' verdict); null = the report's default, "
        "2 points (0.02 for MAE and Corr); docs/statistics.md; --dry-run --pilot says which design reaches it",
    )
    metric: str | None = Field(
        None,
        description="primary metric of the main table, verdicts and figures (a test metric name, e.g. uar); "
        "null = the objective's metric, else the task's main metric",
    )


class ReportOff(Strict):
    """Do not render a report."""

    kind: Literal["off"] = "off"


ReportCfg = Annotated[ReportRender | ReportOff, Field(discriminator="kind")]


class StudyConfig(Strict):
    """A study file: dataset, variants x factors x seeds x folds, optional tuning, where to store results."""

    name: str = Field(
        pattern=NAME_PATTERN, max_length=MAX_NAME, description="study name: Optuna study, MLflow experiment, report dir"
    )
    description: str = ""
    imports: list[Annotated[str, Field(pattern=MODULE_PATTERN)]] = Field(
        default_factory=list,
        description="modules imported first, in every worker too (they register components, datasets...); "
        "found on sys.path or beside the study file",
    )
    dataset: DatasetSpec
    preset: str = Field("avtca", description="model preset every variant starts from")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted overrides applied to every cell")
    train: dict[str, Any] = Field(default_factory=dict, description="`train` section of every experiment")
    eval: dict[str, Any] = Field(default_factory=dict, description="`eval` section of every experiment")
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="named one-at-a-time ablations: name -> dotted overrides, plus an optional one-line "
        "`description` (what the variant removes or changes; shown in reports and MLflow, not part of cell ids)",
    )
    reference: str | None = Field(None, description="the variant every other is compared with (default: first)")
    factors: dict[str, list[Any]] = Field(
        default_factory=dict, description="grid: dotted config path -> levels to compare (crossed with variants)"
    )
    tune: dict[str, ParamSpec] = Field(default_factory=dict, description="dotted path -> distribution")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, description="training seeds (train.seed)")
    budget: Budget = Field(default_factory=Budget)
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    sampler: SamplerCfg = Field(default_factory=TPESampler, description="sampler for tuned parameters")
    pruner: PrunerCfg = Field(default_factory=PrunerOff, description="pruner for tuning trials")
    storage: str | None = Field(None, description="Optuna storage; default runs/optuna/<name>.journal")
    tracking_uri: str | None = Field(None, description="MLflow tracking URI; default sqlite:///mlflow.db")
    resources: Resources = Field(default_factory=Resources)
    report: ReportCfg = Field(default_factory=ReportRender)

    @field_validator("variants", mode="before")
    @classmethod
    def _description_is_text(cls, value: Any) -> Any:
        for name, over in (value or {}).items() if isinstance(value, dict) else ():
            text = over.get(DESCRIPTION_KEY) if isinstance(over, dict) else None
            if text is not None and (not isinstance(text, str) or "\n" in text.strip()):
                raise ValueError(f"{name}.{DESCRIPTION_KEY}: expected one line of text, got {text!r}")
        return value

    def variant_overrides_of(self, name: str) -> dict[str, Any]:
        """The dotted overrides of the named variant (its `description` is not an override)."""
        return {k: v for k, v in self.variants.get(name, {}).items() if k != DESCRIPTION_KEY}

    def variant_description(self, name: str) -> str:
        """The named variant's one-line description ("" when it has none)."""
        return str(self.variants.get(name, {}).get(DESCRIPTION_KEY, "")).strip()

    @property
    def reference_label(self) -> str:
        """The reference variant's label (explicit `reference`, else `full` if present, else the first)."""
        labels = variant_labels(self)
        if self.reference:
            return self.reference
        return "full" if "full" in labels else labels[0]

    @property
    def storage_url(self) -> str:
        """Optuna storage URL with the default filled in."""
        return self.storage or f"runs/optuna/{self.name}.journal"

    @property
    def tracking(self) -> str:
        """MLflow tracking URI with the default filled in; a relative sqlite path made absolute.

        MLflow caches one database engine per URI string in a process, so a relative `sqlite:///mlflow.db`
        would keep pointing at the first working directory's file.
        """
        uri = self.tracking_uri or "sqlite:///mlflow.db"
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////") and ":memory:" not in uri:
            uri = "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())
        return uri


def semantic_problems(study: StudyConfig) -> list[str]:
    """Cross-field problems the schema alone cannot express, one line per dotted key."""
    problems = []
    labels = variant_labels(study)
    if study.reference is not None and study.reference not in labels:
        problems.append(f"reference: '{study.reference}' is not one of the variants{suggest(study.reference, labels)}")
    if len(set(study.seeds)) != len(study.seeds):
        problems.append(f"seeds: duplicates in {study.seeds}")
    for key, levels in study.factors.items():
        if not levels:
            problems.append(f"factors.{key}: needs at least one level")
        if len({json.dumps(v, sort_keys=True) for v in levels}) != len(levels):
            problems.append(f"factors.{key}: duplicate levels in {levels}")
    overlap = set(study.factors) & set(study.tune)
    for key in sorted(overlap):
        problems.append(f"tune.{key}: is also a factor; a path is either compared (factors) or tuned (tune)")
    problems += _repeat_problems(study)
    if study.budget.trials_per_cell > 1 and not study.tune:
        problems.append("budget.trials_per_cell: > 1 needs `tune` (an untuned cell is deterministic)")
    if study.pruner.kind == "wilcoxon" and study.budget.folds_per_trial != "all":
        problems.append("pruner.kind: 'wilcoxon' compares per-fold scores; set budget.folds_per_trial: all")
    if not study.objective.metric.startswith("val/"):
        problems.append(f"objective.metric: '{study.objective.metric}' must be a validation metric (val/...)")
    return problems


def _repeat_problems(study: StudyConfig) -> list[str]:
    """`dataset.repeats` sets data.repeat per cell, on an actor k-fold protocol only."""
    options = study.dataset.options
    if "repeat" in options:
        return ["dataset.options.repeat: set by the study per cell; use dataset.repeats: R (repeats 0..R-1)"]
    if study.dataset.repeats == 1 or study.dataset.name not in DATASETS:
        return []
    adapter = DATASETS.get(study.dataset.name)
    names = [p.name for p in adapter.protocols]
    if study.dataset.protocol is not None and study.dataset.protocol not in names:
        return []  # the data section's own check names it
    protocol = adapter.protocol(study.dataset.protocol)
    if not protocol.can_reshuffle:
        kfold = [p.name for p in adapter.protocols if p.can_reshuffle]
        return [f"dataset.repeats: {study.dataset.repeats} reshuffles the actor groups, which protocol "
                f"'{protocol.name}' does not have; use an actor k-fold protocol "
                f"({', '.join(kfold) or 'none here'})"]  # fmt: skip
    return []


def level_text(value: Any) -> str:
    """A factor level as a short string (JSON for lists/dicts)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def choice_value(value: Any) -> Any:
    """A level as an Optuna categorical choice: scalars as they are, lists/dicts as JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return level_text(value)


def variant_grid(study: StudyConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, name, factor levels) per variant, in study order: the named variants ("" when there are none)
    crossed with the factor grid; the label is `name,path=level,...` (or `base`)."""
    names = list(study.variants) or [""]
    grid = list(itertools.product(*study.factors.values())) if study.factors else [()]
    out = []
    for name in names:
        for combo in grid:
            parts = ([name] if name else []) + [f"{k}={level_text(v)}" for k, v in zip(study.factors, combo)]
            out.append((",".join(parts) or "base", name, dict(zip(study.factors, combo))))
    return out


def variant_labels(study: StudyConfig) -> list[str]:
    """Every variant label, in study order (see variant_grid)."""
    return [label for label, _, _ in variant_grid(study)]


def load_study(path: str | Path, sets: Iterable[str] = (), imports: Iterable[str] = (), **cli: Any) -> StudyConfig:
    """Load and validate a study file; `sets` are `key=value` dotted overrides, `imports` extra modules
    (`--import`), `cli` non-None top-level values. The `imports` modules are imported before validation."""
    raw = load_yaml(path)
    for item in sets:
        if "=" not in item:
            raise ConfigError([f"--set {item}: expected key=value (e.g. budget.epochs=2)"], str(path))
        key, _, text = item.partition("=")
        raw = _set_key(raw, key.strip(), parse_value(text))
    flat = {k: v for k, v in cli.items() if v is not None}
    raw = apply_overrides(raw, flat)
    raw = import_study_modules(raw, list(imports), Path(path).parent, str(path))
    study = validate(StudyConfig, raw, str(path))
    problems = semantic_problems(study)
    if problems:
        raise ConfigError(problems, str(path))
    return study


# keys whose children are themselves dotted config paths: `--set overrides.train.lr=0.1` sets "train.lr"
_PATH_KEYED = {"overrides": 1, "factors": 1, "tune": 1, "variants": 2}


def _set_key(raw: dict, key: str, value: Any) -> dict:
    head = key.split(".", 1)[0]
    depth = _PATH_KEYED.get(head)
    if depth is None or key.count(".") < depth:
        return apply_overrides(raw, {key: value})
    parts = key.split(".")
    prefix, rest = parts[:depth], ".".join(parts[depth:])
    out = dict(raw)
    node = out
    for part in prefix:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[rest] = value
    return out
