"""One small registry per model slot: a config class maps to the builder of its module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from avtca.config.base import suggest

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps `kind` (the config class's tag) to a builder `(cfg, **dims) -> T`."""

    def __init__(self, slot: str):
        self.slot = slot
        self._builders: dict[str, tuple[type, Callable[..., T]]] = {}

    def register(self, cfg_type: type) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a builder for configs of `cfg_type` (its `kind` default is the name)."""
        kind = cfg_type.model_fields["kind"].default

        def deco(builder: Callable[..., T]) -> Callable[..., T]:
            if kind in self._builders:
                raise ValueError(f"{self.slot}: kind '{kind}' is registered twice")
            self._builders[kind] = (cfg_type, builder)
            return builder

        return deco

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

    def __contains__(self, kind: str) -> bool:
        return kind in self._builders
