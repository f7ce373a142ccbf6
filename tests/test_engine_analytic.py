"""The engine against answers worked out by hand (DESIGN.md §8: analytic cases first)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import clear, network, simulate, toys
from critmin.scenario.model import validate_scenario


def _scenario(chains: list[str], horizon: int, shocks: list[dict], **extra: object):
    return validate_scenario({"name": "toy", "start": "2025Q1", "horizon": horizon,
                              "chains": chains, "shocks": shocks, **extra})


@pytest.mark.parametrize(("cut", "eps_s", "eps_d"), [(0.3, 0.2, -0.1), (0.5, 0.05, -0.3),
                                                     (0.1, 0.8, -0.05)])
def test_supply_cut_gives_the_isoelastic_price_multiple(cut: float, eps_s: float,
                                                         eps_d: float) -> None:
    # one market, no inventories: K·u0·m^εs = (1-x)^{-1}… ⇒ m = (1 − x)^(−1/(εs − εd))
    m = toys.market(3, [0], 1, capacity=(1 - cut) / 0.01, utilisation=0.01,
                    supply_elasticity=eps_s, demand_elasticity=eps_d, demand_ref=1.0)
    sol = clear(m)
    expected = (1 - cut) ** (-1 / (eps_s - eps_d))
    assert np.exp(sol.log_price[:, 0]) == pytest.approx(expected, rel=1e-10)


def test_supply_cut_through_the_period_loop() -> None:
    # AUS has 60% of output; losing half of it is a 30% cut of world supply
    world = toys.world({"lithium": ["mine"]}, ["AUS", "CHN", "ROW"],
                       production={"lithium": [60.0, 30.0, 10.0]},
                       demand_share={"lithium/mine": [0.1, 0.6, 0.3]}, utilisation_ref=0.01)
    scenario = _scenario(["lithium"], 6, [{"kind": "production_outage", "commodity": "lithium",
                                           "stage": "mine", "region": "AUS", "start": 2,
                                           "end": 3, "value": 0.5}])
    run = simulate(world, scenario)
    multiple = run.shocked.price[0, :, 0, 0] / run.baseline.price[0, :, 0, 0]
    assert run.baseline.price[0, :, 0, 0] == pytest.approx(1000.0, rel=1e-12)
    assert multiple[:2] == pytest.approx(1.0, rel=1e-12)
    assert multiple[2:4] == pytest.approx(0.7 ** (-1 / 0.3), rel=1e-10)
    assert multiple[4:] == pytest.approx(1.0, rel=1e-12)


def test_binding_export_quota_splits_prices_and_each_bloc_balances() -> None:
    # bloc 0 (cheap exporter) may ship at most 5 t to bloc 1
    m = toys.market(2, [0, 1], 2, capacity=[200.0, 20.0], utilisation=0.5, demand_ref=[60.0, 50.0],
                    supply_elasticity=0.3, demand_elasticity=-0.2, wedge=np.log(1.03),
                    cap=[[[5.0, np.inf]]])
    sol = clear(m)
    p = np.exp(sol.log_price[0])
    assert sol.state[0, 0] == network.POS_CAP
    assert sol.flow[0, 0] == pytest.approx(5.0, abs=1e-12)
    assert p[1] > p[0] * 1.03 * 1.5  # the cap splits the two prices far beyond the wedge
    # each bloc balances: supply − demand = net exports, by hand from the curves
    supply = np.array([200.0, 20.0]) * np.minimum(1.0, 0.5 * p**0.3)
    demand = np.array([60.0, 50.0]) * p**-0.2
    assert supply - demand == pytest.approx([5.0, -5.0], rel=1e-10)


def test_uncapped_link_equalises_prices_up_to_the_wedge() -> None:
    for wedge in (0.0, 0.03, 0.25):
        m = toys.market(1, [0, 1], 2, capacity=[200.0, 10.0], demand_ref=[50.0, 50.0],
                        wedge=np.log1p(wedge))
        sol = clear(m)
        p = np.exp(sol.log_price[0])
        assert p[1] == pytest.approx(p[0] * (1 + wedge), rel=1e-12)
        assert sol.flow[0, 0] > 0
        world_balance = (np.array([200.0, 10.0]) * np.minimum(1, 0.5 * p**0.2)).sum() - (
            50.0 * p**-0.1).sum()
        assert world_balance == pytest.approx(0.0, abs=1e-9)


def test_a_small_gap_leaves_the_link_shut() -> None:
    # identical autarky prices: no trade once a wedge is to be paid
    m = toys.market(1, [0, 1], 2, capacity=[100.0, 100.0], demand_ref=[50.0, 50.0],
                    wedge=np.log(1.05))
    sol = clear(m)
    assert sol.state[0, 0] == network.ZERO
    assert sol.flow[0, 0] == 0.0
    assert sol.log_price[0, 0] == pytest.approx(sol.log_price[0, 1], abs=1e-12)


def test_inventories_lower_the_peak() -> None:
    shock = [{"kind": "production_outage", "commodity": "lithium", "stage": "mine",
              "region": "AUS", "start": 2, "end": 2, "value": 0.6}]
    peaks = {}
    for months in (0.0, 2.0):
        world = toys.world({"lithium": ["mine"]}, ["AUS", "ROW"],
                           production={"lithium": [70.0, 30.0]},
                           demand_share={"lithium/mine": [0.2, 0.8]},
                           utilisation_ref=0.01, inventory_cover_months=months)
        run = simulate(world, _scenario(["lithium"], 6, shock))
        peaks[months] = (run.shocked.price / run.baseline.price).max()
        stock_change = run.shocked.inventory_change[0, 2, 0].sum()
        assert stock_change < 0 if months else stock_change == 0  # stocks drawn in the shock
    assert peaks[0.0] == pytest.approx(0.58 ** (-1 / 0.3), rel=1e-10)
    assert peaks[2.0] < 0.8 * peaks[0.0]


def test_byproduct_capacity_follows_its_host() -> None:
    world = toys.world({"gallium": ["primary"]}, ["CHN", "JPN", "ROW"],
                       production={"gallium": [900.0, 3.0, 0.0]},
                       demand_share={"gallium/primary": [0.7, 0.2, 0.1]},
                       host_production={"gallium/primary": [9e7, 1e6, 5e7]})
    shock = [{"kind": "production_outage", "commodity": "alumina", "stage": "refinery",
              "region": "CHN", "start": 1, "end": 2, "value": 0.4}]
    run = simulate(world, _scenario(["gallium"], 4, shock))
    capacity = run.shocked.capacity[0, :, 0]  # (time, region)
    assert capacity[1:3, 0] == pytest.approx(0.6 * capacity[0, 0], rel=1e-12)
    assert capacity[:, 1] == pytest.approx(capacity[0, 1], rel=1e-12)  # JPN's host untouched
    assert capacity[3, 0] == pytest.approx(capacity[0, 0], rel=1e-12)
    assert run.shocked.price[0, 1, 0, 0] > run.baseline.price[0, 1, 0, 0]


def test_world_host_index_for_byproducts_without_country_data() -> None:
    # germanium-like: refinery split by capacity_share, capacity = recovery × world host output
    world = toys.world({"germanium": ["refined"]}, ["CHN", "ROW"],
                       production={}, demand_share={"germanium/refined": [0.5, 0.5]},
                       capacity_share={"germanium/refined": [0.6, 0.4]},
                       host_production={"germanium/refined": [3e6, 1e6]},
                       byproduct_recovery=1e-5)
    shock = [{"kind": "production_outage", "commodity": "zinc", "stage": "mine",
              "region": "CHN", "start": 1, "end": 1, "value": 0.5}]
    run = simulate(world, _scenario(["germanium"], 3, shock))
    capacity = run.shocked.capacity[0, :, 0]
    assert capacity[0].sum() == pytest.approx(4e6 * 1e-5 / 0.5, rel=1e-12)  # output / u0
    # half of China's zinc is 3/8 of the world's: every refiner loses 37.5%
    assert capacity[1] == pytest.approx(0.625 * capacity[0], rel=1e-12)


def test_chain_stages_link_by_yield_and_mass_balances() -> None:
    world = toys.world({"cobalt": ["mine", "refined"]}, ["COD", "CHN", "ROW"],
                       production={"cobalt": [200.0, 10.0, 40.0]},
                       demand_share={"cobalt/refined": [0.0, 0.7, 0.3]},
                       capacity_share={"cobalt/refined": [0.0, 0.8, 0.2]},
                       stage_yield=0.9, inventory_cover_months=1.0)
    run = simulate(world, _scenario(["cobalt"], 8, [
        {"kind": "production_outage", "commodity": "cobalt", "stage": "mine", "region": "COD",
         "start": 2, "end": 4, "value": 0.3}]))
    base = run.baseline
    # reference: refined output = 0.9 × mine output, prices at p0
    assert base.production[0, 0, 1].sum() == pytest.approx(0.9 * base.production[0, 0, 0].sum(),
                                                           rel=1e-12)
    assert base.price[0] == pytest.approx(1000.0, rel=1e-9)
    shocked = run.shocked
    # processors used no more input than they bought: stock ≥ 0 and refined ≤ yield × input
    assert (shocked.input_stock >= -1e-9).all()
    assert shocked.price[0, 2:5, 1].max() > 1.05 * 1000.0  # the mine shock reaches refined prices


class _Release:
    """A stockpile releasing a fixed tonnage in one period (a policy hook)."""

    def __init__(self, period: int, tonnes: float) -> None:
        self.period, self.tonnes = period, tonnes

    def before_period(self, inputs, state) -> None:
        if inputs.t == self.period:
            inputs.extra_supply[:, 0, 0] += self.tonnes

    def after_period(self, outcome, state) -> None:
        pass


class _Floor:
    """A producer price floor at ``multiple`` × p0 for region 0 (a policy hook)."""

    def __init__(self, multiple: float) -> None:
        self.multiple = multiple

    def before_period(self, inputs, state) -> None:
        inputs.log_floor[:, 0, 0] = np.log(1000.0 * self.multiple)

    def after_period(self, outcome, state) -> None:
        pass


def test_policy_hooks_add_supply_and_set_producer_prices() -> None:
    world = toys.world({"lithium": ["mine"]}, ["AUS", "ROW"],
                       production={"lithium": [70.0, 30.0]},
                       demand_share={"lithium/mine": [0.2, 0.8]}, utilisation_ref=0.01)
    scenario = _scenario(["lithium"], 3, [])
    # a release of 5 t into a 25 t/quarter market: supply + 5 = demand at the new price
    run = simulate(world, scenario, hooks=[_Release(1, 5.0)])
    p = run.shocked.price[0, 1, 0, 0] / 1000.0
    assert 25.0 * p**0.2 + 5.0 == pytest.approx(25.0 * p**-0.1, rel=1e-10)
    assert run.shocked.extra_supply[0, 1, 0, 0] == 5.0
    assert run.shocked.balance_error.max() < 1e-9
    # a floor at 1.5 × p0 for AUS: AUS produces as if paid the floor, the market clears lower
    run = simulate(world, scenario, hooks=[_Floor(1.5)])
    p = run.shocked.price[0, 0, 0, 0] / 1000.0
    aus = run.shocked.production[0, 0, 0, 0]
    assert aus == pytest.approx(70.0 / 4 * 1.5**0.2, rel=1e-10)
    assert aus + 30.0 / 4 * p**0.2 == pytest.approx(25.0 * p**-0.1, rel=1e-10)
    assert p < 1.0
