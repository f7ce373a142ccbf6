"""A JSON Schema (as pydantic writes it) as data: one record per field of each model.

Shared by the scenario-schema directive (``critmin_docs``) and ``tests/test_docs.py``: the page
renders these records, the test requires a description on each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: JSON Schema keywords shown as constraints, and how to say them.
_CONSTRAINTS = {
    "minimum": "≥ {}",
    "exclusiveMinimum": "> {}",
    "maximum": "≤ {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "minItems": "items ≥ {}",
    "maxItems": "items ≤ {}",
    "pattern": "matches {}",
    "multipleOf": "multiple of {}",
}


@dataclass(frozen=True)
class Ref:
    """A reference to another model of the schema (rendered as a link)."""

    model: str


@dataclass(frozen=True)
class ModelDoc:
    """One model (the root or a ``$defs`` entry) with its description."""

    name: str
    description: str
    fields: tuple[FieldDoc, ...]


@dataclass(frozen=True)
class FieldDoc:
    """One property of a model."""

    model: str
    name: str
    type: tuple[str | Ref, ...]  # text pieces and links, e.g. ("list of ", Ref("Shock"))
    required: bool
    default: str  # JSON of the default, "" when there is none
    constraints: str
    description: str

    @property
    def path(self) -> str:
        return f"{self.model}.{self.name}"


def models(schema: dict[str, Any]) -> Iterator[ModelDoc]:
    """The root model first, then the ``$defs`` models in the order the fields reach them
    (breadth first), then any the fields do not reach."""
    defs = {name: spec for name, spec in schema.get("$defs", {}).items()
            if "properties" in spec or spec.get("type") == "object"}
    queue = [_model(schema.get("title", "root"), schema)]
    seen = {queue[0].name}
    while queue:
        model = queue.pop(0)
        yield model
        for piece in (p for f in model.fields for p in f.type):
            if isinstance(piece, Ref) and piece.model in defs and piece.model not in seen:
                seen.add(piece.model)
                queue.append(_model(piece.model, defs[piece.model]))
    yield from (_model(name, spec) for name, spec in defs.items() if name not in seen)


def undocumented_fields(schema: dict[str, Any]) -> list[str]:
    """``Model.field`` paths of properties without a description."""
    return [f.path for m in models(schema) for f in m.fields if not f.description.strip()]


def type_pieces(spec: dict[str, Any]) -> tuple[str | Ref, ...]:
    """A field's type in words, with references to other models kept as :class:`Ref`."""
    if "$ref" in spec:
        return (Ref(spec["$ref"].rsplit("/", 1)[-1]),)
    for key in ("anyOf", "oneOf"):
        if key in spec:
            out: list[str | Ref] = []
            for i, option in enumerate(spec[key]):
                if i:
                    out.append(" | ")
                out.extend(type_pieces(option))
            return tuple(out)
    if "allOf" in spec and len(spec["allOf"]) == 1:
        return type_pieces(spec["allOf"][0])
    if "const" in spec:
        return (json.dumps(spec["const"]),)
    if "enum" in spec:
        return ("one of " + ", ".join(json.dumps(v) for v in spec["enum"]),)
    kind = spec.get("type")
    if kind == "array":
        items = spec.get("items")
        return ("list of ", *type_pieces(items)) if items else ("list",)
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return ("mapping of string → ", *type_pieces(spec["additionalProperties"]))
    if isinstance(kind, list):
        return (" | ".join(kind),)
    if kind == "string" and "format" in spec:
        return (f"string ({spec['format']})",)
    return (str(kind or "any"),)


def _model(name: str, spec: dict[str, Any]) -> ModelDoc:
    required = set(spec.get("required", ()))
    fields = tuple(
        FieldDoc(
            model=name,
            name=field,
            type=type_pieces(prop),
            required=field in required,
            default=json.dumps(prop["default"], ensure_ascii=False) if "default" in prop else "",
            constraints=_constraints(prop),
            description=str(prop.get("description", "")),
        )
        for field, prop in spec.get("properties", {}).items()
    )
    return ModelDoc(name=name, description=str(spec.get("description", "")), fields=fields)


def _constraints(spec: dict[str, Any]) -> str:
    """Constraints of the field and of the non-null branch of an optional field."""
    branches = [spec, *(b for b in spec.get("anyOf", ()) if b.get("type") != "null")]
    said = [fmt.format(b[k]) for b in branches for k, fmt in _CONSTRAINTS.items() if k in b]
    return ", ".join(dict.fromkeys(said))
