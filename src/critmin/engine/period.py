"""The period loop's element-wise updates, compiled: one pass over (draws, nodes, regions) each.

:mod:`critmin.engine.loop` owns the order of things and the meaning of each step (its module doc);
these kernels only carry them out. Written as plain loops (numba) because each step touches a
dozen arrays of draws × nodes × regions: as array expressions every operation would sweep memory
again and allocate a temporary (the loop spent most of its time doing so), where a compiled loop
reads each element once and writes its results in place. The formulas are those of the original
array code, term for term; the model's own functions (:func:`critmin.engine.dynamics.expect`,
:func:`~critmin.engine.dynamics.substitute`) are compiled from their source rather than
restated.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from critmin.engine.dynamics import expect, substitute
from critmin.engine.kernels import Array, demand_factor, jit


@overload(np.clip)
def _clip_numbers(a, a_min, a_max, out=None):  # type: ignore[no-untyped-def]
    """``np.clip`` on plain numbers inside compiled code (numba has it for arrays only), so
    that the model's functions compile as they are written."""
    if all(isinstance(x, types.Float | types.Integer) for x in (a, a_min, a_max)):
        def impl(a, a_min, a_max, out=None):  # type: ignore[no-untyped-def]
            return min(max(a, a_min), a_max)
        return impl
    return None


_expect = jit(expect)
_substitute = jit(substitute)


@jit
def open_period(t: int, ppy: float, capacity: Array, project_capacity: Array,
                restart_timer: Array, idle: Array, mothballed: Array, restarting: Array,
                added: Array, growth: Array, trend: Array,
                capacity_step: Array, capacity_mult: Array, host_index: Array,
                final_node: Array, final_demand0: Array, demand_mult: Array,
                substitution: Array,
                log_price: Array, bloc_of: Array, log_p0: Array, utilisation: Array,
                supply_elasticity: Array, min_utilisation: Array, stage_yield: Array,
                input_stock: Array, inv_adjust: Array, upstream: Array, cover: Array,
                announce_uplift: Array, uplift_on: Array, inventory: Array, k_eff: Array,
                notional: Array, final_demand: Array, need: Array, inv_target: Array,
                held_target: Array, capacity_pp: Array, demand_ref: Array,
                scratch: Array) -> None:
    """Steps 1–2 of a period before the policy hooks (``loop`` module doc): trend growth,
    arrivals and restarts; effective capacity, notional and final demand; processors' input
    bids on their upstream node (planned at last period's price, scaled down to what the
    upstream stage can make worldwide); stock targets — cover of final demand and of
    processors' input need, ``held_target`` the part processors hold as working stock of their
    input — and opening stocks at ``t = 0`` (all in commercial hands, on the stock rule's
    steady path under trend growth; processors buy their part in the first periods, see
    :func:`close_level`).
    Shock arrays are this period's (N, R) slices; ``trend`` carries ``growth ** t``;
    ``capacity_pp`` receives capacity per period and ``demand_ref`` the bids at p0 (final
    demand + input bids); ``scratch`` is (N, R). Final demand exists at final stages and
    input bids on upstream nodes only: elsewhere those buffers keep their zeros untouched."""
    n_draws, n_nodes, n_regions = capacity.shape
    need_ref = scratch
    for d in range(n_draws):
        for i in range(n_nodes):
            for r in range(n_regions):
                if t:  # trend investment keeps baseline capacity in step with baseline demand;
                    # it grows the whole installed base, so plants in care and maintenance come
                    # back on the trend path (else every closure left a lasting deficit)
                    capacity[d, i, r] *= growth[d, i, r]
                    idle[d, i, r] *= growth[d, i, r]
                    mothballed[d, i, r] *= growth[d, i, r]
                    restarting[d, i, r] *= growth[d, i, r]
                k = capacity[d, i, r] * capacity_step[i, r]  # a dumping supplier's expansion
                k += added[d, i, r]
                project_capacity[d, i, r] += added[d, i, r]
                timer = restart_timer[d, i, r]
                if timer > 0.0:
                    timer -= 1.0
                    if timer <= 0.0:
                        back = min(restarting[d, i, r], idle[d, i, r])
                        k += back
                        idle[d, i, r] -= back
                        mothballed[d, i, r] = min(mothballed[d, i, r], idle[d, i, r])
                        restarting[d, i, r] = 0.0
                else:
                    timer = 0.0
                restart_timer[d, i, r] = timer
                capacity[d, i, r] = k
                k_eff[d, i, r] = k * capacity_mult[i, r] * host_index[i, r]
                need_ref[i, r] = 0.0
                if final_node[i]:
                    if t:
                        trend[d, i, r] *= growth[d, i, r]
                    demand = final_demand0[d, i, r] * trend[d, i, r] * demand_mult[i, r]
                    notional[d, i, r] = demand
                    final_demand[d, i, r] = demand * (1.0 - substitution[d, i, r])
        for i in range(n_nodes):
            u = upstream[i]
            if u < 0:
                continue
            y0 = log_p0[i]
            yld = stage_yield[d, i]
            planned = 0.0
            most = 0.0
            for r in range(n_regions):
                per_period = k_eff[d, i, r] / ppy
                u_plan = max(min_utilisation[i, r], min(1.0, utilisation[d, i, r] * np.exp(
                    supply_elasticity[d, i, r] * (log_price[d, i, bloc_of[r]] - y0))))
                bid = per_period * u_plan / yld  # their stock is managed by its own rule
                need[d, u, r] = bid
                need_ref[u, r] = per_period * utilisation[d, i, r] / yld
                planned += bid
                most += k_eff[d, u, r]
            most /= ppy
            scale = min(1.0, most / (planned if planned > 0.0 else 1.0))
            for r in range(n_regions):
                need[d, u, r] *= scale
        for i in range(n_nodes):
            for r in range(n_regions):
                stock = cover[d, i, r] * ppy * (notional[d, i, r] + need_ref[i, r])
                uplift = 1.0 + announce_uplift[d, i, r] * uplift_on[i, r]
                inv_target[d, i, r] = stock * uplift
                held_target[d, i, r] = cover[d, i, r] * ppy * need_ref[i, r] * uplift
                if t == 0:  # on the stock rule's steady path under trend growth
                    g = growth[d, i, r] - 1.0
                    kappa = inv_adjust[d, i, r]
                    inventory[d, i, r] = stock * kappa / (g + kappa) if g + kappa > 0 else stock
                capacity_pp[d, i, r] = k_eff[d, i, r] / ppy
                demand_ref[d, i, r] = final_demand[d, i, r] + need[d, i, r]


