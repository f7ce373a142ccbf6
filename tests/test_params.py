"""The parameter registry: the shipped file's contract, lookups, validation errors, draws."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.data.parsing import parse_cell
from critmin.errors import CritminError, UnknownNameError
from critmin.params import PARAMETERS, RegistryError, load_registry
from critmin.params.registry import COLUMNS, DEFAULT_PATH

#: The engine's chains (issue 4): commodity → stages, upstream first.
CHAINS = {
    "rare-earths": ["mine", "separated", "magnet"], "lithium": ["mine", "chemical"],
    "cobalt": ["mine", "refined"], "nickel": ["mine", "refined"], "graphite": ["mine", "anode"],
    "gallium": ["primary"], "germanium": ["refined"],
}
#: Stages whose price the USGS salient tables do not publish, so the registry must.
NEEDS_PRICE = {("rare-earths", "mine"), ("rare-earths", "magnet"), ("lithium", "mine"),
               ("cobalt", "mine"), ("nickel", "mine"), ("graphite", "anode")}
#: Stages the USGS country tables do not cover.
NEEDS_CAPACITY_SHARE = {("rare-earths", "separated"), ("rare-earths", "magnet"),
                        ("lithium", "chemical"), ("cobalt", "refined"), ("nickel", "refined"),
                        ("graphite", "anode"), ("germanium", "refined")}
PER_STAGE = ["supply_elasticity", "demand_elasticity", "utilisation_ref", "inventory_cover_months",
             "inventory_adjust_rate", "inventory_price_sensitivity", "announce_cover_uplift",
             "substitution_max_rate", "substitution_price_elasticity", "substitution_cap",
             "lead_time_years", "restart_lead_time_years", "ramp_up_years", "ramp_achievement",
             "incentive_price_multiple", "cash_cost_multiple", "closure_quarters",
             "capacity_growth_max", "demand_growth", "transport_wedge", "leakage_share"]
HEADER = ",".join(COLUMNS)


@pytest.fixture(scope="module")
def reg():
    return load_registry()


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# -- the shipped file ---------------------------------------------------------------------------


def test_version_is_the_file_sha256(reg) -> None:
    digest = hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()[:12]
    assert reg.version == f"registry.csv@{digest}"
    assert list(reg.table.columns) == list(COLUMNS)


def test_every_contract_parameter_has_rows_and_every_row_is_sound(reg) -> None:
    table = reg.table
    assert set(table.parameter) == set(PARAMETERS)
    assert (table.low <= table.value).all() and (table.value <= table.high).all()
    assert table.unit.str.len().gt(0).all() and table.source.str.len().gt(0).all()
    cited = table[table.source != "assumption"]
    # a citation names a year or a link
    assert cited.source.str.contains(r"\(\d{4}\)|https?://|doi:").all(), cited.source.tolist()
    # assumptions carry a real range (no point values dressed as facts)
    assumed = table[table.source == "assumption"]
    assert (assumed.high > assumed.low).all()


def test_engine_can_look_up_every_parameter_of_every_chain(reg) -> None:
    for commodity, stages in CHAINS.items():
        for i, stage in enumerate(stages):
            for parameter in PER_STAGE:
                low, high = reg.bounds(parameter, commodity, stage)
                assert low <= reg.value(parameter, commodity, stage) <= high
            if i > 0:
                assert reg.value("stage_yield", commodity, stage) > 0
            if (commodity, stage) in NEEDS_PRICE:
                assert reg.value("price_ref", commodity, stage) > 0
            if (commodity, stage) in NEEDS_CAPACITY_SHARE:
                shares = reg.shares("capacity_share", commodity, stage)
                assert shares.sum() == pytest.approx(1, abs=1e-6)
        final = stages[-1]
        demand = reg.shares("demand_share", commodity, final)
        assert demand.sum() == pytest.approx(1, abs=1e-6) and "ROW" in demand.index
        assert reg.value("value_added_per_t", commodity, final) > 0
    assert "host=alumina" in reg.row("byproduct_recovery", "gallium", "primary").note
    assert "host=zinc" in reg.row("byproduct_recovery", "germanium", "refined").note


def test_demand_elasticity_range_is_the_designs(reg) -> None:
    assert reg.bounds("demand_elasticity", "lithium", "chemical") == (-0.3, -0.05)


def test_sourced_calibration_facts(reg) -> None:
    # Sprecher et al. 2017: ~10% of demand per year; ~4% of market per year
    assert reg.value("substitution_max_rate", "rare-earths", "magnet") == 0.10
    assert "Sprecher" in reg.row("substitution_max_rate", "rare-earths").source
    assert reg.value("capacity_growth_max", "rare-earths", "mine") == 0.04
    # Molycorp reached at most 5.5 of 19.05 kt design; Lynas reached nameplate
    assert reg.bounds("ramp_achievement", "rare-earths") == (round(5500 / 19050, 3), 1.0)
    # Lynas: first product ~2.5 years after the July 2010 quota cut
    assert reg.value("lead_time_years", "rare-earths", "separated") == 2.5
    # IEA GCMO 2024: China 92% and Malaysia 5% of refined rare earths in 2023
    shares = reg.shares("capacity_share", "rare-earths", "separated")
    assert shares["CHN"] == 0.92 and shares["MYS"] == 0.05


# -- numbers derived from the raw USGS files are re-derived here --------------------------------


@pytest.fixture(scope="module")
def mcs2026(raw_root):
    from critmin.data.usgs_mcs2026 import read_mcs2026

    return read_mcs2026(raw_root)


def _world(mcs, commodity: str, stage: str, year: int, statistic: str = "production") -> float:
    f = mcs.facts
    hit = f[(f.commodity == commodity) & (f.stage == stage) & (f.iso3 == "WLD")
            & (f.year == year) & (f.statistic == statistic)]
    assert len(hit) == 1
    return float(hit.value.iloc[0])


def _salient(mcs, commodity: str, detail: str, year: int) -> float:
    s = mcs.salient
    hit = s[(s.commodity == commodity) & (s.detail == detail) & (s.year == year)]
    assert len(hit) == 1
    return float(hit.value.iloc[0])


def _raw_cell(raw_root: Path, rel: str, country: str, column: str, type_prefix: str = "") -> float:
    frame = pd.read_csv(raw_root / rel, encoding="utf-8-sig", dtype=str)
    hit = frame[(frame.Country == country) & frame.Type.str.startswith(type_prefix)]
    return parse_cell(hit[column].iloc[0]).value


def test_gallium_rows_follow_the_usgs_data(reg, mcs2026, raw_root) -> None:
    ga25 = _world(mcs2026, "gallium", "primary", 2025)
    cap25 = _world(mcs2026, "gallium", "primary", 2025, "capacity")
    alumina25 = _world(mcs2026, "alumina", "refinery", 2025)
    assert (ga25, cap25, alumina25) == (900, 1700, 150e6)
    value = reg.value("byproduct_recovery", "gallium", "primary")
    low, high = reg.bounds("byproduct_recovery", "gallium", "primary")
    assert value == pytest.approx(ga25 / alumina25, rel=5e-3)
    assert high == pytest.approx(cap25 / alumina25, rel=5e-3)
    # MCS 2024: 610 t of gallium, 140 Mt of alumina in 2023
    ga23 = _raw_cell(raw_root, "usgs_mcs/mcs2024/world/mcs2024-galli_world.csv",
                     "World total (rounded)", "Prod_kg_est_2023") / 1e3
    al23 = _raw_cell(raw_root, "usgs_mcs/mcs2024/world/mcs2024-bauxi_world.csv",
                     "World total (rounded)", "Prod_kt_est_2023", "Refinery") * 1e3
    assert low == pytest.approx(ga23 / al23, rel=5e-3)
    utilisation = reg.value("utilisation_ref", "gallium", "primary")
    assert utilisation == pytest.approx(ga25 / cap25, abs=5e-3)
    us = _salient(mcs2026, "gallium", "Consumption, reported", 2024)
    us_share = reg.shares("demand_share", "gallium", "primary")["USA"]
    assert us_share == pytest.approx(us / _world(mcs2026, "gallium", "primary", 2024), rel=5e-3)


def test_us_demand_shares_and_cobalt_price_follow_the_usgs_data(reg, mcs2026) -> None:
    co = _salient(mcs2026, "cobalt", "Consumption (includes secondary): Estimated", 2024)
    assert reg.shares("demand_share", "cobalt", "refined")["USA"] == pytest.approx(
        co / _world(mcs2026, "cobalt", "mine", 2024), rel=5e-3)
    ni = _salient(mcs2026, "nickel", "Consumption: Apparent, primary", 2024)
    assert reg.shares("demand_share", "nickel", "refined")["USA"] == pytest.approx(
        ni / _world(mcs2026, "nickel", "mine", 2024), rel=5e-3)
    lme = _salient(mcs2026, "cobalt",
                   "Price, average, dollars per pound: London Metal Exchange (LME), cash", 2024)
    payable_mid = (0.615 + 0.75) / 2  # Fastmarkets hydroxide payables, 2020
    assert reg.value("price_ref", "cobalt", "mine") == pytest.approx(payable_mid * lme, rel=1e-3)
    assert reg.bounds("price_ref", "cobalt", "mine")[1] == pytest.approx(0.75 * lme, rel=1e-3)


def test_lithium_capacity_growth_from_australian_output(reg, raw_root) -> None:
    au20 = _raw_cell(raw_root, "usgs_mcs/mcs2022_subset/world/mcs2022-lithi_world.csv",
                     "Australia", "Prod_t_2020")
    au23 = _raw_cell(raw_root, "usgs_mcs/mcs2024/world/mcs2024-lithi_world.csv",
                     "Australia", "Prod_t_est_2023")
    assert (au20, au23) == (39_700, 86_000)
    assert reg.value("capacity_growth_max", "lithium", "mine") == pytest.approx(
        (au23 / au20) ** (1 / 3) - 1, abs=5e-4)


def test_germanium_recovery_from_world_output_and_zinc(reg, mcs2026) -> None:
    zinc24 = _world(mcs2026, "zinc", "mine", 2024)
    world_ge = 100 / 0.66  # Project Blue: ~100 t stockpiled ≈ 66% of annual output
    assert reg.value("byproduct_recovery", "germanium", "refined") == pytest.approx(
        world_ge / zinc24, rel=5e-3)


# -- lookups on small invented files ------------------------------------------------------------


def test_most_specific_row_wins(tmp_path) -> None:
    path = write(tmp_path,
                 "*,*,*,supply_elasticity,0.1,0,1,x,assumption,",
                 "lithium,*,*,supply_elasticity,0.2,0,1,x,assumption,",
                 "*,mine,*,supply_elasticity,0.3,0,1,x,assumption,",
                 "lithium,mine,*,supply_elasticity,0.4,0,1,x,assumption,",
                 "lithium,mine,AUS,supply_elasticity,0.5,0.4,0.6,x,assumption,")
    reg = load_registry(path)
    assert reg.value("supply_elasticity", "lithium", "mine", "AUS") == 0.5
    assert reg.bounds("supply_elasticity", "lithium", "mine", "AUS") == (0.4, 0.6)
    assert reg.value("supply_elasticity", "lithium", "mine", "CHL") == 0.4
    assert reg.value("supply_elasticity", "lithium", "mine") == 0.4
    assert reg.value("supply_elasticity", "lithium", "chemical") == 0.2  # commodity beats stage
    assert reg.value("supply_elasticity", "cobalt", "mine") == 0.3
    assert reg.value("supply_elasticity", "cobalt", "refined") == 0.1
    assert len(reg.rows("lithium")) == 5 and len(reg.rows("cobalt")) == 2
    assert len(reg.rows("lithium", "chemical")) == 2


def test_missing_rows_and_unknown_parameters_name_close_matches(tmp_path) -> None:
    reg = load_registry(write(tmp_path, "lithium,mine,*,price_ref,10,5,20,USD/t,assumption,"))
    with pytest.raises(UnknownNameError, match=r"price_ref row for 'cobalt/mine/\*'.*lithium/mine"):
        reg.value("price_ref", "cobalt", "mine")
    with pytest.raises(UnknownNameError, match="did you mean 'price_ref'"):
        reg.value("price_reff", "lithium", "mine")


BAD_ROWS = [
    ("lithium,mine,*,price_ref,30,5,20,USD/t,assumption,", "value", "need low ≤ value ≤ high"),
    ("lithium,mine,*,supply_elastcity,0.3,0,1,x,assumption,", "parameter",
     "did you mean 'supply_elasticity'"),
    ("lithium,mine,*,supply_elasticity,0.3,-0.1,1,x,assumption,", "low",
     "-0.1 is not allowed for supply_elasticity; allowed: 0 ≤ x"),
    ("lithium,mine,*,demand_elasticity,0.1,-0.3,0.2,x,assumption,", "value",
     "0.1 is not allowed for demand_elasticity; allowed: x ≤ 0"),
    ("lithium,mine,*,price_ref,10,5,20,,assumption,", "unit", "at least 1 character"),
    ("lithium,mine,*,price_ref,10,5,20,USD/t,,", "source", "at least 1 character"),
    ("lithium,mine,*,price_ref,ten,5,20,USD/t,assumption,", "value", "valid number"),
    ("lithium,mine,*,price_ref,nan,5,20,USD/t,assumption,", "value", "finite number"),
    ("Lithium Ore,mine,*,price_ref,10,5,20,USD/t,assumption,", "commodity",
     "'Lithium Ore' is not allowed; allowed: a lowercase slug such as rare-earths, or *"),
    ("gallium,primary,*,byproduct_recovery,1e-5,1e-6,2e-5,t/t,assumption,no host", "note",
     "host=<commodity>"),
    ("lithium,chemical,*,capacity_share,1,1,1,share,assumption,", "region", "must name a region"),
]


@pytest.mark.parametrize(("row", "field", "text"), BAD_ROWS)
def test_bad_rows_name_file_line_and_field(tmp_path, row: str, field: str, text: str) -> None:
    general = "*,*,*,supply_elasticity,0.3,0.05,0.8,x,assumption,"
    path = write(tmp_path, "# a comment line", general, row)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: field '{field}': "), message
    assert text in message and "\n" not in message


def test_file_level_errors(tmp_path) -> None:
    good = "lithium,chemical,CHN,capacity_share,0.6,0.5,0.7,share,assumption,"
    rest = "lithium,chemical,ROW,capacity_share,0.3,0.2,0.5,share,assumption,"
    path = write(tmp_path, good, rest)
    with pytest.raises(RegistryError, match=r"reg.csv:2: field 'value': capacity_share of "
                                            r"lithium/chemical sums to 0.9"):
        load_registry(path)
    with pytest.raises(RegistryError, match=r":3: field 'region': duplicate of line 2"):
        load_registry(write(tmp_path, good, good.replace("0.6,", "0.5,", 1)))
    with pytest.raises(RegistryError, match=r"reg.csv:1: header must be commodity,stage"):
        load_registry(write(tmp_path, good, header="commodity,stage,parameter,value"))
    with pytest.raises(RegistryError, match=r"reg.csv:2: expected 10 columns, found 9"):
        load_registry(write(tmp_path, good.rsplit(",", 1)[0]))
    with pytest.raises(CritminError, match=r"nope\.csv: registry file not found"):
        load_registry(tmp_path / "nope.csv")


# -- draws and overrides ------------------------------------------------------------------------


def test_lhs_draws_are_stratified_reproducible_and_inside_every_range(reg) -> None:
    n = 64
    draws = reg.draw(n, seed=7)
    assert draws.shape == (n, len(reg.table)) and list(draws.columns) == reg.keys
    low, high = reg.table.low.to_numpy(), reg.table.high.to_numpy()
    values = draws.to_numpy()
    assert ((values >= low) & (values <= high)).all()
    varied = high > low
    strata = np.floor((values[:, varied] - low[varied]) / (high - low)[varied] * n).astype(int)
    assert (np.sort(strata, axis=0) == np.arange(n)[:, None]).all()  # one draw per stratum
    assert draws.equals(reg.draw(n, seed=7))
    assert not np.allclose(values, reg.draw(n, seed=8).to_numpy())
    fixed = reg.table.index[~varied]
    assert (values[:, fixed] == reg.table.value.to_numpy()[fixed]).all()


def test_sobol_and_random_draws(reg) -> None:
    sobol = reg.draw(16, seed=1, method="sobol").to_numpy()
    random = reg.draw(16, seed=1, method="random").to_numpy()
    low, high = reg.table.low.to_numpy(), reg.table.high.to_numpy()
    for values in (sobol, random):
        assert ((values >= low) & (values <= high)).all()
    assert not np.allclose(sobol, random)
    with pytest.raises(CritminError, match=r"power of two .*use 1024"):
        reg.draw(1000, seed=1, method="sobol")
    with pytest.raises(CritminError, match="at least 1"):
        reg.draw(0, seed=1)
    central = reg.central()
    assert central.shape == (1, len(reg.table))
    assert central.iloc[0].to_numpy() == pytest.approx(reg.table.value.to_numpy())


def test_overrides_fix_values_and_change_the_version(reg) -> None:
    key = ("supply_elasticity", "*", "*", "*")
    new = reg.with_overrides({key: 0.5, "lead_time_years|lithium|mine|AUS": 7})
    assert new.value("supply_elasticity", "cobalt", "refined") == 0.5
    assert new.bounds("supply_elasticity", "cobalt", "refined") == (0.5, 0.5)
    assert new.row("supply_elasticity", "cobalt").source == "override"
    assert new.value("lead_time_years", "lithium", "mine", "AUS") == 7
    assert new.value("lead_time_years", "lithium", "mine", "CHL") == reg.value(
        "lead_time_years", "lithium", "mine")
    assert new.version.startswith(reg.version + "+overrides@") and new.version != reg.version
    assert reg.value("supply_elasticity", "cobalt", "refined") == 0.3  # the original is untouched
    assert len(new.table) == len(reg.table) + 1
    with pytest.raises(RegistryError, match="capacity_share of cobalt/refined sums to"):
        reg.with_overrides({("capacity_share", "cobalt", "refined", "CHN"): 0.5})
    with pytest.raises(CritminError, match="allowed 0 ≤ value ≤ 1"):
        reg.with_overrides({("leakage_share", "*", "*", "*"): 1.5})
    assert math.isclose(reg.with_overrides({key: 0.5}).value("supply_elasticity", "x"), 0.5)


def test_renormalised_share_draws_sum_to_one_and_keep_other_columns(reg) -> None:
    draws = reg.draw(32, seed=3)
    fixed = reg.renormalise_shares(draws)
    table = reg.table
    regional = table.parameter.isin(["capacity_share", "demand_share"])
    for _, rows in table[regional].groupby(["parameter", "commodity", "stage"]):
        columns = [reg.keys[i] for i in rows.index]
        assert draws[columns].sum(axis=1).sub(1).abs().max() > 1e-3  # raw draws do not add up
        assert fixed[columns].sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-12)
        ratio = fixed[columns[0]] / fixed[columns[1]]
        assert ratio.to_numpy() == pytest.approx((draws[columns[0]] / draws[columns[1]]).to_numpy())
    other = [k for k, is_share in zip(reg.keys, regional, strict=True) if not is_share]
    assert any(k.startswith("leakage_share|") for k in other)
    assert fixed[other].equals(draws[other])
