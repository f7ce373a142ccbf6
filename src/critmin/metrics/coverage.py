"""Coalition coverage: how much of world supply a group holds, and how much of its own need.

A group's own production share per stage is :func:`critmin.metrics.concentration.member_share`.
Coverage of its own consumption needs the group's consumption, and the raw data hold consumption
for one country only: the United States (apparent consumption in the USGS salient tables). So:

* a group that is exactly the United States gets ``consumption_coverage`` =
  US production at the stage / US apparent consumption, status ``available``;
* a group that contains the US and others gets the US part only, status ``us_part_only``;
* any other group gets NaN with status ``not_available`` — never a guess.

Other statuses say why a US number is missing: ``no_consumption_data``, ``us_withheld``
(production "W"), ``us_not_listed`` (USGS prints no US row for the stage), ``unit_mismatch``.
The stage's production and the salient consumption can differ in form (ore vs. refined
metal); ``consumption_detail`` names the consumption line used so that a reader can judge.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from critmin.metrics.concentration import GROUP_KEYS, member_share

USA: Final = "USA"

COVERAGE_COLUMNS: Final = [
    *GROUP_KEYS,
    "group",
    "group_share",
    "us_in_group",
    "us_production",
    "us_consumption",
    "consumption_coverage",
    "consumption_status",
    "consumption_detail",
]


def coverage_ratio(production: np.ndarray, consumption: np.ndarray) -> np.ndarray:
    """Production / consumption (NaN where consumption is not positive); may exceed 1."""
    p, c = np.asarray(production, dtype=float), np.asarray(consumption, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, p / np.where(c > 0, c, 1.0), np.nan)


def coalition_coverage(
    facts: pd.DataFrame,
    shares: pd.DataFrame,
    members: pd.DataFrame,
    group: str,
    consumption: pd.DataFrame,
) -> pd.DataFrame:
    """Per market: the group's production share and its (US-only) consumption coverage.

    ``facts``: the facts rows behind ``shares`` (one statistic, latest edition) for the US
    production value and unit; ``members``: (year, iso3) valid members; ``consumption``: from
    :func:`critmin.metrics.reliance.us_apparent_consumption`.
    """
    out = shares.groupby(GROUP_KEYS, sort=False).size().rename("n").to_frame()
    out["group"] = group
    out["group_share"] = member_share(shares, members)
    out["group_share"] = out["group_share"].fillna(0.0)
    out = out.drop(columns="n").reset_index()
    us_years = set(members.loc[members["iso3"].eq(USA), "year"].astype(int))
    out["us_in_group"] = out["year"].astype(int).isin(us_years)
    sizes = members.drop_duplicates(["year", "iso3"]).groupby("year").size()
    single = sizes[sizes.eq(1)].index
    only_us = set(members.loc[members["iso3"].eq(USA) & members["year"].isin(single), "year"])
    out["us_only"] = out["year"].isin(only_us)

    us = facts[facts["iso3"].eq(USA)].drop_duplicates(GROUP_KEYS)
    us = us[[*GROUP_KEYS, "value", "unit", "flag"]].rename(
        columns={"value": "us_production", "unit": "_unit", "flag": "_flag"}
    )
    out = out.merge(us, on=GROUP_KEYS, how="left")
    out = out.merge(consumption, on=["commodity", "year"], how="left")
    out["us_consumption"] = out["consumption"]
    ratio = coverage_ratio(out["us_production"].to_numpy(), out["us_consumption"].to_numpy())
    same_unit = out["_unit"].fillna("").eq(out["consumption_unit"].fillna(""))
    status = np.select(
        [
            ~out["us_in_group"],
            out["_flag"].isna(),
            out["us_production"].isna(),
            out["us_consumption"].isna(),
            ~same_unit,
            out["us_only"],
        ],
        [
            "not_available",
            "us_not_listed",
            "us_withheld",
            "no_consumption_data",
            "unit_mismatch",
            "available",
        ],
        default="us_part_only",
    )
    out["consumption_status"] = status
    usable = np.isin(status, ["available", "us_part_only"])
    out["consumption_coverage"] = np.where(usable, ratio, np.nan)
    out["consumption_detail"] = out["consumption_detail"].where(usable, None)
    return out[COVERAGE_COLUMNS]
