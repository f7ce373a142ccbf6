"""Tariffs: revenue = rate × price × flow; the wedge between blocs widens by the tariff; a
variable levy lifts the landed price to the reference price, one period behind."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import toys
from critmin.policy.hooks import simulate_with_policies
from critmin.policy.tariff import levy_rate, tariff_revenue
from critmin.scenario.model import validate_scenario

TRANSPORT = toys.QUIET["transport_wedge"]


def _run(tariff: dict, horizon: int = 4):
    # AUS makes everything, the US (the "rest" bloc) imports 80% of it
    world = toys.world({"gallium": ["primary"]}, ["AUS", "USA"],
                       production={"gallium": [100.0, 0.0]},
                       demand_share={"gallium/primary": [0.2, 0.8]})
    scenario = validate_scenario({
        "name": "toy", "start": "2025Q1", "horizon": horizon, "chains": ["gallium"],
        "blocs": {"maker": ["AUS"]},
        "policies": [{"kind": "tariff", "commodity": "gallium", "stage": "primary",
                      "importers": ["rest"], "exporters": ["maker"], "start": 1, **tariff}]})
    run = simulate_with_policies(world, scenario)
    price = run.run.shocked.price[0, :, 0]  # (T, blocs): maker, rest
    flow = run.run.shocked.flow[0, :, 0, 0]  # maker → rest
    return run, price, flow


def test_revenue_formula_by_hand() -> None:
    assert tariff_revenue(np.array([0.25, 0.1]), np.array([1000.0, 2000.0]),
                          np.array([4.0, 5.0])) == pytest.approx(0.25 * 4000 + 0.1 * 10000)
    assert levy_rate(1500.0, np.array([1000.0, 2000.0]), np.array([0.03, 0.03])) == (
        pytest.approx([1500 / 1030 - 1, 0.0]))


def test_tariff_revenue_is_rate_times_price_times_flow() -> None:
    run, price, flow = _run({"rate": 0.25})
    assert (flow > 0).all()
    # trade flows, so the importer pays the exporter's price plus transport and tariff
    assert price[0, 1] / price[0, 0] == pytest.approx(1 + TRANSPORT, rel=1e-9)
    assert price[1:, 1] / price[1:, 0] == pytest.approx((1 + TRANSPORT) * 1.25, rel=1e-9)
    revenue = run.policies.ledger.total("tariff", ("tariff_revenue",))[0]
    assert revenue == pytest.approx(np.r_[0.0, 0.25 * price[1:, 0] * flow[1:]], rel=1e-12)
    assert run.policies.fiscal_cost()[0] == pytest.approx(-revenue.sum(), rel=1e-12)
    # the tariff cuts imports: less flows than before it
    assert flow[1] < flow[0]


def test_a_variable_levy_lifts_the_landed_price_to_the_reference() -> None:
    reference = 1500.0
    run, price, flow = _run({"reference_price_usd_per_t": reference}, horizon=6)
    rate = run.policies.tools[0].record["rate"][0]
    # set from the last cleared exporter price: rate_t = P / (p_x,t−1 (1 + w)) − 1
    assert rate[1:] == pytest.approx(reference / (price[:-1, 0] * (1 + TRANSPORT)) - 1, rel=1e-9)
    assert price[1:, 1] == pytest.approx(price[1:, 0] * (1 + TRANSPORT) * (1 + rate[1:]),
                                         rel=1e-9)
    # as the exporter's price settles, the landed price reaches the reference
    assert price[-1, 1] == pytest.approx(reference, rel=1e-3)
    revenue = run.policies.ledger.total("tariff", ("tariff_revenue",))[0]
    assert revenue[1:] == pytest.approx(rate[1:] * price[1:, 0] * flow[1:], rel=1e-12)
