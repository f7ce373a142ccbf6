"""The exposure table: every metric joined per (commodity, stage, year), ranked by risk.

:func:`compute_risk` is pure (frames in, frame out) so that it is tested on small invented
markets; :func:`risk_table` feeds it the curated dataset (:mod:`critmin.data`) and is what the
CLI and the Python API call. Years: all the editions cover (latest edition per year) unless one
is asked for, so trends come for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import pandas as pd

from critmin.errors import CritminError, UnknownNameError
from critmin.metrics.concentration import concentration_table, mark_bottleneck, membership_frame
from critmin.metrics.coverage import coalition_coverage
from critmin.metrics.eu_crm import EU_COLUMNS, Variant, eu_table
from critmin.metrics.governance import MissingPolicy
from critmin.metrics.n_minus_1 import N1_COLUMNS, n_minus_1_table
from critmin.metrics.parameters import load_parameters
from critmin.metrics.reliance import us_apparent_consumption, us_net_import_reliance
from critmin.metrics.shares import KEYS, Denominator, check_denominator, market_shares, withheld
from critmin.metrics.usgs import USGS_COLUMNS, usgs_table

METHODS: Final = ("hhi", "eu", "usgs", "n-1", "all")
Method = Literal["hhi", "eu", "usgs", "n-1", "all"]

#: The column each method ranks by (descending, except N−1: least supply left first).
RISK_COLUMN: Final = {
    "hhi": "hhi",
    "eu": "sr_eu",
    "usgs": "sr_usgs",
    "n-1": "n1_remaining",
    "all": "sr_eu",
}
#: The concentration and coverage view (``method="hhi"``), after commodity, stage, year.
HHI_VIEW: Final = [
    "hhi",
    "hhi_band",
    "top1",
    "top1_share",
    "top3",
    "top3_share",
    "oth_share",
    "country",
    "country_share",
    "group",
    "group_size",
    "group_share",
    "consumption_coverage",
    "consumption_status",
    "bottleneck",
    "denominator",
    "world_published",
    "share_sum",
    "withheld",
]
DEFAULT_GROUP: Final = "trade-club"
DEFAULT_COUNTRY: Final = "CHN"


@dataclass(frozen=True)
class RiskInputs:
    """What the metrics read: facts (production and capacity, one edition per market), WGI, the
    US salient and import-source tables, and the group's members per year (columns year, iso3)."""

    facts: pd.DataFrame
    wgi: pd.DataFrame
    salient: pd.DataFrame
    import_sources: pd.DataFrame
    members: pd.DataFrame


def check_method(method: str) -> None:
    """One-line error naming the allowed methods."""
    if method not in METHODS:
        raise CritminError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")


