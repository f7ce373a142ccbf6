"""Recycling: recovered tonnes = rate × end-of-life scrap, ramped; recyclers are paid
max(0, c − p) per tonne until the budget runs out. Substitution research raises the substitution
share above the engine's own after its lag."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from critmin.engine import simulate, toys
from critmin.params import load_registry
from critmin.policy.hooks import simulate_with_policies
from critmin.policy.recycling import ramp_share, recovered
from critmin.scenario.model import validate_scenario


def test_recovery_and_ramp_by_hand() -> None:
    assert recovered(0.25, np.array([100.0]), np.array([0.1]), np.array([10.0])) == (
        pytest.approx([25.0 / 1.1**10]))
    assert [ramp_share(t, 2, 4) for t in range(7)] == [0, 0, 0.25, 0.5, 0.75, 1, 1]
    assert ramp_share(3, 2, 0) == 1.0


def _world(**parameters: float):
    return toys.world({"gallium": ["primary"]}, ["USA"], production={"gallium": [100.0]},
                      demand_share={"gallium/primary": [1.0]}, **parameters)


def _scenario(policy: dict, horizon: int = 6, shocks: list | None = None):
    return validate_scenario({"name": "toy", "start": "2025Q1", "horizon": horizon,
                              "chains": ["gallium"], "shocks": shocks or [],
                              "policies": [policy]})


def test_recycling_supplies_the_recovered_scrap_and_pays_the_cost_gap() -> None:
    # no demand growth, so scrap = normal use (25 t a quarter); 20% recovered from quarter 1
    run = simulate_with_policies(_world(), _scenario({
        "kind": "recycling", "commodity": "gallium", "stage": "primary", "members": ["USA"],
        "recovery_rate": 0.2, "cost_usd_per_t": 1500.0}))
    extra = run.run.shocked.extra_supply[0, :, 0, 0]
    assert extra[0] == 0.0  # no use seen yet in the first quarter
    m = brentq(lambda x: 25 * x**0.2 + 5.0 - 25 * x**-0.1, 0.01, 1.0, xtol=1e-15)
    assert extra[1] == pytest.approx(5.0)
    price = run.run.shocked.price[0, :, 0, 0]
    assert price[1] / 1000.0 == pytest.approx(m, rel=1e-9)
    paid = run.policies.ledger.total("recycling", ("subsidies",))[0]
    assert paid == pytest.approx(np.maximum(1500.0 - price, 0.0) * extra, rel=1e-12)


def test_a_recycling_budget_stops_recovery_once_spent() -> None:
    run = simulate_with_policies(_world(), _scenario({
        "kind": "recycling", "commodity": "gallium", "stage": "primary", "members": ["USA"],
        "recovery_rate": 0.2, "cost_usd_per_t": 1500.0, "budget_usd": 5000.0}))
    paid = run.policies.ledger.total("recycling", ("subsidies",))[0]
    assert paid.sum() == pytest.approx(5000.0)
    extra = run.run.shocked.extra_supply[0, :, 0, 0]
    assert extra[-1] == 0.0 and extra[1] > 0.0


def test_substitution_research_raises_substitution_after_its_lag() -> None:
    reg = load_registry()
    lag = reg.value("rd_lag_years", "gallium")
    horizon = int(4 * lag) + 8
    world = _world(substitution_max_rate=0.05, substitution_price_elasticity=0.2,
                   substitution_cap=0.05)
    surge = [{"kind": "demand_surge", "commodity": "gallium", "stage": "primary", "start": 0,
              "value": 0.5}]
    run = simulate_with_policies(world, _scenario({
        "kind": "substitution_rd", "commodity": "gallium", "budget_usd": 2e9, "years": 2},
        horizon=horizon, shocks=surge))
    sub = run.run.shocked.substitution[0, :, 0, 0]
    alone = simulate(world, run.run.scenario.without_policies()).shocked.substitution[0, :, 0, 0]
    effect = int(4 * lag)
    assert sub[:effect] == pytest.approx(alone[:effect], abs=1e-15)
    assert alone[-1] == pytest.approx(0.05)  # the engine's cap
    gain = 2 * reg.value("rd_substitution_cap_gain", "gallium")
    assert sub[-1] == pytest.approx(0.05 + gain, rel=1e-9)  # cap raised by 2 × gain per $1B
    research = run.policies.ledger.total("substitution_rd", ("research",))[0]
    assert research[:8] == pytest.approx(2e9 / 8) and research[8:].sum() == 0.0
