"""Price floor: a put pays Σ max(0, F − p_t)·q_t, producers supply as at the strike, a CfD pays
back above the strike, a budget makes it lapse (bad input: tests/test_policy_errors.py)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import toys
from critmin.policy.hooks import simulate_with_policies
from critmin.policy.price_floor import cfd_payment, put_payout
from critmin.scenario.model import validate_scenario


def test_payout_formulas_by_hand() -> None:
    price = np.array([[800.0, 1200.0, 950.0]])
    q = np.array([[10.0, 20.0, 4.0]])
    assert put_payout(1000.0, price, q) == pytest.approx([200 * 10 + 50 * 4])
    paid, back = cfd_payment(1000.0, price, q)
    assert paid == pytest.approx([2200.0]) and back == pytest.approx([200.0 * 20])


def _run(surge: float, floor: dict, horizon: int = 4):
    world = toys.world({"gallium": ["primary"]}, ["USA"], production={"gallium": [100.0]},
                       demand_share={"gallium/primary": [1.0]})
    scenario = validate_scenario({
        "name": "toy", "start": "2025Q1", "horizon": horizon, "chains": ["gallium"],
        "shocks": [{"kind": "demand_surge", "commodity": "gallium", "stage": "primary",
                    "start": 1, "value": surge}],
        "policies": [{"kind": "price_floor", "commodity": "gallium", "stage": "primary",
                      "regions": ["USA"], **floor}]})
    return simulate_with_policies(world, scenario)


def test_a_put_pays_the_gap_times_output_and_holds_supply_at_the_strike() -> None:
    # demand −30% from quarter 1; with the floor at p0 producers keep supplying 25 t a quarter
    # (u0·K), so demand 0.7·25·m^−0.1 = 25 ⇒ m = 0.7^10 (ε_d = −0.1)
    run = _run(-0.3, {"strike_usd_per_t": 1000.0, "form": "put"})
    price = run.run.shocked.price[0, :, 0, 0]
    output = run.run.shocked.production[0, :, 0, 0]
    assert price[1:] / 1000.0 == pytest.approx(0.7**10, rel=1e-9)
    assert output == pytest.approx(25.0, rel=1e-12)
    paid = run.policies.ledger.total("price_floor", ("payouts",))[0]
    assert paid == pytest.approx(np.maximum(1000.0 - price, 0.0) * output, rel=1e-12)
    assert paid.sum() == pytest.approx(3 * (1000.0 - 1000.0 * 0.7**10) * 25.0, rel=1e-9)
    receipts = run.policies.ledger.total("price_floor", ("receipts",))
    assert receipts.sum() == pytest.approx(0, abs=1e-6)


def test_a_cfd_pays_back_when_the_price_is_above_the_strike() -> None:
    # demand +30%: 25·m^0.2 = 1.3·25·m^−0.1 ⇒ m = 1.3^(1/0.3); strike p0 is below the price
    run = _run(0.3, {"strike_usd_per_t": 1000.0, "form": "cfd"})
    price = run.run.shocked.price[0, :, 0, 0]
    output = run.run.shocked.production[0, :, 0, 0]
    m = 1.3 ** (1 / 0.3)
    assert price[1:] / 1000.0 == pytest.approx(m, rel=1e-9)
    back = run.policies.ledger.total("price_floor", ("receipts",))[0]
    assert back[1:] == pytest.approx((price[1:] - 1000.0) * 25.0 * m**0.2, rel=1e-9)
    assert back == pytest.approx(np.maximum(price - 1000.0, 0.0) * output, rel=1e-12)
    payouts = run.policies.ledger.total("price_floor", ("payouts",))
    assert payouts.sum() == pytest.approx(0, abs=1e-6)
    assert run.policies.fiscal_cost()[0] == pytest.approx(-back.sum(), rel=1e-12)


def test_a_budget_caps_payouts_and_the_floor_lapses() -> None:
    full = (1000.0 - 1000.0 * 0.7**10) * 25.0  # one quarter's payout
    run = _run(-0.3, {"strike_usd_per_t": 1000.0, "budget_usd": 1.5 * full}, horizon=5)
    paid = run.policies.ledger.total("price_floor", ("payouts",))[0]
    assert paid.sum() == pytest.approx(1.5 * full, rel=1e-9)
    assert paid[1] == pytest.approx(full) and paid[2] == pytest.approx(0.5 * full)
    tool = run.policies.tools[0]
    assert tool.record["active"][0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert tool.record["unpaid_usd"][0, 2] == pytest.approx(0.5 * full)
    # once lapsed, producers face the market: supply falls with the price
    assert run.run.shocked.production[0, 4, 0, 0] < 25.0


def test_a_tranche_adds_a_covered_plant_and_pays_on_its_output_only() -> None:
    run = _run(-0.3, {"strike_usd_per_t": 1000.0, "tranche_t_per_year": 100.0})
    capacity = run.run.shocked.capacity[0, :, 0, 0]
    assert capacity == pytest.approx(300.0)  # 200 t/yr of the region + the 100 t/yr plant
    price = run.run.shocked.price[0, :, 0, 0]
    output = run.run.shocked.production[0, :, 0, 0]
    paid = run.policies.ledger.total("price_floor", ("payouts",))[0]
    assert paid == pytest.approx(np.maximum(1000.0 - price, 0.0) * output / 3.0, rel=1e-12)
