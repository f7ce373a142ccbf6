"""The metrics on the shipped curated dataset: facts checked against the raw USGS files."""

from __future__ import annotations

import pandas as pd
import pytest

import critmin.metrics as metrics
from critmin.data.store import data_dir
from critmin.errors import UnknownNameError

pytestmark = pytest.mark.skipif(
    not (data_dir() / "facts.parquet").exists(), reason="curated dataset not built"
)


@pytest.fixture(scope="module")
def all_2024() -> pd.DataFrame:
    return metrics.risk_table(year=2024, method="all")


def test_rare_earth_china_share_2024_both_denominators() -> None:
    # MCS 2026: China 270,000 t, world total (rounded) 380,000 t; country rows sum to 384,000 t
    world = metrics.concentration("rare-earths", stage="mine", year=2024).iloc[0]
    assert world["country_share"] == pytest.approx(270_000 / 380_000)
    assert (world["denominator"], world["total"]) == ("world-total", 380_000)
    summed = metrics.concentration(
        "rare-earths", stage="mine", year=2024, denominator="sum-of-countries"
    ).iloc[0]
    assert summed["country_share"] == pytest.approx(270_000 / 384_000)
    assert summed["share_sum"] == pytest.approx(1.0)


def test_cobalt_mine_2024_top1_is_congo_kinshasa() -> None:
    row = metrics.concentration("cobalt", stage="mine", year=2024).iloc[0]
    assert row["top1"] == "COD"
    assert row["top1_share"] == pytest.approx(226_000 / 302_000)


def test_gallium_2023_china_primary_share_above_95_percent() -> None:
    row = metrics.concentration("gallium", stage="primary", year=2023).iloc[0]
    assert row["country_share"] > 0.95
    assert row["top1"] == "CHN"


def test_n_minus_1_uses_gallium_capacity_in_2025() -> None:
    # MCS 2026 gallium capacity 2025: China 1,600,000 kg of a world 1,700,000 kg
    row = metrics.n_minus_1("gallium", stage="primary", year=2025).iloc[0]
    assert row["n1_basis"] == "capacity"
    assert row["n1_removed"] == "CHN"
    assert row["n1_remaining"] == pytest.approx(1 - 1_600_000 / 1_700_000)
    older = metrics.n_minus_1("gallium", stage="primary", year=2024).iloc[0]
    assert older["n1_basis"] == "production"


def test_trends_cover_every_year_of_the_editions() -> None:
    table = metrics.concentration("rare-earths", stage="mine")
    assert sorted(table["year"]) == [2020, 2021, 2022, 2023, 2024, 2025]
    # MCS 2022 subset: China 140,000 of a world 240,000 t in 2020
    assert table.set_index("year").loc[2020, "country_share"] == pytest.approx(140_000 / 240_000)


def test_usgs_trade_exposure_reads_bounds_from_salient() -> None:
    row = metrics.supply_risk("gallium", method="usgs", year=2024).iloc[0]
    assert row["te"] == 1.0  # MCS 2026 gallium NIR 2024: 100 %
    assert row["sr_usgs"] == pytest.approx((row["dp"] * row["te"] * row["ev"]) ** (1 / 3))


def test_every_market_has_one_bottleneck_per_commodity(all_2024: pd.DataFrame) -> None:
    per = all_2024.groupby("commodity")["bottleneck"].sum()
    assert (per == 1).all()
    cobalt = all_2024[all_2024.commodity.eq("cobalt") & all_2024.bottleneck].iloc[0]
    assert cobalt["stage"] == "mine"


def test_shares_and_risks_in_range(all_2024: pd.DataFrame) -> None:
    published = all_2024[all_2024.world_published]
    assert published["hhi"].between(0, 1.02).all()  # rounded world totals: a little above 1
    assert all_2024["te"].dropna().between(0, 1).all()
    assert all_2024["dp"].between(0, 1.02).all()
    assert all_2024["hhi_wgi"].between(0, 10.5 * 1.2).all()


def test_group_share_needs_membership_date() -> None:
    dated = metrics.coverage("trade-club", "rare-earths", year=2024)
    assert dated["group_share"].iloc[0] == 0.0  # the club was announced in February 2026
    today = metrics.coverage("trade-club", "rare-earths", year=2024, as_of="2026-02-02")
    # USA 45,500 + AUS 29,000 + THA 2,100 of 380,000 (JPN, KOR, SAU not listed)
    assert today["group_share"].iloc[0] == pytest.approx((45_500 + 29_000 + 2_100) / 380_000)
    assert today["consumption_status"].iloc[0] == "us_part_only"


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'trade-club'"):
        metrics.risk_table("cobalt", group="trade-clb")
    with pytest.raises(UnknownNameError, match="unknown country 'Chna': did you mean 'China'"):
        metrics.risk_table("cobalt", country="Chna")
