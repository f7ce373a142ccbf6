"""Backtests: replay historical episodes and score the model against observed facts.

A case file (:mod:`critmin.backtest.case`) holds the episode as a scenario, the market of its
time and the observed targets with their sources; :func:`run_case` simulates it with Monte
Carlo draws over the registry, :func:`score` compares every target (median, 5–95% band, error,
hit), :func:`calibrate` fits the registry's shared central values within their ranges to all
cases, and :func:`case_figure` draws observed points over the model's band. The shipped cases
live in ``backtests/`` (:func:`shipped_cases`).
"""

from __future__ import annotations

from critmin.backtest.case import Case, Target, load_case, validate_case
from critmin.backtest.metrics import METRICS, Outcome
from critmin.backtest.runner import (
    CaseRun,
    backtest,
    case_scores,
    run_case,
    score,
    shipped_cases,
)


def calibrate(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`critmin.backtest.calibrate.calibrate` (imported on use: it pulls in scipy)."""
    from critmin.backtest.calibrate import calibrate as _calibrate

    return _calibrate(*args, **kwargs)


def case_figure(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`critmin.backtest.figures.case_figure` (imported on use: matplotlib)."""
    from critmin.backtest.figures import case_figure as _case_figure

    return _case_figure(*args, **kwargs)


__all__ = ["METRICS", "Case", "CaseRun", "Outcome", "Target", "backtest", "calibrate",
           "case_figure", "case_scores", "load_case", "run_case", "score", "shipped_cases",
           "validate_case"]
