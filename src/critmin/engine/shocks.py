"""Scenario shocks compiled into per-period arrays, once, before the period loop.

Every shock becomes multipliers, floors, wedges or caps on (period, node, region) or
(period, node, pair, direction) arrays, so the hot path only indexes them. Trade caps that depend
on what would have flowed without the shock (licences, bans, quota allocation) keep their rule
here and are turned into tonnes each period from the baseline run's flows
(:meth:`ShockPlan.caps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from critmin.engine import network
from critmin.errors import CritminError
from critmin.scenario.model import (
    DemandSurge,
    DestinationBan,
    Dumping,
    ExportQuota,
    ExportTax,
    LicenceApproval,
    ProductionOutage,
    Scenario,
)
from critmin.world import Blocs, World

Array = np.ndarray


@dataclass
class Quota:
    """An export quota: total tonnes per period shared among its links by baseline flows."""

    node: int
    links: Array  # (P, 2) bool
    amount: Array  # (T,) t per period, inf when inactive


@dataclass
class ShockPlan:
    """The shocks of a scenario on the grid (T periods, N nodes, R regions, P pairs)."""

    capacity_mult: Array  # (T, N, R) outages
    host_index: Array  # (T, N, R) by-product capacity ÷ base capacity, from host outages
    demand_mult: Array  # (T, N, R) demand surges
    min_utilisation: Array  # (T, N, R) dumping floor
    capacity_step: Array  # (T, N, R) one-off capacity expansion (dumping), kept afterwards
    dumping: Array  # (T, N, R) bool: a dumping supplier (exempt from closures)
    uplift_on: Array  # (T, N, R) bool: importers of an announced control stock up
    wedge_add: Array  # (T, N, P, 2) log(1 + export tax)
    share_cap: Array  # (T, N, P, 2) licence approval rate (× normal flow), inf = none
    ban: Array  # (T, N, P, 2) NaN = no ban, −1 = ban at the registry's leakage, else leakage
    quotas: list[Quota] = field(default_factory=list)

    @property
    def any_trade(self) -> bool:
        return bool(np.isfinite(self.share_cap).any() or (~np.isnan(self.ban)).any()
                    or self.quotas)

    def caps(self, t: int, nodes: Array, normal: Array | None, leakage: Array) -> Array:
        """Directed caps (D, n, P, 2) in period ``t`` for ``nodes``; ``normal`` = baseline flows
        (D, n, P, 2) in the same period, ``leakage`` = drawn leakage shares (D, n)."""
        n_draws = leakage.shape[0]
        shape = (n_draws, len(nodes), *self.share_cap.shape[2:])
        cap = np.full(shape, np.inf)
        share = self.share_cap[t, nodes]
        ban = self.ban[t, nodes]
        quotas = [q for q in self.quotas if q.node in set(nodes.tolist())
                  and np.isfinite(q.amount[t])]
        if not (np.isfinite(share).any() or (~np.isnan(ban)).any() or quotas):
            return cap
        if normal is None:
            raise CritminError("trade caps need the baseline flows (run the baseline first)")
        limited = np.isfinite(share)
        cap = np.where(limited[None], np.minimum(cap, np.where(limited, share, 0.0)[None] * normal),
                       cap)
        banned = ~np.isnan(ban)
        leak = np.where(ban[None] < 0, leakage[:, :, None, None], ban[None])
        cap = np.where(banned[None], np.minimum(cap, leak * normal), cap)
        for q in quotas:  # a handful of quota shocks, never per draw or region
            k = int(np.flatnonzero(nodes == q.node)[0])
            flows = normal[:, k] * q.links[None]
            total = flows.sum(axis=(1, 2), keepdims=True)
            n_links = q.links.sum()
            weight = np.where(total > 0, flows / np.where(total > 0, total, 1.0),
                              q.links[None] / n_links)
            cap[:, k] = np.where(q.links[None], np.minimum(cap[:, k], q.amount[t] * weight),
                                 cap[:, k])
        return cap


def compile_shocks(scenario: Scenario, world: World, blocs: Blocs) -> ShockPlan:
    """Arrays of every shock of ``scenario`` on ``world`` grouped by ``blocs``."""
    n_t, n_n, n_r = scenario.horizon, world.n_nodes, world.n_regions
    n_p = len(network.pairs(blocs.n_blocs)[0])
    plan = ShockPlan(
        capacity_mult=np.ones((n_t, n_n, n_r)),
        host_index=np.ones((n_t, n_n, n_r)),
        demand_mult=np.ones((n_t, n_n, n_r)),
        min_utilisation=np.zeros((n_t, n_n, n_r)),
        capacity_step=np.ones((n_t, n_n, n_r)),
        dumping=np.zeros((n_t, n_n, n_r), dtype=bool),
        uplift_on=np.zeros((n_t, n_n, n_r), dtype=bool),
        wedge_add=np.zeros((n_t, n_n, n_p, 2)),
        share_cap=np.full((n_t, n_n, n_p, 2), np.inf),
        ban=np.full((n_t, n_n, n_p, 2), np.nan),
    )
    host_outage: dict[tuple[str, str], np.ndarray] = {}
    ppy = scenario.periods_per_year
    for k, shock in enumerate(scenario.shocks):
        where = f"shocks[{k}] ({shock.kind})"
        values = _series(scenario, shock)  # (T,) NaN outside [start, end]
        active = ~np.isnan(values)
        if isinstance(shock, ExportQuota | LicenceApproval | DestinationBan | ExportTax):
            node = world.node(shock.commodity, shock.stage)
            links = _links(blocs, shock.exporter, shock.importers)
            _trade(plan, shock, node, links, values, active, ppy)
            if shock.announced is not None:
                first = scenario.index(shock.announced)
                start = scenario.index(shock.start)
                importers = _importer_regions(blocs, shock.exporter, shock.importers)
                plan.uplift_on[first:start, node, importers] = True
            continue
        regions = _regions(world, blocs, shock, where)
        if isinstance(shock, ProductionOutage) and shock.commodity not in world.chains:
            key = (shock.commodity, shock.stage)
            mult = host_outage.setdefault(key, np.ones((n_t, n_r)))
            mult[np.ix_(active, regions)] *= 1.0 - values[active, None]
            continue
        node = world.node(shock.commodity, shock.stage)
        grid = np.ix_(active, np.array([node]), regions)
        if isinstance(shock, ProductionOutage):
            plan.capacity_mult[grid] *= 1.0 - values[active, None, None]
        elif isinstance(shock, DemandSurge):
            plan.demand_mult[grid] *= 1.0 + values[active, None, None]
        elif isinstance(shock, Dumping):
            plan.min_utilisation[grid] = np.maximum(plan.min_utilisation[grid], shock.value)
            first = int(np.flatnonzero(active)[0])
            plan.capacity_step[first, node, regions] *= shock.capacity_multiple
            plan.dumping[grid] = True
    _host_index(plan, world, host_outage)
    return plan


def _series(scenario: Scenario, shock: object) -> Array:
    """The shock's value in every period (NaN where it does not apply)."""
    n_t = scenario.horizon
    start = scenario.index(shock.start)  # type: ignore[attr-defined]
    end_ref = shock.end  # type: ignore[attr-defined]
    end = n_t - 1 if end_ref is None else scenario.index(end_ref)
    out = np.full(n_t, np.nan)
    path = getattr(shock, "path", None)
    if path:
        points = sorted((scenario.index(p.at), p.value) for p in path)
        for at, value in points:
            out[max(at, start):end + 1] = value
    else:
        value = getattr(shock, "value", None)
        out[start:end + 1] = 1.0 if value is None else value
    out[:start] = np.nan
    return out


