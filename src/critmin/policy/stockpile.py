"""Strategic stockpile (Project Vault, JOGMEC, a club reserve): buy in calm, release in need.

Each period, before the market clears, the holder

1. pays its carrying costs (storage per tonne-year on its holdings, interest on the drawn loan),
   net of the members' fees; money comes from cash, then own budget, private capital, the loan;
   if all of it is spent, it sells stock to pay (a forced sale), and what even that cannot
   cover is a treasury top-up;
2. releases stock when a trigger fires (an export control hitting a member, the members' price
   above a multiple of the reference, members short by a share of their normal use), at most
   ``release.days_per_year`` of cover per year, into the members' markets;
3. otherwise buys while the members' price is at most ``buy.max_price_multiple`` of the
   reference, at most ``buy.days_per_year`` of cover per year, up to ``target_days`` of cover,
   its storage capacity, and what it can pay.

Purchases and sales are priced at the last cleared price (procurement contracts are struck before
the period clears), so the holder always knows what it pays and never spends money it does not
have. Releases are sold at the market price or, with fixed-price access, at the holder's average
cost. Days of cover are holdings ÷ the members' normal daily consumption, where "normal" is the
highest consumption seen so far (during a shock, the pre-shock level).
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


def member_weights(consumption: Array, allocation: str) -> Array:
    """(n, k) shares of purchases and releases among members: by last consumption (equal
    where none was seen yet) or equal."""
    k = consumption.shape[1]
    equal = np.full_like(consumption, 1.0 / k)
    if allocation == "equal":
        return equal
    total = consumption.sum(axis=1, keepdims=True)
    return np.where(total > 0, consumption / np.where(total > 0, total, 1.0), equal)


class StockpileTool:
    """A stockpile hook on one (commodity, stage) for a set of member regions."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0,
                 members: list[str] | None = None, label: str | None = None,
                 holder: str | None = None) -> None:
        self.spec, self.ctx = spec, ctx
        self.label = label or spec.label
        self.holder = holder or spec.payer
        self.node = ctx.node(spec.commodity, spec.stage)
        self.members = ctx.regions(members if members is not None else spec.members, where)
        self.p0 = ctx.p0(self.node)
        self.start, self.end = ctx.window(spec)
        n, k, t_max = ctx.n, len(self.members), ctx.horizon
        fin = spec.financing
        self.fund = Fund.open(self.holder, n, spec.budget_usd * scale, fin.private_usd * scale,
                              fin.loan_usd * scale)
        ctx.ledger.funded.add(self.holder)
        self.loan_rate = (np.full(n, fin.loan_rate) if fin.loan_rate is not None
                          else ctx.policy_value("stockpile_loan_rate", spec.commodity, spec.stage))
        self.storage_cost = (np.full(n, spec.storage_cost_usd_per_t_year)
                             if spec.storage_cost_usd_per_t_year is not None
                             else ctx.policy_value("stockpile_storage_cost", spec.commodity,
                                                   spec.stage))
        self.due = self.start + int(round(fin.term_years * ctx.ppy))
        self.control = ctx.controls_on(spec.commodity, self.members)
        self.holdings = np.full(n, float(spec.initial_t))
        self.avg_cost = np.full(n, self.p0)
        self.normal = np.zeros(n)  # members' normal consumption per period (highest seen)
        self.consumption = np.zeros((n, k))  # last period, by member
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "holdings_t", "days_of_cover", "bought_t", "released_t", "forced_sale_t",
            "normal_consumption_t", "members_consumption_t", "members_price_usd_per_t")}
        self._planned = np.zeros(n)
        self._released = np.zeros(n)
        self._forced = np.zeros(n)

    # -- the hook -------------------------------------------------------------------------------

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx, spec = inputs.t, self.ctx, self.spec
        self._planned = np.zeros(ctx.n)
        self._released = np.zeros(ctx.n)
        self._forced = np.zeros(ctx.n)
        if t < self.start:
            return
        ledger = ctx.ledger
        weights = member_weights(self.consumption, spec.release.allocation)
        price = (ctx.region_price(state.log_price, self.node, self.members) * weights).sum(axis=1)
        daily = self.normal / ctx.days_per_period
        # 1. carrying costs and the loan falling due
        storage = self.storage_cost * self.holdings / ctx.ppy
        interest = self.loan_rate / ctx.ppy * self.fund.loan_balance
        fees = spec.member_fee_share * (storage + interest)
        acting = t <= self.end
        # 2. release
        released = np.zeros(ctx.n)
        if acting:
            rule = spec.release
            trigger = np.full(ctx.n, bool(rule.on_export_control and self.control[t]))
            if rule.price_multiple_above is not None:
                trigger |= price >= rule.price_multiple_above * self.p0
            if rule.shortage_share_above is not None:
                trigger |= self.consumption.sum(axis=1) < (
                    1.0 - rule.shortage_share_above) * self.normal
            cap = rule.days_per_year / ctx.ppy * daily
            released = np.where(trigger, np.minimum(self.holdings, cap), 0.0)
        else:
            trigger = np.zeros(ctx.n, dtype=bool)
        sale_price = price if spec.release.price == "market" else self.avg_cost
        revenue = released * sale_price + fees
        carry = storage + interest
        # forced sale when cash, funds and this period's revenue cannot meet the carrying costs
        gap = np.maximum(carry - self.fund.available - revenue, 0.0)
        forced = np.minimum(self.holdings - released,
                            np.divide(gap, price, out=np.zeros_like(gap), where=price > 0))
        revenue = revenue + forced * price
        # 3. purchases
        bought = np.zeros(ctx.n)
        if acting:
            rule_b = spec.buy
            target = spec.target_days * daily
            room = np.maximum(target - (self.holdings - released - forced), 0.0)
            if spec.capacity_t is not None:
                room = np.minimum(room, np.maximum(spec.capacity_t - self.holdings, 0.0))
            can = ~trigger & (price <= rule_b.max_price_multiple * self.p0)
            afford = np.maximum(self.fund.available + revenue - carry, 0.0)
            bought = np.where(can, np.minimum.reduce([
                room, rule_b.days_per_year / ctx.ppy * daily,
                np.divide(afford, price, out=np.zeros_like(afford), where=price > 0)]), 0.0)
        # money: revenue in, carrying costs, then purchases
        self.fund.receive(revenue)
        ledger.book(self.holder, "sales", t, released * sale_price + forced * price)
        ledger.book(self.holder, "fees", t, fees)
        ledger.book(self.holder, "storage", t, storage)
        ledger.book(self.holder, "interest", t, interest)
        uncovered = self.fund.pay(ledger, t, carry)
        ledger.book(self.holder, "topup", t, uncovered)
        cost = bought * price
        short = self.fund.pay(ledger, t, cost)
        bought = bought - np.divide(short, price, out=np.zeros_like(short), where=price > 0)
        ledger.book(self.holder, "purchases", t, bought * price)
        if t == self.due:
            self._repay(t)
        # holdings and their average cost
        kept = self.holdings - released - forced
        total = kept + bought
        self.avg_cost = np.where(total > 0, (kept * self.avg_cost + bought * price)
                                 / np.where(total > 0, total, 1.0), self.avg_cost)
        self.holdings = np.maximum(total, 0.0)
        rows, node = ctx.rows, self.node
        split = member_weights(self.consumption, spec.release.allocation)
        inputs.extra_demand[rows, node][:, self.members] += bought[:, None] * split
        inputs.extra_supply[rows, node][:, self.members] += (released + forced)[:, None] * split
        self._planned, self._released, self._forced = bought, released, forced
        self.record["members_price_usd_per_t"][:, t] = price

    def _repay(self, t: int) -> None:
        """The loan falls due: repay it from cash, own budget and private capital; the treasury
        tops up the rest. Nothing more can be drawn."""
        ledger = self.ctx.ledger
        balance = self.fund.loan_balance.copy()
        self.fund.loan[:] = 0.0
        uncovered = self.fund.pay(ledger, t, balance)
        ledger.book(self.holder, "topup", t, uncovered)
        ledger.book(self.holder, "loan_repaid", t, balance)
        self.fund.loan_balance[:] = 0.0

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx = outcome.t, self.ctx
        cons = outcome.consumption[ctx.rows, self.node][:, self.members]
        self.consumption = cons
        self.normal = np.maximum(self.normal, cons.sum(axis=1))
        daily = self.normal / ctx.days_per_period
        r = self.record
        r["holdings_t"][:, t] = self.holdings
        r["days_of_cover"][:, t] = np.divide(self.holdings, daily, out=np.full_like(daily, np.nan),
                                             where=daily > 0)
        r["bought_t"][:, t] = self._planned
        r["released_t"][:, t] = self._released
        r["forced_sale_t"][:, t] = self._forced
        r["normal_consumption_t"][:, t] = self.normal
        r["members_consumption_t"][:, t] = cons.sum(axis=1)

    # -- results ----------------------------------------------------------------------------------

    def assets(self) -> Array:
        """(n,) holdings at the end valued at the members' last price, USD."""
        return self.holdings * self.record["members_price_usd_per_t"][:, -1]

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