@jit
def close_level(nodes: Array, y: Array, supply: Array, demand: Array, build: Array,
                in_place: bool, final_demand: Array, need: Array, stage_yield: Array,
                upstream: Array, downstream: Array, log_p0: Array, bloc_of: Array,
                inv_sensitivity: Array, inv_adjust: Array, log_choke: Array,
                choke_taper: Array, held_target: Array, acquired: Array, log_price: Array,
                inventory: Array, input_stock: Array, price: Array, production: Array,
                consumption: Array, final: Array, stock_build: Array) -> None:
    """Step 3 after one chain level cleared (rows ``d · k + j`` for node ``nodes[j]``): the
    period record, what final users and processors got (their bids at p0 scaled as the
    region's demand was by the price and any rationing), the new prices and stocks, and
    processors' input stocks (input bought minus input used for what they made, never below
    zero). ``in_place``: supply, demand and build already are the record's arrays.

    A node's stock rule covers final demand and processors' input need together (the market
    cleared on the sum of both stocks); the processors' part — ``κ · (held · (p/p0)^(−σ) ·
    s(p) − their stock)``, the same rule on their share — is theirs: a working stock they buy
    at the market price (booked as consumption) and draw when their input runs short. Without
    it a processor's output was capped by the input it planned a period ahead, and an
    unplanned rise of its own price turned into a spike, the next plan into a glut: a cobweb
    through the chain (baseline separated-oxide prices reached 7e10 × p0)."""
    n_draws = final_demand.shape[0]
    n_regions = final_demand.shape[2]
    n_blocs = y.shape[1]
    k = nodes.shape[0]
    for d in range(n_draws):
        for j in range(k):
            i = nodes[j]
            row = d * k + j
            for b in range(n_blocs):
                log_price[d, i, b] = y[row, b]
                price[d, i, b] = np.exp(y[row, b])
            u = upstream[i]
            down = downstream[i]
            for r in range(n_regions):
                bid = final_demand[d, i, r]
                input_bid = need[d, i, r]
                bids = bid + input_bid
                bought = demand[row, r]
                factor = bought / bids if bids > 0.0 else 0.0
                made = supply[row, r]
                stocked = build[row, r]
                held = 0.0
                if down >= 0:  # processors' part of the stock rule (never more than there is)
                    want = held_target[d, i, r]
                    if want != 0.0:
                        want *= demand_factor(y[row, bloc_of[r]] - log_p0[i],
                                              -inv_sensitivity[d, i, r], log_choke[d, i, r],
                                              choke_taper[d, i, r])[0]
                    held = min(inv_adjust[d, i, r] * (want - input_stock[d, down, r]),
                               stocked + inventory[d, i, r])
                    input_stock[d, down, r] += held
                production[d, i, r] = made
                consumption[d, i, r] = bought + held
                stock_build[d, i, r] = stocked - held
                final[d, i, r] = bid * factor
                acquired[d, i, r] = input_bid * factor
                inventory[d, i, r] += stocked - held
                if u >= 0:  # processors use input for what they made; the rest is stocked
                    used = made / stage_yield[d, i]
                    input_stock[d, i, r] = max(0.0, input_stock[d, i, r] + acquired[d, u, r]
                                               - used)


