"""Invariants over random worlds and shocks: mass balance every period to 1e-9 relative,
prices positive and finite, nothing NaN (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.engine import network, simulate, toys
from critmin.scenario.model import validate_scenario

CHAIN = ("mine", "separated", "magnet")  # the rare-earth chain, cut short at random


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    n_stages = draw(st.integers(1, 3))
    n_regions = draw(st.integers(2, 5))
    regions = [*["AUS", "CHN", "USA", "JPN", "ROW"][:n_regions - 1], "ROW"]
    n_blocs = draw(st.integers(1, min(3, n_regions)))
    stages = list(CHAIN[:n_stages])
    positive = st.one_of(st.just(0.0), st.floats(1e-3, 100.0))  # none, or a real producer

    def shares() -> list[float]:
        raw = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n_regions,
                                     max_size=n_regions)))
        return list(raw / raw.sum())

    production = draw(st.lists(positive, min_size=n_regions, max_size=n_regions))
    production[0] += 1.0  # some output somewhere
    params = {
        "supply_elasticity": draw(st.floats(0.05, 0.8)),
        "demand_elasticity": draw(st.floats(-0.3, -0.05)),
        "utilisation_ref": draw(st.floats(0.5, 0.95)),
        "inventory_cover_months": draw(st.one_of(st.just(0.0), st.floats(0.05, 4.0))),
        "inventory_adjust_rate": draw(st.floats(0.1, 0.6)),
        "inventory_price_sensitivity": draw(st.floats(0.0, 1.5, allow_subnormal=False)),
        "substitution_max_rate": draw(st.floats(0.0, 0.2, allow_subnormal=False)),
        "substitution_price_elasticity": draw(st.floats(0.0, 0.4, allow_subnormal=False)),
        "substitution_cap": draw(st.floats(0.0, 0.6, allow_subnormal=False)),
        "incentive_price_multiple": draw(st.floats(1.0, 2.0)),
        "cash_cost_multiple": draw(st.floats(0.4, 1.0)),
        "closure_quarters": draw(st.floats(1.0, 4.0)),
        "lead_time_years": draw(st.floats(0.25, 2.0)),
        "ramp_up_years": draw(st.floats(0.25, 1.0)),
        "demand_growth": draw(st.floats(0.0, 0.3, allow_subnormal=False)),
        "stage_yield": draw(st.floats(0.3, 1.0)),
        "transport_wedge": draw(st.floats(0.0, 0.1, allow_subnormal=False)),
    }
    world = toys.world({"rare-earths": stages}, regions, production={"rare-earths": production},
                       demand_share={f"rare-earths/{stages[-1]}": shares()},
                       capacity_share={f"rare-earths/{s}": shares() for s in stages[1:]}, **params)
    names = [f"b{k}" for k in range(n_blocs - 1)]
    blocs = {name: [regions[k]] for k, name in enumerate(names)}
    bloc_names = [*names, "rest"]
    horizon = draw(st.integers(2, 8))
    shocks = []
    for _ in range(draw(st.integers(0, 3))):
        stage = draw(st.sampled_from(stages))
        start = draw(st.integers(0, horizon - 1))
        end = draw(st.integers(start, horizon - 1))
        base = {"commodity": "rare-earths", "stage": stage, "start": start, "end": end}
        kinds = ["production_outage", "dumping"] + (["demand_surge"] if stage == CHAIN[-1]
                                                   else [])
        if n_blocs > 1:
            kinds += ["licence_approval", "export_quota", "destination_ban", "export_tax"]
        kind = draw(st.sampled_from(kinds))
        if kind in ("production_outage", "dumping"):
            shock = {**base, "kind": kind, "region": draw(st.sampled_from(regions)),
                     "value": draw(st.floats(0.05, 1.0))}
        elif kind == "demand_surge":
            surge = draw(st.floats(-0.5, 1.0, allow_subnormal=False))
            shock = {**base, "kind": kind, "value": surge}
        else:
            exporter = draw(st.sampled_from(bloc_names))
            others = [b for b in bloc_names if b != exporter]
            shock = {**base, "kind": kind, "exporter": exporter,
                     "importers": draw(st.lists(st.sampled_from(others), min_size=1,
                                                max_size=len(others), unique=True))}
            if kind == "licence_approval":
                shock["value"] = draw(st.floats(0.0, 1.0, allow_subnormal=False))
            elif kind == "export_quota":
                shock["value"] = draw(st.floats(0.0, 200.0, allow_subnormal=False))
            elif kind == "export_tax":
                shock["value"] = draw(st.floats(0.0, 1.0, allow_subnormal=False))
        shocks.append(shock)
    scenario = validate_scenario({"name": "random", "start": "2025Q1", "horizon": horizon,
                                  "chains": ["rare-earths"], "blocs": blocs, "shocks": shocks,
                                  "draws": draw(st.integers(1, 3))})
    return world, scenario


def _imbalance(run, traj) -> np.ndarray:
    """Residual of every bloc, stage and period (supply + imports + stock draw + extras − demand
    − exports, from the recorded series) relative to the normal size of that stage's market
    (its largest period in the baseline: a market that a shock reduces to dust is still
    measured against its normal size)."""
    member = np.zeros((run.world.n_regions, run.blocs.n_blocs))
    member[np.arange(run.world.n_regions), run.blocs.bloc_of] = 1.0

    def bloc(x: np.ndarray) -> np.ndarray:
        return x @ member

    net_exports = traj.flow @ network.incidence(run.blocs.n_blocs).T
    left = bloc(traj.production) + bloc(traj.extra_supply)
    right = bloc(traj.consumption) + bloc(traj.inventory_change) + bloc(traj.extra_demand)
    base = run.baseline
    market = (base.production + base.consumption + np.abs(base.inventory_change)).sum(
        axis=-1, keepdims=True).max(axis=1, keepdims=True) + 1e-300
    return np.abs(left - right - net_exports) / market


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_invariants_hold_in_random_scenarios(case: tuple) -> None:
    world, scenario = case
    run = simulate(world, scenario)
    for traj in (run.shocked, run.baseline):
        assert np.isfinite(traj.price).all() and (traj.price > 0).all()
        for name in ("production", "consumption", "inventory", "capacity", "flow",
                     "input_stock", "demand_destroyed", "unmet_demand"):
            assert not np.isnan(getattr(traj, name)).any(), name
        assert _imbalance(run, traj).max() < 1e-9
        assert traj.balance_error.max() < 1e-9
        assert (traj.inventory >= -1e-9).all() and (traj.input_stock >= -1e-9).all()
    # processors: input bought = input used + change of their stock, every period
    nodes = run.world.nodes
    for i, node in enumerate(nodes):
        if node.upstream < 0:
            continue
        u = node.upstream
        traj = run.shocked
        bought = traj.consumption[:, :, u] - traj.final_consumption[:, :, u]
        yld = run.parameters["stage_yield"][:, i, :1][:, None]
        used = traj.production[:, :, i] / yld
        stock = traj.input_stock[:, :, i]
        previous = np.concatenate([np.zeros_like(stock[:, :1]), stock[:, :-1]], axis=1)
        assert np.allclose(previous + bought - used, stock, rtol=1e-9, atol=1e-9 * (
            1 + bought.max()))
