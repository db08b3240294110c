"""AVT-CA: audio-video transformer with cross attention, as a library of swappable components."""

from __future__ import annotations

__version__ = "0.1.0"


def create_model(name_or_cfg="avtca", weights=None, **overrides):
    """Build an AVT-CA variant from a preset name or config; see avtca.models.model.create_model."""
    from avtca.models.model import create_model as _create

    return _create(name_or_cfg, weights=weights, **overrides)


__all__ = ["create_model", "__version__"]
