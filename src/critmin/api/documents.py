"""Scenario documents sent to the API: YAML or JSON text, validated like a scenario file.

The text goes through the same reader as ``critmin scenario validate`` (JSON is YAML), so a bad
document gets the same one-line message with line and field (``scenario:14: field 'x': …``),
and the hash recorded with each version is the one every run result records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from critmin.scenario.yamlio import ScenarioFileError, parse_yaml, validation_error

#: Content types accepted for a raw document body.
YAML_TYPES: Final = frozenset({"application/yaml", "application/x-yaml", "text/yaml",
                               "text/x-yaml", "text/plain"})
MAX_BYTES: Final = 1_000_000


@dataclass(frozen=True)
class Checked:
    """A document that passed validation."""

    text: str
    content_type: str  # "yaml" or "json"
    data: dict[str, Any]  # the validated scenario as plain JSON data
    scenario_hash: str
    name: str | None


def scenario_model() -> type[BaseModel] | None:
    """The simulator's Scenario model, or None in a build that does not have it yet."""
    try:
        from critmin.scenario.model import Scenario
    except ImportError:
        return None
    return Scenario


def check(text: str, content_type: str = "yaml", label: str = "scenario") -> Checked:
    """Parse and validate; raise :class:`ScenarioFileError` (422) naming line and field."""
    if len(text.encode()) > MAX_BYTES:
        raise ScenarioFileError(label, None, None, f"document larger than {MAX_BYTES} bytes")
    data, lines = parse_yaml(text, label)
    if not isinstance(data, dict):
        raise ScenarioFileError(label, 1, None, "expected a mapping of scenario fields")
    model = scenario_model()
    if model is None:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
        return Checked(text, content_type, data, digest, _name(data))
    from pydantic import ValidationError

    from critmin.errors import CritminError
    from critmin.scenario.yamlio import model_hash

    try:
        instance = model.model_validate(data, context={})  # context: cross-field checks
    except ValidationError as err:
        raise validation_error(label, err, data, lines, model) from None
    except CritminError as err:
        raise ScenarioFileError(label, None, None, str(err)) from None
    plain = instance.model_dump(mode="json")
    return Checked(text, content_type, plain, model_hash(instance), _name(plain))


def from_json_document(document: Any) -> str:
    """A JSON object as indented text, so validation errors can still name a line."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def _name(data: dict[str, Any]) -> str | None:
    name = data.get("name")
    return str(name) if isinstance(name, str | int) and str(name).strip() else None
