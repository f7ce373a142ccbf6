"""Policy tools the engine runs (DESIGN.md §5): stockpile, price floor, tariff, trade club,
investment incentive, recycling and substitution research, each with a fiscal ledger.

A scenario lists tools under ``policies:`` (:mod:`critmin.policy.schema`);
:func:`critmin.policy.hooks.build` turns them into :class:`critmin.engine.PolicyHook` objects and
:func:`critmin.policy.hooks.simulate_with_policies` runs a scenario with them. Names are imported
lazily so that the scenario model can import the schema without the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Ledger": "critmin.policy.ledger",
    "build": "critmin.policy.hooks",
    "simulate_with_policies": "critmin.policy.hooks",
    "PolicyRun": "critmin.policy.hooks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'critmin.policy' has no attribute {name!r}")
