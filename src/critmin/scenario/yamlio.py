"""YAML files validated by pydantic, with errors that name the file, the line and the field.

Scenario files, backtest cases and any other user-written YAML go through
:func:`load_yaml_model`: PyYAML composes the node tree (which keeps each key's line), the
document is constructed from that tree, and the plain data are validated by a pydantic model.
A validation error is mapped back to the line of the offending key and reported as one line::

    scenario.yaml:14: field 'shocks[0].share': -0.2 is out of range; allowed: >= 0

so the CLI can print it as it is. Nothing here knows about scenarios: any ``BaseModel`` works.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from critmin.errors import CritminError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]

#: Error types whose ``ctx`` carries a numeric bound, and how to say it.
_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
    "multiple_of": ("a multiple of", "multiple_of"),
}
#: Type errors: what the field accepts, in words.
_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "set_type": "a list of distinct items", "date_parsing": "a date YYYY-MM-DD",
    "date_from_datetime_parsing": "a date YYYY-MM-DD", "date_type": "a date YYYY-MM-DD",
    "datetime_parsing": "a date-time", "dict_type": "a mapping",
}


class ScenarioFileError(CritminError):
    """A YAML file that cannot be read or does not validate: ``FILE:LINE: field 'x': …``."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field = str(path), line, field
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"field {field!r}: {message}" if field else message
        super().__init__(f"{where}: {what}")


def load_yaml_model(path: Path | str, model: type[M], context: Any = None) -> M:
    """Read ``path`` and validate it as ``model``; every failure is one :class:`ScenarioFileError`.

    ``context`` is passed to ``model.model_validate`` for validators that need outside facts.
    """
    path = Path(path)
    data, lines = parse_yaml(_read(path), path)
    if data is None:
        raise ScenarioFileError(path, 1, None, f"file is empty; expected a mapping with fields: "
                                f"{', '.join(_field_names(model))}")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise validation_error(path, err, data, lines, model) from None
    except CritminError as err:  # raised inside a validator: no location, but name the file
        raise ScenarioFileError(path, None, None, str(err)) from None


def parse_yaml(text: str, path: Path | str = "<string>") -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document safely; return the data and the 1-based line of every key path.

    The line map has an entry for each mapping key and sequence item, e.g.
    ``('shocks', 0, 'share') → 14``; the root ``()`` is line 1.
    """
    try:
        loader = yaml.SafeLoader(text)  # checks the characters: raises ReaderError on NUL
    except yaml.YAMLError as err:
        raise ScenarioFileError(path, None, None, f"YAML error: {_one_line(str(err))}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {(): 1}
        _check_duplicate_keys(node, loader, path)
        data = loader.construct_document(node)
        lines: dict[Loc, int] = {(): 1}
        _index_lines(node, (), lines, loader)
        return data, lines
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(path, err) from None
    except yaml.YAMLError as err:  # unmarked: reader errors such as bad characters
        raise ScenarioFileError(path, None, None, f"YAML error: {_one_line(str(err))}") from None
    finally:
        loader.dispose()


def validation_error(
    path: Path | str, err: ValidationError, data: Any, lines: Mapping[Loc, int], model: type
) -> ScenarioFileError:
    """The first error in file order as a one-line :class:`ScenarioFileError` (+ how many more)."""
    located = []
    for detail in _best_union_branch(err.errors(include_url=False), data):
        loc, line = _locate(tuple(detail["loc"]), data, lines)
        located.append((detail["type"] == "missing", line, loc, detail))
    # a misspelt key gives "unknown field" and "missing"; the unknown one says what to fix
    located.sort(key=lambda item: item[:2])
    _, line, loc, detail = located[0]
    what, allowed = explain(detail, model)
    message = f"{what}; allowed: {allowed}" if allowed else what
    if len(located) > 1:
        message += f" (+{len(located) - 1} more error{'s' if len(located) > 2 else ''})"
    return ScenarioFileError(path, line, format_loc(loc) or None, message)


def explain(detail: Mapping[str, Any], model: type) -> tuple[str, str | None]:
    """(what is wrong, what is allowed or None) for one pydantic error on ``model``."""
    kind, loc = detail["type"], tuple(detail["loc"])
    ctx = detail.get("ctx") or {}
    got = _short(detail.get("input"))
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        allowed = ", ".join(_field_names(parent)) if parent is not None else None
        return f"unknown field {loc[-1]!r}", allowed
    if kind == "missing":
        return "required field is missing", None
    if kind in ("literal_error", "enum"):
        return f"{got} is not allowed", str(ctx.get("expected"))
    if kind == "union_tag_invalid":
        return f"{ctx.get('tag')!r} is not a known {ctx.get('discriminator')}", str(
            ctx.get("expected_tags"))
    if kind in _BOUNDS:
        word, key = _BOUNDS[kind]
        bound = ctx.get(key)
        text = f"{bound:g}" if isinstance(bound, float) else str(bound)
        return f"{got} is out of range", f"{word} {text}"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"{got} has {ctx.get('actual_length')} items", f"{bound} {limit} items"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        target = model_at(model, loc)
        if target is not None:
            fields = ", ".join(_field_names(target))
            return f"{got} is not a mapping", f"a mapping with fields: {fields}"
    if kind in _EXPECTED:
        return f"{got} is not {_EXPECTED[kind]}", None
    msg = str(detail.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg, None


def model_at(model: type, loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that validates the value at ``loc`` (None if not a model).

    Follows fields, list items, dict values and union members (pydantic puts the member's
    class name or discriminator tag in the location; both are understood).
    """
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    candidates = [c for c in _members(current) if _is_model(c)]
    return candidates[0] if len(candidates) == 1 else None


