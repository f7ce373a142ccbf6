"""Numerical robustness of the simulator at the edges of what its inputs allow.

Every behavioural parameter is set to an end of its range — the lowest ``low`` or highest
``high`` of any registry row — and, in half the cases, one of them to a finite bound of its
ParamSpec beyond the registry (an elasticity of 0, a utilisation of 1, a multiple of 0), together
with the harshest shocks a scenario can state: a 100% destination ban with no leakage, nothing
licensed, a full production outage, a quota far above world supply, a region with zero
capacity. The engine must return finite positive prices, keep world mass balance in every
period and stage, and let no NaN into any series; only the case beyond the registry may instead
stop with a one-line CritminError naming that parameter. hypothesis picks the combinations;
the count is small (each is a full simulation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from critmin.engine import simulate, toys
from critmin.errors import CritminError
from critmin.params.registry import PARAMETERS, load_registry
from critmin.scenario.model import validate_scenario

REGIONS = ["CHN", "AUS", "USA", "ROW"]
STAGES = ["mine", "separated", "magnet"]
#: Parameters a toy world takes as one number (shares and prices are given per region/stage).
SCALARS = sorted(set(toys.QUIET) & set(PARAMETERS))


def _extremes() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per parameter: the ends of the registry's ranges (lowest low, highest high over its
    rows), and the finite bounds its ParamSpec allows beyond them."""
    table = load_registry().table
    ends: dict[str, list[float]] = {}
    bounds: dict[str, list[float]] = {}
    for name in SCALARS:
        rows = table[table.parameter == name]
        if len(rows):
            ends[name] = sorted({float(rows.low.min()), float(rows.high.max())})
        spec = PARAMETERS[name]
        extra = {b for b in (spec.lower, spec.upper) if math.isfinite(b) and spec.allows(b)}
        if extra - set(ends.get(name, [])):
            bounds[name] = sorted(extra - set(ends.get(name, [])))
    return ends, bounds


EXTREMES, SPEC_BOUNDS = _extremes()
SERIES = ("price", "production", "consumption", "final_consumption", "inventory",
          "inventory_change", "capacity", "flow", "input_stock", "demand_destroyed",
          "unmet_demand", "extra_supply", "extra_demand", "substitution")


def test_the_extremes_come_from_the_registry():
    assert len(EXTREMES) >= 20
    assert EXTREMES["supply_elasticity"] == [0.02, 0.8]
    assert EXTREMES["demand_elasticity"] == [-0.3, -0.05]
    assert EXTREMES["stage_yield"] == [0.25, pytest.approx(5.06)]
    assert SPEC_BOUNDS["supply_elasticity"] == [0.0] and SPEC_BOUNDS["demand_elasticity"] == [0.0]
    assert "stage_yield" not in SPEC_BOUNDS  # 0 is refused (see the last test)


