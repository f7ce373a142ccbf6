"""Stockpile: a release moves an isoelastic price by the formula's amount; holdings never go
negative and money never runs beyond budget + financing; Project Vault against licensing
(bad input: tests/test_policy_errors.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from critmin.engine import simulate, toys
from critmin.policy.hooks import simulate_with_policies
from critmin.policy.ledger import FUNDING, OUTLAYS, REPAID, REVENUE
from critmin.scenario.model import load_scenario, validate_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DAYS_PER_QUARTER = 365.25 / 4


def _world(**parameters: float):
    # one region, 100 t a year at u0 = 0.5: 25 t a quarter supplied and demanded at p0 = 1000
    return toys.world({"gallium": ["primary"]}, ["USA"], production={"gallium": [100.0]},
                      demand_share={"gallium/primary": [1.0]}, **parameters)


def _scenario(stockpile: dict, horizon: int = 4, shocks: list | None = None):
    return validate_scenario({"name": "toy", "start": "2025Q1", "horizon": horizon,
                              "chains": ["gallium"], "shocks": shocks or [],
                              "policies": [{"kind": "stockpile", "commodity": "gallium",
                                            "stage": "primary", "members": ["USA"],
                                            **stockpile}]})


def _release_run(x: float, eps_s: float):
    world = _world(supply_elasticity=eps_s)
    daily = 25.0 / DAYS_PER_QUARTER  # normal use seen in the first quarter
    scenario = _scenario({
        "initial_t": x, "target_days": 1, "storage_cost_usd_per_t_year": 0,
        "buy": {"days_per_year": 1, "max_price_multiple": 1e-6},  # never buys
        # always triggered; the cap lets exactly x t out in one quarter
        "release": {"on_export_control": False, "price_multiple_above": 0.5,
                    "days_per_year": x / daily * 4}})
    return simulate_with_policies(world, scenario)


@pytest.mark.parametrize(("x", "eps_s"), [(1.0, 0.0), (5.0, 0.0), (3.0, 0.2), (10.0, 0.5)])
def test_a_release_lowers_an_isoelastic_price_by_the_formula(x: float, eps_s: float) -> None:
    # released in quarter 1 (quarter 0 only shows the members' normal use): 25·m^εs + x = 25·m^εd
    run = _release_run(x, eps_s)
    price = run.run.shocked.price[0, :, 0, 0]
    if eps_s == 0.0:
        expected = (1 + x / 25.0) ** (1 / -0.1)  # closed form with fixed supply
    else:
        expected = brentq(lambda m: 25 * m**eps_s + x - 25 * m**-0.1, 1e-6, 1.0, xtol=1e-15)
    assert price[1] / 1000.0 == pytest.approx(expected, rel=1e-9)
    assert price[[0, 2, 3]] == pytest.approx(1000.0, rel=1e-12)  # before and after: p0
    tool = run.policies.tools[0]
    assert tool.record["released_t"][0].tolist() == pytest.approx([0.0, x, 0.0, 0.0])
    # sold at the cleared price
    sales = run.policies.ledger.total("stockpile", ("sales",))[0]
    assert sales[1] == pytest.approx(x * price[1], rel=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budget=st.floats(0, 3e4), loan=st.floats(0, 3e4), private=st.floats(0, 1e4),
       initial=st.floats(0, 40), target=st.floats(1, 200), speed=st.floats(1, 400),
       storage=st.floats(0, 4e4), rate=st.floats(0, 0.3), fee=st.floats(0, 1),
       surge=st.lists(st.floats(-0.5, 1.5), min_size=3, max_size=3),
       trigger=st.floats(0.8, 3.0), price=st.sampled_from(["market", "cost"]))
def test_holdings_never_negative_and_money_never_beyond_budget_and_financing(
        budget: float, loan: float, private: float, initial: float, target: float, speed: float,
        storage: float, rate: float, fee: float, surge: list[float], trigger: float,
        price: str) -> None:
    horizon = 12
    shocks = [{"kind": "demand_surge", "commodity": "gallium", "stage": "primary",
               "start": 0, "path": [{"at": 4 * k, "value": v} for k, v in enumerate(surge)]}]
    scenario = _scenario({
        "initial_t": initial, "target_days": target, "budget_usd": budget,
        "financing": {"loan_usd": loan, "private_usd": private, "loan_rate": rate,
                      "term_years": 100},
        "storage_cost_usd_per_t_year": storage, "member_fee_share": fee,
        "buy": {"days_per_year": speed, "max_price_multiple": 1.5},
        "release": {"on_export_control": False, "price_multiple_above": trigger,
                    "price": price}}, horizon=horizon, shocks=shocks)
    run = simulate_with_policies(_world(), scenario)  # checks the ledger (cash ≥ 0) itself
    tool, ledger = run.policies.tools[0], run.policies.ledger
    holdings = tool.record["holdings_t"][0]
    assert (holdings >= -1e-9).all()
    flows = {c: ledger.total("stockpile", (c,))[0] for c in (*OUTLAYS, *REVENUE, *FUNDING,
                                                             *REPAID)}
    # purchases are paid from own funds, private capital, the loan and what the fund earned
    spent = np.cumsum(flows["purchases"])
    earned = np.cumsum(flows["sales"] + flows["fees"])
    assert (spent <= budget + loan + private + earned + 1e-6 * (1 + spent)).all()
    drawn = np.cumsum(flows["appropriation"] + flows["private_capital"] + flows["loan_drawn"])
    assert (drawn <= budget + loan + private + 1e-6 * (1 + drawn)).all()
    # the treasury tops up carrying costs only when the fund had to sell stock (and the market
    # paid less than the last price) or had nothing left to sell
    topped = flows["topup"] > 1e-9
    forced = tool.record["forced_sale_t"][0] > 0
    assert (forced[topped] | (holdings[topped] <= 1e-9)).all()
    # tonnes: start + bought − released − forced sales = holdings, every period
    stock = initial + np.cumsum(tool.record["bought_t"][0] - tool.record["released_t"][0]
                                - tool.record["forced_sale_t"][0])
    assert holdings == pytest.approx(stock, rel=1e-9, abs=1e-9)


@pytest.fixture(scope="module")
def vault():
    scenario = load_scenario(SCENARIOS / "project-vault-rare-earths.yaml")
    from critmin.world import build_world_for

    world = build_world_for(scenario)
    with_vault = simulate_with_policies(world, scenario, draws=2)
    alone = simulate(world, scenario.without_policies(), draws=2)
    return scenario, world, with_vault, alone


def test_project_vault_reports_days_of_cover_and_reaches_its_target(vault) -> None:
    scenario, _, run, _ = vault
    tool = run.policies.tools[0]
    days = tool.record["days_of_cover"]
    labels = scenario.labels()
    before = labels.index("2026Q4")
    assert np.isfinite(days[:, 1:]).all()
    # 120 days a year for two quarters fills the 60-day target before the control starts
    assert days[:, before] == pytest.approx(60.0, rel=0.05)
    released = tool.record["released_t"]
    start = labels.index("2027Q1")
    assert (released[:, start] > 0).all() and (released[:, :start] == 0).all()
    assert tool.record["holdings_t"][:, start] == pytest.approx(0.0, abs=1e-9)  # all out at once
    table = run.policies.tables()["tools"]
    assert {"days_of_cover", "holdings_t"} <= set(table.series)


def test_project_vault_cuts_the_members_shortfall(vault) -> None:
    _, world, run, alone = vault
    usa, magnet = world.region("USA"), world.node("rare-earths", "magnet")

    def lost(r):  # final demand the US goes without, beyond the no-shock run
        return np.maximum(r.shocked.demand_destroyed[:, :, magnet, usa]
                          - r.baseline.demand_destroyed[:, :, magnet, usa], 0.0).sum(axis=1)

    assert (lost(run.run) < lost(alone)).all()
    assert (lost(alone) - lost(run.run)).mean() > 100.0  # t of magnets


def test_project_vault_ledger_balances(vault) -> None:
    _, _, run, _ = vault
    ledger = run.policies.ledger
    holder = "US Project Vault"
    total = {c: ledger.total(holder, (c,)) for c in (*OUTLAYS, *REVENUE, *FUNDING, *REPAID)}
    cash = ledger.cash(holder)
    # cash = funding − repaid − (purchases + storage + interest) + (sales + fees), each period
    by_hand = np.cumsum(
        total["appropriation"] + total["private_capital"] + total["loan_drawn"] + total["topup"]
        - total["loan_repaid"] - total["purchases"] - total["storage"] - total["interest"]
        + total["sales"] + total["fees"], axis=1)
    assert cash == pytest.approx(by_hand, rel=1e-12, abs=1e-3)
    assert (cash >= -1e-3).all()
    assert (total["purchases"].sum(axis=1) > 0).all() and (total["storage"].sum(axis=1) > 0).all()
    # private capital is drawn before the loan; the loan carries the interest
    assert (total["private_capital"].sum(axis=1) > 0).all()
    interest_due = total["loan_drawn"].sum(axis=1) > 0
    assert ((total["interest"].sum(axis=1) > 0) == interest_due).all()
    # fees cover the carrying costs; releases at cost return what was paid for the stock
    assert total["fees"].sum(axis=1) == pytest.approx(
        (total["storage"] + total["interest"]).sum(axis=1), rel=1e-9)
    assert total["sales"].sum(axis=1) == pytest.approx(total["purchases"].sum(axis=1), rel=1e-9)
    assert (total["topup"] == 0).all()
    summary = run.policies.tables()["ledger_summary"]
    assert summary.holder.tolist() == [holder]
