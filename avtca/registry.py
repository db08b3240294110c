"""One registry style for every pluggable kind: a list of names that is also the type of its config field.

A registry holds one of two sorts of entry, behind one API:
- *kinds* (model components, crops, optimizers, schedules, clipping, early stopping): a config class whose
  `kind: Literal[...]` default is the name, and its builder, registered with `@REG.register(ConfigClass)`;
  `REG.build(cfg, **dims)` calls the builder of `cfg.kind` with the config and explicit dimensions.
- *named entries* (dataset adapters, metrics, tasks): an object with a `name`, registered with
  `REG.register(entry)`; `REG[name]` returns it.

The registry is also a pydantic type, read when a config is validated: `Annotated[Strict, REG]` accepts a config
of any kind registered then (a union on `kind`), `Annotated[str, REG]` any registered name. So a kind or entry
registered in the user's own module (after the config class was created) is valid in configs, study files and
presets with no other edit. An unknown name lists the registered ones and suggests the nearest.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic_core import PydanticCustomError, core_schema

from avtca.config.base import suggest

T = TypeVar("T")
Order = Literal["name", "registration"] | Callable[[Any], Any]


class RegistryError(KeyError, ValueError):
    """An unknown name; the message lists the registered ones (a KeyError to lookups, a ValueError to callers)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Name -> entry (a named object, or a kind's builder `(cfg, **dims) -> T`), listed in a fixed order.

    `slot` is the config path the names are read from (`model.fusion`, `data.crop`, `data.name`), used in errors;
    `order` is how `names()` lists them: by `name`, by `registration`, or sorted by a key of the entry.
    """

    def __init__(self, slot: str, order: Order = "name"):
        self.slot = slot
        self.order = order
        self._entries: dict[str, Any] = {}
        self._types: dict[str, type] = {}  # kind -> its config class (registries of kinds)
        self._adapter: tuple[tuple[type, ...], TypeAdapter] | None = None

    def register(self, item: Any, *, replace: bool = False) -> Any:
        """Add an entry: `@register(ConfigClass)` decorates a kind's builder; `register(obj)` adds `obj.name`.

        A name is registered once; `replace=True` swaps the entry of an existing name in place (its position kept).
        """
        if isinstance(item, type) and issubclass(item, BaseModel):
            kind = item.model_fields["kind"].default if "kind" in item.model_fields else None
            if not isinstance(kind, str):
                raise TypeError(f"{self.slot}: {item.__name__} has no `kind: Literal[...]` default to register it by")

            def deco(builder: Callable[..., T]) -> Callable[..., T]:
                self._add(kind, builder, replace)
                self._types[kind] = item
                return builder

            return deco
        name = getattr(item, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"{self.slot}: register a config class (a kind) or an object with a `name`, not {item!r}")
        self._add(name, item, replace)
        return item

    def _add(self, name: str, entry: Any, replace: bool) -> None:
        if name in self._entries and not replace:
            raise ValueError(f"{self.slot}: '{name}' is registered twice")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Forget `name` (tests and notebooks that register an entry more than once); unknown names are ignored."""
        self._entries.pop(name, None)
        self._types.pop(name, None)

    def get(self, name: str) -> Any:
        """The entry of `name` (a kind's builder); an unknown name raises RegistryError listing the registered ones."""
        return self._lookup(name, self.slot)

    __getitem__ = get

    def _lookup(self, name: Any, path: str) -> Any:
        if name not in self._entries:
            names = self.names()
            raise RegistryError(f"{path}: '{name}' is not one of {', '.join(names)}{suggest(name, names)}")
        return self._entries[name]

    def names(self) -> list[str]:
        """Registered names, in the registry's order."""
        if self.order == "registration":
            return list(self._entries)
        if self.order == "name":
            return sorted(self._entries)
        return sorted(self._entries, key=lambda n: self.order(self._types.get(n, self._entries[n])))  # type: ignore[operator]

    def values(self) -> list[Any]:
        """The entries, in the registry's order."""
        return [self._entries[n] for n in self.names()]

    def items(self) -> list[tuple[str, Any]]:
        """(name, entry) pairs, in the registry's order."""
        return [(n, self._entries[n]) for n in self.names()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    # ---------------------------------------------------------------- kinds: config classes and their builders

    def build(self, cfg: Any, **dims: Any) -> T:
        """Build the component for `cfg` (a config of a registered kind) with the given dimensions."""
        return self._lookup(getattr(cfg, "kind", None), f"{self.slot}.kind")(cfg, **dims)

    def config_type(self, kind: str) -> type:
        """The config class registered for `kind`."""
        self._lookup(kind, f"{self.slot}.kind")
        return self._types[kind]

    def config_types(self) -> list[type]:
        """The registered config classes, in the registry's order (the members of the slot's union)."""
        return [self._types[n] for n in self.names() if n in self._types]

    def union(self) -> Any:
        """The discriminated union of the config classes registered now."""
        return Annotated[functools.reduce(operator.or_, self.config_types()), Field(discriminator="kind")]

    def validate(self, value: Any) -> Any:
        """Validate `value` (a dict or config instance) against the kinds registered now."""
        types = tuple(self.config_types())
        if isinstance(value, types):
            return value
        if self._adapter is None or self._adapter[0] != types:
            self._adapter = (types, TypeAdapter(self.union()))
        return self._adapter[1].validate_python(value)

    # ---------------------------------------------------------------- the pydantic type

    def _check_name(self, name: str) -> str:
        if name not in self._entries:
            # `literal_error` makes avtca.config.base.format_errors print "is not one of ... (did you mean ...)"
            expected = ", ".join(map(repr, self.names()))
            raise PydanticCustomError("literal_error", "Input should be one of {expected}", {"expected": expected})
        return name

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        if source is str:  # `Annotated[str, REG]`: a registered name
            return core_schema.no_info_after_validator_function(self._check_name, core_schema.str_schema())
        # `Annotated[Strict, REG]`: validation goes through the registry at validation time (kinds registered later
        # count); the inner union, frozen when the owning config class is built, only feeds the JSON schema
        inner = handler.generate_schema(self.union()) if self._types else core_schema.any_schema()
        return core_schema.no_info_wrap_validator_function(
            lambda value, _inner: self.validate(value), inner, serialization=core_schema.simple_ser_schema("any")
        )

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        if schema.get("type") == "function-after":  # a name: the names registered when the schema is written
            return {"type": "string", "enum": self.names()}
        return handler(schema)

    def __repr__(self) -> str:
        return f"Registry({self.slot!r}: {', '.join(self.names())})"
