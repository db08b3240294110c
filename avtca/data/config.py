"""DataConfig: which dataset, where it lives, which protocol, and how clips become tensors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from avtca.config.base import Strict, runtime, suggest
from avtca.data.crop import CROPS, CropCenter
from avtca.data.registry import DATASETS


# not one dataset's options (an adapter's): the generator writes every built-in format, so DataConfig holds these
class SyntheticOptions(Strict):
    """Generated dataset written in the real on-disk format (used when root is `synthetic`)."""

    actors: PositiveInt = 12
    statements: Annotated[int, Field(ge=1, le=2)] = 2
    repetitions: Annotated[int, Field(ge=1, le=2)] = 1
    clips: PositiveInt = 400  # MOSEI only: segments in total (split 70/10/20)
    size: PositiveInt = 96  # video width = height in pixels
    seconds: PositiveFloat = 3.6
    corrupt_audio: Annotated[float, Field(ge=0, le=1)] = 0.3  # fraction of clips whose audio is noise
    corrupt_video: Annotated[float, Field(ge=0, le=1)] = 0.3  # another fraction whose face is occluded
    seed: int = 0


_PYDANTIC_ERRORS = set(get_args(core_schema.ErrorType))


def _details(prefix: tuple[str, ...], err: ValidationError) -> list[Any]:
    """`err`'s errors, their locations under `prefix`, ready to be raised again as one ValidationError."""
    out = []
    for e in err.errors():
        kind = e["type"] if e["type"] in _PYDANTIC_ERRORS else PydanticCustomError(e["type"], e["msg"])
        out.append(
            {
                "type": kind,
                "loc": prefix + tuple(e["loc"]),
                "input": e["input"],
                **({"ctx": e["ctx"]} if "ctx" in e else {}),
            }
        )
    return out


