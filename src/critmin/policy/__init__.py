"""Policy tools the engine runs (DESIGN.md §5): stockpile, price floor, tariff, trade club,
investment incentive, recycling and substitution research, each with a fiscal ledger.

A scenario lists tools under ``policies:`` (:mod:`critmin.policy.schema`);
:func:`critmin.policy.hooks.build` turns them into :class:`critmin.engine.PolicyHook` objects and
:func:`critmin.policy.hooks.simulate_with_policies` runs a scenario with them. Names are imported
lazily so that the scenario model can import the schema without the engine.
"""

from __future__ import annotations

from critmin._lazy import lazy_getattr

_EXPORTS = {
    "Ledger": "critmin.policy.ledger",
    "build": "critmin.policy.hooks",
    "simulate_with_policies": "critmin.policy.hooks",
    "PolicyRun": "critmin.policy.hooks",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
