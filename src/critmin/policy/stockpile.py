"""Strategic stockpile (Project Vault, JOGMEC, a club reserve): buy in calm, release in need.

Each period, before the market clears, the holder

1. releases stock when a trigger fires (an export control hitting a member's bloc, the members'
   price above a multiple of the reference, members short by a share of their normal use), at
   most ``release.days_per_year`` of cover per year, into the members' markets;
2. otherwise buys while the members' price is at most ``buy.max_price_multiple`` of the
   reference (and, with ``buy.max_shortage_share``, while members are not short; with
   ``buy.refill: false``, only until the target is first reached), at most
   ``buy.days_per_year`` of cover per year, up to ``target_days`` of cover, its storage
   capacity, and what it can pay once this period's carrying costs are put aside;
3. sells stock (a forced sale) if its money cannot meet this period's carrying costs.

Money is drawn from cash, then own budget, private capital and the loan last (interest runs only
on what is drawn). Purchases are priced at the last cleared price (procurement contracts are
struck before the period clears), so the holder never spends money it does not have. After the
market clears it is paid for releases (at the cleared price, or at its average cost with
fixed-price access) and fees (the members' share of carrying costs), and pays storage per
tonne-year and interest; what its money cannot cover is a treasury top-up (only after a forced
sale that fetched less than the last price, or with nothing left to sell). Days of cover are
holdings ÷ the members' normal daily consumption, "normal" being the highest consumption seen
so far (during a shock, the pre-shock level).
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
        self.due = self.start + round(fin.term_years * ctx.ppy)
        self.control = ctx.controls_on(spec.commodity, self.members)
        self.holdings = np.full(n, float(spec.initial_t))
        self.avg_cost = np.full(n, self.p0)
        self.normal = np.zeros(n)  # members' normal consumption per period (highest seen)
        self.filled = np.zeros(n, dtype=bool)  # target reached (or stock released) once
        self.consumption = np.zeros((n, k))  # last period, by member
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "holdings_t", "days_of_cover", "bought_t", "released_t", "forced_sale_t",
            "normal_consumption_t", "members_consumption_t", "members_price_usd_per_t")}
        self._planned = np.zeros(n)
        self._released = np.zeros(n)
        self._forced = np.zeros(n)
        self._carry = (np.zeros(n), np.zeros(n))
        self._sale_cost = self.avg_cost.copy()

    # -- the hook -------------------------------------------------------------------------------

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx, spec = inputs.t, self.ctx, self.spec
        self._planned = np.zeros(ctx.n)
        self._released = np.zeros(ctx.n)
        self._forced = np.zeros(ctx.n)
        if t < self.start:
            return
        weights = member_weights(self.consumption, spec.release.allocation)
        price = (ctx.region_price(state.log_price, self.node, self.members) * weights).sum(axis=1)
        daily = self.normal / ctx.days_per_period
        self._carry = (self.storage_cost * self.holdings / ctx.ppy,
                       self.loan_rate / ctx.ppy * self.fund.loan_balance)
        carry_net = (1.0 - spec.member_fee_share) * sum(self._carry)
        acting = t <= self.end
        released = np.zeros(ctx.n)
        trigger = np.zeros(ctx.n, dtype=bool)
        if acting:
            rule = spec.release
            trigger |= bool(rule.on_export_control and self.control[t])
            if rule.price_multiple_above is not None:
                trigger |= price >= rule.price_multiple_above * self.p0
            if rule.shortage_share_above is not None:
                trigger |= self.consumption.sum(axis=1) < (
                    1.0 - rule.shortage_share_above) * self.normal
            released = np.where(trigger, np.minimum(
                self.holdings, rule.days_per_year / ctx.ppy * daily), 0.0)
        # forced sale when cash and undrawn funds cannot meet this period's carrying costs
        gap = np.maximum(carry_net - self.fund.available, 0.0)
        forced = np.minimum(self.holdings - released,
                            np.divide(gap, price, out=np.zeros_like(gap), where=price > 0))
        bought = np.zeros(ctx.n)
        if acting:
            rule_b = spec.buy
            room = np.maximum(spec.target_days * daily - (self.holdings - released - forced), 0.0)
            if spec.capacity_t is not None:
                room = np.minimum(room, np.maximum(spec.capacity_t - self.holdings, 0.0))
            afford = np.maximum(self.fund.available - carry_net, 0.0)
            can = ~trigger & (price <= rule_b.max_price_multiple * self.p0)
            if not rule_b.refill:
                can &= ~self.filled
            if rule_b.max_shortage_share is not None:
                can &= self.consumption.sum(axis=1) >= (
                    1.0 - rule_b.max_shortage_share) * self.normal
            bought = np.where(can, np.minimum.reduce([
                room, rule_b.days_per_year / ctx.ppy * daily,
                np.divide(afford, price, out=np.zeros_like(afford), where=price > 0)]), 0.0)
            self.fund.pay(ctx.ledger, t, bought * price)
            ctx.ledger.book(self.holder, "purchases", t, bought * price)
        kept = self.holdings - released - forced
        total = kept + bought
        self.filled |= (total >= spec.target_days * daily * (1 - 1e-9)) & (daily > 0)
        self.filled |= released > 0
        self.avg_cost = np.where(total > 0, (kept * self.avg_cost + bought * price)
                                 / np.where(total > 0, total, 1.0), self.avg_cost)
        self._sale_cost = self.avg_cost.copy()
        self.holdings = np.maximum(total, 0.0)
        rows, node = ctx.rows, self.node
        inputs.extra_demand[rows, node][:, self.members] += bought[:, None] * weights
        inputs.extra_supply[rows, node][:, self.members] += (released + forced)[:, None] * weights
        self._planned, self._released, self._forced = bought, released, forced

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx, spec = outcome.t, self.ctx, self.spec
        weights = member_weights(self.consumption, spec.release.allocation)
        price = (ctx.region_price(outcome.log_price, self.node, self.members)
                 * weights).sum(axis=1)
        if t >= self.start:
            ledger = ctx.ledger
            sale_price = price if spec.release.price == "market" else self._sale_cost
            sales = self._released * sale_price + self._forced * price
            storage, interest = self._carry
            fees = spec.member_fee_share * (storage + interest)
            self.fund.receive(sales + fees)
            ledger.book(self.holder, "sales", t, sales)
            ledger.book(self.holder, "fees", t, fees)
            ledger.book(self.holder, "storage", t, storage)
            ledger.book(self.holder, "interest", t, interest)
            ledger.book(self.holder, "topup", t, self.fund.pay(ledger, t, storage + interest))
            if t == self.due:
                self._repay(t)
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
        r["members_price_usd_per_t"][:, t] = price

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

    # -- results ----------------------------------------------------------------------------------

    def assets(self) -> Array:
        """(n,) holdings at the end valued at the members' last price, USD."""
        return self.holdings * self.record["members_price_usd_per_t"][:, -1]

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
