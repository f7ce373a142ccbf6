"""The table layer (shares → concentration, coverage, N−1, EU, USGS) on invented frames.

Invented market "testium", 2024, in tonnes:
  mine:     CHN 60, AUS 30, USA 10, world total 100  → HHI 0.46, N−1 0.4
  refinery: CHN 50 only (world total 50)             → HHI 1 (the bottleneck), N−1 0
  capacity at refinery: CHN 80, AUS 20 (world 100)   → N−1 on capacity: 0.2
WGI means: CHN −1.5, AUS 2.0, USA 0.5 (EU scores 8, 1, 4; USGS 0.8, 0.1, 0.4).
US salient 2024: NIR 75 %, apparent consumption 40 t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.data.schema import FACTS_COLUMNS, IMPORT_SOURCES_COLUMNS, SALIENT_COLUMNS
from critmin.errors import CritminError
from critmin.metrics import RiskInputs, compute_risk, load_parameters
from critmin.metrics.concentration import concentration_table, membership_frame
from critmin.metrics.coverage import coalition_coverage
from critmin.metrics.n_minus_1 import n_minus_1_table
from critmin.metrics.reliance import us_apparent_consumption, us_net_import_reliance
from critmin.metrics.shares import market_shares

YEAR = 2024


def record(columns: tuple[str, ...], **values: object) -> dict:
    """One row of a curated table: every column present, invented source and edition."""
    row = dict.fromkeys(columns)
    row.update(source="invented", edition=2026, commodity="testium", year=YEAR, raw_line=0)
    row.update(values)
    return row


def fact(stage: str, iso3: str, value: float, statistic: str = "production", **kw: object) -> dict:
    flag = "reported" if value == value else "withheld"
    return record(
        FACTS_COLUMNS,
        stage=stage,
        iso3=iso3,
        country=iso3,
        statistic=statistic,
        value=value,
        unit="t",
        flag=flag,
        **kw,
    )


def make_facts(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FACTS_COLUMNS))


FACTS = make_facts(
    [
        fact("mine", "CHN", 60),
        fact("mine", "AUS", 30),
        fact("mine", "USA", 10),
        fact("mine", "WLD", 100),
        fact("refinery", "CHN", 50),
        fact("refinery", "WLD", 50),
        fact("refinery", "CHN", 80, "capacity"),
        fact("refinery", "AUS", 20, "capacity"),
        fact("refinery", "WLD", 100, "capacity"),
    ]
)


def wgi_frame(means: dict[str, float], year: int = 2023) -> pd.DataFrame:
    rows = [
        {"iso3": k, "wb_name": k, "year": year, "indicator": ind, "estimate": v}
        for k, v in means.items()
        for ind in ("va", "pv", "ge", "rq", "rl", "cc")
    ]
    return pd.DataFrame(rows)


WGI = wgi_frame({"CHN": -1.5, "AUS": 2.0, "USA": 0.5})


def salient_row(statistic: str, value: float, unit: str, line: int, **kw: object) -> dict:
    detail = kw.pop("detail", statistic)
    return record(
        SALIENT_COLUMNS,
        statistic=statistic,
        detail=detail,
        value=value,
        unit=unit,
        flag="reported",
        nir_bound="",
        note="",
        raw_line=line,
        **kw,
    )


SALIENT = pd.DataFrame(
    [
        salient_row("consumption", 55.0, "t", 1, detail="Consumption, reported"),
        salient_row("consumption", 40.0, "t", 2, detail="Consumption, apparent"),
        salient_row("net_import_reliance", 75.0, "percent", 3),
    ],
    columns=list(SALIENT_COLUMNS),
)

IMPORTS = pd.DataFrame(
    [
        {
            "source": "invented",
            "edition": 2026,
            "commodity": "testium",
            "detail": "all forms",
            "period": "2020–23",
            "iso3": iso3,
            "country": iso3,
            "share_pct": pct,
            "note": "",
            "raw_file": "x",
            "raw_line": i,
        }
        for i, (iso3, pct) in enumerate([("CHN", 80.0), ("AUS", 20.0)])
    ],
    columns=list(IMPORT_SOURCES_COLUMNS),
)


def inputs(members: dict[int, list[str]] | None = None, facts: pd.DataFrame = FACTS) -> RiskInputs:
    return RiskInputs(
        facts, WGI, SALIENT, IMPORTS, membership_frame(members or {YEAR: ["AUS", "USA"]})
    )


def row(table: pd.DataFrame, stage: str) -> pd.Series:
    return table.set_index("stage").loc[stage]


def test_shares_with_both_denominators() -> None:
    facts = make_facts(
        [
            fact("mine", "CHN", 54),
            fact("mine", "AUS", 27),
            fact("mine", "OTH", 9),
            fact("mine", "WLD", 100),
        ]
    )
    world = market_shares(facts).set_index("iso3")
    assert world.loc["CHN", "share"] == pytest.approx(0.54)
    assert set(world["denominator"]) == {"world-total"}
    summed = market_shares(facts, "sum-of-countries").set_index("iso3")
    assert summed.loc["CHN", "share"] == pytest.approx(0.6)
    assert summed["share"].sum() == pytest.approx(1.0)
    # no published world total: falls back to the sum of countries and says so
    no_world = market_shares(facts[facts.iso3 != "WLD"]).set_index("iso3")
    assert no_world.loc["CHN", "share"] == pytest.approx(0.6)
    assert set(no_world["denominator"]) == {"sum-of-countries"}
    with pytest.raises(CritminError, match="world-total, sum-of-countries"):
        market_shares(facts, "countries")  # type: ignore[arg-type]


def test_other_countries_kept_out_of_hhi_and_top_n() -> None:
    facts = make_facts(
        [
            fact("mine", "CHN", 50),
            fact("mine", "AUS", 10),
            fact("mine", "OTH", 40),
            fact("mine", "WLD", 100),
        ]
    )
    table = concentration_table(market_shares(facts)).iloc[0]
    assert table["hhi"] == pytest.approx(0.25 + 0.01)
    assert table["oth_share"] == pytest.approx(0.4)
    assert table["top3"] == "CHN,AUS"
    assert table["top3_share"] == pytest.approx(0.6)
    assert table["n_countries"] == 2


def test_concentration_country_group_and_bottleneck() -> None:
    table = compute_risk(inputs(), method="hhi")
    mine, refinery = row(table, "mine"), row(table, "refinery")
    assert mine["hhi"] == pytest.approx(0.46)
    assert (mine["top1"], mine["top1_share"]) == ("CHN", pytest.approx(0.6))
    assert mine["top3"] == "CHN,AUS,USA"
    assert mine["country_share"] == pytest.approx(0.6)
    assert mine["group_share"] == pytest.approx(0.4)  # AUS + USA
    assert mine["group_size"] == 2
    assert refinery["hhi"] == pytest.approx(1.0)
    assert refinery["group_share"] == 0.0
    assert bool(refinery["bottleneck"]) and not bool(mine["bottleneck"])
    assert table["stage"].tolist() == ["refinery", "mine"]  # ranked by HHI


def test_group_membership_is_dated() -> None:
    table = compute_risk(inputs({YEAR: []}), method="hhi")
    assert row(table, "mine")["group_share"] == 0.0
    assert row(table, "mine")["group_size"] == 0


def test_withheld_producer_is_listed_not_guessed() -> None:
    facts = make_facts(
        [
            fact("mine", "CHN", 60),
            fact("mine", "USA", float("nan")),
            fact("mine", "WLD", 100),
        ]
    )
    table = compute_risk(inputs(facts=facts), method="hhi")
    assert row(table, "mine")["withheld"] == "USA"
    assert row(table, "mine")["country_share"] == pytest.approx(0.6)


def test_n_minus_1_uses_capacity_where_present() -> None:
    table = n_minus_1_table(FACTS).set_index("stage")
    assert table.loc["mine", "n1_basis"] == "production"
    assert table.loc["mine", "n1_removed"] == "CHN"
    assert table.loc["mine", "n1_remaining"] == pytest.approx(0.4)
    assert table.loc["refinery", "n1_basis"] == "capacity"
    assert table.loc["refinery", "n1_remaining"] == pytest.approx(0.2)
    named = n_minus_1_table(FACTS, country="AUS").set_index("stage")
    assert named.loc["mine", "n1_country_remaining"] == pytest.approx(0.7)
    one = n_minus_1_table(make_facts([fact("mine", "CHN", 5), fact("mine", "WLD", 5)]))
    assert one["n1_remaining"].iloc[0] == 0.0


def test_us_salient_selection() -> None:
    nir = us_net_import_reliance(SALIENT)
    assert nir["nir"].iloc[0] == pytest.approx(0.75)
    cons = us_apparent_consumption(SALIENT)
    assert cons["consumption"].iloc[0] == 40.0  # the "apparent" line, not the first line
    bounded = SALIENT.assign(value=[55.0, 40.0, 95.0], nir_bound=["", "", ">"])
    got = us_net_import_reliance(bounded).iloc[0]
    assert (got["nir"], got["nir_bound"]) == (pytest.approx(0.95), ">")
    exporter = SALIENT.assign(value=[55.0, 40.0, np.nan], note=["", "", "published: E"])
    got = us_net_import_reliance(exporter).iloc[0]
    assert (got["nir"], got["nir_bound"]) == (0.0, "E")


def test_coverage_us_only_and_not_available() -> None:
    prod = FACTS[FACTS.statistic == "production"]
    shares = market_shares(prod)
    cons = us_apparent_consumption(SALIENT)

    def cover(members: list[str]) -> pd.Series:
        members_frame = membership_frame({YEAR: members})
        table = coalition_coverage(prod, shares, members_frame, "g", cons)
        return table.set_index("stage").loc["mine"]

    alone = cover(["USA"])
    assert alone["consumption_coverage"] == pytest.approx(10 / 40)
    assert alone["consumption_status"] == "available"
    club = cover(["USA", "AUS"])
    assert club["consumption_status"] == "us_part_only"
    assert club["consumption_coverage"] == pytest.approx(0.25)
    assert club["group_share"] == pytest.approx(0.4)
    other = cover(["AUS"])
    assert other["consumption_status"] == "not_available"
    assert np.isnan(other["consumption_coverage"])


def test_eu_and_usgs_on_the_invented_market() -> None:
    table = compute_risk(inputs(), method="all")
    mine = row(table, "mine")
    # Σ S²·g_eu = 0.36·8 + 0.09·1 + 0.01·4
    assert mine["hhi_wgi"] == pytest.approx(3.01)
    assert mine["sr_eu"] == pytest.approx(3.01)  # EOL-RIR 0, SI 1 (assumptions), EUs = GS
    assert mine["eu_assumptions"] == "eol_rir,si_sr"
    assert np.isnan(mine["eu_ir"])
    assert mine["dp"] == pytest.approx(0.36 * 0.8 + 0.09 * 0.1 + 0.01 * 0.4)
    assert mine["te"] == pytest.approx(0.75)
    assert mine["ev"] == 0.5 and mine["ev_source"] == "assumption"
    assert mine["sr_usgs"] == pytest.approx((mine["dp"] * 0.75 * 0.5) ** (1 / 3))
    assert row(table, "refinery")["sr_eu"] == pytest.approx(8.0)


def test_parameter_overrides_change_eu_risk() -> None:
    extra = pd.DataFrame(
        [
            {
                "commodity": "testium",
                "parameter": "eol_rir",
                "value": 0.5,
                "low": 0.4,
                "high": 0.6,
                "unit": "fraction",
                "since": None,
                "source": "a test",
                "note": "",
            },
            {
                "commodity": "testium",
                "parameter": "trade_multiplier_china",
                "value": 1.2,
                "low": 1.0,
                "high": 1.2,
                "unit": "multiplier",
                "since": 2025,
                "source": "a test",
                "note": "not yet in force in 2024",
            },
        ]
    )
    table = compute_risk(inputs(), method="eu", params=load_parameters(extra))
    assert row(table, "mine")["sr_eu"] == pytest.approx(3.01 * 0.5)
    assert row(table, "mine")["eu_assumptions"] == "si_sr"
    in_force = extra.assign(since=[None, 2024])
    table = compute_risk(inputs(), method="eu", params=load_parameters(in_force))
    assert row(table, "mine")["hhi_wgi"] == pytest.approx(0.36 * 8 * 1.2 + 0.09 + 0.04)


def test_eu_us_variant_uses_import_sources_and_nir() -> None:
    table = compute_risk(inputs(), method="eu", eu_variant="us")
    mine = row(table, "mine")
    # US sourcing: USA 0.25, CHN 0.75·0.8 = 0.6, AUS 0.75·0.2 = 0.15
    sourcing = 0.25**2 * 4 + 0.6**2 * 8 + 0.15**2 * 1
    assert mine["hhi_wgi_sourcing"] == pytest.approx(sourcing)
    assert mine["eu_ir"] == pytest.approx(0.75)
    assert mine["sr_eu"] == pytest.approx(3.01 * 0.375 + sourcing * 0.625)


def test_missing_wgi_is_an_error_naming_the_country() -> None:
    wgi = WGI[WGI.iso3 != "AUS"]
    bad = RiskInputs(FACTS, wgi, SALIENT, IMPORTS, membership_frame({YEAR: []}))
    with pytest.raises(CritminError, match=r"no WGI governance score for AUS .*exclude \| worst"):
        compute_risk(bad, method="eu")
    excluded = compute_risk(bad, method="usgs", missing_wgi="exclude")
    mine = row(excluded, "mine")
    assert mine["wgi_missing"] == "AUS"
    assert mine["dp"] == pytest.approx(0.36 * 0.8 + 0.01 * 0.4)
    worst = row(compute_risk(bad, method="usgs", missing_wgi="worst"), "mine")
    assert worst["dp"] == pytest.approx(0.36 * 0.8 + 0.09 * 1.0 + 0.01 * 0.4)


def test_wgi_year_nearest_is_used_for_later_years() -> None:
    later = WGI.assign(year=2020)
    later_inputs = RiskInputs(FACTS, later, SALIENT, IMPORTS, membership_frame({}))
    table = compute_risk(later_inputs, method="eu")
    assert row(table, "mine")["hhi_wgi"] == pytest.approx(3.01)


def test_unknown_method_is_one_line() -> None:
    with pytest.raises(CritminError, match="hhi, eu, usgs, n-1, all"):
        compute_risk(inputs(), method="gini")  # type: ignore[arg-type]


def test_bottleneck_skips_markets_without_a_world_total() -> None:
    facts = make_facts(
        [
            *FACTS.to_dict("records"),
            fact("mine-special-form", "CHN", 7),  # one country, no world total: not a world market
        ]
    )
    table = compute_risk(inputs(facts=facts), method="hhi").set_index("stage")
    assert not table.loc["mine-special-form", "world_published"]
    assert table.loc["mine-special-form", "hhi"] == 1.0
    assert not table.loc["mine-special-form", "bottleneck"]
    assert table.loc["refinery", "bottleneck"]
    assert table.index[-1] == "mine-special-form"  # ranked last


def test_share_sum_shows_a_rounded_world_total() -> None:
    facts = make_facts([fact("mine", "CHN", 90), fact("mine", "AUS", 12), fact("mine", "WLD", 100)])
    row = concentration_table(market_shares(facts)).iloc[0]
    assert row["share_sum"] == pytest.approx(1.02)
    assert row["hhi"] == pytest.approx(0.81 + 0.0144)


def test_territory_takes_the_sovereign_score_and_says_so() -> None:
    facts = make_facts([fact("mine", "NCL", 50), fact("mine", "AUS", 50), fact("mine", "WLD", 100)])
    wgi = wgi_frame({"FRA": 1.0, "AUS": 2.0})  # no NCL row, as in the WGI 2024 release
    table = compute_risk(
        RiskInputs(facts, wgi, SALIENT, IMPORTS, membership_frame({})), "CHN", method="usgs"
    )
    mine = row(table, "mine")
    assert mine["wgi_proxy"] == "NCL→FRA" and mine["wgi_missing"] == ""
    assert mine["dp"] == pytest.approx(0.25 * 0.3 + 0.25 * 0.1)


def test_a_country_missing_one_indicator_has_no_mean() -> None:
    wgi = WGI[~(WGI.iso3.eq("AUS") & WGI.indicator.eq("pv"))]  # five of six indicators
    bad = RiskInputs(FACTS, wgi, SALIENT, IMPORTS, membership_frame({}))
    with pytest.raises(CritminError, match="no WGI governance score for AUS"):
        compute_risk(bad, method="usgs")
