"""Per-region market response: supply, demand and inventory build as functions of log price.

These are the model's equations (DESIGN.md §4), shared by the vectorised solver and the scalar
reference so that both solve the *same* equilibrium. Everything is evaluated on arrays with a
leading "problem" axis (draws × markets) and a region axis; a bloc's price is gathered onto its
regions before calling :func:`respond`.

* supply  ``q = min(K · max(u_min, min(1, u0 · (p_eff/p0)^ε_s)), A)`` with ``p_eff = max(p, floor)``
  (price-floor hook), ``u_min`` the dumping floor and ``A`` the input available to a downstream
  stage (upstream input × yield);
* demand  ``d = D · (p/p0)^ε_d · s(p)`` where ``D`` already carries growth, surges, substitution
  and the processors' input need, and ``s`` is the choke (:func:`choke`): 1 up to
  ``c · p0 / r``, falling linearly in log price to 0 at the choke price ``c · p0``, where the last
  buyers have stopped, substituted or turned to a backstop. Isoelastic demand alone has no upper
  price (a binding cap with ε_d = −0.05 gave price multiples of 1e25); with the choke no price
  exceeds ``c · p0`` and the demand given up on the way is recorded as unmet;
* inventory build ``b = κ · (T · (p/p0)^(−σ) · s(p) − I)``: desired stock ``T`` falls when prices
  rise (and nobody holds stock at a price nobody pays), a share ``κ`` of the gap is closed per
  period, so stocks are drawn when prices spike and rebuilt after (``b ≥ −κ I`` keeps stocks
  non-negative).

The curves are written once, as the compiled scalar function :func:`curve` (numba); the
solver's Newton kernel, :func:`respond` and, through it, the scalar reference all call it.
Compiled loops visit each (problem, region) once with no temporaries, where array expressions
would sweep memory a dozen times per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

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
    log_choke: Array  # (n, R) log(choke price ÷ p0): no demand at or above (inf = no choke)
    choke_taper: Array  # (n, R) log price width below the choke over which demand tapers, > 0
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
    """Region quantities at given prices and their derivatives with respect to log price
    (the derivatives are None where a caller asked the solver not to keep them)."""

    supply: Array
    demand: Array
    build: Array
    d_supply: Array | None = None
    d_demand: Array | None = None
    d_build: Array | None = None

    @property
    def excess(self) -> Array:
        """Excess demand before policy extras: demand + stock build − supply."""
        return self.demand + self.build - self.supply

    @property
    def d_excess(self) -> Array:
        assert self.d_supply is not None and self.d_demand is not None and self.d_build is not None
        return self.d_demand + self.d_build - self.d_supply


#: The decorator of every compiled kernel (numba): machine code cached next to the source (compiled
#: once per machine, loaded in milliseconds afterwards), IEEE division (x/0 = inf, not an
#: exception), the GIL released so that a server's threads can simulate side by side.
#: Single-threaded on purpose: the executors (critmin.run) parallelise over processes, and
#: nested threads would oversubscribe the cores.
#: (Typed Any: numba types a compiled function as a Dispatcher whose calls mypy cannot check.)
jit: Any = njit(cache=True, nogil=True, error_model="numpy")


@jit
def choke(z: float, log_choke: float, taper: float) -> tuple[float, float]:
    """The share of buyers left at log price multiple ``z = log(p/p0)`` and its derivative in
    ``z``: 1 below ``log_choke − taper``, then linear in log price down to 0 at ``log_choke``
    (a non-finite ``log_choke`` means no choke). Linear, not exponential, so that demand is
    exactly zero at the choke price: that is what bounds the price."""
    if not z > log_choke - taper:  # also catches log_choke = inf and NaN
        return 1.0, 0.0
    if z >= log_choke:
        return 0.0, 0.0
    return (log_choke - z) / taper, -1.0 / taper


@jit
def demand_factor(z: float, elasticity: float, log_choke: float, taper: float
                  ) -> tuple[float, float]:
    """``(p/p0)^elasticity · s(p)`` at ``z = log(p/p0)`` and its derivative in ``z``: the share
    of reference demand bought at a price (``elasticity`` = ε_d), or of the desired stock held
    (``elasticity`` = −σ)."""
    if not z > log_choke - taper:
        f = np.exp(elasticity * z)
        return f, elasticity * f
    s, ds = choke(z, log_choke, taper)
    if s == 0.0:
        return 0.0, 0.0
    e = np.exp(elasticity * z)
    return e * s, e * (elasticity * s + ds)


@jit
def factor_curvature(z: float, elasticity: float, log_choke: float, taper: float) -> float:
    """Second derivative in ``z`` of :func:`demand_factor` (the taper is linear in ``z``, so
    only the cross term adds to the exponential's), for the solver's Halley steps."""
    if not z > log_choke - taper:
        return elasticity * elasticity * np.exp(elasticity * z)
    s, ds = choke(z, log_choke, taper)
    if s == 0.0:
        return 0.0
    return np.exp(elasticity * z) * elasticity * (elasticity * s + 2.0 * ds)


@jit
def quantities(y: float, log_floor: float, demand_term: float, d_demand_term: float,
               target_term: float, d_target_term: float, u: float, demand_ref: float,
               capacity: float, supply_elasticity: float, min_utilisation: float,
               input_limit: float, inv_target: float, inv_adjust: float, inv_stock: float
               ) -> tuple[float, float, float, float, float, float]:
    """(supply, demand, build) of one region and their derivatives in log price, given the
    price terms of :func:`curve` (:func:`demand_factor` of demand and of the desired stock,
    with their derivatives, and the unclipped utilisation ``u``). Split from them so that
    regions sharing a curve shape share the exponentials (:func:`critmin.engine.clearing.clear`
    expands its columns this way)."""
    demand = demand_ref * demand_term if demand_ref != 0.0 else 0.0
    d_demand = demand_ref * d_demand_term if demand_ref != 0.0 else 0.0
    target = inv_target * target_term if inv_target != 0.0 else 0.0
    d_target = inv_target * d_target_term if inv_target != 0.0 else 0.0
    build = inv_adjust * (target - inv_stock)
    supply = 0.0
    d_supply = 0.0
    if capacity != 0.0:
        q_cap = capacity * max(min_utilisation, min(1.0, u))
        supply = min(q_cap, input_limit)
        if y > log_floor and u < 1.0 and u > min_utilisation and q_cap < input_limit:
            d_supply = supply_elasticity * capacity * u
    return (supply, demand, build, d_supply, d_demand, inv_adjust * d_target)


@jit
def curve(y: float, log_p0: float, demand_ref: float, demand_elasticity: float,
          capacity: float, utilisation: float, supply_elasticity: float,
          min_utilisation: float, log_floor: float, input_limit: float, inv_target: float,
          inv_sensitivity: float, inv_adjust: float, inv_stock: float, log_choke: float,
          choke_taper: float) -> tuple[float, float, float, float, float, float]:
    """One region at log price ``y``: (supply, demand, build) and their derivatives in log
    price — the model's short-run curves (module doc), the single place they are written.
    Terms with a zero coefficient skip their exponential (cheaper, and never 0 × inf)."""
    z = y - log_p0
    f, df, g, dg = 0.0, 0.0, 0.0, 0.0
    if demand_ref != 0.0:
        f, df = demand_factor(z, demand_elasticity, log_choke, choke_taper)
    if inv_target != 0.0:
        g, dg = demand_factor(z, -inv_sensitivity, log_choke, choke_taper)
    u = 0.0
    if capacity != 0.0:
        u = utilisation * np.exp(supply_elasticity * (max(y, log_floor) - log_p0))
    return quantities(y, log_floor, f, df, g, dg, u, demand_ref, capacity, supply_elasticity,
                      min_utilisation, input_limit, inv_target, inv_adjust, inv_stock)


@jit
def _respond_rows(y: Array, log_p0: Array, demand_ref: Array, demand_elasticity: Array,
                  capacity: Array, utilisation: Array, supply_elasticity: Array,
                  min_utilisation: Array, log_floor: Array, input_limit: Array,
                  inv_target: Array, inv_sensitivity: Array, inv_adjust: Array,
                  inv_stock: Array, log_choke: Array, choke_taper: Array, out: Array) -> None:
    """:func:`curve` over (n, R) into ``out`` (6, n, R)."""
    n, n_regions = y.shape
    for i in range(n):
        p0 = log_p0[i, 0]
        for r in range(n_regions):
            values = curve(y[i, r], p0, demand_ref[i, r], demand_elasticity[i, r],
                           capacity[i, r], utilisation[i, r], supply_elasticity[i, r],
                           min_utilisation[i, r], log_floor[i, r], input_limit[i, r],
                           inv_target[i, r], inv_sensitivity[i, r], inv_adjust[i, r],
                           inv_stock[i, r], log_choke[i, r], choke_taper[i, r])
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
            m.inv_sensitivity, m.inv_adjust, m.inv_stock, m.log_choke, m.choke_taper)


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
#: Fields that describe a curve's shape (equal within a shape class; never summed).
SHAPE_FIELDS = ("demand_elasticity", "utilisation", "supply_elasticity", "inv_sensitivity",
           "inv_adjust", "log_choke", "choke_taper")
_OWN = ("input_limit", "min_utilisation", "log_floor")  # kept by special columns only
_NEUTRAL = (np.inf, 0.0, -np.inf)


@jit
def _special(capacity: Array, input_limit: Array, min_utilisation: Array,
             log_floor: Array) -> Array:
    """Per region: a supplier (capacity in some row) with an input limit, a dumping floor or
    a price floor in some row. One pass in memory order."""
    n, n_regions = capacity.shape
    supplier = np.zeros(n_regions, dtype=np.bool_)
    limited = np.zeros(n_regions, dtype=np.bool_)
    for i in range(n):
        for r in range(n_regions):
            if capacity[i, r] > 0.0:
                supplier[r] = True
            if (input_limit[i, r] < np.inf or min_utilisation[i, r] > 0.0
                    or log_floor[i, r] > -np.inf):
                limited[r] = True
    return supplier & limited


def merge_plan(m: MarketArrays) -> tuple[Array, Array, Array]:
    """How :func:`compress` maps regions to columns: (column of each region (R,),
    representative region of each column (C,), whether a column keeps its region's input
    limit and floors (C,)). Without shape classes every region is its own column."""
    special = _special(m.capacity, m.input_limit, m.min_utilisation, m.log_floor)
    n_regions = len(m.bloc_of)
    if m.shape_class is None:
        return np.arange(n_regions), np.arange(n_regions), special
    keys = np.stack([m.bloc_of, m.shape_class,
                     np.where(special, np.arange(n_regions), -1)], axis=1)
    _, rep, column = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    if len(rep) == n_regions:  # nothing merges: keep the regions' own order
        return np.arange(n_regions), np.arange(n_regions), special
    return column.ravel(), rep, special[rep]


@jit
def _sum_columns(column: Array, a: Array, b: Array, c: Array, d: Array, e: Array, f: Array,
                 out: Array) -> None:
    """The six summed fields (n, R) into their columns (6, n, C), in memory order."""
    out[:] = 0.0
    n, n_regions = a.shape
    for i in range(n):
        for r in range(n_regions):
            k = column[r]
            out[0, i, k] += a[i, r]
            out[1, i, k] += b[i, r]
            out[2, i, k] += c[i, r]
            out[3, i, k] += d[i, r]
            out[4, i, k] += e[i, r]
            out[5, i, k] += f[i, r]


@jit
def _take_columns(rep: Array, keep: Array, a: Array, b: Array, c: Array, neutral_a: float,
                  neutral_b: float, neutral_c: float, out: Array) -> None:
    """Three fields (n, R) of each column's representative into (3, n, C), or the neutral
    value where the column does not keep them."""
    n = a.shape[0]
    for i in range(n):
        for k in range(rep.shape[0]):
            g = rep[k]
            if keep[k]:
                out[0, i, k] = a[i, g]
                out[1, i, k] = b[i, g]
                out[2, i, k] = c[i, g]
            else:
                out[0, i, k] = neutral_a
                out[1, i, k] = neutral_b
                out[2, i, k] = neutral_c


def compress(m: MarketArrays, plan: tuple[Array, Array, Array] | None = None,
             shapes: dict[str, Array] | None = None) -> MarketArrays:
    """The same problem on fewer columns: regions of a bloc whose curves have the same shape
    are summed (isoelastic curves with equal elasticities and kinks add up exactly). Suppliers
    with an input limit, a price floor or a dumping floor keep their own column. A region with
    nothing to trade merges at no cost (zero terms skip their exponentials). Used inside the
    solver only; quantities by region come from the columns' price terms afterwards.

    ``plan`` = :func:`merge_plan` (computed here when not given); ``shapes`` = the compressed
    shape fields when the caller knows them already (they are fixed for a level of a run)."""
    column, rep, keep = merge_plan(m) if plan is None else plan
    if len(rep) == len(m.bloc_of):
        return m
    n, n_columns = m.n, len(rep)
    summed = np.empty((len(_SUMMED), n, n_columns))
    _sum_columns(column, *_uniform(m, _SUMMED), summed)
    own = np.empty((len(_OWN), n, n_columns))
    _take_columns(rep, keep, *_uniform(m, _OWN), *_NEUTRAL, own)
    if shapes is None:
        shapes = {name: np.ascontiguousarray(getattr(m, name)[:, rep]) for name in SHAPE_FIELDS}
    changes: dict[str, Any] = {**dict(zip(_SUMMED, summed, strict=True)),
                               **dict(zip(_OWN, own, strict=True)), **shapes}
    return replace(m, bloc_of=m.bloc_of[rep], shape_class=None, log_p0=np.ascontiguousarray(
        m.log_p0), wedge=np.ascontiguousarray(m.wedge), cap=np.ascontiguousarray(m.cap),
        **changes)


def _uniform(m: MarketArrays, names: tuple[str, ...]) -> tuple[Array, ...]:
    """Fields as a tuple the compiled code can index (one array type: C order, or all the
    same strided views of the loop's buffers); mixed layouts are copied to C order."""
    arrays = tuple(getattr(m, f) for f in names)
    kinds = {(a.flags.c_contiguous, a.flags.writeable, a.dtype) for a in arrays}
    if len(kinds) == 1 and next(iter(kinds))[1]:
        return arrays
    return tuple(np.array(a, dtype=np.float64, order="C") for a in arrays)
