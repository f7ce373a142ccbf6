"""Country shares of one market (commodity, stage, year, statistic): the input of every metric.

Shares are fractions in [0, 1]. Two denominators are offered because USGS prints both a rounded
"World total" row and the country rows, and they rarely add up exactly:

* ``world-total`` (default): the published world total (iso3 ``WLD``) when USGS printed one with a
  value; otherwise the sum of the country rows. It reproduces USGS's own arithmetic
  (China's 2024 rare-earth mine share = 270,000 / 380,000).
* ``sum-of-countries``: the sum of all country rows including "Other countries" (``OTH``), so
  the shares add up to exactly 1.

The column ``denominator`` says which one each row used; ``world_published`` says whether
USGS printed a world total at all. Where it did not, the market is usually one product form
reported by one or two countries (boron "refined borates": Türkiye only), so its shares are
shares of the listed rows, not of world supply: the metrics keep such markets but never pick
them as a commodity's bottleneck when a published market exists, and rank them last.

"Other countries" (``OTH``) stays in the share frame (it is supply) but it is not one country:
the concentration metrics leave it out of the sums of squares and of top-n naming and report its
share apart (``oth_share``).
Withheld (``W``) and not-available cells have no value and get no share; they are listed in
``withheld`` so that a zero share is never mistaken for a known zero.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd

from critmin.errors import CritminError

#: One market: the grouping of every metric.
KEYS: Final = ["commodity", "stage", "year"]
WORLD: Final = "WLD"
OTHER: Final = "OTH"
DENOMINATORS: Final = ("world-total", "sum-of-countries")

Denominator = Literal["world-total", "sum-of-countries"]

SHARE_COLUMNS: Final = [
    *KEYS,
    "statistic",
    "iso3",
    "value",
    "total",
    "share",
    "denominator",
    "world_published",
]


def check_denominator(denominator: str) -> None:
    """Raise a one-line error naming the allowed denominators."""
    if denominator not in DENOMINATORS:
        raise CritminError(
            f"unknown denominator {denominator!r}: use one of {', '.join(DENOMINATORS)}"
        )


def market_shares(facts: pd.DataFrame, denominator: Denominator = "world-total") -> pd.DataFrame:
    """Country shares per (commodity, stage, year, statistic) from facts rows.

    ``facts`` holds one value per (commodity, stage, year, statistic, iso3) (the latest edition);
    rows with iso3 ``WLD`` give the published total. Returns one row per country with a value
    (``OTH`` included): ``SHARE_COLUMNS``.
    """
    check_denominator(denominator)
    groups = [*KEYS, "statistic"]
    if facts.empty:
        return pd.DataFrame(columns=SHARE_COLUMNS)
    frame = facts[[*groups, "iso3", "value"]]
    is_world = frame["iso3"].eq(WORLD)
    countries = frame[~is_world & frame["value"].notna()]
    summed = countries.groupby(groups, sort=False)["value"].sum().rename("country_sum")
    out = countries.join(summed, on=groups)
    world = frame[is_world & frame["value"].gt(0)].groupby(groups, sort=False)["value"].first()
    out = out.join(world.rename("world_total"), on=groups)
    out["world_published"] = out["world_total"].notna()
    if denominator == "world-total":
        has_world = out["world_published"]
        out["total"] = np.where(has_world, out["world_total"], out["country_sum"])
        out["denominator"] = np.where(has_world, "world-total", "sum-of-countries")
    else:
        out["total"] = out["country_sum"]
        out["denominator"] = "sum-of-countries"
    out["share"] = np.where(
        out["total"] > 0, out["value"] / out["total"].where(out["total"] > 0), 0.0
    )
    return out[SHARE_COLUMNS].reset_index(drop=True)


def withheld(facts: pd.DataFrame) -> pd.DataFrame:
    """Per (commodity, stage, year, statistic): comma-joined iso3 of countries with no value."""
    groups = [*KEYS, "statistic"]
    missing = facts[facts["value"].isna() & ~facts["iso3"].isin([WORLD, OTHER])]
    joined = missing.groupby(groups, sort=False)["iso3"].agg(lambda s: ",".join(sorted(s)))
    return joined.rename("withheld").reset_index().reindex(columns=[*groups, "withheld"])
