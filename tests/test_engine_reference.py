"""The vectorised solver against the plain scipy reference (same equilibrium, to 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import clear, simulate, toys
from critmin.engine.reference import clear_one
from critmin.scenario.model import validate_scenario


def _random_market(n_blocs: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    regions = 2 * n_blocs
    n_pairs = n_blocs * (n_blocs - 1) // 2
    caps = np.where(rng.random((n, n_pairs, 2)) < 0.5, np.inf, rng.uniform(0, 30, (n, n_pairs, 2)))
    return toys.market(
        n, np.repeat(np.arange(n_blocs), 2), n_blocs,
        capacity=rng.uniform(0, 100, (n, regions)), demand_ref=rng.uniform(0, 100, (n, regions)),
        utilisation=0.9, supply_elasticity=rng.uniform(0.05, 0.5, (n, regions)),
        demand_elasticity=rng.uniform(-0.3, -0.05, (n, regions)),
        inv_target=(stock := rng.uniform(0, 20, (n, regions))), inv_stock=stock * 1.2,
        wedge=rng.uniform(0.0, 0.1, (n, n_pairs, 2)), cap=caps,
        min_utilisation=np.where(rng.random((n, regions)) < 0.2, 0.95, 0.0),
        log_floor=np.where(rng.random((n, regions)) < 0.2, 0.3, -np.inf),
        input_limit=np.where(rng.random((n, regions)) < 0.3, rng.uniform(5, 60, (n, regions)),
                             np.inf),
    )


@pytest.mark.parametrize(("n_blocs", "seed"), [(1, 0), (2, 1), (3, 2), (4, 3), (4, 4)])
def test_vectorised_matches_reference_on_random_markets(n_blocs: int, seed: int) -> None:
    m = _random_market(n_blocs, 400, seed)
    sol = clear(m)
    assert sol.fallback_rows == 0
    assert np.abs(sol.residual).max() < 1e-9 * 100
    for row in range(0, 400, 50):  # the reference is slow: a sample of rows
        ref = clear_one(m, row)
        assert np.exp(sol.log_price[row]) == pytest.approx(np.exp(ref.log_price), rel=1e-6)
        assert sol.flow[row] == pytest.approx(ref.flow, rel=1e-6, abs=1e-6)


def test_whole_runs_agree_with_the_reference_solver() -> None:
    world = toys.world({"rare-earths": ["mine", "separated"]}, ["CHN", "MMR", "USA", "ROW"],
                       production={"rare-earths": [270.0, 22.0, 51.0, 40.0]},
                       capacity_share={"rare-earths/separated": [0.9, 0.0, 0.0, 0.1]},
                       demand_share={"rare-earths/separated": [0.6, 0.0, 0.2, 0.2]},
                       stage_yield=0.9, inventory_cover_months=2.0,
                       substitution_max_rate=0.1, substitution_price_elasticity=0.15,
                       substitution_cap=0.4, incentive_price_multiple=1.3,
                       lead_time_years=0.5, ramp_up_years=0.5, cash_cost_multiple=0.7)
    scenario = validate_scenario({
        "name": "ref", "start": "2025Q1", "horizon": 6, "chains": ["rare-earths"],
        "blocs": {"china": ["CHN"], "usa": ["USA"]}, "draws": 2,
        "shocks": [{"kind": "licence_approval", "commodity": "rare-earths", "stage": "separated",
                    "exporter": "china", "start": 1, "end": 3, "value": 0.25},
                   {"kind": "export_tax", "commodity": "rare-earths", "stage": "mine",
                    "exporter": "china", "start": 2, "value": 0.2}]})
    fast = simulate(world, scenario)
    slow = simulate(world, scenario, solver="reference")
    assert fast.shocked.price == pytest.approx(slow.shocked.price, rel=1e-6)
    assert fast.baseline.price == pytest.approx(slow.baseline.price, rel=1e-6)
    assert fast.shocked.flow == pytest.approx(slow.shocked.flow, rel=1e-6, abs=1e-6)
    # the shock did something: China's separated price falls under the licences
    assert fast.shocked.price[0, 2, 1, 0] < 0.99 * fast.baseline.price[0, 2, 1, 0]
