"""Supply concentration: HHI, top-n shares, a country's and a group's share, the bottleneck stage.

Pure formulas first (arrays of shares as fractions), then one vectorised pass over a share frame
(see :mod:`critmin.metrics.shares`) grouped by (commodity, stage, year, statistic).

Choices, documented here once:

* HHI is stored as a fraction (Σ S², in [0, 1]) and shown on the antitrust 0–10,000 scale only
  for display (:func:`hhi_points`).
* "Other countries" (``OTH``) is many countries, so it is left out of Σ S² and of top-n naming;
  its share is reported as ``oth_share`` (an upper bound on what it could add to top-1 is its
  own share).
* ``share_sum`` (all rows, ``OTH`` included) shows the rounding of the published world total:
  it can exceed 1 slightly, and then so can HHI (e.g. gallium 2025: 10,001).
* A country or group member that USGS does not list has share 0: any production it has is
  inside "Other countries". Withheld cells (``W``) are listed in ``withheld``, not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from critmin.metrics.shares import KEYS, OTHER

GROUP_KEYS: Final = [*KEYS, "statistic"]

#: Common antitrust bands on the 0–10,000 scale (methods.md §4.4): <1,500 low, ≤2,500 moderate.
HHI_BANDS: Final = ((1500.0, "low"), (2500.0, "moderate"), (np.inf, "high"))


def hhi(shares: ArrayLike) -> float:
    """Herfindahl–Hirschman index of shares given as fractions: Σ S² in [0, 1]."""
    s = np.asarray(shares, dtype=float)
    return float(np.sum(np.square(s[np.isfinite(s)])))


def hhi_points(hhi_fraction: ArrayLike) -> np.ndarray:
    """HHI on the 0–10,000 display scale."""
    return np.asarray(hhi_fraction, dtype=float) * 10_000.0


def hhi_band(hhi_fraction: ArrayLike) -> np.ndarray:
    """'low' | 'moderate' | 'high' for HHI fractions (NaN → empty string)."""
    points = hhi_points(hhi_fraction)
    edges = np.array([b for b, _ in HHI_BANDS[:-1]])
    labels = np.array([name for _, name in HHI_BANDS] + [""], dtype=object)
    idx = np.searchsorted(edges, points, side="left")
    idx = np.where(np.isnan(points), len(HHI_BANDS), idx)
    return labels[idx]


def top_n_share(shares: ArrayLike, n: int = 3) -> float:
    """Sum of the n largest shares (the IEA uses n = 3)."""
    s = np.asarray(shares, dtype=float)
    s = s[np.isfinite(s)]
    return float(np.sort(s)[::-1][:n].sum())


def rank_countries(shares: pd.DataFrame) -> pd.DataFrame:
    """Single countries (``OTH`` dropped) with share > 0, sorted by share, with ``rank`` 0, 1, …"""
    single = shares[shares["iso3"].ne(OTHER) & shares["share"].gt(0)]
    single = single.sort_values(
        [*GROUP_KEYS, "share", "iso3"], ascending=[*[True] * 4, False, True]
    )
    return single.assign(rank=single.groupby(GROUP_KEYS, sort=False).cumcount())


def member_share(shares: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """Summed share of the members valid in each year; ``members`` has columns (year, iso3)."""
    joined = shares.merge(members[["year", "iso3"]].drop_duplicates(), on=["year", "iso3"])
    return joined.groupby(GROUP_KEYS, sort=False)["share"].sum()


def concentration_table(
    shares: pd.DataFrame,
    country: str = "CHN",
    members: pd.DataFrame | None = None,
    group: str | None = None,
    n: int = 3,
) -> pd.DataFrame:
    """One row per market: HHI, top-1/top-n named, ``OTH`` share, a country's and a group's share.

    ``shares``: a share frame (:func:`critmin.metrics.shares.market_shares`). ``members``: the
    group's members per year (columns year, iso3), e.g. from :func:`membership_frame`.
    """
    base = shares.groupby(GROUP_KEYS, sort=False).agg(
        denominator=("denominator", "first"),
        total=("total", "first"),
        world_published=("world_published", "first"),
        share_sum=("share", "sum"),
    )
    ranked = rank_countries(shares)
    by_key = ranked.groupby(GROUP_KEYS, sort=False)
    base["n_countries"] = by_key["iso3"].size()
    base["hhi"] = (ranked["share"] ** 2).groupby([ranked[k] for k in GROUP_KEYS]).sum()
    top1 = ranked[ranked["rank"].eq(0)].set_index(GROUP_KEYS)
    base["top1"] = top1["iso3"]
    base["top1_share"] = top1["share"]
    topn = ranked[ranked["rank"].lt(n)].groupby(GROUP_KEYS, sort=False)
    base[f"top{n}"] = topn["iso3"].agg(",".join)
    base[f"top{n}_share"] = topn["share"].sum()
    base["oth_share"] = shares[shares["iso3"].eq(OTHER)].set_index(GROUP_KEYS)["share"]
    base["country"] = country
    base["country_share"] = shares[shares["iso3"].eq(country)].set_index(GROUP_KEYS)["share"]
    if members is not None:
        base["group"] = group
        sizes = members.drop_duplicates(["year", "iso3"]).groupby("year").size()
        years = base.index.get_level_values("year")
        base["group_size"] = sizes.reindex(years).fillna(0).astype(int).to_numpy()
        base["group_share"] = member_share(shares, members)
    filled = ["n_countries", "hhi", "top1_share", f"top{n}_share", "oth_share", "country_share"]
    filled += ["group_share"] if members is not None else []
    base[filled] = base[filled].fillna(0.0)
    base["n_countries"] = base["n_countries"].astype(int)
    base["hhi_band"] = hhi_band(base["hhi"].to_numpy())
    return base.reset_index()


def mark_bottleneck(table: pd.DataFrame, by: str = "hhi") -> pd.DataFrame:
    """Add ``bottleneck``: True on the stage with the highest ``by`` per commodity and year.

    Only markets with a published world total compete when the commodity has any (see
    :mod:`critmin.metrics.shares`); ties go to the first stage in the table's order; markets
    with ``by`` NaN are never the bottleneck.
    """
    keys = [table[k] for k in ("commodity", "year", "statistic") if k in table]
    published = table.get("world_published", True)
    any_published = pd.Series(published, index=table.index).groupby(keys).transform("any")
    eligible = pd.Series(published, index=table.index) | ~any_published
    score = table[by].astype(float).where(eligible)
    is_max = score.eq(score.groupby(keys).transform("max")) & score.notna()
    first = is_max & ~is_max.groupby(keys).cumsum().gt(1)
    return table.assign(bottleneck=first.to_numpy())


def membership_frame(group_members_on: dict[int, Sequence[str]]) -> pd.DataFrame:
    """(year, iso3) rows from {year: members valid that year}."""
    rows = [(year, iso3) for year, isos in group_members_on.items() for iso3 in isos]
    return pd.DataFrame(rows, columns=["year", "iso3"]).astype({"year": int})
