"""Investment incentive: grants or concessional loans per tonne of capacity, or faster
permitting, for chosen projects.

A project starts when its expected producer price beats its incentive price *net of the
support* (or at once when the programme is ``committed``). The engine's incentive price is
``m × p0`` (registry ``incentive_price_multiple``); support lowers the capital a project must
recover, so the multiple falls by ``Δm = g · CRF(r, L) / (u0 · p0)`` (:func:`support_multiple`)
for a grant ``g`` per t/yr of capacity, with ``CRF`` the capital recovery factor at the projects'
cost of capital ``r`` over their life ``L`` (registry ``project_discount_rate``,
``project_life_years``) and ``u0`` the reference utilisation. A concessional loan counts as its
grant equivalent, the present value of the interest saved (:func:`loan_grant_equivalent`).
Faster permitting cuts the lead time. A started project's capacity arrives after the lead time
and ramps up like the engine's own projects (same lead, ramp and achievement draws); outlays
(grants, or loans disbursed) fall when projects start, loan repayments come back as an annuity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.engine.dynamics import Pipeline
from critmin.policy.hooks import series_frame
from critmin.policy.ledger import Fund

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
    from critmin.policy.hooks import Context

Array = np.ndarray


def capital_recovery(rate: Array | float, years: Array | float) -> Array:
    """Annuity per unit of capital: ``r / (1 − (1 + r)^−L)`` (``1/L`` at r = 0)."""
    r = np.asarray(rate, float)
    n = np.asarray(years, float)
    safe = np.where(r > 0, r, 1.0)
    return np.where(r > 0, safe / (1.0 - (1.0 + safe) ** -n), 1.0 / n)


def loan_grant_equivalent(principal: Array | float, loan_rate: Array | float,
                          market_rate: Array | float, years: Array | float) -> Array:
    """Present value (at the market rate) of what a loan at ``loan_rate`` saves the borrower:
    ``principal · (1 − CRF(loan_rate) / CRF(market_rate))``."""
    return np.asarray(principal, float) * (
        1.0 - capital_recovery(loan_rate, years) / capital_recovery(market_rate, years))


def support_multiple(grant_per_t_year: Array | float, rate: Array | float,
                     life: Array | float, utilisation: Array | float, p0: float) -> Array:
    """Fall of the incentive price multiple that a grant per t/yr of capacity buys."""
    return (np.asarray(grant_per_t_year, float) * capital_recovery(rate, life)
            / (np.asarray(utilisation, float) * p0))


class IncentiveTool:
    """An incentive hook over a list of projects of one commodity."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0) -> None:
        self.spec, self.ctx = spec, ctx
        self.label, self.holder = spec.label, spec.payer
        self.start, self.end = ctx.window(spec)
        n, t_max = ctx.n, ctx.horizon
        p = ctx.params
        self.cells = []
        for k, project in enumerate(spec.projects):
            node = ctx.node(spec.commodity, project.stage)
            region = int(ctx.regions([project.region], f"{where}.projects[{k}]")[0])
            self.cells.append((node, region, project.capacity_t_per_year))
        nodes = np.array([c[0] for c in self.cells])
        regions = np.array([c[1] for c in self.cells])
        size = np.array([c[2] for c in self.cells])
        self.size = size
        rate = ctx.policy_value("project_discount_rate", spec.commodity)
        life = ctx.policy_value("project_life_years", spec.commodity)
        support = np.full(n, spec.usd_per_t_year)
        if spec.form == "loan":
            self.loan_rate = (np.full(n, spec.loan_rate) if spec.loan_rate is not None
                              else ctx.policy_value("stockpile_loan_rate", spec.commodity))
            support = loan_grant_equivalent(support, self.loan_rate, rate, spec.loan_term_years)
        p0 = np.array([ctx.p0(i) for i in nodes])
        u0 = p["utilisation_ref"][:, nodes, regions]
        self.delta = support[:, None] * capital_recovery(rate, life)[:, None] / (u0 * p0)
        multiple = p["incentive_price_multiple"][:, nodes, regions]
        self.threshold = np.log(p0) + np.log(np.maximum(multiple - self.delta, 1e-9))
        ppy = ctx.ppy
        shape = (n, ctx.world.n_nodes, ctx.world.n_regions)
        self.lead = np.maximum(p["lead_time_years"] - spec.permitting_cut_years, 0.0) * ppy
        self.ramp = np.maximum(p["ramp_up_years"] * ppy, 0.25)
        self.achievement = p["ramp_achievement"]
        self.pipeline = Pipeline.empty(t_max, shape)
        self.started = np.zeros((n, len(self.cells)), dtype=bool)
        budget = np.inf if spec.budget_usd is None else spec.budget_usd * scale
        self.fund = Fund.open(self.holder, n, budget, 0.0, 0.0)
        ctx.ledger.funded.add(self.holder)
        self.nodes, self.regions = nodes, regions
        self.repayments = np.zeros((n, t_max))  # loan annuities due, per period
        self.added = np.zeros((n, t_max))
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "started_t_per_year", "capacity_added_t_per_year", "outlays_usd")}
        self._floor: Array | None = None

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        ctx = self.ctx
        arriving = self.pipeline.step(inputs.t)
        inputs.capacity_add[ctx.rows] += arriving
        self.added[:, inputs.t] = arriving.sum(axis=(1, 2))
        self._floor = inputs.log_floor

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx, spec = outcome.t, self.ctx, self.spec
        rows = ctx.rows
        outlay = np.zeros(ctx.n)
        started_now = np.zeros(ctx.n)
        if self.start <= t <= self.end and not self.started.all():
            expected = state.expected[rows][:, self.nodes, self.regions]
            if self._floor is not None:
                expected = np.maximum(expected, self._floor[rows][:, self.nodes, self.regions])
            viable = np.full(expected.shape, spec.committed) | (expected > self.threshold)
            starts = np.zeros((ctx.n, ctx.world.n_nodes, ctx.world.n_regions))
            for k, (node, region, size) in enumerate(self.cells):  # a handful of projects
                go = viable[:, k] & ~self.started[:, k]
                cost = size * spec.usd_per_t_year
                go &= self.fund.available >= cost - 1e-6 * max(cost, 1.0)
                if not go.any():
                    continue
                amount = np.where(go, cost, 0.0)
                self.fund.pay(ctx.ledger, t, amount)
                outlay += amount
                starts[:, node, region] += np.where(go, size, 0.0)
                started_now += np.where(go, size, 0.0)
                self.started[:, k] |= go
            if starts.any():
                self.pipeline.add(t, starts, self.lead, self.ramp, self.achievement)
            category = "grants" if spec.form == "grant" else "loans_disbursed"
            ctx.ledger.book(self.holder, category, t, outlay)
            if spec.form == "loan":  # an annuity from the next period over the term
                periods = round(spec.loan_term_years * ctx.ppy)
                per_period = outlay * capital_recovery(self.loan_rate / ctx.ppy, periods)
                self.repayments[:, t + 1:t + 1 + periods] += per_period[:, None]
        back = self.repayments[:, t]
        if back.any():
            ctx.ledger.book(self.holder, "loan_repayments", t, back)
            self.fund.receive(back)
        r = self.record
        r["started_t_per_year"][:, t] = started_now
        r["capacity_added_t_per_year"][:, t] = self.added[:, : t + 1].sum(axis=1)
        r["outlays_usd"][:, t] = outlay

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
