"""Between periods: expectations, substitution, capacity projects, closures and restarts.

Pure array functions on (draws, nodes, regions); the period loop in
:mod:`critmin.engine.loop` calls them in order. Rates given per year or per quarter in the
registry are turned into per-period rates by :func:`per_period` once, before the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Rates:
    """Behavioural parameters on the period grid (D, N, R)."""

    inv_adjust: Array  # share of the stock gap closed per period
    expectation: Array  # adaptive-expectation weight per period
    sub_speed: Array  # largest rise of the substitution share per period
    growth: Array  # demand growth factor per period
    start_share: Array  # largest share of capacity started per period
    lead: Array  # periods from a start to first output
    ramp: Array  # periods from first output to the achieved share
    restart: Array  # periods to restart idle capacity
    closure: Array  # periods under cash cost before care and maintenance
    log_incentive: Array  # log(incentive price ÷ p0)
    log_cash: Array  # log(cash cost ÷ p0)


def per_period(params: dict[str, Array], periods_per_year: int) -> Rates:
    """Convert registry units (per year, per quarter, years) to the period grid."""
    ppy = float(periods_per_year)
    quarters = 4.0 / ppy  # quarters per period
    return Rates(
        inv_adjust=1.0 - (1.0 - params["inventory_adjust_rate"]) ** quarters,
        expectation=1.0 - (1.0 - params["price_expectation_weight"]) ** quarters,
        sub_speed=params["substitution_max_rate"] / ppy,
        growth=(1.0 + params["demand_growth"]) ** (1.0 / ppy),
        start_share=params["capacity_growth_max"] / ppy,
        lead=params["lead_time_years"] * ppy,
        ramp=np.maximum(params["ramp_up_years"] * ppy, 0.25),
        restart=np.maximum(params["restart_lead_time_years"] * ppy, 1.0),
        closure=params["closure_quarters"] / quarters,
        log_incentive=np.log(params["incentive_price_multiple"]),
        log_cash=np.log(np.maximum(params["cash_cost_multiple"], 1e-12)),
    )


def expect(expected: Array, observed: Array, weight: Array) -> Array:
    """Adaptive expectations in log price: close a share of the gap each period."""
    return expected + weight * (observed - expected)


def substitute(share: Array, log_price_ratio: Array, elasticity: Array, cap: Array,
               speed: Array) -> Array:
    """Substitution and thrifting: move toward ``clip(elasticity · log(p/p0), 0, cap)`` at most
    ``speed`` per period, and never back (designs once changed stay changed)."""
    target = np.clip(elasticity * np.maximum(log_price_ratio, 0.0), 0.0, cap)
    return share + np.clip(target - share, 0.0, speed)


@dataclass
class Pipeline:
    """Capacity projects: each start ramps up linearly after its lead time.

    A project of size ``s`` decided in period τ counts from τ + 1; its capacity rises by
    ``achievement · s / ramp`` per period during the ``ramp`` periods after ``lead`` (both
    resolved to whole periods). Starts are written once into a difference array of future
    ramp rates, so each period only reads one contiguous slice, whatever the number of projects
    and however lead times differ by draw.
    """

    rate_change: Array  # (T + 2, D, N, R) change of the ramp rate at each period
    rate: Array  # (D, N, R) current ramp rate, t/yr per period

    @classmethod
    def empty(cls, n_periods: int, shape: tuple[int, ...]) -> Pipeline:
        return cls(np.zeros((n_periods + 2, *shape)), np.zeros(shape))

    def add(self, t: int, started: Array, lead: Array, ramp: Array, achievement: Array) -> None:
        """Schedule the ramp of projects started during period ``t``."""
        cells = np.flatnonzero(started)
        if not cells.size:
            return
        horizon = self.rate_change.shape[0]
        lag = np.rint(lead.ravel()[cells]).astype(np.intp)
        width = np.maximum(np.rint(ramp.ravel()[cells]).astype(np.intp), 1)
        per_period = achievement.ravel()[cells] * started.ravel()[cells] / width
        flat = self.rate_change.reshape(horizon, -1)
        first, last = t + 2 + lag, t + 2 + lag + width
        ok = first < horizon  # each cell appears once per call, so += is safe
        flat[first[ok], cells[ok]] += per_period[ok]
        ok = last < horizon
        flat[last[ok], cells[ok]] -= per_period[ok]

    def step(self, t: int) -> Array:
        """Capacity added at the start of period ``t`` by projects ramping up."""
        self.rate += self.rate_change[t]
        return self.rate
