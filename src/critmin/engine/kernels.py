"""Per-region market response: supply, demand and inventory build as functions of log price.

These are the model's equations (DESIGN.md §4), shared by the vectorised solver and the scalar
reference so that both solve the *same* equilibrium. Everything is evaluated on arrays with a
leading "problem" axis (draws × markets) and a region axis; a bloc's price is gathered onto its
regions before calling :func:`respond`.

* supply  ``q = min(K · max(u_min, min(1, u0 · (p_eff/p0)^ε_s)), A)`` with ``p_eff = max(p, floor)``
  (price-floor hook), ``u_min`` the dumping floor and ``A`` the input available to a downstream
  stage (upstream input × yield);
* demand  ``d = D · (p/p0)^ε_d`` where ``D`` already carries growth, surges, substitution and the
  processors' input need;
* inventory build ``b = κ · (T · (p/p0)^(−σ) − I)``: desired stock ``T`` falls when prices rise,
  a share ``κ`` of the gap is closed per period, so stocks are drawn when prices spike and rebuilt
  after (``b ≥ −κ I`` keeps stocks non-negative).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class MarketArrays:
    """One period's clearing inputs for ``n`` independent problems over ``R`` regions, ``B`` blocs.

    Quantities are tonnes per period; prices enter as logs. ``wedge``/``cap`` are per bloc pair
    ``p = (i, j), i < j`` and direction (``[..., 0]`` i→j, ``[..., 1]`` j→i): ``wedge`` is
    ``log(1 + ad valorem)``, ``cap`` an upper bound on that directed flow (``inf`` = uncapped).
    """

    bloc_of: Array  # (R,) int: bloc index of each region
    n_blocs: int
    log_p0: Array  # (n, 1) reference log price
    demand_ref: Array  # (n, R) demand at p0 (final after substitution + processors' input need)
    demand_elasticity: Array  # (n, R) ≤ 0
    capacity: Array  # (n, R) effective capacity this period
    utilisation: Array  # (n, R) u0
    supply_elasticity: Array  # (n, R) ≥ 0
    min_utilisation: Array  # (n, R) dumping floor (0 = none)
    log_floor: Array  # (n, R) producer price floor (−inf = none)
    input_limit: Array  # (n, R) max output from available input (inf = not a downstream stage)
    inv_target: Array  # (n, R) desired stock at p0
    inv_sensitivity: Array  # (n, R) elasticity of desired stock to price
    inv_adjust: Array  # (n, R) share of the stock gap closed per period
    inv_stock: Array  # (n, R) stock at the start of the period
    extra_supply: Array  # (n, R) fixed supply added by policy hooks (stockpile release, recycling)
    extra_demand: Array  # (n, R) fixed demand added by policy hooks (stockpile purchases)
    wedge: Array  # (n, P, 2) log wedges
    cap: Array  # (n, P, 2) directed flow caps
    #: (R,) regions with equal ids have identical curve shapes (elasticities, u0, stock rules) in
    #: every row, so :func:`compress` may sum them; None = unknown (no merging)
    shape_class: Array | None = None

    @property
    def n(self) -> int:
        return int(self.demand_ref.shape[0])

    def take(self, rows: Array) -> MarketArrays:
        """The sub-problem for ``rows`` (fancy-indexed copies of every per-problem array)."""
        if len(rows) == self.n and np.array_equal(rows, np.arange(self.n)):
            return self
        changes = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if f.name not in ("bloc_of", "n_blocs", "shape_class")
        }
        return replace(self, **changes)


@dataclass(frozen=True)
class Response:
    """Region quantities at given prices and their derivatives with respect to log price."""

    supply: Array
    demand: Array
    build: Array
    d_supply: Array
    d_demand: Array
    d_build: Array

    @property
    def excess(self) -> Array:
        """Excess demand before policy extras: demand + stock build − supply."""
        return self.demand + self.build - self.supply

    @property
    def d_excess(self) -> Array:
        return self.d_demand + self.d_build - self.d_supply


def respond(m: MarketArrays, log_price: Array) -> Response:
    """Quantities of every region at ``log_price`` (n, R): the model's short-run curves."""
    z = log_price - m.log_p0
    demand = m.demand_ref * np.exp(m.demand_elasticity * z)
    z_eff = np.maximum(log_price, m.log_floor) - m.log_p0
    u = m.utilisation * np.exp(m.supply_elasticity * z_eff)
    util = np.maximum(m.min_utilisation, np.minimum(1.0, u))
    q_cap = m.capacity * util
    supply = np.minimum(q_cap, m.input_limit)
    elastic = (
        (log_price > m.log_floor) & (u < 1.0) & (u > m.min_utilisation) & (q_cap < m.input_limit)
    )
    d_supply = np.where(elastic, m.supply_elasticity * m.capacity * u, 0.0)
    target = m.inv_target * np.exp(-m.inv_sensitivity * z)
    build = m.inv_adjust * (target - m.inv_stock)
    return Response(
        supply=supply,
        demand=demand,
        build=build,
        d_supply=d_supply,
        d_demand=m.demand_elasticity * demand,
        d_build=-m.inv_sensitivity * m.inv_adjust * target,
    )


