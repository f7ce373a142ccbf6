"""The market simulator: clearing kernels, the period loop, dynamics (DESIGN.md §4).

``simulate(world, scenario)`` runs a scenario and its baseline; ``clear`` solves one period's
spatial price equilibrium for many problems at once; ``critmin.engine.reference.clear_one`` is
the plain scipy solver the vectorised one is checked against. Names are imported lazily so that
``critmin.engine.chains`` (plain data used by the scenario model and the world builder) stays
free of the heavier modules.
"""

from __future__ import annotations

from critmin._lazy import lazy_getattr

_EXPORTS = {
    "clear": "critmin.engine.clearing",
    "Solution": "critmin.engine.clearing",
    "MarketArrays": "critmin.engine.kernels",
    "simulate": "critmin.engine.loop",
    "Run": "critmin.engine.loop",
    "Trajectory": "critmin.engine.loop",
    "EngineState": "critmin.engine.loop",
    "PeriodInputs": "critmin.engine.loop",
    "PeriodOutcome": "critmin.engine.loop",
    "PolicyHook": "critmin.engine.loop",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
