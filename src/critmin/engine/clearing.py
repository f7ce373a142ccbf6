"""The vectorised market-clearing solver: a spatial price equilibrium with wedges and caps.

For every problem (draw × market) it finds bloc log prices ``y`` and signed pair flows ``g`` with

* every bloc balanced: supply + imports + stock draw + extra supply = demand + exports + stock
  build + extra demand;
* no profitable arbitrage over a link below its cap (``y_j − y_i ≤ w_ij``), equality where the
  flow is interior, flows at caps where the price gap exceeds the wedge.

Method (blocs are few, problems many): an active-set iteration on the trade regime of each pair
(see :mod:`critmin.engine.network`). For a given regime every component of price-linked blocs
has one unknown price; its balance is a monotone 1-D equation solved by a safeguarded
Newton/bisection on log price. One compiled pass (numba, :func:`_solve_rows`) solves every
problem in its own regime — no grouping or sorting of rows by regime, no copies of the market
arrays, and a problem stops costing as soon as it has converged. Regimes are then checked
against the complementarity conditions and updated with array operations over the (few) bloc
pairs; only the rows whose regime changed are solved again. Before solving, regions whose
curves coincide are summed (:func:`critmin.engine.kernels.compress`), so a stage clears on a
handful of columns instead of every country. Warm starts (prices and regimes) come from the
previous period. Rows whose regime iteration fails to settle fall back to the scalar reference
solver.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from critmin.engine import network
from critmin.engine.kernels import (
    SHAPE_FIELDS,
    Array,
    MarketArrays,
    Response,
    compress,
    curve,
    curve_fields,
    demand_factor,
    factor_curvature,
    jit,
    merge_plan,
    quantities,
    region_volume,
)

log = logging.getLogger(__name__)

#: Absolute tolerance in log price for price ties (wedges) and relative tolerance on balances.
PRICE_TOL = 1e-9
BALANCE_RTOL = 1e-12
MAX_NEWTON = 200
MAX_STEP = 4.0  # largest Newton step in log price per iteration (a factor e^4 ≈ 55)
LOG_RANGE = 300.0  # search window around p0 in log price
WARM_RANGE = 30.0  # warm starts further than this from p0 (inactive blocs) restart nearer
MAX_REGIME_ROUNDS = 60
SIMULTANEOUS_ROUNDS = 8  # after this many rounds only the largest violation per row moves


@dataclass(frozen=True)
class Solution:
    """Equilibrium of ``n`` problems."""

    log_price: Array  # (n, B)
    flow: Array  # (n, P) signed pair flows (i→j positive)
    state: Array  # (n, P) int8 regime
    response: Response  # region quantities at the equilibrium (n, R)
    residual: Array  # (n, B) bloc balance residual (t per period)
    rounds: int  # regime rounds used
    fallback_rows: int  # rows solved by the scalar reference
    rationed: Array | None = None  # (n, R) share of demand not served (no price clears)
    #: (n, B) each bloc's size against which its imbalance is judged: demand at p0, capacity,
    #: stocks and input limits plus everything bought, sold or stocked at the solution
    size: Array | None = None


def membership(m: MarketArrays) -> Array:
    """(R, B) one-hot matrix summing regions into blocs."""
    out = np.zeros((len(m.bloc_of), m.n_blocs))
    out[np.arange(len(m.bloc_of)), m.bloc_of] = 1.0
    return out


def bloc_excess(m: MarketArrays, resp: Response, member: Array) -> Array:
    """Excess demand of each bloc (n, B), including the fixed policy extras."""
    return (resp.excess + m.extra_demand - m.extra_supply) @ member


def initial_state(m: MarketArrays) -> Array:
    """Cold-start regime: autarky (no links; the iteration opens them)."""
    return np.full((m.n, m.wedge.shape[1]), network.ZERO, dtype=np.int8)


class Workspace:
    """What :func:`clear` keeps between calls for a caller that solves the same market again
    and again (the period loop: one workspace per chain level of a run).

    * output buffers: the response arrays of a solution are overwritten by the next solve
      with the same workspace, so the large (n, R) outputs are allocated once per run; a
      caller may :meth:`bind` its own arrays (views into its records) for supply, demand and
      stock build, which are then written in place, and may go without the slopes
      (``slopes=False``: the response's derivatives are None);
    * the compressed curve shapes (elasticities, u0, stock rules), which are fixed for a
      level of a run: rebuilt only when the merge plan changes. A workspace must therefore
      not be shared between markets whose shapes differ.
    """

    def __init__(self, slopes: bool = True) -> None:
        self.slopes = slopes
        self._buffers: dict[str, Array] = {}
        self._bound: dict[str, Array] = {}
        self._shape_key: tuple[object, ...] | None = None
        self._shapes: dict[str, Array] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> Array:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape:
            buf = self._buffers[name] = np.empty(shape)
        return buf

    def bind(self, **arrays: Array) -> None:
        """Arrays (n, R) the next solves write ``supply``, ``demand`` or ``build`` into."""
        self._bound = arrays

    def outputs(self, shape: tuple[int, int]) -> list[Array]:
        names = ("supply", "demand", "build", *(("d_supply", "d_demand", "d_build")
                                               if self.slopes else ()))
        out = []
        for name in names:
            bound = self._bound.get(name)
            out.append(bound if bound is not None and bound.shape == shape
                       else self.get(name, shape))
        return out

    def shapes(self, m: MarketArrays, plan: tuple[Array, Array, Array]) -> dict[str, Array]:
        key = (m.n, *(a.tobytes() for a in plan))
        if key != self._shape_key:
            rep = plan[1]
            self._shapes = {name: np.ascontiguousarray(getattr(m, name)[:, rep])
                            for name in SHAPE_FIELDS}
            self._shape_key = key
        return self._shapes


def clear(
    m: MarketArrays,
    log_price0: Array | None = None,
    state0: Array | None = None,
    work: Workspace | None = None,
) -> Solution:
    """Solve all problems of ``m``; ``log_price0``/``state0`` are warm starts (n, B)/(n, P)."""
    full = m
    plan = merge_plan(full)
    m = compress(full, plan, None if work is None else work.shapes(full, plan))
    n, n_blocs = m.n, m.n_blocs
    pi, pj = network.pairs(n_blocs)
    n_pairs = len(pi)
    member = membership(m)
    y_start = np.broadcast_to(m.log_p0, (n, n_blocs)).copy()
    if log_price0 is not None:  # warm start, within a sane window around p0
        y_start = np.clip(log_price0, m.log_p0 - WARM_RANGE, m.log_p0 + WARM_RANGE)
    state = initial_state(m) if state0 is None else state0.astype(np.int8).copy()
    state = _feasible_start(m, state)
    scale = region_volume(m) @ member  # (n, B)
    y = y_start.copy()
    g = np.zeros((n, n_pairs))
    columns = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (
        *curve_fields(m), m.extra_supply, m.extra_demand, m.wedge, m.cap))
    bloc_of = np.ascontiguousarray(m.bloc_of, dtype=np.intp)
    todo = np.arange(n)
    rounds = 0
    for rounds in range(1, MAX_REGIME_ROUNDS + 1):
        # every row solves its own regime in one compiled pass: no grouping, no copies
        codes, which = network.index_codes(network.encode(state[todo]), n_pairs)
        tab = network.tables(n_blocs, codes)
        _solve_rows(todo, which, tab.comp_of, tab.n_comp, tab.off_pos, tab.off_neg, tab.fix_pos,
                    tab.fix_neg, tab.flow_map, pi, pj, bloc_of, *columns, y_start, scale, y, g)
        new_state = _update_states(m.wedge[todo], m.cap[todo], y[todo], g[todo], state[todo],
                                   scale[todo], single=rounds > SIMULTANEOUS_ROUNDS)
        changed = np.any(new_state != state[todo], axis=1)
        state[todo] = new_state
        sane = np.abs(y[todo] - m.log_p0[todo]) < LOG_RANGE - 1.0  # not an infeasible regime
        y_start[todo] = np.where(sane, y[todo], y_start[todo])
        todo = todo[changed]
        if todo.size == 0:
            break
    fallback = 0
    if todo.size:
        from critmin.engine.reference import clear_one

        log.warning("regime iteration did not settle for %d rows; using the reference", todo.size)
        for row in todo:  # rare: only rows whose regime iteration cycled
            ref = clear_one(m, int(row))
            y[row], g[row], state[row] = ref.log_price, ref.flow, ref.state
        fallback = int(todo.size)
    # region quantities from the columns' price terms (regions of a column share them), and
    # per bloc: excess demand, gross volume at the solution and normal size, in one pass
    out = (work or Workspace()).outputs((n, len(full.bloc_of)))
    slopes = len(out) == 6
    unused = np.empty((0, 0))
    sums = np.empty((3, n, n_blocs))
    _expand(y, plan[0], bloc_of, columns[0], m.demand_elasticity, m.utilisation,
            m.supply_elasticity, m.inv_sensitivity, m.inv_adjust, m.log_choke, m.choke_taper,
            m.min_utilisation, m.log_floor, m.input_limit, *_region_arrays(full),
            full.bloc_of, *out[:3],
            *(out[3:] if slopes else (unused, unused, unused)), slopes, sums)
    resp = Response(*out)
    excess, gross, volume = sums
    residual = excess + g @ network.incidence(n_blocs).T
    residual, rationed, gross, g = _settle(full, resp, residual, gross, volume, g, state)
    return Solution(y, g, state, resp, residual, rounds, fallback, rationed, volume + gross)


def _region_arrays(m: MarketArrays) -> tuple[Array, ...]:
    return (m.demand_ref, m.capacity, m.inv_target, m.inv_stock, m.extra_supply,
            m.extra_demand, m.input_limit)


@jit
def _expand(y: Array, column: Array, column_bloc: Array, log_p0: Array,
            demand_elasticity: Array, utilisation: Array, supply_elasticity: Array,
            inv_sensitivity: Array, inv_adjust: Array, log_choke: Array, choke_taper: Array,
            min_utilisation: Array, log_floor: Array, limit: Array, demand_ref: Array,
            capacity: Array,
            inv_target: Array, inv_stock: Array, extra_supply: Array, extra_demand: Array,
            input_limit: Array, bloc_of: Array, supply_out: Array, demand_out: Array,
            build_out: Array, d_supply_out: Array, d_demand_out: Array, d_build_out: Array,
            slopes: bool, sums: Array) -> None:
    """Region quantities (n, R) at bloc log prices ``y`` (n, B) (the slopes if ``slopes``),
    and per bloc (3, n, B)
    the excess demand with policy extras, the gross volume (:func:`gross_volume`) and the
    normal size (:func:`region_volume`). Price terms are computed once per column (n, C):
    its regions share the curve shape, and a column that keeps an input limit or floors has
    a single region."""
    n, n_regions = demand_ref.shape
    n_columns = column_bloc.shape[0]
    terms = np.empty((4, n_columns))  # demand and stock-target factors, their derivatives
    u = np.empty(n_columns)
    for i in range(n):
        p0 = log_p0[i, 0]
        for c in range(n_columns):
            yc = y[i, column_bloc[c]]
            z = yc - p0
            terms[0, c], terms[1, c] = demand_factor(z, demand_elasticity[i, c],
                                                     log_choke[i, c], choke_taper[i, c])
            terms[2, c], terms[3, c] = demand_factor(z, -inv_sensitivity[i, c],
                                                     log_choke[i, c], choke_taper[i, c])
            u[c] = utilisation[i, c] * np.exp(supply_elasticity[i, c] * (
                max(yc, log_floor[i, c]) - p0))
        for b in range(sums.shape[2]):
            sums[0, i, b] = 0.0
            sums[1, i, b] = 0.0
            sums[2, i, b] = 0.0
        for r in range(n_regions):
            c = column[r]
            b = bloc_of[r]
            supply, demand, build, d_supply, d_demand, d_build = quantities(
                y[i, b], log_floor[i, c], terms[0, c], terms[1, c], terms[2, c], terms[3, c],
                u[c], demand_ref[i, r], capacity[i, r], supply_elasticity[i, c],
                min_utilisation[i, c], limit[i, c], inv_target[i, r], inv_adjust[i, c],
                inv_stock[i, r])
            supply_out[i, r] = supply
            demand_out[i, r] = demand
            build_out[i, r] = build
            if slopes:
                d_supply_out[i, r] = d_supply
                d_demand_out[i, r] = d_demand
                d_build_out[i, r] = d_build
            es, ed = extra_supply[i, r], extra_demand[i, r]
            sums[0, i, b] += demand + build - supply + (ed - es)
            sums[1, i, b] += supply + demand + abs(build) + es + ed
            own = input_limit[i, r]
            sums[2, i, b] += (demand_ref[i, r] + capacity[i, r] + inv_target[i, r]
                              + inv_stock[i, r] + es + ed + (own if own < np.inf else 0.0))


def _settle(m: MarketArrays, resp: Response, residual: Array, gross: Array, volume: Array,
            flow: Array, state: Array) -> tuple[Array, Array | None, Array, Array]:
    """Markets that no price within the search window can clear (demand with no supply, stock
    or import anywhere in reach; stockholders who keep buying at any price; a supply floor with
    no buyer): within each component of price-linked blocs the shortage is rationed over
    everything bought, or the unsold output is stocked where it was made, and the links'
    flows are derived again from the settled balances, so that every bloc balances exactly.
    Rare by construction: only the rows concerned are touched, and ``resp``'s demand and build
    are corrected in place. Returns the residual, the rationed share of demand (None when
    nothing was rationed), the blocs' gross volume and the flows. A bloc's imbalance is judged
    against what it trades, never below the solver's own tolerance on its normal size (1e-14,
    :func:`_solve_rows`); a bloc with nothing to trade at all (no demand, capacity or stock:
    flows only pass through it) against the whole market, as it only carries the solver's
    tolerance on those flows."""
    market = (gross + volume).sum(axis=1, keepdims=True)
    scale = np.where(volume > 0, np.maximum(gross, 1e-5 * volume),
                     np.where(market > 0, 1e-3 * market, 1.0))
    stuck = np.abs(residual) > 1e-9 * scale
    if not stuck.any():
        return residual, None, gross, flow
    log.warning("%d bloc(s) could not clear at any price: demand rationed or output stocked",
                int(stuck.sum()))
    n_blocs = m.n_blocs
    rows = np.flatnonzero(stuck.any(axis=1))
    codes, which = network.index_codes(network.encode(state[rows]), flow.shape[1])
    tab = network.tables(n_blocs, codes)
    # (k, R, K): region r's bloc lies in component c (components numbered as blocs at most)
    in_comp = tab.comp_of[which][:, m.bloc_of, None] == np.arange(n_blocs)[None, None, :]
    bloc_comp = tab.comp_of[which][:, :, None] == np.arange(n_blocs)[None, None, :]

    def per_region(bloc_totals: Array) -> Array:  # (k, B) → each region's component total
        comp_totals = np.einsum("kb,kbc->kc", bloc_totals, bloc_comp)
        return np.einsum("kc,krc->kr", comp_totals, in_comp)

    def component_sum(values: Array) -> Array:  # (k, R) → each region's component total
        return np.einsum("kc,krc->kr", np.einsum("kr,krc->kc", values, in_comp), in_comp)

    res = residual[rows]
    hit = per_region(stuck[rows].astype(float)) > 0
    short = np.where(hit, np.maximum(per_region(res), 0.0), 0.0)
    glut = np.where(hit, np.maximum(-per_region(res), 0.0), 0.0)
    supply, demand, build = resp.supply[rows], resp.demand[rows], resp.build[rows]
    buying = component_sum(demand + np.maximum(build, 0.0))
    share = np.minimum(np.divide(short, buying, out=np.zeros_like(short), where=buying > 0), 1.0)
    # unsold output is stocked where it was made, or spread over the component's regions
    weight = np.where(component_sum(supply) > 0, supply, 1.0)
    stocked = glut * weight / component_sum(weight)
    new_build = np.where(build > 0, build * (1.0 - share), build) + stocked
    new_demand = demand * (1.0 - share)
    member = membership(m)
    extra_supply, extra_demand = m.extra_supply[rows], m.extra_demand[rows]
    excess = (new_demand + new_build - supply + (extra_demand - extra_supply)) @ member
    cap = m.cap[rows]
    fixed = (np.where(tab.fix_pos[which], cap[..., 0], 0.0)
             - np.where(tab.fix_neg[which], cap[..., 1], 0.0))
    inc = network.incidence(n_blocs)
    fixed_nx = fixed @ inc.T
    new_flow = fixed - np.einsum("kpb,kb->kp", tab.flow_map[which], excess + fixed_nx)
    residual, gross, flow = residual.copy(), gross.copy(), flow.copy()
    residual[rows] = excess + new_flow @ inc.T
    gross[rows] = (supply + new_demand + np.abs(new_build) + extra_supply + extra_demand) @ member
    flow[rows] = new_flow
    resp.demand[rows] = new_demand
    resp.build[rows] = new_build
    rationed = np.zeros(resp.demand.shape)
    rationed[rows] = share
    return residual, rationed, gross, flow


def _feasible_start(m: MarketArrays, state: Array) -> Array:
    """Warm starts that this period's caps rule out start shut: interior links on a direction
    whose cap is now zero, capped links whose cap is gone (shutting keeps links a forest)."""
    cap_pos, cap_neg = m.cap[..., 0], m.cap[..., 1]
    shut = (((cap_pos <= 0) & (state == network.POS_INT))
            | ((cap_neg <= 0) & (state == network.NEG_INT))
            | (~np.isfinite(cap_pos) & (state == network.POS_CAP))
            | (~np.isfinite(cap_neg) & (state == network.NEG_CAP)))
    out = state.copy()
    out[shut] = network.ZERO
    return out


@jit
def _component(z: float, k: int, comp_of: Array, offset: Array, fixed_nx: Array,
               bloc_of: Array, i: int, log_p0: Array, demand_ref: Array,
               demand_elasticity: Array, capacity: Array, utilisation: Array,
               supply_elasticity: Array, min_utilisation: Array, log_floor: Array,
               input_limit: Array, inv_target: Array, inv_sensitivity: Array,
               inv_adjust: Array, inv_stock: Array, log_choke: Array, choke_taper: Array,
               extra_supply: Array, extra_demand: Array, excess: Array
               ) -> tuple[float, float, float, float]:
    """Balance of component ``k`` of row ``i`` at component log price ``z``: (excess demand
    incl. fixed net exports, its slope, its curvature, gross volume); bloc excess demands into
    ``excess``. Below the choke's taper every term is ``coefficient · e^(elasticity · z)``, so
    a term's second derivative is its elasticity times its slope; in the taper it is computed
    (:func:`critmin.engine.kernels.factor_curvature`)."""
    n_blocs = offset.shape[0]
    for b in range(n_blocs):
        if comp_of[b] == k:
            excess[b] = 0.0
    slope = 0.0
    curvature = 0.0
    gross = 0.0
    p0 = log_p0[i, 0]
    for c in range(bloc_of.shape[0]):
        b = bloc_of[c]
        if comp_of[b] != k:
            continue
        supply, demand, build, d_supply, d_demand, d_build = curve(
            z + offset[b], p0, demand_ref[i, c], demand_elasticity[i, c], capacity[i, c],
            utilisation[i, c], supply_elasticity[i, c], min_utilisation[i, c], log_floor[i, c],
            input_limit[i, c], inv_target[i, c], inv_sensitivity[i, c], inv_adjust[i, c],
            inv_stock[i, c], log_choke[i, c], choke_taper[i, c])
        es, ed = extra_supply[i, c], extra_demand[i, c]
        excess[b] += demand + build - supply + (ed - es)
        slope += d_demand + d_build - d_supply
        zc = z + offset[b] - p0
        if zc > log_choke[i, c] - choke_taper[i, c]:  # in or past the taper
            curvature += (demand_ref[i, c] * factor_curvature(
                zc, demand_elasticity[i, c], log_choke[i, c], choke_taper[i, c])
                + inv_adjust[i, c] * inv_target[i, c] * factor_curvature(
                    zc, -inv_sensitivity[i, c], log_choke[i, c], choke_taper[i, c])
                - supply_elasticity[i, c] * d_supply)
        else:
            curvature += (demand_elasticity[i, c] * d_demand - inv_sensitivity[i, c] * d_build
                          - supply_elasticity[i, c] * d_supply)
        gross += demand + abs(build) + supply + (ed + es)
    value = 0.0
    for b in range(n_blocs):
        if comp_of[b] == k:
            value += excess[b] + fixed_nx[b]
    return value, slope, curvature, gross


@jit
def _solve_rows(rows: Array, which: Array, comp_of: Array, n_comp: Array, off_pos: Array,
                off_neg: Array, fix_pos: Array, fix_neg: Array, flow_map: Array, pi: Array,
                pj: Array, bloc_of: Array, log_p0: Array, demand_ref: Array,
                demand_elasticity: Array, capacity: Array, utilisation: Array,
                supply_elasticity: Array, min_utilisation: Array, log_floor: Array,
                input_limit: Array, inv_target: Array, inv_sensitivity: Array,
                inv_adjust: Array, inv_stock: Array, log_choke: Array, choke_taper: Array,
                extra_supply: Array, extra_demand: Array, wedge: Array, cap: Array,
                y_start: Array, scale: Array, y_out: Array, g_out: Array) -> None:
    """Bloc log prices and pair flows of ``rows``, each in its regime (``which`` indexes the
    stacked tables of :func:`critmin.engine.network.tables`).

    Every component of price-linked blocs has one unknown, the log price ``z`` of its root;
    its balance is decreasing in ``z`` and is solved by Halley/Newton steps (capped at
    ``MAX_STEP``) inside a bracket that tightens with every evaluation, with bisection when
    the step leaves the bracket or fails to halve (rtsafe's rule, against bouncing across a kink of
    the supply curve) and doubling steps until a bracket is found. The search stays within
    ``p0 ± LOG_RANGE``: a balance without a root there (a regime that cannot hold) stops at
    the boundary and the regime check moves on. Converged rows cost nothing more.
    """
    n_blocs = y_start.shape[1]
    n_pairs = pi.shape[0]
    offset = np.empty(n_blocs)
    fixed = np.empty(n_pairs)
    fixed_nx = np.empty(n_blocs)
    excess = np.zeros(n_blocs)
    for k in range(rows.shape[0]):
        i = rows[k]
        u = which[k]
        for b in range(n_blocs):
            pos = 0.0
            neg = 0.0
            for p in range(n_pairs):
                pos += wedge[i, p, 0] * off_pos[u, b, p]
                neg += wedge[i, p, 1] * off_neg[u, b, p]
            offset[b] = pos + neg
            fixed_nx[b] = 0.0
        for p in range(n_pairs):
            flow = 0.0
            if fix_pos[u, p]:
                flow = cap[i, p, 0]
            elif fix_neg[u, p]:
                flow = -cap[i, p, 1]
            fixed[p] = flow
            fixed_nx[pi[p]] += flow
            fixed_nx[pj[p]] -= flow
        z_min = log_p0[i, 0] - LOG_RANGE
        z_max = log_p0[i, 0] + LOG_RANGE
        for comp in range(n_comp[u]):
            root = 0
            while comp_of[u, root] != comp:
                root += 1
            size = 0.0
            fixed_size = 0.0
            for b in range(n_blocs):
                if comp_of[u, b] == comp:
                    size += scale[i, b] + abs(fixed_nx[b])
                    fixed_size += abs(fixed_nx[b])
            floor_tol = 1e-14 * size + 1e-300
            z = min(max(y_start[i, root] - offset[root], z_min), z_max)
            lo, hi = -np.inf, np.inf
            expand = 1.0
            last_step = np.inf
            settled = False
            for _ in range(MAX_NEWTON):
                value, slope, curvature, gross = _component(
                    z, comp, comp_of[u], offset, fixed_nx, bloc_of, i, log_p0, demand_ref,
                    demand_elasticity, capacity, utilisation, supply_elasticity,
                    min_utilisation, log_floor, input_limit, inv_target, inv_sensitivity,
                    inv_adjust, inv_stock, log_choke, choke_taper, extra_supply, extra_demand,
                    excess)
                # nothing trades at this price (demand choked, nothing to sell or stock) but it
                # did below: the lowest such price, the choke, is the one that clears
                idle = gross == 0.0 and value == 0.0 and lo > -np.inf
                # tolerance relative to the flows at this price (markets can shrink by orders
                # of magnitude under a shock), never below round-off of the reference volume
                if not idle and abs(value) <= max(BALANCE_RTOL * (gross + fixed_size),
                                                  floor_tol):
                    settled = True
                    break
                positive = value > 0.0  # excess demand: price too low
                if positive:
                    lo = max(lo, z)
                else:
                    hi = min(hi, z)
                if (positive and z >= z_max) or (not positive and z <= z_min) or (
                        hi - lo <= 1e-14 * max(1.0, abs(z))):
                    settled = True
                    break
                bracketed = lo > -np.inf and hi < np.inf
                limit = MAX_STEP if bracketed else max(MAX_STEP, expand)
                newton_ok = False
                clipped = False
                if slope < 0.0:
                    raw = -value / slope
                    # Halley's correction (third-order convergence: about one evaluation
                    # fewer from a warm start) while it is a modest change of the Newton step
                    correction = value * curvature / (2.0 * slope * slope)
                    if abs(correction) < 0.5:
                        raw /= 1.0 - correction
                    step = min(max(raw, -limit), limit)
                    candidate = z + step
                    clipped = abs(raw) > limit
                    newton_ok = (np.isfinite(candidate) and lo < candidate < hi
                                 and (not bracketed or abs(step) <= 0.5 * last_step))
                if newton_ok:
                    z_new = candidate
                elif bracketed:
                    z_new = 0.5 * (lo + hi)
                else:
                    z_new = z + expand if positive else z - expand
                if not bracketed and (not newton_ok or clipped):
                    expand *= 2.0
                z_new = min(max(z_new, z_min), z_max)
                last_step = abs(z_new - z)
                z = z_new
            if not settled:  # bloc excess at the last iterate
                _component(z, comp, comp_of[u], offset, fixed_nx, bloc_of, i, log_p0,
                           demand_ref, demand_elasticity, capacity, utilisation,
                           supply_elasticity, min_utilisation, log_floor, input_limit,
                           inv_target, inv_sensitivity, inv_adjust, inv_stock, log_choke,
                           choke_taper, extra_supply, extra_demand, excess)
            for b in range(n_blocs):
                if comp_of[u, b] == comp:
                    y_out[i, b] = z + offset[b]
        for p in range(n_pairs):  # fixed flows; interior ones from the bloc balances
            flow = fixed[p]
            for b in range(n_blocs):
                flow -= flow_map[u, p, b] * (excess[b] + fixed_nx[b])
            g_out[i, p] = flow


def _update_states(
    wedge: Array, cap: Array, y: Array, g: Array, state: Array, scale: Array, *, single: bool
) -> Array:
    """Next regime from the complementarity conditions, keeping price links a forest.

    Interior links whose flow left ``[0, cap]`` shut or cap; links with unexploited arbitrage
    (or a cap that no longer binds) enter. An entering link that would close a loop of price
    links is a network-simplex pivot: a circulation around the loop changes no bloc balance, so
    the link whose flow reaches a bound first (ratio test) leaves, or the entering link goes
    straight to its own bound. With ``single`` only each row's largest violation moves (damping
    for the rare regimes that cycle). The loop over pairs (at most six) is over bloc pairs.
    """
    n_blocs = y.shape[1]
    pi, pj = network.pairs(n_blocs)
    n_pairs = len(pi)
    rows = np.arange(len(y))
    gap = y[:, pj] - y[:, pi]  # log price of j minus i
    w_pos, w_neg = wedge[..., 0], wedge[..., 1]
    cap_pos, cap_neg = cap[..., 0], cap[..., 1]
    flow_tol = 1e-10 * np.maximum(scale[:, pi], scale[:, pj]) + 1e-300
    s = state
    # interior links whose flow left its bounds
    drop_neg = (s == network.POS_INT) & (g < -flow_tol)
    drop_cap = (s == network.POS_INT) & (g > cap_pos + flow_tol)
    rise_zero = (s == network.NEG_INT) & (g > flow_tol)
    rise_cap = (s == network.NEG_INT) & (-g > cap_neg + flow_tol)
    # entering links: arbitrage on a shut link, or a cap that no longer binds
    open_pos = (s == network.ZERO) & (gap > w_pos + PRICE_TOL)
    open_neg = (s == network.ZERO) & (-gap > w_neg + PRICE_TOL)
    free_pos = (s == network.POS_CAP) & (gap < w_pos - PRICE_TOL)
    free_neg = (s == network.NEG_CAP) & (-gap < w_neg - PRICE_TOL)
    if single:  # damping after many rounds: only the largest violation of each row moves
        size = np.select(
            [drop_neg | rise_zero, drop_cap, rise_cap, open_pos | free_pos, open_neg | free_neg],
            [np.abs(g) / flow_tol, (g - cap_pos) / flow_tol, (-g - cap_neg) / flow_tol,
             np.abs(gap - w_pos) / PRICE_TOL, np.abs(gap + w_neg) / PRICE_TOL],
            default=0.0,
        )
        best = np.zeros(size.shape, dtype=bool)
        best[rows, np.argmax(size, axis=1)] = True
        drop_neg, drop_cap, rise_zero, rise_cap = (x & best for x in
                                                   (drop_neg, drop_cap, rise_zero, rise_cap))
        open_pos, open_neg, free_pos, free_neg = (x & best for x in
                                                  (open_pos, open_neg, free_pos, free_neg))
    new = s.copy()
    new[drop_neg | rise_zero] = network.ZERO
    new[drop_cap] = network.POS_CAP
    new[rise_cap] = network.NEG_CAP
    # entering links: target state and the sign of the flow change
    target = np.select(
        [open_pos, open_neg, free_pos, free_neg],
        [np.where(cap_pos > 0, network.POS_INT, network.POS_CAP),
         np.where(cap_neg > 0, network.NEG_INT, network.NEG_CAP),
         np.where(cap_pos > 0, network.POS_INT, network.ZERO),
         np.where(cap_neg > 0, network.NEG_INT, network.ZERO)],
        default=-1,
    )
    push = np.select([open_pos | free_neg, open_neg | free_pos], [1.0, -1.0], default=0.0)
    room_enter = np.where(push > 0, np.where(open_pos, cap_pos, cap_neg),
                          np.where(open_neg, cap_neg, cap_pos))
    far_bound = np.select([open_pos, open_neg], [network.POS_CAP, network.NEG_CAP],
                          default=network.ZERO)
    structural = (target == network.POS_INT) | (target == network.NEG_INT)
    direct = (target >= 0) & ~structural
    new[direct] = target[direct]
    # 3. structural entries, pair by pair, with a pivot when a loop would close
    interior = (new == network.POS_INT) | (new == network.NEG_INT)
    mask = interior.astype(np.int64) @ (2 ** np.arange(n_pairs, dtype=np.int64))
    labels, paths = network.component_labels(n_blocs), network.path_signs(n_blocs)
    pivoted = np.zeros(len(y), dtype=bool)
    for p in range(n_pairs):
        want = structural[:, p]
        if not want.any():
            continue
        lab = labels[mask]
        joined = lab[:, pi[p]] == lab[:, pj[p]]
        simple = want & ~joined
        new[simple, p] = target[simple, p]
        mask = np.where(simple, mask | (1 << p), mask)
        loop = want & joined & ~pivoted
        if not loop.any():
            continue
        r = rows[loop]
        path = paths[mask[r], pi[p], pj[p]].astype(float)  # (k, P)
        delta = -push[r, p][:, None] * path  # flow change per unit circulation
        st = new[r]
        lower = np.where(st == network.POS_INT, 0.0, -cap_neg[r])
        upper = np.where(st == network.POS_INT, cap_pos[r], 0.0)
        room = np.where(delta > 0, upper - g[r], np.where(delta < 0, g[r] - lower, np.inf))
        room = np.maximum(room, 0.0)
        leave = np.argmin(room, axis=1)
        leave_room = room[np.arange(len(r)), leave]
        enter_first = room_enter[r, p] <= leave_room
        # the entering link goes to its far bound: no change of structure
        new[r[enter_first], p] = far_bound[r[enter_first], p]
        # otherwise it enters and the leaving link goes to the bound it reached
        rr, lv = r[~enter_first], leave[~enter_first]
        up = delta[~enter_first][np.arange(len(rr)), lv] > 0
        was_pos = new[rr, lv] == network.POS_INT
        new[rr, lv] = np.where(up, np.where(was_pos, network.POS_CAP, network.ZERO),
                               np.where(was_pos, network.ZERO, network.NEG_CAP))
        new[rr, p] = target[rr, p]
        mask[rr] = (mask[rr] | (1 << p)) & ~(1 << lv)
        pivoted[r] = True
    return new.astype(np.int8)
