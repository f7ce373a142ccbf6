"""Trade club: members trade freely and pledge not to restrict exports to each other; optional
common external tariff, sourcing preference, pooled stockpile and shared price floor.

The engine prices blocs, so the club acts on links between blocs: members must make up whole
blocs of the scenario (a bloc mixing members and non-members has one price and cannot be split).
Its pieces are the other tools: the external tariff and the preference are
:class:`~critmin.policy.tariff.TariffTool` (the preference without revenue), the pooled reserve
a :class:`~critmin.policy.stockpile.StockpileTool` for the members, the shared floor a
:class:`~critmin.policy.price_floor.FloorTool` over the members' producers; all book into the
club's ledger. The club's own rules run after every other tool: on links between member blocs
they remove the other tools' tariffs (free trade), and lift export caps and export taxes of the
scenario's shocks (the pledge). Output: the club's self-sufficiency per stage and period
(members' production ÷ members' consumption), and each member's share of the net cost
(:func:`cost_shares`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError
from critmin.policy.hooks import series_frame
from critmin.policy.price_floor import FloorTool
from critmin.policy.stockpile import StockpileTool
from critmin.policy.tariff import TariffTool

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
    from critmin.policy.hooks import Context

Array = np.ndarray


def cost_shares(rule: str | Mapping[str, float], members: list[str], consumption: Array
                ) -> Array:
    """Members' shares of the club's net cost: by ``consumption`` (their use of the club's
    stages), ``equal``, or explicit shares by ISO3 (renormalised over the members present)."""
    if isinstance(rule, Mapping):
        raw = np.array([float(rule.get(m, 0.0)) for m in members])
    elif rule == "equal":
        raw = np.ones(len(members))
    else:
        raw = np.asarray(consumption, float)
    total = raw.sum()
    return raw / total if total > 0 else np.full(len(members), 1.0 / len(members))


class ClubTool:
    """A trade club hook (its pieces are other tools; see the module doc)."""

    def __init__(self, spec: Any, ctx: Context, *, where: str, scale: float = 1.0) -> None:
        self.spec, self.ctx = spec, ctx
        self.label, self.holder = spec.label, spec.payer
        self.members = ctx.regions(spec.members, where)
        blocs = ctx.blocs
        member_blocs = sorted(set(blocs.bloc_of[self.members].tolist()))
        for b in member_blocs:
            inside = np.flatnonzero(blocs.bloc_of == b)
            outsiders = [ctx.world.regions[r] for r in inside if r not in set(self.members)]
            if outsiders:
                raise CritminError(
                    f"{where}: bloc {blocs.names[b]!r} mixes club members and non-members "
                    f"({', '.join(outsiders)}); allowed: members that make up whole blocs "
                    "(declare the club's members as a bloc of their own)")
        self.member_blocs = member_blocs
        names = [blocs.names[b] for b in member_blocs]
        outside = [blocs.names[b] for b in range(blocs.n_blocs) if b not in member_blocs]
        self.internal = [ctx.link(x, m) for x in member_blocs for m in member_blocs if x != m]
        self.start, self.end = ctx.window(spec)
        self.parts: list[Any] = []
        all_nodes = list(range(ctx.world.n_nodes))
        if spec.external_tariff is not None and outside:
            cet = spec.external_tariff
            nodes = [i for i, node in enumerate(ctx.world.nodes)
                     if (cet.commodity is None or node.commodity == cet.commodity)
                     and (cet.stages is None or node.stage in cet.stages)]
            self.parts.append(TariffTool(cet, ctx, where=where, nodes=nodes, importers=names,
                                         exporters=cet.exporters or outside,
                                         label=f"{self.label}: external tariff",
                                         holder=self.holder, window=spec))
        if spec.preference_margin > 0 and outside:
            pref = _Margin(spec.preference_margin)
            self.parts.append(TariffTool(pref, ctx, where=where, nodes=all_nodes,
                                         importers=names, exporters=outside,
                                         label=f"{self.label}: preference", holder=self.holder,
                                         window=spec, revenue=False))
        codes = [ctx.world.regions[r] for r in self.members]
        if spec.stockpile is not None:
            self.parts.append(StockpileTool(spec.stockpile, ctx, where=where, scale=scale,
                                            members=codes, label=f"{self.label}: stockpile",
                                            holder=self.holder))
        if spec.floor is not None:
            regions = spec.floor.regions if spec.floor.regions is not None else codes
            self.parts.append(FloorTool(spec.floor, ctx, where=where, scale=scale,
                                        regions=regions, label=f"{self.label}: floor",
                                        holder=self.holder))
        n, t_max, n_nodes = ctx.n, ctx.horizon, ctx.world.n_nodes
        self.self_sufficiency = np.full((n, t_max, n_nodes), np.nan)
        self.consumption = np.zeros((n, len(self.members)))

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        for part in self.parts:
            part.before_period(inputs, state)
        t, rows = inputs.t, self.ctx.rows
        if not self.start <= t <= self.end or not self.internal:
            return
        p = np.array([link[0] for link in self.internal])
        d = np.array([link[1] for link in self.internal])
        wedge = inputs.wedge_add[rows]
        if self.spec.free_trade:
            wedge[:, :, p, d] = 0.0
        if self.spec.pledge:
            inputs.cap[rows][:, :, p, d] = np.inf
            wedge[:, :, p, d] -= self.ctx.plan.wedge_add[t][:, p, d][None]

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        for part in self.parts:
            part.after_period(outcome, state)
        t, rows = outcome.t, self.ctx.rows
        made = outcome.production[rows][:, :, self.members].sum(axis=2)
        used = outcome.consumption[rows][:, :, self.members]
        self.consumption += used.sum(axis=1)
        total = used.sum(axis=2)
        self.self_sufficiency[:, t] = np.divide(made, total, out=np.full_like(made, np.nan),
                                                where=total > 0)

    def assets(self) -> Array:
        return sum((p.assets() for p in self.parts if hasattr(p, "assets")),
                   np.zeros(self.ctx.n))

    def shares(self) -> pd.DataFrame:
        """Each member's share of the club's net cost (means over draws)."""
        import pandas as pd

        codes = [self.ctx.world.regions[r] for r in self.members]
        shares = cost_shares(self.spec.cost_sharing, codes, self.consumption.mean(axis=0))
        net = float(self.ctx.ledger.net_cost(self.holder).sum(axis=1).mean())
        return pd.DataFrame({"member": codes, "share": shares, "net_cost_usd": shares * net})

    def outputs(self) -> pd.DataFrame:
        import pandas as pd

        labels = self.ctx.scenario.labels()
        series = {f"self_sufficiency {node.label}": self.self_sufficiency[:, :, i]
                  for i, node in enumerate(self.ctx.world.nodes)}
        parts = [series_frame(self.label, labels, series),
                 *(p.outputs() for p in self.parts)]
        return pd.concat(parts, ignore_index=True)


class _Margin:
    """A sourcing preference seen as an ad valorem rate (no reference price, all exporters)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.reference_price_usd_per_t = None
        self.exporters = None
