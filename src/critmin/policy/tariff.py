"""Tariffs: an ad valorem rate, or a variable levy to a reference price, on imports of one stage
from some blocs into others (coordinated Section 232 tariffs; a club's common external tariff).

A tariff adds ``log(1 + rate)`` to the price wedge of each covered link (exporter → importer),
so trade flows only when the importer's price exceeds the exporter's by transport *and* tariff.
Revenue is ``rate × p_exporter × flow`` (:func:`tariff_revenue`): customs value at the
exporter's price (FOB), as US customs values imports.

A **variable levy** lifts the landed price of covered imports to a reference price ``P``: each
period the rate is set from the last cleared prices, ``rate = max(0, P / (p_x (1 + w)) − 1)``
with ``w`` the transport wedge, so it is a floor enforced at the border (one period behind the
market). With ``revenue=False`` the wedge is a sourcing preference: a margin, not a tax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.policy.hooks import series_frame

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
    from critmin.policy.hooks import Context

Array = np.ndarray


def tariff_revenue(rate: Array, exporter_price: Array, flow: Array) -> Array:
    """Σ over the last axis (links) of ``rate × p_exporter × flow``."""
    return (rate * exporter_price * flow).sum(axis=-1)


def levy_rate(reference: float, exporter_price: Array, transport: Array) -> Array:
    """Ad valorem rate that lifts ``p_x (1 + w)`` to ``reference`` (0 when already above)."""
    return np.maximum(reference / (exporter_price * (1.0 + transport)) - 1.0, 0.0)


class TariffTool:
    """A tariff hook: some stages, importing blocs, exporting blocs."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0,
                 nodes: Sequence[int] | None = None, importers: Sequence[str] | None = None,
                 exporters: Sequence[str] | None = None, label: str | None = None,
                 holder: str | None = None, window: Any = None, revenue: bool = True) -> None:
        self.spec, self.ctx = spec, ctx
        self.label = label or spec.label
        self.holder = holder or spec.payer
        self.nodes = list(nodes) if nodes is not None else [ctx.node(spec.commodity, spec.stage)]
        importer_names = importers if importers is not None else spec.importers
        into = ctx.bloc_index(importer_names)
        given = exporters if exporters is not None else spec.exporters
        sources = (ctx.bloc_index(given) if given else
                   [b for b in range(ctx.blocs.n_blocs) if b not in into])
        self.links = [ctx.link(x, m) for x in sources for m in into if x != m]
        self.exporters = np.array([x for x in sources for m in into if x != m], dtype=np.intp)
        self.start, self.end = ctx.window(window if window is not None else spec)
        self.revenue = revenue
        n, t_max = ctx.n, ctx.horizon
        self.rate = np.zeros((n, len(self.nodes), len(self.links)))
        self.record = {name: np.full((n, t_max), np.nan) for name in (
            "rate", "flow_t", "revenue_usd")}

    def _rates(self, state: EngineState) -> Array:
        """(n, nodes, links) ad valorem rate this period."""
        spec, ctx = self.spec, self.ctx
        if spec.rate is not None:
            return np.full((ctx.n, len(self.nodes), len(self.links)), float(spec.rate))
        px = np.exp(state.log_price[ctx.rows][:, self.nodes][:, :, self.exporters])
        transport = ctx.params["transport_wedge"][:, self.nodes, 0][:, :, None]
        return levy_rate(spec.reference_price_usd_per_t, px, transport)

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        t, ctx = inputs.t, self.ctx
        if not self.start <= t <= self.end or not self.links:
            self.rate = np.zeros_like(self.rate)
            return
        self.rate = self._rates(state)
        wedge = inputs.wedge_add[ctx.rows]  # view (n, N, P, 2)
        for j, node in enumerate(self.nodes):
            for k, (p, d) in enumerate(self.links):
                wedge[:, node, p, d] += np.log1p(self.rate[:, j, k])

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        t, ctx = outcome.t, self.ctx
        if not self.links:
            return
        total = np.zeros(ctx.n)
        flows = np.zeros(ctx.n)
        for j, node in enumerate(self.nodes):
            flow = ctx.directed_flow(outcome.flow, node, self.links)
            px = np.exp(outcome.log_price[ctx.rows, node][:, self.exporters])
            total += tariff_revenue(self.rate[:, j], px, flow)
            flows += flow.sum(axis=1)
        self.record["rate"][:, t] = self.rate.mean(axis=(1, 2))
        self.record["flow_t"][:, t] = flows
        if self.revenue:
            ctx.ledger.book(self.holder, "tariff_revenue", t, total)
            self.record["revenue_usd"][:, t] = total

    def outputs(self) -> pd.DataFrame:
        return series_frame(self.label, self.ctx.scenario.labels(), self.record)
