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
    """Capacity projects: cumulative starts and their running integral, per period.

    A project started at time τ adds ``achievement · clip((t − τ − lead) / ramp, 0, 1)`` of its
    size at time t. With ``S`` the cumulative starts and ``Q(x) = ∫₀ˣ S``, the capacity from all
    projects is ``achievement / ramp · (Q(t − lead) − Q(t − lead − ramp))``: two look-ups per
    cell, whatever the number of projects, for lead times and ramps that differ by draw.
    """

    starts: Array  # (T + 1, D, N, R) cumulative starts S at integer times
    integral: Array  # (T + 1, D, N, R) Q at integer times

    @classmethod
    def empty(cls, n_periods: int, shape: tuple[int, ...]) -> Pipeline:
        return cls(np.zeros((n_periods + 1, *shape), np.float32),
                   np.zeros((n_periods + 1, *shape), np.float32))

    def add(self, t: int, started: Array) -> None:
        """Record projects started during period ``t`` (they count from time t + 1)."""
        self.starts[t + 1] = self.starts[t] + started
        self.integral[t + 1] = self.integral[t] + self.starts[t]

    def capacity(self, t: int, lead: Array, ramp: Array, achievement: Array) -> Array:
        """Capacity from all projects at the start of period ``t``."""
        return achievement / ramp * (self._q(t, t - lead) - self._q(t, t - lead - ramp))

    def _q(self, t: int, x: Array) -> Array:
        x = np.clip(x, 0.0, float(t))
        k = np.floor(x).astype(np.intp)
        frac = x - k
        q = np.take_along_axis(self.integral, k[None], axis=0)[0]
        s = np.take_along_axis(self.starts, k[None], axis=0)[0]
        return q.astype(float) + frac * s.astype(float)