@jit
def close_period(ppy: float, log_price: Array, bloc_of: Array, log_p0: Array,
                 log_floor: Array, expected: Array, expectation: Array, final_node: Array,
                 substitution: Array, sub_elasticity: Array, sub_cap: Array, sub_speed: Array,
                 capacity: Array, start_share: Array, log_incentive: Array, log_cash: Array,
                 dumping: Array, below_cost: Array, closure: Array, production: Array,
                 k_eff: Array, supply_elasticity: Array, idle: Array, mothballed: Array,
                 restarting: Array, restart_timer: Array,
                 restart: Array, starts: Array, column: Array, consumption: Array,
                 final: Array, notional: Array, inventory: Array, stock_build: Array,
                 input_stock: Array, extra_supply: Array, extra_demand: Array, share: bool,
                 extras: bool, recording: bool, out: Array) -> None:
    """Step 4 (but the project pipeline, which the loop feeds with ``starts``), and, if
    ``recording`` (no policy hook left to act after it), the period's record (:func:`record`)
    in the same visit of each cell.

    Adaptive expectations; substitution at final stages (toward its price-driven target, never
    back); project starts where the producer's expected price beats the incentive price;
    after ``closure`` periods under cash cost, capacity is mothballed down to what the expected
    market would keep running at the cash-cost price, ``K · (expected ÷ cash)^ε_s`` (plants
    stop from the margin, never a whole region at once, and no more than brings the price back
    to cash cost: closing down to today's depressed output at normal utilisation overshot, and
    a glut's closures turned into shortages and closure–restart cycles). Capacity mothballed so
    restarts once expected prices are back at the reference price, where it ran before (a
    restart costs a fraction of a new project: waiting for the incentive price left a glut's
    closures idle for good whenever prices settled between p0 and the incentive price); the
    rest of the idle capacity — idle in the data, so not viable at p0 — once they beat the
    incentive price.

    """
    n_draws, n_nodes, n_regions = capacity.shape
    acc = np.zeros((12, out.shape[2]))
    for d in range(n_draws):
        for i in range(n_nodes):
            y0 = log_p0[i]
            acc[:] = 0.0
            for r in range(n_regions):
                y_reg = log_price[d, i, bloc_of[r]]
                floor = log_floor[d, i, r]
                e = _expect(expected[d, i, r], y_reg, expectation[d, i, r])
                expected[d, i, r] = e
                sub = 0.0
                got = 0.0
                wanted = 0.0
                if final_node[i]:  # elsewhere these stay zero
                    sub = _substitute(substitution[d, i, r], e - y0, sub_elasticity[d, i, r],
                                      sub_cap[d, i, r], sub_speed[d, i, r])
                    substitution[d, i, r] = sub
                    got = final[d, i, r]
                    wanted = notional[d, i, r]
                y_producer = max(e, floor)
                pays = y_producer > y0 + log_incentive[d, i, r]
                k = capacity[d, i, r]
                starts[d, i, r] = start_share[d, i, r] * k if pays else 0.0
                below = max(y_reg, floor) < y0 + log_cash[d, i, r] and not dumping[i, r]
                count = below_cost[d, i, r] + 1.0 if below else 0.0
                made = production[d, i, r]
                if count >= closure[d, i, r]:  # keep K' with K' · u(cash) = K · u(expected)
                    gap = y_producer - y0 - log_cash[d, i, r]
                    closed = k * (1.0 - min(np.exp(supply_elasticity[d, i, r] * gap), 1.0))
                    idle[d, i, r] += closed
                    mothballed[d, i, r] += closed
                    capacity[d, i, r] = k - closed
                    count = 0.0
                below_cost[d, i, r] = count
                if idle[d, i, r] > 0.0 and restart_timer[d, i, r] <= 0.0:
                    if pays:  # everything idle
                        restarting[d, i, r] = idle[d, i, r]
                        restart_timer[d, i, r] = restart[d, i, r]
                    elif mothballed[d, i, r] > 0.0 and y_producer > y0:
                        restarting[d, i, r] = mothballed[d, i, r]
                        restart_timer[d, i, r] = restart[d, i, r]
                if recording:
                    _accumulate(acc, column[r], made, consumption[d, i, r], got, wanted, sub,
                                inventory[d, i, r],
                                stock_build[d, i, r], k_eff[d, i, r], input_stock[d, i, r],
                                extra_supply[d, i, r], extra_demand[d, i, r], share, extras)
            if recording:
                out[:, d * n_nodes + i, :] = acc


