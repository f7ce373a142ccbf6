"""IEA-style N−1: how much world supply is left if the largest supplier (or a named one) drops out.

The IEA form divides the remaining supply by demand; world demand is not in the raw data, so the
default here divides by world supply (the share of supply left, 1 − S_removed), and
:func:`n_minus_1_coverage` keeps the demand form for callers who have demand.

Capacity is what could keep flowing, so where the data have capacity for the market
(commodity, stage, year) it is used; production otherwise. ``n1_basis`` says which. The largest
supplier is the largest single country ("Other countries" is not one supplier).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from critmin.metrics.concentration import rank_countries
from critmin.metrics.shares import KEYS, Denominator, market_shares

N1_COLUMNS: Final = [
    *KEYS,
    "n1_basis",
    "n1_removed",
    "n1_removed_share",
    "n1_remaining",
    "n1_country_remaining",
]


def remaining_share(removed_share: ArrayLike) -> np.ndarray:
    """Share of world supply left when suppliers holding ``removed_share`` drop out."""
    return np.clip(1.0 - np.asarray(removed_share, dtype=float), 0.0, 1.0)


def n_minus_1_coverage(
    total_supply: ArrayLike, removed_supply: ArrayLike, demand: ArrayLike
) -> np.ndarray:
    """IEA form: (supply − supply of the removed supplier) / demand (NaN where demand ≤ 0)."""
    t, r, d = (np.asarray(x, dtype=float) for x in (total_supply, removed_supply, demand))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, (t - r) / np.where(d > 0, d, 1.0), np.nan)


def choose_basis(facts: pd.DataFrame) -> pd.DataFrame:
    """Capacity rows for markets that have a capacity value, production rows for the others."""
    cap = facts[facts["statistic"].eq("capacity")]
    has_cap = cap[cap["value"].notna() & cap["iso3"].ne("WLD")][KEYS].drop_duplicates()
    has_cap = has_cap.assign(_cap=True)
    frame = facts[facts["statistic"].isin(["production", "capacity"])].merge(
        has_cap, on=KEYS, how="left"
    )
    use_cap = frame["_cap"].eq(True)
    keep = np.where(use_cap, frame["statistic"].eq("capacity"), frame["statistic"].eq("production"))
    return frame[keep].drop(columns="_cap")


def n_minus_1_table(
    facts: pd.DataFrame, country: str = "CHN", denominator: Denominator = "world-total"
) -> pd.DataFrame:
    """Per market: the largest single supplier, the share left without it or ``country``."""
    shares = market_shares(choose_basis(facts), denominator)
    base = shares.groupby(KEYS, sort=False).agg(n1_basis=("statistic", "first"))
    top = rank_countries(shares)
    top = top[top["rank"].eq(0)].set_index(KEYS)
    base["n1_removed"] = top["iso3"]
    base["n1_removed_share"] = top["share"].reindex(base.index).fillna(0.0)
    base["n1_remaining"] = remaining_share(base["n1_removed_share"])
    named = shares[shares["iso3"].eq(country)].set_index(KEYS)["share"]
    base["n1_country_remaining"] = remaining_share(named.reindex(base.index).fillna(0.0))
    return base.reset_index()[N1_COLUMNS]
