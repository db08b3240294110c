"""The dataset registry: one adapter object per dataset, so a new dataset is one new module plus its tests.

An adapter says everything dataset-specific that generic code asks: its display title, protocols, what it
gives the model (`describe`), how its clips are found (`scan`, media datasets decoded by `prepare`) or
loaded (`load`, pre-extracted features), and which targets a config selects. `DataConfig.name` and the
study file's `dataset.name` validate against the adapters registered at validation time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from avtca.config.base import Strict, suggest

if TYPE_CHECKING:  # annotations only: the config module itself validates names through this registry
    from pathlib import Path

    import numpy as np

    from avtca.data.cache import Prepared
    from avtca.data.config import DataConfig
    from avtca.data.sources import Clip, Scan


@dataclass(frozen=True)
class Inputs:
    """What a configured dataset gives the model, known without decoding anything."""

    task: str  # a task of avtca.metrics.TASKS
    class_names: tuple[str, ...]  # empty for regression
    audio_channels: int
    audio_length: int
    video_kind: str  # "frames" | "features"
    video_shape: tuple[int, ...]  # per item: (T, 3, H, W) or (C, L)
    model_inputs: dict[str, dict[str, Any]]  # merged into the model config: input slots and the head


@dataclass(frozen=True)
class DatasetAdapter:
    """Everything dataset-specific; generic code (info, prepare, splits, studies, reports) asks this."""

    name: str  # `data.name` in configs, the cache directory prefix
    title: str  # display name in tables and figures (`CREMA-D`)
    protocols: tuple[str, ...]  # evaluation protocols it accepts (avtca.data.protocols); the first is the default
    describe: Callable[[DataConfig], Inputs]
    default_task: str = "classification"  # the task under default options (for report columns not yet run)
    n_actors: int | None = None  # speakers of the real dataset (caps actor k-fold protocols)
    scan: Callable[[Path, DataConfig], Scan] | None = None  # media datasets: the clips `prepare` decodes
    load: Callable[[Path, DataConfig], tuple[dict[str, np.ndarray], dict[str, Any]]] | None = None  # features
    clip_arrays: Callable[[list[Clip]], dict[str, np.ndarray]] | None = None  # extra per-clip arrays to cache
    targets: Callable[[DataConfig, Prepared], tuple[np.ndarray, np.ndarray] | None] | None = None  # None: default
    rank: int = 100  # position in tables that list every dataset (the paper's order first)
    options: type[Strict] | None = None  # its own config keys `data.<name>.*` (DataConfig validates them with it)
    # which of those options change the prepared arrays, so are part of the cache key (None: all of them, the
    # safe default; an option applied after the cache, such as a choice of labels, may be left out)
    cached_options: tuple[str, ...] | None = None
    # the built-ins' options were DataConfig fields once, so every config's JSON (and so every cell id) carries
    # their defaults; a new dataset's options are in a config's JSON only when it is that config's dataset or given
    options_in_every_config: bool = False

    def __post_init__(self) -> None:
        if (self.scan is None) == (self.load is None):
            raise ValueError(f"dataset '{self.name}': give exactly one of scan (media clips) or load (arrays)")


class DatasetRegistry:
    """Name -> DatasetAdapter; also the type of `DataConfig.name` (unknown names list the registered ones)."""

    def __init__(self) -> None:
        self._adapters: dict[str, DatasetAdapter] = {}
        self._reserved: dict[str, str] = {}  # names a dataset may not take -> whose key they are

    def reserve(self, names: Any, owner: str) -> None:
        """Forbid dataset names that are other keys of `owner` (a dataset's options sit beside them)."""
        taken = sorted(set(names) & set(self._adapters))
        if taken:
            raise ValueError(f"dataset '{taken[0]}': its name is a key of {owner}; register it under another name")
        self._reserved.update(dict.fromkeys(names, owner))

    def register(self, adapter: DatasetAdapter) -> DatasetAdapter:
        """Add a dataset (its name must be new); returns it, so a module can keep `ADAPTER = register(...)`."""
        if adapter.name in self._adapters:
            raise ValueError(f"dataset '{adapter.name}' is registered twice")
        if adapter.name in self._reserved:
            raise ValueError(
                f"dataset '{adapter.name}': its name is a key of {self._reserved[adapter.name]} "
                "(its options would sit beside that key); register it under another name"
            )
        if adapter.cached_options is not None and adapter.options is not None:
            unknown = sorted(set(adapter.cached_options) - set(adapter.options.model_fields))
            if unknown:
                raise ValueError(f"dataset '{adapter.name}': cached_options {unknown} are not keys of its options")
        self._adapters[adapter.name] = adapter
        return adapter

    def unregister(self, name: str) -> None:
        """Forget a dataset (tests that register a toy one)."""
        self._adapters.pop(name, None)

    def get(self, name: str) -> DatasetAdapter:
        """The adapter of `name`; an unknown name lists the registered ones."""
        if name not in self._adapters:
            names = self.names()
            raise KeyError(f"data.name: '{name}' is not one of {', '.join(names)}{suggest(name, names)}")
        return self._adapters[name]

    def names(self) -> list[str]:
        """Registered dataset names, in table order (rank, then name)."""
        return [a.name for a in sorted(self._adapters.values(), key=lambda a: (a.rank, a.name))]

    def __contains__(self, name: str) -> bool:
        return name in self._adapters

    def _check(self, name: str) -> str:
        if name not in self._adapters:
            names = self.names()
            # `literal_error` makes avtca.config.base.format_errors print "is not one of ... (did you mean ...)"
            raise PydanticCustomError(
                "literal_error", "Input should be one of {expected}", {"expected": ", ".join(map(repr, names))}
            )
        return name

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, core_schema.str_schema())

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "enum": self.names()}


DATASETS = DatasetRegistry()


def adapter(name: str) -> DatasetAdapter:
    """The registered adapter of dataset `name`."""
    return DATASETS.get(name)


def media_inputs(cfg: DataConfig, task: str, class_names: tuple[str, ...]) -> Inputs:
    """`describe` of a dataset of decoded clips: frames (T, 3, S, S) and MFCC or log-mel audio."""
    if cfg.audio_features == "mfcc":
        channels, audio = cfg.n_mfcc, {"kind": "mfcc", "n_mfcc": cfg.n_mfcc}
    else:
        channels, audio = cfg.n_mels, {"kind": "logmel", "n_mels": cfg.n_mels}
    head = {"kind": "classification", "n_classes": len(class_names)} if task == "classification" else {"kind": task}
    return Inputs(
        task=task,
        class_names=class_names,
        audio_channels=channels,
        audio_length=cfg.audio_length,
        video_kind="frames",
        video_shape=(cfg.frames, 3, cfg.image_size, cfg.image_size),
        model_inputs={
            "video": {"kind": "frames", "frames": cfg.frames, "image_size": cfg.image_size},
            "audio": audio,
            "head": head,
        },
    )
