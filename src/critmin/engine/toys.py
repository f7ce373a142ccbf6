"""Tiny hand-made markets and worlds whose answers can be worked out by hand.

Each feature of the engine has a toy here (a habit borrowed from MESSAGEix): one market with a
supply cut, two blocs with a quota, a chain with a by-product. The numbers are inputs of worked
examples and tests, not parameters of any real market (those live in the registry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from critmin.engine import network
from critmin.engine.kernels import MarketArrays
from critmin.world import World, hand_built

#: Behavioural inputs of toy worlds: inventories, substitution and investment switched off so
#: that short-run answers are exact; tests switch features on one at a time.
QUIET: Mapping[str, float] = {
    "supply_elasticity": 0.2, "demand_elasticity": -0.1, "utilisation_ref": 0.5,
    "inventory_cover_months": 0.0, "inventory_adjust_rate": 0.25,
    "inventory_price_sensitivity": 0.5, "announce_cover_uplift": 0.5,
    "substitution_max_rate": 0.0, "substitution_price_elasticity": 0.0, "substitution_cap": 0.0,
    "lead_time_years": 100.0, "restart_lead_time_years": 1.0, "ramp_up_years": 1.0,
    "ramp_achievement": 1.0, "incentive_price_multiple": 1e6, "cash_cost_multiple": 1e-6,
    "closure_quarters": 4.0, "capacity_growth_max": 0.1, "demand_growth": 0.0,
    "transport_wedge": 0.03, "leakage_share": 0.3, "stage_yield": 1.0,
    "byproduct_recovery": 1.0, "value_added_per_t": 1000.0, "downstream_intensity": 0.001,
    "price_expectation_weight": 0.25, "choke_price_multiple": 30.0, "choke_taper_ratio": 1.5,
}


def market(n: int, bloc_of: Sequence[int], n_blocs: int, **values: Any) -> MarketArrays:
    """Clearing inputs for ``n`` problems; unspecified fields take neutral defaults (no
    floors, limits, extras or caps; wedge 0). Scalars and arrays broadcast to (n, R)."""
    bloc = np.asarray(bloc_of, dtype=np.intp)
    n_regions = len(bloc)
    n_pairs = len(network.pairs(n_blocs)[0])
    defaults: dict[str, Any] = {
        "log_p0": 0.0, "demand_ref": 1.0, "demand_elasticity": -0.1, "capacity": 1.0,
        "utilisation": 0.5, "supply_elasticity": 0.2, "min_utilisation": 0.0,
        "log_floor": -np.inf, "input_limit": np.inf, "inv_target": 0.0,
        "inv_sensitivity": 0.5, "inv_adjust": 0.25, "inv_stock": 0.0, "extra_supply": 0.0,
        "extra_demand": 0.0, "wedge": 0.0, "cap": np.inf, "log_choke": np.inf,
        "choke_taper": 1.0,
    }
    unknown = set(values) - set(defaults)
    if unknown:
        raise TypeError(f"unknown market fields: {sorted(unknown)}")
    merged = {**defaults, **values}

    def grid(v: Any, tail: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, float), (n, *tail)).copy()

    return MarketArrays(
        bloc_of=bloc, n_blocs=n_blocs,
        log_p0=grid(merged.pop("log_p0"), (1,)),
        wedge=grid(merged.pop("wedge"), (n_pairs, 2)),
        cap=grid(merged.pop("cap"), (n_pairs, 2)),
        **{k: grid(v, (n_regions,)) for k, v in merged.items()},
    )


def world(
    chains: Mapping[str, Sequence[str]],
    regions: Sequence[str],
    production: Mapping[str, Sequence[float]],
    demand_share: Mapping[str, Sequence[float]],
    *,
    price_ref: Mapping[str, float] | None = None,
    capacity_share: Mapping[str, Sequence[float]] | None = None,
    host_production: Mapping[str, Sequence[float]] | None = None,
    **parameters: Any,
) -> World:
    """A hand-built world with :data:`QUIET` behaviour, overridden by ``parameters``."""
    prices = dict(price_ref or {})
    for commodity, stages in chains.items():
        for stage in stages:
            prices.setdefault(f"{commodity}/{stage}", 1000.0)
    return hand_built(chains=chains, regions=regions, production=production,
                      price_ref=prices, parameters={**QUIET, **parameters},
                      capacity_share=capacity_share, demand_share=demand_share,
                      host_production=host_production)