def compute_risk(
    inputs: RiskInputs,
    country: str = DEFAULT_COUNTRY,
    group: str = DEFAULT_GROUP,
    method: Method = "all",
    denominator: Denominator = "world-total",
    missing_wgi: MissingPolicy = "error",
    eu_variant: Variant = "global",
    params: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All metrics of ``method`` per market, ranked by the method's risk column."""
    check_method(method)
    check_denominator(denominator)
    params = load_parameters() if params is None else params
    facts = inputs.facts
    production = facts[facts["statistic"].eq("production")]
    shares = market_shares(production, denominator)
    table = concentration_table(shares, country, inputs.members, group)
    table = mark_bottleneck(table).merge(withheld(production), how="left")
    table["withheld"] = table["withheld"].fillna("")
    nir = us_net_import_reliance(inputs.salient)
    if method in ("hhi", "all"):
        cov = coalition_coverage(
            production, shares, inputs.members, group, us_apparent_consumption(inputs.salient)
        )
        table = table.merge(
            cov[[*KEYS, "consumption_coverage", "consumption_status"]], on=KEYS, how="left"
        )
    if method in ("n-1", "all"):
        table = table.merge(n_minus_1_table(facts, country, denominator), on=KEYS, how="left")
    if method in ("eu", "all"):
        eu = eu_table(
            shares, inputs.wgi, params, eu_variant, nir, inputs.import_sources, missing_wgi
        )
        table = table.merge(eu.drop(columns="statistic"), on=KEYS, how="left")
    if method in ("usgs", "all"):
        us = usgs_table(shares, inputs.wgi, nir, params, missing_wgi).drop(columns="statistic")
        if "wgi_missing" in table:  # same producers, same lists as the EU columns
            us = us.drop(columns=["wgi_missing", "wgi_proxy"])
        table = table.merge(us, on=KEYS, how="left")
    risk = RISK_COLUMN[method]
    ascending = method == "n-1"
    return table.sort_values(  # markets without a published world total last
        ["world_published", risk, "commodity", "stage", "year"],
        ascending=[False, ascending, True, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


def method_columns(method: str) -> list[str]:
    """The columns of one method's view, after commodity, stage and year (``all``: every one)."""
    check_method(method)
    keys = {*KEYS, "statistic"}
    views = {
        "hhi": HHI_VIEW,
        "n-1": [*(c for c in N1_COLUMNS if c not in keys), "country", "bottleneck"],
        "eu": ["hhi", *(c for c in EU_COLUMNS if c not in keys), "bottleneck"],
        "usgs": ["hhi", *(c for c in USGS_COLUMNS if c not in keys), "bottleneck"],
    }
    if method != "all":
        return views[method]
    return list(dict.fromkeys(c for name in ("hhi", "n-1", "eu", "usgs") for c in views[name]))


def latest_per_market(table: pd.DataFrame) -> pd.DataFrame:
    """Keep each (commodity, stage)'s latest year: the default view of the ranking."""
    last = table.groupby(["commodity", "stage"])["year"].transform("max")
    return table[table["year"].eq(last)].reset_index(drop=True)


def resolve_country(name: str) -> str:
    """ISO3 for a code or a country name (any case); close matches if unknown."""
    from critmin import data

    ref = data.countries()
    key = name.strip()
    codes = set(ref["iso3"])
    if key.upper() in codes:
        return key.upper()
    by_name = dict(zip(ref["name"].str.lower(), ref["iso3"], strict=False))
    if key.lower() in by_name:
        return str(by_name[key.lower()])
    raise UnknownNameError("country", name, [*codes, *ref["name"].dropna()])


def group_membership(group: str, years: list[int], as_of: date | str | None = None) -> pd.DataFrame:
    """(year, iso3) members of ``group``: on 31 December of each year, or all on ``as_of``."""
    from critmin import data

    if as_of is not None:
        fixed = data.group_members(group, on=as_of)
        return membership_frame(dict.fromkeys(years, fixed))
    return membership_frame({y: data.group_members(group, on=f"{y}-12-31") for y in years})


def load_inputs(
    commodity: str | None = None,
    stage: str | None = None,
    year: int | None = None,
    group: str = DEFAULT_GROUP,
    as_of: date | str | None = None,
    edition: int | None = None,
) -> RiskInputs:
    """Read the curated tables the metrics need (validating commodity, stage, year, group)."""
    from critmin import data

    slug = data.resolve_commodity(commodity) if commodity else None
    facts = data.facts(slug, stage=stage, statistic=None, year=year, edition=edition)
    facts = facts[facts["statistic"].isin(["production", "capacity"])]
    if facts.empty:
        what = " ".join(str(x) for x in (slug, stage, year) if x is not None) or "any commodity"
        raise CritminError(f"no production or capacity data for {what}")
    years = sorted(int(y) for y in facts["year"].unique())
    members = group_membership(group, years, as_of)
    salient = data.us_salient(slug) if slug else data.us_salient()
    sources = data.us_import_sources(slug) if slug else data.us_import_sources()
    return RiskInputs(facts, data.wgi(), salient, sources, members)


def risk_table(
    commodity: str | None = None,
    stage: str | None = None,
    year: int | None = None,
    country: str = DEFAULT_COUNTRY,
    group: str = DEFAULT_GROUP,
    method: Method = "all",
    denominator: Denominator = "world-total",
    as_of: date | str | None = None,
    missing_wgi: MissingPolicy = "error",
    eu_variant: Variant = "global",
    params: str | pd.DataFrame | None = None,
    edition: int | None = None,
) -> pd.DataFrame:
    """Exposure and supply-risk metrics from the curated dataset, one row per market, ranked.

    ``country`` (ISO3 or name) gets its own share column, ``group`` (members on 31 Dec of each
    year, or on ``as_of``) its share and coverage; ``params`` overrides the EU/USGS parameters.
    """
    check_method(method)
    check_denominator(denominator)
    iso3 = resolve_country(country)
    inputs = load_inputs(commodity, stage, year, group, as_of, edition)
    table = compute_risk(
        inputs, iso3, group, method, denominator, missing_wgi, eu_variant, load_parameters(params)
    )
    return table


def bottleneck_ranking(table: pd.DataFrame, by: str = "hhi") -> pd.DataFrame:
    """One row per (commodity, year): the bottleneck stage, ranked by ``by`` (descending)."""
    rows = table[table["bottleneck"]]
    return rows.sort_values(
        ["world_published", by, "commodity"], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
