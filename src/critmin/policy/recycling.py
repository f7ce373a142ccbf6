"""Recycling and substitution programmes.

**Recycling**: a recovery-rate target reached along a linear ramp. End-of-life scrap in the
members is their normal consumption one product lifetime ago, ``normal · (1 + g)^−L`` with ``g``
the demand growth and ``L`` the registry's ``product_lifetime_years``; the recovered share
returns to the market as supply at the tool's stage (:func:`recovered`). The programme pays
recyclers the gap between their cost and the market price, ``max(0, c − p)`` per tonne (the same
formula as a put floor with strike ``c``), until its budget is spent.

**Substitution research**: spending over some years raises, after the registry's
``rd_lag_years``, the largest substitutable share of final demand and the fastest rate at which
substitution can grow, by ``rd_substitution_cap_gain`` and ``rd_substitution_speed_gain`` per
USD 1 billion spent. The engine's substitution rule (:func:`critmin.engine.dynamics.substitute`)
is then applied with the raised cap and speed in the covered regions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.engine.chains import CHAINS
from critmin.engine.dynamics import per_period, substitute
from critmin.policy.hooks import series_frame
from critmin.policy.ledger import Fund
from critmin.policy.price_floor import put_payout

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
    from critmin.policy.hooks import Context

Array = np.ndarray


def recovered(rate: Array | float, normal: Array, growth: Array, lifetime: Array) -> Array:
    """Tonnes recovered: ``rate × normal × (1 + g)^−L`` (end-of-life scrap × recovery)."""
    return np.asarray(rate, float) * normal * (1.0 + growth) ** -np.asarray(lifetime, float)


def ramp_share(t: int, start: int, ramp_periods: float) -> float:
    """Share of the target reached in period ``t`` on a linear ramp from ``start``."""
    if t < start:
        return 0.0
    return 1.0 if ramp_periods <= 0 else min(1.0, (t - start + 1) / ramp_periods)


class RecyclingTool:
    """A recycling programme hook on one (commodity, stage) in member regions."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0) -> None:
        self.spec, self.ctx = spec, ctx
        self.label, self.holder = spec.label, spec.payer
        self.node = ctx.node(spec.commodity, spec.stage)
        self.members = ctx.regions(spec.members, where)
        self.start, self.end = ctx.window(spec)
        n, t_max = ctx.n, ctx.horizon
        p0 = ctx.p0(self.node)
        self.cost = (np.full(n, spec.cost_usd_per_t) if spec.cost_usd_per_t is not None
                     else ctx.policy_value("recycling_cost_multiple", spec.commodity,
                                           spec.stage) * p0)
        self.lifetime = ctx.policy_value("product_lifetime_years", spec.commodity, spec.stage)
        self.growth = ctx.params["demand_growth"][:, self.node][:, self.members]
        budget = np.inf if spec.budget_usd is None else spec.budget_usd * scale
        self.fund = Fund.open(self.holder, n, budget, 0.0, 0.0)
        ctx.ledger.funded.add(self.holder)
        self.normal = np.zeros((n, len(self.members)))
        self.amount = np.zeros((n, len(self.members)))
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "recovered_t", "subsidy_usd", "recovery_rate")}

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx, spec = inputs.t, self.ctx, self.spec
        share = ramp_share(t, self.start, spec.ramp_years * ctx.ppy) if t <= self.end else 0.0
        on = (self.fund.available > 0) & (share > 0)
        rate = np.where(on, spec.recovery_rate * share, 0.0)
        self.amount = recovered(rate[:, None], self.normal, self.growth, self.lifetime[:, None])
        inputs.extra_supply[ctx.rows, self.node][:, self.members] += self.amount
        self.record["recovery_rate"][:, t] = rate

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx = outcome.t, self.ctx
        price = ctx.region_price(outcome.log_price, self.node, self.members)
        due = put_payout(self.cost[:, None], price, self.amount)
        unpaid = self.fund.pay(ctx.ledger, t, due)
        ctx.ledger.book(self.holder, "subsidies", t, due - unpaid)
        cons = outcome.consumption[ctx.rows, self.node][:, self.members]
        self.normal = np.maximum(self.normal, cons)
        self.record["recovered_t"][:, t] = self.amount.sum(axis=1)
        self.record["subsidy_usd"][:, t] = due - unpaid

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)


class SubstitutionTool:
    """Substitution research: raises the cap and speed of substitution of final demand."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0) -> None:
        self.spec, self.ctx = spec, ctx
        self.label, self.holder = spec.label, spec.payer
        self.node = ctx.node(spec.commodity, CHAINS[spec.commodity].stages[-1])
        self.regions = (ctx.regions(spec.regions, where) if spec.regions is not None
                        else np.arange(ctx.world.n_regions))
        self.start, self.end = ctx.window(spec)
        n, t_max, ppy = ctx.n, ctx.horizon, ctx.ppy
        self.budget = spec.budget_usd * scale
        self.spend_periods = max(round(spec.years * ppy), 1)
        billions = self.budget / 1e9
        p = ctx.params
        node, regions = self.node, self.regions
        cap_gain = billions * ctx.policy_value("rd_substitution_cap_gain", spec.commodity)
        speed_gain = billions * ctx.policy_value("rd_substitution_speed_gain", spec.commodity)
        self.lag = ctx.policy_value("rd_lag_years", spec.commodity) * ppy + self.start
        rates = per_period(p, ppy)
        self.y0 = np.log(ctx.p0(node))
        self.elasticity = p["substitution_price_elasticity"][:, node][:, regions]
        self.cap = np.minimum(p["substitution_cap"][:, node][:, regions] + cap_gain[:, None], 1.0)
        self.speed = rates.sub_speed[:, node][:, regions] + speed_gain[:, None] / ppy
        self.prev = np.zeros((n, len(regions)))
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "research_usd", "substitution_share")}

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx = inputs.t, self.ctx
        self.prev = state.substitution[ctx.rows, self.node][:, self.regions].copy()
        spend = (self.budget / self.spend_periods
                 if self.start <= t < self.start + self.spend_periods else 0.0)
        ctx.ledger.book(self.holder, "research", t, spend)
        self.record["research_usd"][:, t] = spend

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx = outcome.t, self.ctx
        rows, node = ctx.rows, self.node
        live = t >= self.lag  # (n,): the research bears fruit after its lag
        if live.any():
            expected = state.expected[rows, node][:, self.regions]
            raised = substitute(self.prev, expected - self.y0, self.elasticity, self.cap,
                                self.speed)
            current = state.substitution[rows, node][:, self.regions]
            state.substitution[rows, node][:, self.regions] = np.where(
                live[:, None], np.maximum(current, raised), current)
        self.record["substitution_share"][:, t] = state.substitution[rows, node][
            :, self.regions].mean(axis=1)

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
