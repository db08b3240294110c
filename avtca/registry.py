"""One small registry per model slot: a config class maps to the builder of its module.

The registry is also the slot's type: a config field annotated `Annotated[Strict, FUSIONS]` accepts
exactly the kinds registered at validation time, so a kind registered in the user's own module (after
ModelConfig was created) is valid in configs, study files and presets with no other edit.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field, GetCoreSchemaHandler, TypeAdapter
from pydantic_core import core_schema

from avtca.config.base import suggest

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps `kind` (the config class's tag) to a builder `(cfg, **dims) -> T`."""

    def __init__(self, slot: str):
        self.slot = slot
        self._builders: dict[str, tuple[type, Callable[..., T]]] = {}
        self._adapter: tuple[tuple[type, ...], TypeAdapter] | None = None

    def register(self, cfg_type: type) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a builder for configs of `cfg_type` (its `kind` default is the name)."""
        kind = cfg_type.model_fields["kind"].default

        def deco(builder: Callable[..., T]) -> Callable[..., T]:
            if kind in self._builders:
                raise ValueError(f"{self.slot}: kind '{kind}' is registered twice")
            self._builders[kind] = (cfg_type, builder)
            return builder

        return deco

    def unregister(self, kind: str) -> None:
        """Forget `kind` (tests and notebooks that register a kind more than once)."""
        self._builders.pop(kind, None)

    def build(self, cfg: Any, **dims: Any) -> T:
        """Build the component for `cfg`; an unknown kind lists the registered ones."""
        kind = getattr(cfg, "kind", None)
        if kind not in self._builders:
            names = self.names()
            raise KeyError(f"{self.slot}.kind: '{kind}' is not one of {', '.join(names)}{suggest(kind, names)}")
        return self._builders[kind][1](cfg, **dims)

    def names(self) -> list[str]:
        """Registered kinds, sorted."""
        return sorted(self._builders)

    def config_type(self, kind: str) -> type:
        """The config class registered for `kind`."""
        return self._builders[kind][0]

    def config_types(self) -> list[type]:
        """The registered config classes, sorted by kind (the members of the slot's union)."""
        return [self._builders[k][0] for k in self.names()]

    def union(self) -> Any:
        """The slot's discriminated union of the config classes registered now."""
        return Annotated[functools.reduce(operator.or_, self.config_types()), Field(discriminator="kind")]

    def validate(self, value: Any) -> Any:
        """Validate `value` (a dict or config instance) against the kinds registered now."""
        types = tuple(self.config_types())
        if isinstance(value, types):
            return value
        if self._adapter is None or self._adapter[0] != types:
            self._adapter = (types, TypeAdapter(self.union()))
        return self._adapter[1].validate_python(value)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        # validation goes through the registry at validation time (kinds registered later count);
        # the inner union, frozen when the owning config class is built, only feeds the JSON schema
        inner = handler.generate_schema(self.union()) if self._builders else core_schema.any_schema()
        return core_schema.no_info_wrap_validator_function(
            lambda value, _inner: self.validate(value), inner, serialization=core_schema.simple_ser_schema("any")
        )

    def __contains__(self, kind: str) -> bool:
        return kind in self._builders

    def __repr__(self) -> str:
        return f"Registry({self.slot!r}: {', '.join(self.names())})"