@jit
def record(column: Array, production: Array, consumption: Array, final: Array,
           notional: Array, substitution: Array, inventory: Array, stock_build: Array,
           k_eff: Array, input_stock: Array, extra_supply: Array, extra_demand: Array,
           share: bool, extras: bool, out: Array) -> None:
    """The period's series of :class:`critmin.engine.loop.Trajectory` into ``out`` (12,
    D · N, X), region ``r`` summed into column ``column[r]`` (itself for region detail, its
    bloc for bloc detail); substitution as a share by region (``share``) or substituted
    tonnes when summed; the policy extras are read only if some hook may have set them
    (``extras``). Sums are formed in a small scratch per (draw, node) and written once."""
    n_draws, n_nodes, n_regions = production.shape
    acc = np.zeros((12, out.shape[2]))
    for d in range(n_draws):
        for i in range(n_nodes):
            acc[:] = 0.0
            for r in range(n_regions):
                _accumulate(acc, column[r], production[d, i, r], consumption[d, i, r],
                            final[d, i, r], notional[d, i, r], substitution[d, i, r],
                            inventory[d, i, r], stock_build[d, i, r], k_eff[d, i, r],
                            input_stock[d, i, r], extra_supply[d, i, r], extra_demand[d, i, r],
                            share, extras)
            out[:, d * n_nodes + i, :] = acc


@jit
def _accumulate(acc: Array, x: int, made: float, bought: float, got: float, wanted: float,
                sub: float, stock: float, built: float, k_eff: float, input_stock: float,
                extra_supply: float, extra_demand: float, share: bool, extras: bool) -> None:
    """One region's contribution to the record, in the order of ``_Recorder.NAMES``: what
    final users wanted after substitution but gave up for the price is demand destroyed;
    what they would have bought at reference prices but did not get is unmet demand."""
    acc[0, x] += made
    acc[1, x] += bought
    acc[2, x] += got
    acc[3, x] += max(wanted * (1.0 - sub) - got, 0.0)
    acc[4, x] += max(wanted - got, 0.0)
    acc[5, x] += stock
    acc[6, x] += built
    acc[7, x] += k_eff
    acc[8, x] += input_stock
    acc[9, x] += sub if share else sub * wanted
    if extras:
        acc[10, x] += extra_supply
        acc[11, x] += extra_demand
