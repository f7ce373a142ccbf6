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

The curves are written once, as the compiled scalar function :func:`curve` (numba); the
solver's Newton kernel, :func:`respond` and, through it, the scalar reference all call it.
Compiled loops visit each (problem, region) once with no temporaries, where array expressions
would sweep memory a dozen times per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from numba import njit

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


#: numba options of every compiled kernel: machine code cached next to the source (compiled
#: once per machine, loaded in milliseconds afterwards), IEEE division (x/0 = inf, not an
#: exception), the GIL released so that a server's threads can simulate side by side.
#: Single-threaded on purpose: the executors (critmin.run) parallelise over processes, and
#: nested threads would oversubscribe the cores.
JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**JIT)
def curve(y: float, log_p0: float, demand_ref: float, demand_elasticity: float,
          capacity: float, utilisation: float, supply_elasticity: float,
          min_utilisation: float, log_floor: float, input_limit: float, inv_target: float,
          inv_sensitivity: float, inv_adjust: float, inv_stock: float
          ) -> tuple[float, float, float, float, float, float]:
    """One region at log price ``y``: (supply, demand, build) and their derivatives in log
    price — the model's short-run curves (module doc), the single place they are written.
    Terms with a zero coefficient skip their exponential (cheaper, and never 0 × inf)."""
    z = y - log_p0
    demand = demand_ref * np.exp(demand_elasticity * z) if demand_ref != 0.0 else 0.0
    target = inv_target * np.exp(-inv_sensitivity * z) if inv_target != 0.0 else 0.0
    build = inv_adjust * (target - inv_stock)
    supply = 0.0
    d_supply = 0.0
    if capacity != 0.0:
        u = utilisation * np.exp(supply_elasticity * (max(y, log_floor) - log_p0))
        q_cap = capacity * max(min_utilisation, min(1.0, u))
        supply = min(q_cap, input_limit)
        if y > log_floor and u < 1.0 and u > min_utilisation and q_cap < input_limit:
            d_supply = supply_elasticity * capacity * u
    return (supply, demand, build, d_supply, demand_elasticity * demand,
            -inv_sensitivity * inv_adjust * target)


@njit(**JIT)
def _respond_rows(y: Array, log_p0: Array, demand_ref: Array, demand_elasticity: Array,
                  capacity: Array, utilisation: Array, supply_elasticity: Array,
                  min_utilisation: Array, log_floor: Array, input_limit: Array,
                  inv_target: Array, inv_sensitivity: Array, inv_adjust: Array,
                  inv_stock: Array, out: Array) -> None:
    """:func:`curve` over (n, R) into ``out`` (6, n, R)."""
    n, n_regions = y.shape
    for i in range(n):
        p0 = log_p0[i, 0]
        for r in range(n_regions):
            values = curve(y[i, r], p0, demand_ref[i, r], demand_elasticity[i, r],
                           capacity[i, r], utilisation[i, r], supply_elasticity[i, r],
                           min_utilisation[i, r], log_floor[i, r], input_limit[i, r],
                           inv_target[i, r], inv_sensitivity[i, r], inv_adjust[i, r],
                           inv_stock[i, r])
            for k in range(6):
                out[k, i, r] = values[k]


def respond(m: MarketArrays, log_price: Array) -> Response:
    """Quantities of every region at ``log_price`` (n, R): the model's short-run curves."""
    out = np.empty((6, *log_price.shape))
    _respond_rows(np.asarray(log_price, dtype=np.float64), *curve_fields(m), out)
    return Response(*out)


def curve_fields(m: MarketArrays) -> tuple[Array, ...]:
    """The arrays :func:`curve` reads, in its argument order (after the price)."""
    return (m.log_p0, m.demand_ref, m.demand_elasticity, m.capacity, m.utilisation,
            m.supply_elasticity, m.min_utilisation, m.log_floor, m.input_limit, m.inv_target,
            m.inv_sensitivity, m.inv_adjust, m.inv_stock)


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
_SHAPES = ("demand_elasticity", "utilisation", "supply_elasticity", "inv_sensitivity",
           "inv_adjust")


