"""The world builder on the shipped curated data and registry (facts from the raw USGS files)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine.loop import _setup
from critmin.errors import CritminError, UnknownNameError
from critmin.world import ROW, assign_blocs, build_world


@pytest.fixture(scope="module")
def world():
    return build_world(["rare-earths", "gallium", "germanium"])


def _by_region(world, commodity: str, stage: str, values: np.ndarray) -> dict[str, float]:
    return dict(zip(world.regions, values[world.node(commodity, stage)], strict=True))


def test_first_stage_production_is_the_usgs_2025_estimate(world) -> None:
    # MCS 2026 data release, "World Mine Production and Reserves", Rare Earths, 2025 (t REO)
    prod = _by_region(world, "rare-earths", "mine", world.production)
    assert world.base_year["rare-earths"] == 2025
    assert prod["CHN"] == 270_000 and prod["USA"] == 51_000 and prod["AUS"] == 29_000
    assert prod["MMR"] == 22_000 and prod["THA"] == 4_800  # 4,800 / ~389,000 ≥ 1%
    # below 1% of every stage: India 2,900, Madagascar 2,700, Russia 2,600, Brazil 2,000,
    # Nigeria 1,500, Vietnam 150, plus "Other countries" 550
    assert prod[ROW] == pytest.approx(2_900 + 2_700 + 2_600 + 2_000 + 1_500 + 150 + 550)
    assert sum(prod.values()) == pytest.approx(389_310)  # USGS rounds the world total to 390,000


def test_regions_follow_the_threshold_and_kept_countries() -> None:
    every = build_world(["rare-earths"], threshold=0.0)
    assert len(every.regions) >= 15  # the benchmark's world
    assert "IND" in every.regions and "CAN" not in every.regions  # Canada produced nothing
    kept = build_world(["rare-earths"], threshold=0.01, keep=["IND"])
    assert "IND" in kept.regions
    assert kept.production[0, kept.region("IND")] == 2_900
    with pytest.raises(UnknownNameError, match="rare-earths"):
        build_world(["rare-earth"])


def test_later_stages_and_demand_come_from_registry_shares(world) -> None:
    params = world.parameters.central
    sep = world.node("rare-earths", "separated")
    magnet = world.node("rare-earths", "magnet")
    # IEA (2024) via the registry: China 92% of separation, Malaysia 5%
    assert params["capacity_share"][sep, world.region("CHN")] == pytest.approx(0.92)
    assert params["capacity_share"][sep, world.region("MYS")] == pytest.approx(0.05)
    assert params["demand_share"][magnet].sum() == pytest.approx(1.0)
    assert params["demand_share"][magnet, world.region("EU27")] == pytest.approx(0.10)
    assert "EU27" in world.regions  # a demand-only pseudo-region from the registry


def test_reference_prices_from_usgs_salient_series_else_the_registry(world) -> None:
    labels = world.labels
    price = dict(zip(labels, world.price_ref, strict=True))
    assert price["rare-earths/separated"] == 69_000  # NdPr oxide 2025: $69/kg
    assert price["gallium/primary"] == 580_000  # import unit value 2025: $580/kg
    assert price["germanium/refined"] == 4_100_000  # Ge metal 2025: $4,100/kg
    assert "registry price_ref" in world.price_source[labels.index("rare-earths/mine")]
    assert price["rare-earths/mine"] == 6_879


def test_reference_capacity_keeps_output_and_idles_the_rest(world) -> None:
    blocs = assign_blocs(world, {})
    su = _setup(world, blocs, world.draw_parameters(1), 4)
    ga = world.node("gallium", "primary")
    cap, idle, u0 = su.capacity0[0, ga], su.idle0[0, ga], su.utilisation[0, ga]
    chn = world.region("CHN")
    # USGS 2025: China made 900 t on 1,600 t of capacity; output/u0 (0.53) would exceed it
    assert cap[chn] == pytest.approx(1_600) and idle[chn] == pytest.approx(0)
    assert (cap * u0).sum() == pytest.approx(909)  # CHN 900 + JPN 3 + RUS 6 (in ROW)
    assert (cap + idle).sum() == pytest.approx(1_720)  # capacity 1,600 + 10 + 10 + other 100
    ge = world.node("germanium", "refined")
    # no country data: recovery 1.27e-5 t Ge/t zinc × world zinc 2025 (12.54 Mt, sum of
    # countries) ÷ utilisation 0.85, split 65.4% China
    ge_cap = su.capacity0[0, ge]
    assert ge_cap.sum() == pytest.approx(1.27e-5 * 12_540_000 / 0.85, rel=1e-9)
    assert ge_cap[chn] / ge_cap.sum() == pytest.approx(0.654)
    magnet = world.node("rare-earths", "magnet")
    # stage volumes: magnets = 0.9 × 0.46 × REO mined, less what each stage adds to its stocks
    # as the market grows (demand_growth 0.0919 a year, 2 months of cover closed at 0.25 a
    # quarter: g·κ/(g + κ) × 2/3 of a quarter's use), and final demand = output less that share
    g = 1.0919 ** 0.25 - 1
    sold = 1 / (1 + g * 0.25 / (g + 0.25) * 2 / 3)
    mined = world.production[world.node("rare-earths", "mine")].sum()
    made = (su.capacity0[0, magnet] * su.utilisation[0, magnet]).sum()
    assert made == pytest.approx(mined * sold * 0.9 * sold * 0.46)
    assert su.final_demand0[0, magnet].sum() * 4 == pytest.approx(made * sold)


def test_blocs_take_groups_and_leave_the_rest(world) -> None:
    blocs = assign_blocs(world, {"club": ["USA", "JPN", "eu27"]}, on="2025-01-01")
    names = dict(zip(world.regions, (blocs.names[b] for b in blocs.bloc_of), strict=True))
    assert names["USA"] == names["JPN"] == names["EU27"] == "club"
    assert names["CHN"] == names[ROW] == "rest"
    with pytest.raises(CritminError, match="no region"):
        assign_blocs(world, {"nobody": ["ISL"]})


def test_parameter_draws_cover_registry_ranges(world) -> None:
    draws = world.draw_parameters(64, seed=7)
    eps = draws["demand_elasticity"]
    assert eps.shape == (64, world.n_nodes, world.n_regions)
    assert eps.min() >= -0.3 and eps.max() <= -0.05  # the registry's range (DESIGN.md §4)
    assert eps.std() > 0.02  # actually drawn
    shares = draws["demand_share"][:, world.node("rare-earths", "magnet")]
    assert shares.sum(axis=1) == pytest.approx(np.ones(64))  # renormalised per draw
    again = world.draw_parameters(64, seed=7)
    assert np.array_equal(again["demand_elasticity"], eps)