def _ahead_of_synthetic(fields: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """`fields` with `options` inserted before `synthetic` (where the built-ins' options were fields), else last."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "synthetic":
            out.update(options)
        out[key] = value
    return out if "synthetic" in fields else {**out, **options}


def _default_cache() -> str:
    return os.environ.get("AVTCA_CACHE", ".cache/avtca")


class DataConfig(Strict):
    """One dataset, its evaluation protocol and its preprocessing (the cache key is derived from it)."""

    name: Annotated[str, DATASETS] = "ravdess"  # a registered dataset (avtca/data/datasets/, or the user's module)
    root: str = "synthetic"  # a directory, or `synthetic`: generate the dataset in its real format (cached)
    cache: str = runtime(default_factory=_default_cache)  # a location: outside a cell's identity
    protocol: str | None = None  # None = the dataset's default (the first of its adapter's protocols)
    # which actor grouping: 0 = the protocol's own; r > 0 = reshuffle r of the actors (actor k-fold protocols;
    # a study's `dataset.repeats` sets it per cell: repeated cross-validation, docs/studies.md)
    repeat: NonNegativeInt = 0
    frames: PositiveInt = 15
    image_size: PositiveInt = 224
    audio_features: Literal["mfcc", "logmel"] = "mfcc"
    n_mfcc: PositiveInt = 10
    n_mels: PositiveInt = 64  # log-mel channels; also the mel bank MFCCs are taken from is max(n_mels, 128)
    sample_rate: PositiveInt = 22050
    duration: PositiveFloat = 3.6  # seconds of each clip (centred window) for both audio and video
    hop_length: PositiveInt = 512
    n_fft: PositiveInt = 2048
    crop: Annotated[Strict, CROPS] = Field(default_factory=CropCenter)  # a registered crop (avtca/data/crop.py)
    n_jobs: int = runtime(1)  # preparation workers (joblib); -1 = all cores
    # `<dataset name>: {...}`: a registered dataset's own options (its adapter's `options` class), see `options`
    synthetic: SyntheticOptions = Field(default_factory=SyntheticOptions)
    _options: dict[str, Strict] = PrivateAttr(default_factory=dict)  # dataset name -> its validated options

    @classmethod
    def dynamic_fields(cls) -> dict[str, type[Strict]]:
        """Keys accepted beside the fields: each registered dataset's name -> its options class (in table order)."""
        return {n: a.options for n in DATASETS.names() if (a := DATASETS.get(n)).options is not None}

    @model_validator(mode="wrap")
    @classmethod
    def _dataset_options(cls, data: Any, handler: ModelWrapValidatorHandler[DataConfig]) -> DataConfig:
        """Validate `<name>: {...}` with dataset `name`'s options class; the rest are the fields."""
        if not isinstance(data, Mapping):
            return handler(data)
        types = cls.dynamic_fields()
        given = {k: v for k, v in data.items() if k in types and k not in cls.model_fields}
        options, failed = {}, []
        for name, value in given.items():
            try:
                options[name] = types[name].model_validate(value)
            except ValidationError as err:
                failed.append(((name,), err))
        try:
            cfg = handler({k: v for k, v in data.items() if k not in given})
        except ValidationError as err:
            if not failed:
                raise
            failed.insert(0, ((), err))
        if failed:  # one error listing every wrong key, as pydantic reports the fields'
            raise ValidationError.from_exception_data(
                cls.__name__, [d for loc, err in failed for d in _details(loc, err)]
            )
        # defaults filled in now, so the dump never depends on what is registered later
        keep = {n for n in types if DATASETS.get(n).options_in_every_config} | set(given) | {cfg.name}
        cfg._options = {n: options[n] if n in options else types[n]() for n in types if n in keep}
        return cfg

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        # the registered datasets' options are keys of the schema too, placed as they were when they were fields
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        options = {n: handler(t.__pydantic_core_schema__) for n, t in cls.dynamic_fields().items()}
        target["properties"] = _ahead_of_synthetic(target["properties"], options)
        return json_schema

    @model_serializer(mode="wrap")
    def _dump_options(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        # each dataset's options sit where they were fields before (ahead of `synthetic`): the JSON is unchanged
        fields = handler(self)
        return _ahead_of_synthetic(fields, {n: o.model_dump(mode=info.mode) for n, o in self._options.items()})

    @property
    def options(self) -> Strict | None:
        """This config's dataset's options (`data.<name>.*`, defaults where not given); None if it has none."""
        return self.options_of(self.name)

    def options_of(self, name: str) -> Strict | None:
        """Dataset `name`'s options in this config (given or its defaults); None when it declares none."""
        if name in self._options:
            return self._options[name]
        options = DATASETS.get(name).options
        return options() if options is not None else None

    @field_validator("protocol", mode="after")
    @classmethod
    def _protocol_fits_dataset(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("name")
        allowed = tuple(p.name for p in DATASETS.get(name).protocols) if name in DATASETS else ()
        if value is not None and allowed and value not in allowed:
            raise PydanticCustomError(
                "protocol_mismatch",
                "'{value}' is not a protocol of {name}; one of {allowed}{hint}",
                {"value": value, "name": name, "allowed": ", ".join(allowed), "hint": suggest(value, allowed)},
            )
        return value

    @field_validator("repeat", mode="after")
    @classmethod
    def _repeat_needs_reshuffling(cls, value: int, info: ValidationInfo) -> int:
        name, protocol = info.data.get("name"), info.data.get("protocol")
        if value == 0 or name not in DATASETS:
            return value
        chosen = DATASETS.get(name).protocol(protocol) if protocol else DATASETS.get(name).protocols[0]
        if not chosen.can_reshuffle:
            raise PydanticCustomError(
                "repeat_needs_kfold",
                "repeat {value}: protocol '{protocol}' has one fixed grouping; reshuffled actor groups need an "
                "actor k-fold protocol",
                {"value": value, "protocol": chosen.name},
            )
        return value

    @property
    def protocol_name(self) -> str:
        """The protocol in effect (the dataset default when `protocol` is unset)."""
        return self.protocol or DATASETS.get(self.name).protocols[0].name

    @property
    def is_synthetic(self) -> bool:
        """True when the dataset is generated rather than read from a real copy."""
        return self.root == "synthetic"

    @property
    def audio_length(self) -> int:
        """Frames of the audio feature map: 1 + n_samples // hop (torchaudio's centred STFT)."""
        return int(round(self.sample_rate * self.duration)) // self.hop_length + 1
