"""Analysis on top of the data and the simulator: coalition designer, Monte Carlo sweeps and
risk measures, sensitivity, and the policy optimiser (DESIGN.md §6).

Each concept is one module (:mod:`~critmin.analysis.coalition`, :mod:`~.montecarlo`,
:mod:`~.sweep`, :mod:`~.sensitivity`, :mod:`~.optimize`); names are imported lazily so that
importing the package stays cheap.
"""

from __future__ import annotations

from critmin._lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _EXPORTS)
