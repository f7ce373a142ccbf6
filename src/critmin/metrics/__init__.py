"""Exposure and supply-risk metrics: concentration, coalition coverage, N−1, EU CRM, USGS.

Formulas are pure functions on arrays (``hhi``, ``top_n_share``, ``eu_supply_risk``,
``usgs_supply_risk`` …), tested on hand-computed markets; the table functions below read the
curated dataset and return one row per (commodity, stage, year). Shares and HHI are fractions;
the CLI shows HHI on 0–10,000.

Note: ``critmin.metrics.concentration`` (and ``coverage``, ``n_minus_1``) are the table functions
here; their modules are imported with ``from critmin.metrics.concentration import …``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from critmin.metrics.concentration import hhi, hhi_points, top_n_share
from critmin.metrics.coverage import coverage_ratio
from critmin.metrics.eu_crm import eu_supply_risk, is_critical
from critmin.metrics.exposure import (
    METHODS,
    RiskInputs,
    bottleneck_ranking,
    compute_risk,
    latest_per_market,
    risk_table,
)
from critmin.metrics.governance import rescale_eu, rescale_usgs
from critmin.metrics.matrix import criticality_matrix
from critmin.metrics.n_minus_1 import n_minus_1_coverage, remaining_share
from critmin.metrics.parameters import load_parameters
from critmin.metrics.reliance import import_reliance
from critmin.metrics.usgs import disruption_potential, trade_exposure, usgs_supply_risk


def concentration(commodity: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """HHI, top-1/top-3, country and group shares, bottleneck stage (``risk_table`` method hhi)."""
    return risk_table(commodity, method="hhi", **kwargs)


def coverage(
    group: str = "trade-club", commodity: str | None = None, **kwargs: Any
) -> pd.DataFrame:
    """A group's own production share per stage and its (US-only) consumption coverage."""
    table = risk_table(commodity, group=group, method="hhi", **kwargs)
    cols = [
        "commodity",
        "stage",
        "year",
        "group",
        "group_share",
        "consumption_coverage",
        "consumption_status",
    ]
    return table[cols]


def n_minus_1(commodity: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """Share of world supply left without the largest (or a named) supplier, and its basis."""
    return risk_table(commodity, method="n-1", **kwargs)


def supply_risk(commodity: str | None = None, method: str = "eu", **kwargs: Any) -> pd.DataFrame:
    """EU CRM (``method="eu"``) or USGS 2022 (``"usgs"``) supply risk per market."""
    return risk_table(commodity, method=method, **kwargs)  # type: ignore[arg-type]


__all__ = [
    "METHODS",
    "RiskInputs",
    "bottleneck_ranking",
    "compute_risk",
    "concentration",
    "coverage",
    "coverage_ratio",
    "criticality_matrix",
    "disruption_potential",
    "eu_supply_risk",
    "hhi",
    "hhi_points",
    "import_reliance",
    "is_critical",
    "latest_per_market",
    "load_parameters",
    "n_minus_1",
    "n_minus_1_coverage",
    "remaining_share",
    "rescale_eu",
    "rescale_usgs",
    "risk_table",
    "supply_risk",
    "top_n_share",
    "trade_exposure",
    "usgs_supply_risk",
]
