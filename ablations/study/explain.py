"""`--explain` and `--schema`: every study-file key with its type, default and description; the JSON schema."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel

from ablations.study.schema import DatasetSpec, StudyConfig
from avtca.config.base import field_type, union_members
from avtca.data.config import DataConfig


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation))
    if origin is Literal:
        return " | ".join(map(str, get_args(annotation)))
    if origin is Annotated:
        return _type_name(get_args(annotation)[0])
    args = [a for a in get_args(annotation)]
    inner = ", ".join(_type_name(a) for a in args)
    name = getattr(origin, "__name__", str(origin))
    if name in ("Union", "UnionType"):
        return " | ".join(_type_name(a) for a in args)
    return f"{name}[{inner}]"


def explain(cls: type[BaseModel] = StudyConfig, prefix: str = "") -> list[str]:
    """One line per key of the study schema: dotted path, type, default, description."""
    lines = []
    for name, field in cls.model_fields.items():
        path = prefix + name
        models = [m for m in union_members(field_type(field)) if m is not cls]
        default = "required" if field.is_required() else _default_text(field)
        if models and get_origin(field.annotation) is dict:
            lines.append(f"{path}  dict  default {default}  {field.description or ''}".rstrip())
            path += ".<path>"
            default = "required"
        if models and "kind" in models[0].model_fields and len(models) > 1:
            kinds = [m.model_fields["kind"].default for m in models]
            value = field.get_default(call_default_factory=True)
            default = getattr(value, "kind", default)
            lines.append(f"{path}.kind  ({' | '.join(kinds)})  default {default}  {field.description or ''}".rstrip())
            for m in models:
                sub = [ln for ln in explain(m, f"{path}.") if not ln.startswith(f"{path}.kind ")]
                lines += [f"{ln}  [kind {m.model_fields['kind'].default}]" for ln in sub]
        elif models and get_origin(field.annotation) not in (dict,):
            lines.append(f"{path}  ({models[0].__doc__ or ''})".rstrip())
            lines += explain(models[0], f"{path}.")
        else:
            desc = field.description or ""
            lines.append(f"{path}  {_type_name(field.annotation)}  default {default}  {desc}".rstrip())
        if cls is DatasetSpec and name == "options":
            lines += _data_options(f"{path}.")
    return lines


def _data_options(prefix: str) -> list[str]:
    """The `data` keys a study sets under `dataset.options`, each registered dataset's own options included."""
    lines = [
        ln for ln in explain(DataConfig, prefix) if ln[len(prefix) :].split(" ")[0] not in DatasetSpec.model_fields
    ]
    for name, options in DataConfig.dynamic_fields().items():
        lines.append(f"{prefix}{name}  ({(options.__doc__ or '').strip().splitlines()[0]})")
        lines += explain(options, f"{prefix}{name}.")
    return lines


def _default_text(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"))
    return json.dumps(value) if not isinstance(value, str) else value


def schema_json() -> str:
    """The study file's JSON schema."""
    return json.dumps(StudyConfig.model_json_schema(), indent=2)