@dataclass(frozen=True)
class Features:
    """What a problem set uses, checked once per solve rather than at every evaluation."""

    floor: bool  # some region has a price floor
    dumping: bool  # some region has a dumping floor
    limit: bool  # some region has an input limit
    extra_net: Array  # extra demand − extra supply (n, R)
    extra_gross: Array  # extra demand + extra supply (n, R)

    @classmethod
    def of(cls, m: MarketArrays) -> Features:
        return cls(
            floor=bool(np.isfinite(m.log_floor).any()),
            dumping=bool((m.min_utilisation > 0).any()),
            limit=bool(np.isfinite(m.input_limit).any()),
            extra_net=m.extra_demand - m.extra_supply,
            extra_gross=m.extra_demand + m.extra_supply,
        )


def excess_slope(m: MarketArrays, bloc_price: Array, f: Features
                 ) -> tuple[Array, Array, Array]:
    """Excess demand (incl. policy extras), its derivative, and the gross volume (the sum of
    the terms, to scale tolerances) per region at bloc log prices (n, B): the solver's inner
    loop. Same curves as :func:`respond`, fused in place; floors, dumping floors and input
    limits are skipped when no region has them."""
    log_price = bloc_price[:, m.bloc_of]
    z = log_price - m.log_p0
    excess = np.exp(m.demand_elasticity * z)
    excess *= m.demand_ref
    slope = m.demand_elasticity * excess
    target = np.exp(-m.inv_sensitivity * z)
    target *= m.inv_target
    build = m.inv_adjust * (target - m.inv_stock)
    gross = excess + np.abs(build)
    excess += build
    target *= m.inv_adjust
    target *= m.inv_sensitivity
    slope -= target
    if f.floor:
        u = np.exp(m.supply_elasticity * (np.maximum(log_price, m.log_floor) - m.log_p0))
    else:
        u = np.exp(m.supply_elasticity * z)
    u *= m.utilisation
    util = np.minimum(u, 1.0)
    elastic = u < 1.0
    if f.dumping:
        util = np.maximum(util, m.min_utilisation)
        elastic &= u > m.min_utilisation
    supply = util * m.capacity
    if f.limit:
        elastic &= supply < m.input_limit
        supply = np.minimum(supply, m.input_limit)
    if f.floor:
        elastic &= log_price > m.log_floor
    excess -= supply
    excess += f.extra_net
    gross += supply
    gross += f.extra_gross
    u *= m.capacity
    u *= m.supply_elasticity
    u[~elastic] = 0.0
    slope -= u
    return excess, slope, gross


def gross_volume(resp: Response, m: MarketArrays) -> Array:
    """Everything bought, sold or stocked per region at a solution (n, R): the size against
    which a bloc's imbalance is measured."""
    return (resp.supply + resp.demand + np.abs(resp.build) + m.extra_supply + m.extra_demand)


def region_volume(m: MarketArrays) -> Array:
    """A positive size of each region's market (n, R), to scale solver tolerances."""
    finite_limit = np.where(np.isfinite(m.input_limit), m.input_limit, 0.0)
    return (
        m.demand_ref + m.capacity + m.inv_target + m.inv_stock + m.extra_supply + m.extra_demand
        + finite_limit
    )


_SUMMED = ("demand_ref", "capacity", "inv_target", "inv_stock", "extra_supply", "extra_demand")
_SHAPES = ("log_p0", "demand_elasticity", "utilisation", "supply_elasticity", "inv_sensitivity",
           "inv_adjust")


def compress(m: MarketArrays) -> MarketArrays:
    """The same problem on fewer columns: regions of a bloc whose curves have the same shape
    are summed (isoelastic curves with equal elasticities and kinks add up exactly), regions
    with nothing to buy or sell are dropped. Regions with an input limit, a price floor or a
    dumping floor keep their own column. Used inside the solver only; quantities by region
    are computed on the full arrays afterwards."""
    if m.shape_class is None:
        return m
    supply_on = (m.capacity > 0).any(axis=0)
    active = supply_on | (m.demand_ref > 0).any(axis=0) | (m.inv_target > 0).any(axis=0) | (
        m.inv_stock > 0).any(axis=0) | (m.extra_supply != 0).any(axis=0) | (
        m.extra_demand != 0).any(axis=0)
    special = supply_on & (np.isfinite(m.input_limit).any(axis=0)
                           | (m.min_utilisation > 0).any(axis=0)
                           | np.isfinite(m.log_floor).any(axis=0))
    regions = np.flatnonzero(active)
    if regions.size == 0:
        return m
    keys = np.stack([m.bloc_of[regions], m.shape_class[regions],
                     np.where(special[regions], regions, -1)], axis=1)
    _, first, column = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    column = column.ravel()
    if len(first) == len(m.bloc_of):
        return m
    rep = regions[first]
    order = np.argsort(column, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(column[order]) > 0])
    members = regions[order]
    changes: dict[str, object] = {
        name: np.add.reduceat(getattr(m, name)[:, members], starts, axis=1) for name in _SUMMED}
    changes.update({name: getattr(m, name)[:, rep] for name in _SHAPES if name != "log_p0"})
    keep = special[rep]
    changes["input_limit"] = np.where(keep, m.input_limit[:, rep], np.inf)
    changes["min_utilisation"] = np.where(keep, m.min_utilisation[:, rep], 0.0)
    changes["log_floor"] = np.where(keep, m.log_floor[:, rep], -np.inf)
    return replace(m, bloc_of=m.bloc_of[rep], shape_class=None,
                   **changes)  # type: ignore[arg-type]