@njit(**JIT)
def _region_flags(capacity: Array, demand_ref: Array, inv_target: Array, inv_stock: Array,
                  extra_supply: Array, extra_demand: Array, input_limit: Array,
                  min_utilisation: Array, log_floor: Array) -> tuple[Array, Array]:
    """Per region: active in some row (anything to buy, sell or stock), and special (a
    supplier with an input limit, a dumping floor or a price floor in some row). Each test
    stops at the first row that settles it, so active regions cost almost nothing."""
    n, n_regions = capacity.shape
    active = np.zeros(n_regions, dtype=np.bool_)
    special = np.zeros(n_regions, dtype=np.bool_)
    for r in range(n_regions):
        supplier = False
        for i in range(n):
            if capacity[i, r] > 0.0:
                supplier = True
                break
        if supplier:
            active[r] = True
            for i in range(n):
                if (input_limit[i, r] < np.inf or min_utilisation[i, r] > 0.0
                        or log_floor[i, r] > -np.inf):
                    special[r] = True
                    break
            continue
        for i in range(n):
            if (demand_ref[i, r] > 0.0 or inv_target[i, r] > 0.0 or inv_stock[i, r] > 0.0
                    or extra_supply[i, r] != 0.0 or extra_demand[i, r] != 0.0):
                active[r] = True
                break
    return active, special


@njit(**JIT)
def _sum_columns(source: Array, column: Array, n_columns: int) -> Array:
    """(n, C) sums of ``source`` (n, R) over the regions of each column (−1: dropped)."""
    n, n_regions = source.shape
    out = np.zeros((n, n_columns))
    for i in range(n):
        for r in range(n_regions):
            c = column[r]
            if c >= 0:
                out[i, c] += source[i, r]
    return out


def compress(m: MarketArrays) -> MarketArrays:
    """The same problem on fewer columns: regions of a bloc whose curves have the same shape
    are summed (isoelastic curves with equal elasticities and kinks add up exactly), regions
    with nothing to buy or sell are dropped. Regions with an input limit, a price floor or a
    dumping floor keep their own column. Used inside the solver only; quantities by region
    are computed on the full arrays afterwards. The result's arrays are C-contiguous."""
    if m.shape_class is None:
        return m
    active, special = _region_flags(m.capacity, m.demand_ref, m.inv_target, m.inv_stock,
                                    m.extra_supply, m.extra_demand, m.input_limit,
                                    m.min_utilisation, m.log_floor)
    regions = np.flatnonzero(active)
    if regions.size == 0:
        return m
    keys = np.stack([m.bloc_of[regions], m.shape_class[regions],
                     np.where(special[regions], regions, -1)], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    if len(first) == len(m.bloc_of):
        return m
    column = np.full(len(m.bloc_of), -1, dtype=np.intp)
    column[regions] = inverse.ravel()
    rep = regions[first]
    changes: dict[str, object] = {
        name: _sum_columns(getattr(m, name), column, len(rep)) for name in _SUMMED}
    changes.update({name: getattr(m, name)[:, rep] for name in _SHAPES})
    keep = special[rep]
    changes["input_limit"] = np.where(keep, m.input_limit[:, rep], np.inf)
    changes["min_utilisation"] = np.where(keep, m.min_utilisation[:, rep], 0.0)
    changes["log_floor"] = np.where(keep, m.log_floor[:, rep], -np.inf)
    changes["log_p0"] = np.ascontiguousarray(m.log_p0)
    changes["wedge"] = np.ascontiguousarray(m.wedge)
    changes["cap"] = np.ascontiguousarray(m.cap)
    return replace(m, bloc_of=m.bloc_of[rep], shape_class=None,
                   **changes)  # type: ignore[arg-type]
