"""Producer price floor (the DoD–MP Materials $110/kg NdPr floor): covered producers plan,
invest and close as if the price were at least the strike; the holder pays the difference.

Forms (DESIGN.md §5):

* **put** pays ``max(0, F − p_t)·q_t`` each period (:func:`put_payout`);
* **cfd** (two-sided contract for difference) pays ``(F − p_t)·q_t``: the producer pays back
  when the price is above the strike (:func:`cfd_payment`);
* **offtake** buys the covered output at ``F`` into the holder's stock while the last price is
  below the strike (the tonnes leave the market).

``p_t`` is the cleared price of the covered region's bloc and ``q_t`` its output at the stage
(or a tranche's share of it). The floor sets the covered regions' effective producer price
(``PeriodInputs.log_floor``), which drives utilisation, project starts and closures in the
engine. With a budget, the floor holds only while money is left: it lapses when the budget is
spent, and a period's payment beyond what is left is not paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.policy.hooks import series_frame
from critmin.policy.ledger import Fund

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
    from critmin.policy.hooks import Context

Array = np.ndarray


def put_payout(strike: float | Array, price: Array, quantity: Array) -> Array:
    """Σ over the last axis of ``max(0, F − p)·q``: what a put floor pays."""
    return (np.maximum(strike - price, 0.0) * quantity).sum(axis=-1)


def cfd_payment(strike: float | Array, price: Array, quantity: Array) -> tuple[Array, Array]:
    """(paid to producers, paid back by producers) of a two-sided contract for difference:
    ``(F − p)·q`` split by sign, summed over the last axis."""
    diff = (strike - price) * quantity
    return np.maximum(diff, 0.0).sum(axis=-1), np.maximum(-diff, 0.0).sum(axis=-1)


class FloorTool:
    """A price-floor hook on one (commodity, stage) for covered regions."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0,
                 regions: list[str] | None = None, label: str | None = None,
                 holder: str | None = None) -> None:
        self.spec, self.ctx = spec, ctx
        self.label = label or spec.label
        self.holder = holder or spec.payer
        self.node = ctx.node(spec.commodity, spec.stage)
        self.regions = ctx.regions(regions if regions is not None else spec.regions, where)
        p0 = ctx.p0(self.node)
        self.strike = (spec.strike_usd_per_t if spec.strike_usd_per_t is not None
                       else spec.strike_multiple * p0)
        self.start, self.end = ctx.window(spec)
        n, t_max = ctx.n, ctx.horizon
        budget = np.inf if spec.budget_usd is None else spec.budget_usd * scale
        self.fund = Fund.open(self.holder, n, budget, 0.0, 0.0)
        ctx.ledger.funded.add(self.holder)
        self.on = np.zeros(n, dtype=bool)  # the floor holds this period (money left)
        self.last_output = np.zeros((n, len(self.regions)))
        self.holdings = np.zeros(n)  # offtake stock
        self._bought = np.zeros(n)
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "covered_output_t", "price_usd_per_t", "payout_usd", "payback_usd", "unpaid_usd",
            "offtake_t", "holdings_t", "active")}

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx, spec = inputs.t, self.ctx, self.spec
        rows, node = ctx.rows, self.node
        if spec.tranche_t_per_year is not None and t == self.start:
            inputs.capacity_add[rows, node][:, self.regions] += spec.tranche_t_per_year
        self._bought = np.zeros(ctx.n)
        active = self.start <= t <= self.end
        self.on = np.full(ctx.n, active) & (self.fund.available > 0)
        if not self.on.any():
            return
        floor = inputs.log_floor[rows, node][:, self.regions]
        inputs.log_floor[rows, node][:, self.regions] = np.where(
            self.on[:, None], np.maximum(floor, np.log(self.strike)), floor)
        if spec.form == "offtake":
            price = ctx.region_price(state.log_price, node, self.regions)
            want = np.where(self.on[:, None] & (price < self.strike), self.last_output, 0.0)
            total = want.sum(axis=1)
            afford = np.minimum(total, self.fund.available / self.strike)
            share = np.divide(afford, total, out=np.zeros_like(total), where=total > 0)
            want = want * share[:, None]
            self.fund.pay(ctx.ledger, t, want.sum(axis=1) * self.strike)
            ctx.ledger.book(self.holder, "purchases", t, want.sum(axis=1) * self.strike)
            inputs.extra_demand[rows, node][:, self.regions] += want
            self._bought = want.sum(axis=1)
            self.holdings = self.holdings + self._bought

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx, spec = outcome.t, self.ctx, self.spec
        rows, node = ctx.rows, self.node
        output = outcome.production[rows, node][:, self.regions]
        if spec.tranche_t_per_year is not None:
            capacity = state.capacity[rows, node][:, self.regions]
            share = np.minimum(1.0, np.divide(spec.tranche_t_per_year, capacity,
                                              out=np.zeros_like(capacity), where=capacity > 0))
            output = output * share
        self.last_output = output
        price = ctx.region_price(outcome.log_price, node, self.regions)
        r = self.record
        r["covered_output_t"][:, t] = output.sum(axis=1)
        r["price_usd_per_t"][:, t] = (price * output).sum(axis=1) / np.where(
            output.sum(axis=1) > 0, output.sum(axis=1), np.nan)
        r["active"][:, t] = self.on
        r["offtake_t"][:, t] = self._bought
        r["holdings_t"][:, t] = self.holdings
        if spec.form == "offtake" or not self.on.any():
            return
        if spec.form == "put":
            due, back = put_payout(self.strike, price, output), np.zeros(ctx.n)
        else:
            due, back = cfd_payment(self.strike, price, output)
        due, back = np.where(self.on, due, 0.0), np.where(self.on, back, 0.0)
        self.fund.receive(back)
        ctx.ledger.book(self.holder, "receipts", t, back)
        unpaid = self.fund.pay(ctx.ledger, t, due)
        ctx.ledger.book(self.holder, "payouts", t, due - unpaid)
        r["payout_usd"][:, t] = due - unpaid
        r["payback_usd"][:, t] = back
        r["unpaid_usd"][:, t] = unpaid

    def assets(self) -> Array:
        """(n,) offtake stock valued at the last covered price, USD."""
        price = self.record["price_usd_per_t"][:, -1]
        return self.holdings * np.nan_to_num(price, nan=self.strike)

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
