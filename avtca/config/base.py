"""Typed-config machinery: strict models, readable validation errors, dotted overrides."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every config: unknown keys are errors and validated configs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A config failed validation; `problems` holds one line per wrong key, each naming its dotted path."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "invalid config\n  " + "\n  ".join(problems))


def runtime(default: Any = ..., **kwargs: Any) -> Any:
    """A field that picks where or how fast a run goes, never what it computes (device, workers, paths).

    The mark lives on the field (`json_schema_extra={"runtime": True}`), so code that needs the list
    (a cell's identity hash) reads it from the config classes: a new runtime knob is marked where it is declared.
    """
    return Field(default, json_schema_extra={"runtime": True}, **kwargs)


def runtime_paths(cls: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of every field marked `runtime` in `cls` and the config classes nested in it (all kinds)."""
    out: set[str] = set()
    for name, info in cls.model_fields.items():
        path = prefix + name
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("runtime"):
            out.add(path)
            continue
        for member in union_members(field_type(info)):
            if member is not cls:
                out |= runtime_paths(member, path + ".")
    return out


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the nearest choice, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def suggest_kind(word: str, members: Iterable[type[BaseModel]]) -> str:
    """`suggest` for a union tag, also matching what each kind is called in words (its docstring's first line).

    `intermediate` -> ` (did you mean 'ia' (Intermediate attention) or 'it' (Intermediate transformer ...)?)`.
    """
    tagged = {str(_tag_of(m)): m for m in members if _tag_of(m) is not None}
    near = suggest(word, tagged)
    tokens = [t for t in re.split(r"[\s_\-]+", str(word).lower()) if len(t) >= 3]
    if near or not tokens:
        return near
    hits = []
    for tag, member in tagged.items():
        label = (member.__doc__ or "").strip().split("\n")[0].split(":")[0].rstrip(".")
        words = re.findall(r"[a-z0-9]+", label.lower())
        if words and all(any(w.startswith(t) or difflib.SequenceMatcher(None, t, w).ratio() >= 0.8 for w in words)
                         for t in tokens):  # fmt: skip
            hits.append(f"'{tag}' ({label})")
    return f" (did you mean {' or '.join(hits)}?)" if hits else ""


def _strip_quotes(text: str) -> list[str]:
    return [t.strip().strip("'\"") for t in text.split(",") if t.strip()]


def _walk(cls: type[BaseModel], loc: tuple) -> Any:
    """The annotation found by walking `loc` (field names and union tags) from `cls`."""
    current: Any = cls
    for part in loc:
        if isinstance(part, int):
            current = _unwrap(current, None)
            continue
        model = current if isinstance(current, type) and issubclass(current, BaseModel) else _unwrap(current, None)
        fields = getattr(model, "model_fields", {}) if isinstance(model, type) else {}
        member = _union_member(current, part) if not isinstance(current, type) else None
        if member is not None:
            current = member
        elif part in fields:
            current = field_type(fields[part])
        elif part in _dynamic_fields(model):
            current = _dynamic_fields(model)[part]
    return current


def _dynamic_fields(model: Any) -> dict[str, type[BaseModel]]:
    """Keys a config accepts beside its fields (`dynamic_fields()`: DataConfig's `<dataset>` options) -> class."""
    hook = getattr(model, "dynamic_fields", None)
    return hook() if callable(hook) else {}


def _fields_at(cls: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the pydantic model found by walking `loc` from `cls` (best effort)."""
    found = _walk(cls, loc)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        found = _unwrap(found, None)
    return sorted([*getattr(found, "model_fields", {}), *_dynamic_fields(found)])


def field_type(field: Any) -> Any:
    """A field's annotation, keeping a registry slot that pydantic moved into `field.metadata`."""
    slots = [m for m in field.metadata if callable(getattr(m, "config_types", None))]
    return Annotated[field.annotation, slots[0]] if slots else field.annotation


def _args(annotation: Any) -> tuple:
    """`get_args`, with a registry-backed slot (`Annotated[Strict, REGISTRY]`) read as its registered kinds."""
    args = get_args(annotation)
    slots = [a for a in args[1:] if callable(getattr(a, "config_types", None))]
    if slots:  # the registry is the union (avtca.registry): its members are the kinds registered now
        return tuple(slots[0].config_types())
    return args


def _unwrap(annotation: Any, tag: str | None) -> Any:
    """First pydantic model inside an Annotated/Union/Optional annotation (matching `tag` if given)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation if tag is None or _tag_of(annotation) == tag else None
    for arg in _args(annotation):
        inner = _unwrap(arg, tag)
        if inner is not None:
            return inner
    return None if tag is not None else annotation


def union_members(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models of a (discriminated) union annotation, in declaration order."""
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    return [m for arg in _args(annotation) for m in union_members(arg)]


def _union_member(annotation: Any, tag: str) -> Any:
    inner = _unwrap(annotation, tag) if _args(annotation) else None
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _tag_of(cls: type[BaseModel]) -> str | None:
    field = cls.model_fields.get("kind")
    return field.default if field is not None else None


def format_errors(err: ValidationError, cls: type[BaseModel]) -> list[str]:
    """Turn pydantic's errors into lines like `model.fusion.kind: 'x' is not one of a, b (did you mean 'a'?)`."""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        kind, ctx, value = e["type"], e.get("ctx", {}), e.get("input")
        # drop discriminator tags pydantic inserts into the location of union members
        clean = tuple(p for i, p in enumerate(loc) if not _is_union_tag(cls, loc[:i], p))
        path = ".".join(map(str, clean)) or "<root>"
        if kind == "union_tag_invalid":
            tags = _strip_quotes(ctx["expected_tags"])
            disc = ctx["discriminator"].strip("'")
            members = union_members(_walk(cls, loc))
            hint = suggest_kind(ctx["tag"], members) if members else suggest(ctx["tag"], tags)
            lines.append(f"{path}.{disc}: '{ctx['tag']}' is not one of {', '.join(tags)}{hint}")
            continue
        if kind == "extra_forbidden":
            allowed = _fields_at(cls, loc[:-1])
            lines.append(f"{path}: unknown key; allowed keys are {', '.join(allowed)}{suggest(loc[-1], allowed)}")
        elif kind == "literal_error":
            allowed = _strip_quotes(ctx["expected"].replace(" or ", ","))
            lines.append(f"{path}: {value!r} is not one of {', '.join(allowed)}{suggest(value, allowed)}")
        elif kind == "union_tag_not_found":
            lines.append(f"{path}: missing 'kind' (one of the registered kinds is required)")
        else:
            got = repr(value)
            got = got if len(got) <= 60 else got[:57] + "..."
            lines.append(f"{path}: {e['msg']} (got {got})")
    return lines


def _is_union_tag(cls: type[BaseModel], prefix: tuple, part: Any) -> bool:
    if not isinstance(part, str):
        return False
    current = _walk(cls, prefix)
    if isinstance(current, type):
        return False
    return _union_member(current, part) is not None


def validate(cls: type[M], data: Mapping[str, Any], source: str | None = None) -> M:
    """Validate a plain dict into `cls`, raising ConfigError with dotted paths on failure."""
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_errors(err, cls), source) from None


def parse_value(text: str) -> Any:
    """Parse the right-hand side of `key=value` as YAML (numbers, bools, lists), else keep the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:  # YAML 1.1 reads `1e-3` as a string
            return float(value)
        except ValueError:
            pass
    return value


def set_dotted(data: dict, path: str, value: Any) -> dict:
    """Return a deep copy of `data` with `path` (a.b.c) set to `value`, creating dicts as needed."""
    out = copy.deepcopy(data)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value
    return out


def get_dotted(data: Mapping, path: str, default: Any = None) -> Any:
    """Read `path` (a.b.c) from nested mappings."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def apply_overrides(data: Mapping, overrides: Mapping[str, Any] | Iterable[str]) -> dict:
    """Apply dotted overrides (`{'a.b': 1}` or `['a.b=1']`) to a plain dict; never touches a validated config."""
    if not isinstance(overrides, Mapping):
        pairs = {}
        for item in overrides:
            if "=" not in item:
                raise ConfigError([f"{item}: expected key=value (e.g. model.fusion.kind=it)"])
            key, _, raw = item.partition("=")
            pairs[key.strip()] = parse_value(raw)
        overrides = pairs
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        # switching a component's kind drops the old kind's options, which the new kind may not accept
        if key.endswith(".kind"):
            parent = key.rsplit(".", 1)[0]
            old = get_dotted(out, parent)
            if isinstance(old, Mapping) and old.get("kind") != value:
                out = set_dotted(out, parent, {"kind": value})
        out = set_dotted(out, key, value)
    return out


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted keys: {'a': {'b': 1}} -> {'a.b': 1}."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping key repeated at the same level (YAML would silently keep the last)."""


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


def load_yaml(path: str | Path) -> dict:
    """A YAML mapping from `path`, read strictly (UTF-8 only, a key given twice is an error); ConfigError
    naming the file for a missing file, bad bytes, bad YAML, duplicate keys or a non-mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"file not found: {path}"], str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(
            [f"not UTF-8 text: byte 0x{raw[err.start]:02x} on line {line} (save the file as UTF-8)"], str(path)
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise ConfigError([f"not valid YAML: {err}"], str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"expected a mapping at the top level, got {type(data).__name__}"], str(path))
    return data


def dump_yaml(cfg: BaseModel) -> str:
    """Serialise a config to YAML that validates back into the same config."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