def _links(blocs: Blocs, exporter: str, importers: list[str] | None) -> Array:
    """(P, 2) bool: the directed pairs from the exporter to each importer."""
    pi, pj = network.pairs(blocs.n_blocs)
    x = blocs.index(exporter)
    targets = [blocs.index(i) for i in importers] if importers else [
        b for b in range(blocs.n_blocs) if b != x]
    links = np.zeros((len(pi), 2), dtype=bool)
    for y in targets:
        p = int(np.flatnonzero((pi == min(x, y)) & (pj == max(x, y)))[0])
        links[p, 0 if x < y else 1] = True
    return links


def _importer_regions(blocs: Blocs, exporter: str, importers: list[str] | None) -> Array:
    x = blocs.index(exporter)
    targets = [blocs.index(i) for i in importers] if importers else [
        b for b in range(blocs.n_blocs) if b != x]
    return np.flatnonzero(np.isin(blocs.bloc_of, targets))


def _trade(plan: ShockPlan, shock: object, node: int, links: Array, values: Array,
           active: Array, ppy: int) -> None:
    """Write one trade measure into the plan (views ``[:, node]`` share memory with it)."""
    kind = shock.kind  # type: ignore[attr-defined]
    on = active[:, None]
    if kind == "licence_approval":
        view = plan.share_cap[:, node]
        view[:, links] = np.where(on, np.minimum(view[:, links], values[:, None]), view[:, links])
    elif kind == "destination_ban":
        leak = shock.leakage_share  # type: ignore[attr-defined]
        view = plan.ban[:, node]
        view[:, links] = np.where(on, -1.0 if leak is None else float(leak), view[:, links])
    elif kind == "export_tax":
        view = plan.wedge_add[:, node]
        view[:, links] += np.where(active, np.log1p(np.nan_to_num(values)), 0.0)[:, None]
    elif kind == "export_quota":
        plan.quotas.append(Quota(node, links, np.where(active, values / ppy, np.inf)))


def _regions(world: World, blocs: Blocs, shock: object, where: str) -> Array:
    region = getattr(shock, "region", None)
    bloc = getattr(shock, "bloc", None)
    if region is not None:
        if region not in world.regions:
            raise CritminError(f"{where}: region {region!r} has no activity in this world; "
                               f"allowed: {', '.join(world.regions)}")
        return np.array([world.region(region)])
    if bloc is not None:
        return np.flatnonzero(blocs.bloc_of == blocs.index(bloc))
    return np.arange(world.n_regions)


def _host_index(plan: ShockPlan, world: World, outages: dict[tuple[str, str], Array]) -> None:
    """By-product capacity follows the host: regional where the by-product has its own country
    data (gallium at alumina refineries), world host output otherwise (germanium from zinc)."""
    from critmin.engine.chains import CHAINS

    for i, n in enumerate(world.nodes):
        host = CHAINS[n.commodity].host if n.commodity in CHAINS else None
        if host is None or host not in outages:
            continue
        mult = outages[host]  # (T, R)
        base = world.host_production[i]
        regional = np.isfinite(world.production[i]).any()
        if regional:
            plan.host_index[:, i, :] = mult
        else:
            total = base.sum()
            plan.host_index[:, i, :] = ((mult * base).sum(axis=1) / total)[:, None] if total else 1
