"""Strict reading of study files: UTF-8 only, and a key given twice is an error (YAML would keep the last)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from avtca.config.base import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping key repeated at the same level (`seeds:` twice silently lost one)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)  # resolve `<<:` merges first: a merged key overridden locally is legitimate
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:  # unhashable key: SafeLoader reports it below
            continue
        if first != key_node.start_mark.line + 1:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first given on line {first})", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_strict_yaml(path: str | Path) -> dict:
    """A YAML mapping from `path`; ConfigError naming the file: missing file, bad bytes, bad YAML, duplicate keys."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"file not found: {path}"], str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError([f"not UTF-8 text: byte 0x{raw[err.start]:02x} on line {line} (save the file as UTF-8)"],
                          str(path)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise ConfigError([f"not valid YAML: {err}"], str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"expected a mapping at the top level, got {type(data).__name__}"], str(path))
    return data
