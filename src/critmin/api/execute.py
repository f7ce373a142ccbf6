"""From a stored scenario document to a JSON result: the bridge between the job queue and the
simulator. Runs inside a worker process (:mod:`critmin.api.worker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from critmin.errors import CritminError


@dataclass
class Outcome:
    payload: dict[str, Any]
    data_edition: str
    scenario_hash: str


def execute(body: str, content_type: str) -> Outcome:
    """Validate and simulate a scenario document; the payload is what the results API returns."""
    from critmin.api import documents

    documents.check(body, content_type)
    raise CritminError("the market simulator is not part of this build yet; runs cannot execute")