def format_loc(loc: Loc) -> str:
    """``('shocks', 2, 'path')`` → ``'shocks[2].path'``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def dump_json_schema(model: type[BaseModel]) -> str:
    """The model's JSON Schema (draft 2020-12) as indented JSON, for editors and the docs."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              **model.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False)


def model_hash(instance: BaseModel) -> str:
    """12 hex digits of the SHA-256 of the model's canonical JSON: equal content, equal hash.

    Formatting, comments and key order in the YAML do not change it; any value does.
    """
    canonical = json.dumps(instance.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# reading and the node tree


def _read(path: Path) -> str:
    if not path.exists():
        raise ScenarioFileError(path, None, None, "file not found")
    if path.is_dir():
        raise ScenarioFileError(path, None, None, "is a directory, expected a YAML file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioFileError(path, None, None, f"not UTF-8 text ({err.reason} at byte "
                                f"{err.start}); save the file as UTF-8") from None


def _syntax_error(path: Path | str, err: yaml.MarkedYAMLError) -> ScenarioFileError:
    mark = err.problem_mark or err.context_mark
    problem = _one_line(err.problem or "invalid YAML")
    if err.context and err.context_mark is not None and err.context_mark is not mark:
        problem += f" ({_one_line(err.context)} at line {err.context_mark.line + 1})"
    return ScenarioFileError(path, mark.line + 1 if mark else None, None,
                             f"YAML syntax error: {problem}")


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """A mapping key as Python sees it (``1`` for ``1:``), or None for complex keys."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_object(node)
    return None


def _check_duplicate_keys(node: yaml.Node, loader: yaml.SafeLoader, path: Path | str) -> None:
    """PyYAML silently keeps the last of two equal keys; a scenario file must not."""
    stack = [node]
    seen_nodes: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:  # aliases share nodes
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in current.value:
                key = _key(key_node, loader)
                line = key_node.start_mark.line + 1
                if key is not None and key != "<<" and key in first:
                    raise ScenarioFileError(path, line, str(key),
                                            f"duplicate key (first given at line {first[key]})")
                first.setdefault(key, line)
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], loader: yaml.SafeLoader) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:  # merges (<<) are flattened by now
            key = _key(key_node, loader)
            if key is None:
                continue
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _index_lines(item, (*loc, i), lines, loader)


def _has(container: Any, part: str | int) -> bool:
    """Whether ``container[part]`` is a key of a mapping or an index of a list in the data."""
    if isinstance(container, Mapping):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _branch(loc: Loc, data: Any) -> tuple[Loc, Any] | None:
    """(position, member) if ``loc`` passes through a union member name absent from the data."""
    current = data
    for i, part in enumerate(loc[:-1]):
        if not _has(current, part):
            return loc[:i], part
        current = current[part]
    return None


def _best_union_branch(details: list[Any], data: Any) -> list[Any]:
    """For a plain (non-discriminated) union, keep the errors of the member the user meant.

    pydantic reports every member's errors; a member whose literal tag did not match was not
    meant, and of the rest the one with the fewest errors is the closest fit.
    """
    branches: dict[Loc, dict[Any, list[Any]]] = {}
    kept = []
    for detail in details:
        hit = _branch(tuple(detail["loc"]), data)
        if hit is None:
            kept.append(detail)
        else:
            branches.setdefault(hit[0], {}).setdefault(hit[1], []).append(detail)
    for members in branches.values():
        untagged: dict[Any, list[Any]] = {m: e for m, e in members.items()
                    if not any(d["type"] == "literal_error" for d in e)} or members
        kept.extend(min(untagged.items(), key=lambda item: len(item[1]))[1])
    return kept


def _locate(loc: Loc, data: Any, lines: Mapping[Loc, int]) -> tuple[Loc, int]:
    """Map a pydantic location onto the data: (the path as the user wrote it, its line).

    Parts that are not in the data (union member names, discriminator tags) are dropped; a
    final part that is missing from the data (a required field) is kept for the message and
    the line is that of its parent.
    """
    path: Loc = ()
    current = data
    for i, part in enumerate(loc):
        if _has(current, part):
            current = current[part]
            path = (*path, part)
        elif i == len(loc) - 1:
            return (*path, part), lines.get(path, 1)
    return path, lines.get(path, 1)


# ---------------------------------------------------------------------------------------------
# walking type annotations


def _members(tp: Any) -> list[Any]:
    """Union members (Optional included) with Annotated stripped; [tp] for anything else."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(tp) for m in _members(arg) if m is not type(None)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags(model: type[BaseModel]) -> set[Any]:
    """Literal values of the model's fields: how a discriminated union names this member."""
    tags: set[Any] = set()
    for field in model.model_fields.values():
        for member in _members(field.annotation):
            if typing.get_origin(member) is typing.Literal:
                tags.update(typing.get_args(member))
    return tags


def _step(tp: Any, part: str | int) -> Any:
    members = _members(tp)
    if len(members) > 1:  # a union: the part may name the member
        for member in members:
            named = getattr(member, "__name__", None) == part
            if named or (_is_model(member) and part in _tags(member)):
                return member
        for member in members:
            found = _step(member, part)
            if found is not None:
                return found
        return None
    (tp,) = members
    if _is_model(tp):
        for name, field in tp.model_fields.items():
            if part in (name, field.alias, field.validation_alias):
                return field.annotation
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(part, int) and origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[part] if part < len(args) else None
    if isinstance(part, int) and origin in (list, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())