@st.composite
def harsh_cases(draw: st.DrawFn):
    params = {name: draw(st.sampled_from(values)) for name, values in EXTREMES.items()}
    beyond = None
    if draw(st.booleans()):  # one parameter at a bound of its spec, outside the registry
        beyond = draw(st.sampled_from(sorted(SPEC_BOUNDS)))
        params[beyond] = draw(st.sampled_from(SPEC_BOUNDS[beyond]))
    production = [draw(st.sampled_from([0.0, 1.0, 50.0])) for _ in REGIONS]
    production[0] = 100.0  # the dominant producer the shocks aim at
    world = toys.world({"rare-earths": STAGES}, REGIONS,
                       production={"rare-earths": production},
                       demand_share={"rare-earths/magnet": [0.4, 0.1, 0.3, 0.2]},
                       capacity_share={f"rare-earths/{s}": [1.0, 0.0, 0.0, 0.0]
                                       for s in STAGES[1:]},  # zero capacity outside China
                       **params)
    stage = draw(st.sampled_from(STAGES))
    base = {"commodity": "rare-earths", "stage": stage, "start": 1, "end": 5}
    trade = {**base, "exporter": "china", "importers": ["west"]}
    shock = draw(st.sampled_from([
        {**trade, "kind": "destination_ban", "leakage_share": 0.0},
        {**trade, "kind": "licence_approval", "value": 0.0},
        {**trade, "kind": "export_quota", "value": 1e3 * sum(production)},  # ≫ supply
        {**trade, "kind": "export_quota", "value": 0.0},
        {**base, "kind": "production_outage", "region": "CHN", "value": 1.0},
        {**base, "kind": "export_tax", "exporter": "china", "importers": ["west"],
         "value": 10.0},
    ]))
    scenario = validate_scenario({
        "name": "extremes", "start": "2025Q1", "horizon": 6, "chains": ["rare-earths"],
        "blocs": {"china": ["CHN"], "west": ["USA", "AUS"]}, "shocks": [shock], "draws": 2})
    return world, scenario, params, shock, beyond


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(harsh_cases())
def test_extreme_parameters_and_shocks_give_finite_balanced_results_or_a_clear_stop(case):
    world, scenario, params, shock, beyond = case
    try:
        run = simulate(world, scenario)
    except CritminError as err:  # allowed beyond the registry: a stop naming the parameter
        message = str(err)
        assert beyond is not None, f"registry extremes must run: {message}"
        assert "\n" not in message and f"parameter {beyond} = " in message, message
        event(f"stopped: {beyond}")
        return
    event(f"ran: {shock['kind']}")
    for traj in (run.baseline, run.shocked):
        for name in SERIES:
            values = getattr(traj, name)
            assert not np.isnan(values).any(), (name, shock["kind"], params)
        assert np.isfinite(traj.price).all() and (traj.price > 0).all(), shock
        # world balance per stage and period: trade nets out across the regions
        left = (traj.production + traj.extra_supply).sum(axis=-1)
        right = (traj.consumption + traj.inventory_change + traj.extra_demand).sum(axis=-1)
        scale = 1.0 + (run.baseline.production.sum(axis=-1).max())
        assert np.abs(left - right).max() <= 1e-6 * scale, (shock["kind"], params)
        assert (traj.inventory >= -1e-9 * scale).all()


def test_a_yield_of_zero_is_refused_naming_the_parameter():
    """Found here: a stage_yield of 0 (allowed by the registry's bounds until now) divided by
    zero and put NaN into production, capacity and stocks. Registry rows and scenario overrides
    now refuse it."""
    from critmin.params.registry import RegistryError
    from critmin.world import build_world_for

    scenario = validate_scenario({
        "name": "zero yield", "start": "2025Q1", "horizon": 4, "chains": ["rare-earths"],
        "overrides": [{"parameter": "stage_yield", "commodity": "rare-earths",
                       "stage": "separated", "value": 0}]})
    with pytest.raises(CritminError, match=r"override stage_yield\|rare-earths\|separated\|\* "
                                           r"= 0.0: allowed 0 < value"):
        build_world_for(scenario)
    assert PARAMETERS["stage_yield"].allows(1e-9) and not PARAMETERS["stage_yield"].allows(0)
    assert issubclass(RegistryError, CritminError)


def test_sole_producer_fully_out_keeps_mass_balance():
    """Found here, all values inside the registry's ranges: demand_growth 0.35 (lithium's high),
    inventory_cover_months 0.5 and inventory_price_sensitivity 0 (the registry's lows), and a
    100% outage of the only mine. The engine's own balance_error reaches ~0.1 and the price
    ~1e133 USD/t while nothing is produced."""
    world = toys.world({"rare-earths": STAGES}, REGIONS,
                       production={"rare-earths": [100.0, 0.0, 0.0, 0.0]},
                       demand_share={"rare-earths/magnet": [0.4, 0.1, 0.3, 0.2]},
                       capacity_share={f"rare-earths/{s}": [1.0, 0.0, 0.0, 0.0]
                                       for s in STAGES[1:]},
                       demand_growth=0.35, inventory_cover_months=0.5,
                       inventory_price_sensitivity=0.0)
    scenario = validate_scenario({
        "name": "sole producer out", "start": "2025Q1", "horizon": 6,
        "chains": ["rare-earths"], "blocs": {"china": ["CHN"]},
        "shocks": [{"kind": "production_outage", "commodity": "rare-earths", "stage": "mine",
                    "region": "CHN", "value": 1.0, "start": 1, "end": 5}]})
    run = simulate(world, scenario)
    traj = run.shocked
    assert traj.production[:, 1:, 0].sum() == 0  # nothing mined while the outage lasts
    assert (traj.inventory_change[:, 1:, 0] <= 1e-9).all()  # so no stock can be built
    assert traj.balance_error.max() < 1e-9
