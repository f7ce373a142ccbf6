"""The vectorised market-clearing solver: a spatial price equilibrium with wedges and caps.

For every problem (draw × market) it finds bloc log prices ``y`` and signed pair flows ``g`` with

* every bloc balanced: supply + imports + stock draw + extra supply = demand + exports + stock
  build + extra demand;
* no profitable arbitrage over a link below its cap (``y_j − y_i ≤ w_ij``), equality where the
  flow is interior, flows at caps where the price gap exceeds the wedge.

Method (blocs are few, problems many): an active-set iteration on the trade regime of each pair
(see :mod:`critmin.engine.network`). For a given regime every component of price-linked blocs
has one unknown price; its balance is a monotone 1-D equation solved for all problems at once by
a safeguarded Newton/bisection on log price. Regimes are then checked against the complementarity
conditions and updated; problems are grouped by regime so that each group is solved with a few
array operations (the loop runs over the handful of distinct regimes present, never over draws,
regions or commodities). Warm starts come from the previous period. Rows whose regime iteration
fails to settle fall back to the scalar reference solver.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from critmin.engine import network
from critmin.engine.kernels import (
    Array,
    Features,
    MarketArrays,
    Response,
    compress,
    excess_slope,
    gross_volume,
    region_volume,
    respond,
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


def clear(
    m: MarketArrays,
    log_price0: Array | None = None,
    state0: Array | None = None,
) -> Solution:
    """Solve all problems of ``m``; ``log_price0``/``state0`` are warm starts (n, B)/(n, P)."""
    full = m
    m = compress(full)
    n, n_blocs = m.n, m.n_blocs
    member = membership(m)
    y_start = np.broadcast_to(m.log_p0, (n, n_blocs)).copy()
    if log_price0 is not None:  # warm start, within a sane window around p0
        y_start = np.clip(log_price0, m.log_p0 - WARM_RANGE, m.log_p0 + WARM_RANGE)
    state = initial_state(m) if state0 is None else state0.astype(np.int8).copy()
    state = _feasible_start(m, state)
    scale = region_volume(m) @ member  # (n, B)
    y = y_start.copy()
    g = np.zeros(m.wedge.shape[:2])
    todo = np.arange(n)
    rounds = 0
    for rounds in range(1, MAX_REGIME_ROUNDS + 1):
        codes = network.encode(state[todo])
        for code in np.unique(codes):
            rows = todo[codes == code]
            y[rows], g[rows] = _solve_regime(m.take(rows), network.regime(n_blocs, int(code)),
                                             y_start[rows], member, scale[rows])
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
    resp = respond(full, y[:, full.bloc_of])
    member_full = membership(full)
    residual = bloc_excess(full, resp, member_full) + g @ network.incidence(n_blocs).T
    resp, residual, rationed = _settle(full, resp, residual, member_full)
    return Solution(y, g, state, resp, residual, rounds, fallback, rationed)


def _settle(m: MarketArrays, resp: Response, residual: Array, member: Array
            ) -> tuple[Response, Array, Array]:
    """Blocs that no price within the search window can balance (demand with no supply, stock
    or import anywhere in reach; or a supply floor with no buyer): demand is rationed, or the
    unsold output is stocked, so that mass still balances exactly. Rare by construction."""
    scale = gross_volume(resp, m) @ member
    stuck = np.abs(residual) > 1e-9 * np.where(scale > 0, scale, 1.0)
    rationed = np.zeros(resp.demand.shape)
    if not stuck.any():
        return resp, residual, rationed
    log.warning("%d bloc(s) could not clear at any price: demand rationed or output stocked",
                int(stuck.sum()))
    short = np.where(stuck, np.maximum(residual, 0.0), 0.0)[:, m.bloc_of]
    glut = np.where(stuck, np.maximum(-residual, 0.0), 0.0)[:, m.bloc_of]
    buying = resp.demand + np.maximum(resp.build, 0.0)
    bloc_buying = (buying @ member)[:, m.bloc_of]
    share = np.divide(short, bloc_buying, out=np.zeros_like(short), where=bloc_buying > 0)
    share = np.minimum(share, 1.0)
    # unsold output is stocked where it was made, or spread over the bloc that imported it
    weight = np.where((resp.supply @ member)[:, m.bloc_of] > 0, resp.supply, 1.0)
    bloc_weight = (weight @ member)[:, m.bloc_of]
    stocked = glut * weight / bloc_weight
    build = np.where(resp.build > 0, resp.build * (1.0 - share), resp.build) + stocked
    settled = Response(supply=resp.supply, demand=resp.demand * (1.0 - share), build=build,
                       d_supply=resp.d_supply, d_demand=resp.d_demand, d_build=resp.d_build)
    residual = np.where(stuck, bloc_excess(m, settled, member) + (residual - bloc_excess(
        m, resp, member)), residual)
    return settled, residual, share


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


def _solve_regime(
    m: MarketArrays, reg: network.Regime, y_start: Array, member: Array, scale: Array
) -> tuple[Array, Array]:
    """Bloc log prices and pair flows of rows that share one regime."""
    w_pos, w_neg = m.wedge[..., 0], m.wedge[..., 1]
    cap_pos, cap_neg = m.cap[..., 0], m.cap[..., 1]
    offset = w_pos @ reg.off_pos.T + w_neg @ reg.off_neg.T  # (n, B)
    fixed = np.where(reg.fix_pos, cap_pos, 0.0) - np.where(reg.fix_neg, cap_neg, 0.0)  # (n, P)
    inc = network.incidence(m.n_blocs)
    fixed_nx = fixed @ inc.T  # fixed net exports per bloc
    comp = reg.comp
    floor_tol = 1e-14 * ((scale + np.abs(fixed_nx)) @ comp) + 1e-300
    features = Features.of(m)

    def balance(z: Array) -> tuple[Array, Array, Array, Array]:
        y = z @ comp.T + offset
        region_excess, region_slope, gross = excess_slope(m, y, features)
        excess = region_excess @ member
        # tolerance relative to the flows at this price (markets can shrink by orders of
        # magnitude under a shock), never below round-off of the reference volume
        tol = np.maximum(BALANCE_RTOL * ((gross @ member + np.abs(fixed_nx)) @ comp), floor_tol)
        return (excess + fixed_nx) @ comp, (region_slope @ member) @ comp, excess, tol

    z0 = y_start[:, reg.roots] - offset[:, reg.roots]
    centre = m.log_p0 + np.zeros_like(z0)
    z, excess = _newton_bisection(balance, z0, centre)
    y = z @ comp.T + offset
    g = fixed.copy()
    if reg.interior.size:
        g[:, reg.interior] = (-(excess + fixed_nx)) @ reg.flow_map.T
    return y, g


def _newton_bisection(balance, z: Array, centre: Array
                      ) -> tuple[Array, Array]:
    """Roots of decreasing 1-D functions, one per column, vectorised over rows; returns the
    roots and ``balance``'s third output (bloc excess) there. ``balance(z)`` gives (value,
    slope, bloc excess, tolerance).

    Newton steps (capped at ``MAX_STEP``) inside a bracket that tightens with every evaluation;
    bisection when Newton leaves the bracket; doubling steps until a bracket is found. The search
    stays within ``centre ± LOG_RANGE``; a function without a root there (a regime that cannot
    hold) stops at the boundary and the regime check moves on.
    """
    lo = np.full_like(z, -np.inf)
    hi = np.full_like(z, np.inf)
    expand = np.ones_like(z)
    last_step = np.full_like(z, np.inf)
    z_min, z_max = centre - LOG_RANGE, centre + LOG_RANGE
    z = np.clip(z, z_min, z_max)
    done = np.zeros(z.shape, dtype=bool)
    for _ in range(MAX_NEWTON):
        value, slope, extra, tol = balance(z)
        done |= np.abs(value) <= tol
        positive = value > 0  # excess demand: price too low
        lo = np.where(~done & positive, np.maximum(lo, z), lo)
        hi = np.where(~done & ~positive, np.minimum(hi, z), hi)
        stuck = (positive & (z >= z_max)) | (~positive & (z <= z_min))
        narrow = (hi - lo) <= 1e-14 * np.maximum(1.0, np.abs(z))
        done |= stuck | narrow
        if done.all():
            break
        bracketed = np.isfinite(lo) & np.isfinite(hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = -value / slope
        limit = np.where(bracketed, MAX_STEP, np.maximum(MAX_STEP, expand))
        step = np.clip(raw, -limit, limit)
        candidate = z + step
        # Newton must stay inside the bracket and, once bracketed, at least halve its step
        # (else it can bounce across a kink of the supply curve): rtsafe's rule
        shrinking = ~bracketed | (np.abs(step) <= 0.5 * last_step)
        newton_ok = ((slope < 0) & np.isfinite(candidate) & (candidate > lo) & (candidate < hi)
                     & shrinking)
        search = np.where(positive, z + expand, z - expand)
        with np.errstate(invalid="ignore"):
            fallback = np.where(bracketed, 0.5 * (lo + hi), search)
        clipped = np.abs(raw) > limit
        expand = np.where(~bracketed & (~newton_ok | clipped), expand * 2.0, expand)
        z_new = np.clip(np.where(newton_ok, candidate, fallback), z_min, z_max)
        last_step = np.where(done, last_step, np.abs(z_new - z))
        z = np.where(done, z, z_new)
    else:
        extra = balance(z)[2]
    return z, extra


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
