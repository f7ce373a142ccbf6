"""Analysis on top of the data and the simulator: coalition designer, Monte Carlo sweeps and
risk measures, sensitivity, and the policy optimiser (DESIGN.md §6).

Each concept is one module (:mod:`~critmin.analysis.coalition`, :mod:`~.montecarlo`,
:mod:`~.sweep`, :mod:`~.sensitivity`, :mod:`~.optimize`); names are imported lazily so that
importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "design_coalition": "critmin.analysis.coalition",
    "CoalitionProblem": "critmin.analysis.coalition",
    "CoalitionDesign": "critmin.analysis.coalition",
    "risk_table": "critmin.analysis.montecarlo",
    "cvar": "critmin.analysis.montecarlo",
    "sweep": "critmin.analysis.sweep",
    "SweepResult": "critmin.analysis.sweep",
    "sensitivity": "critmin.analysis.sensitivity",
    "optimise": "critmin.analysis.optimize",
    "pareto_front": "critmin.analysis.optimize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'critmin.analysis' has no attribute {name!r}")
