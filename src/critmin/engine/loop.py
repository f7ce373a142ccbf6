"""The period loop: clear every market each period, then let capacity, stocks and designs move.

``simulate`` runs a scenario's baseline (no shocks) and the shocked scenario with the same
parameter draws and returns both, so every result is measured against its own baseline. Per
period:

1. capacity grows with baseline demand (trend investment keeps the reference world on a
   balanced path, so price-driven projects are the response to scarcity, not to growth; the
   reference output that goes into stock growth is not sold to users, so the path balances at
   p0), arrives from projects started ``lead`` earlier (ramping up), and restarts finish;
2. shocks and policy hooks set this period's capacities, demand, floors, wedges and caps;
3. stages clear in chain order (mine before refinery before magnets): a downstream stage's
   processors bid upstream for the input their planned output needs (planned at last period's
   price, never beyond the upstream stage's world capacity) and keep a working stock of it
   (their part of the upstream stock rule), and their output is limited by the input they got
   and hold; each stage is a spatial price equilibrium over blocs solved for all draws and
   chains at once (:func:`critmin.engine.clearing.clear`), with demand choked at
   ``choke_price_multiple × p0`` (:func:`critmin.engine.kernels.choke`);
4. expectations adapt, substitution ratchets up (never back), projects start where expected
   prices beat the incentive price, and after ``closure_quarters`` under cash cost capacity is
   mothballed down to what the expected market keeps running at the cash-cost price; idle
   capacity restarts (after ``restart_lead_time_years``) once expected prices are back at the
   reference price.

Arrays carry a leading draw axis; the only Python loops are over periods, chain levels (≤ 3)
and the few shock entries. Steps 1, 3 (after clearing) and 4 run as compiled passes over the
(draws, nodes, regions) arrays (:mod:`critmin.engine.period`), on buffers allocated once per
run; each stage clears on views of them. Parameters that do not vary by region are held once
per draw and node. Policy hooks see the same arrays as before; without hooks the period's
record is written in the same pass as step 4.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal, Protocol

import numpy as np

from critmin.engine import clearing, network, period
from critmin.engine.dynamics import Pipeline, Rates, per_period
from critmin.engine.kernels import MarketArrays, gross_volume, region_volume
from critmin.engine.shocks import ShockPlan, compile_shocks
from critmin.errors import CritminError
from critmin.scenario.model import Scenario
from critmin.world import Blocs, World, assign_blocs

Array = np.ndarray
Detail = Literal["region", "bloc"]
Solver = Literal["vectorised", "reference"]


@dataclass
class PeriodInputs:
    """What policy hooks may change before a period clears (arrays over D, N, R or D, N, P, 2).

    ``extra_supply``/``extra_demand`` are fixed tonnes (stockpile release/purchase, recycling);
    ``log_floor`` the producer price floor (log USD/t, −inf = none) that sets utilisation,
    investment and closures; ``wedge_add`` log ad valorem wedges (tariffs); ``cap`` directed
    trade caps after shocks (hooks may raise or lower them); ``capacity_add`` capacity added
    for good (t per year).
    """

    t: int
    extra_supply: Array
    extra_demand: Array
    log_floor: Array
    wedge_add: Array
    cap: Array
    capacity_add: Array


@dataclass
class PeriodOutcome:
    """One cleared period (D, N, B prices; D, N, R quantities in t per period)."""

    t: int
    log_price: Array
    flow: Array
    production: Array
    consumption: Array
    inventory: Array


class PolicyHook(Protocol):
    """A policy tool plugged into the loop (stockpiles, floors, tariffs, clubs, incentives)."""

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None: ...

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None: ...


@dataclass
class EngineState:
    """Everything that carries from one period to the next (hooks may read and adjust it)."""

    log_price: Array  # (D, N, B) last cleared prices
    regime: Array  # (D, N, P) trade regimes (warm start)
    expected: Array  # (D, N, R) expected log price
    substitution: Array  # (D, N, R) share of final demand substituted
    inventory: Array  # (D, N, R) commercial stocks
    input_stock: Array  # (D, N, R) processors' stock of upstream input
    capacity: Array  # (D, N, R) active capacity, t/yr
    idle: Array  # (D, N, R) capacity in care and maintenance, t/yr
    mothballed: Array  # (D, N, R) the part of it closed in a glut (restarts at p0), t/yr
    restarting: Array  # (D, N, R) idle capacity whose restart is under way, t/yr
    below_cost: Array  # (D, N, R) consecutive periods under cash cost
    restart_timer: Array  # (D, N, R) periods until a restart completes (0 = none)
    pipeline: Pipeline
    project_capacity: Array  # (D, N, R) capacity from projects so far, t/yr


@dataclass
class Trajectory:
    """Recorded series of one run: (D, T, N, X) with X = regions or blocs (``detail``)."""

    price: Array  # (D, T, N, B) USD/t
    flow: Array  # (D, T, N, P) t per period, signed (i→j positive)
    production: Array
    consumption: Array  # all purchases: final users and processors
    final_consumption: Array
    demand_destroyed: Array  # final demand given up because of the price
    unmet_demand: Array  # final demand at reference prices not served (price + substitution)
    inventory: Array  # end-of-period commercial stocks
    inventory_change: Array
    capacity: Array  # t/yr
    input_stock: Array
    substitution: Array  # share (region detail) or substituted tonnes (bloc detail)
    extra_supply: Array
    extra_demand: Array
    balance_error: Array  # (D, T, N) largest relative bloc imbalance


@dataclass
class Run:
    """A simulation: the scenario's shocked run and its baseline, same draws."""

    world: World
    blocs: Blocs
    scenario: Scenario
    labels: list[str]
    parameters: dict[str, Array]
    shocked: Trajectory
    baseline: Trajectory
    detail: Detail
    seed: int
    n_draws: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Setup:
    """Static arrays of a run (computed once from the world and the parameter draws)."""

    y0: Array  # (N,) log reference price
    levels: list[Array]  # node indices per chain level
    upstream: Array  # (N,) upstream node or −1
    downstream: Array  # (N,) downstream node or −1
    final: Array  # (N,) bool: last stage of its chain (final demand)
    capacity0: Array  # (D, N, R) active capacity, t/yr
    idle0: Array  # (D, N, R)
    utilisation: Array  # (D, N, R) u0 so that K·u0 = reference output
    final_demand0: Array  # (D, N, R) t per period at p0
    stage_yield: Array  # (D, N)
    wedge: Array  # (D, N, P, 2) log transport wedge
    leakage: Array  # (D, N)
    member: Array  # (R, B)
    rates: Rates
    params: dict[str, Array]
    ppy: int
    shape_class: list[Array]  # per level: (R,) ids of regions with identical curve shapes
    log_choke: Array  # (D, N, R) log(choke price ÷ p0), inf = none
    choke_taper: Array  # (D, N, R) log price width of the taper below the choke


def simulate(
    world: World,
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    hooks: Sequence[PolicyHook] = (),
    detail: Detail = "region",
    solver: Solver = "vectorised",
    progress: Callable[[str, int, int], None] | None = None,
) -> Run:
    """Simulate ``scenario`` on ``world``: baseline then shocked run, same parameter draws."""
    n_draws = scenario.draws if draws is None else int(draws)
    seed = scenario.seed if seed is None else int(seed)
    if n_draws < 1:
        raise CritminError(f"draws must be at least 1 (got {n_draws})")
    blocs = assign_blocs(world, scenario.blocs, on=_start_date(scenario))
    # C order: registry draws come out of fancy indexing transposed, and the compiled steps
    # run several times faster on contiguous arrays
    params = {k: np.ascontiguousarray(v) for k, v in
              world.draw_parameters(n_draws, seed, scenario.sampling).items()}
    setup = _setup(world, blocs, params, scenario.periods_per_year)
    plan = compile_shocks(scenario, world, blocs)
    baseline = _run(world, blocs, setup, scenario.horizon, _calm(plan), None, (), detail,
                    solver, lambda t, n: progress("baseline", t, n) if progress else None)
    normal = None
    if plan.any_trade:
        g = baseline.flow
        normal = np.stack([np.maximum(g, 0.0), np.maximum(-g, 0.0)], axis=-1)
    shocked = _run(world, blocs, setup, scenario.horizon, plan, normal, hooks, detail, solver,
                   lambda t, n: progress("scenario", t, n) if progress else None)
    return Run(world, blocs, scenario, scenario.labels(), params, shocked, baseline, detail,
               seed, n_draws, list(world.notes))


def _start_date(scenario: Scenario) -> str:
    first = scenario.labels()[0]
    if scenario.time_step == "quarter":
        year, q = first.split("Q")
        return f"{year}-{3 * (int(q) - 1) + 1:02d}-01"
    return f"{first}-01"


def _calm(plan: ShockPlan) -> ShockPlan:
    """The same grid with no shocks (the baseline)."""
    return ShockPlan(
        capacity_mult=np.ones_like(plan.capacity_mult),
        host_index=np.ones_like(plan.host_index),
        demand_mult=np.ones_like(plan.demand_mult),
        min_utilisation=np.zeros_like(plan.min_utilisation),
        capacity_step=np.ones_like(plan.capacity_step),
        dumping=np.zeros_like(plan.dumping),
        uplift_on=np.zeros_like(plan.uplift_on),
        wedge_add=np.zeros_like(plan.wedge_add),
        share_cap=np.full_like(plan.share_cap, np.inf),
        ban=np.full_like(plan.ban, np.nan),
    )


def _setup(world: World, blocs: Blocs, params: dict[str, Array], ppy: int) -> _Setup:
    """Reference output, capacity and demand per draw, consistent along each chain."""
    n_nodes = world.n_nodes
    level = np.array([n.level for n in world.nodes])
    upstream = np.array([n.upstream for n in world.nodes])
    downstream = np.full(n_nodes, -1)
    downstream[upstream[upstream >= 0]] = np.flatnonzero(upstream >= 0)
    final = downstream < 0
    _check_parameters(world, params, upstream)
    u0 = params["utilisation_ref"].copy()
    yld = np.where(upstream >= 0, params["stage_yield"][:, :, 0], 1.0)
    if np.isnan(yld).any():
        bad = world.nodes[int(np.flatnonzero(np.isnan(yld).any(axis=0))[0])]
        raise CritminError(f"{bad.label}: no stage_yield in the registry")
    cap_share = params.get("capacity_share", np.zeros_like(u0))
    dem_share = params.get("demand_share", np.zeros_like(u0))
    n_draws = u0.shape[0]
    # a growing market adds to its stocks every period (on the stock rule's steady path:
    # cover × κ·g/(g + κ) of a period's use): that share of reference output is not sold to
    # users, so the reference path balances at p0 instead of drifting up the supply curve
    grow = (1.0 + params["demand_growth"]) ** (1.0 / ppy) - 1.0
    kappa = 1.0 - (1.0 - params["inventory_adjust_rate"]) ** (4.0 / ppy)
    stocked = grow * kappa / (grow + kappa) * params["inventory_cover_months"] / 12.0 * ppy
    sold = 1.0 / (1.0 + stocked.mean(axis=2))  # (D, N)
    prod = np.zeros_like(u0)
    for lv in range(level.max() + 1):
        for i in np.flatnonzero(level == lv):  # ≤ a dozen nodes, once per run
            node = world.nodes[i]
            if lv > 0:
                total = prod[:, upstream[i]].sum(axis=1, keepdims=True) * sold[:, upstream[i], None]
                prod[:, i] = cap_share[:, i] * yld[:, i, None] * total
            elif np.isfinite(world.production[i]).any():
                prod[:, i] = np.nan_to_num(world.production[i])
            elif node.byproduct:
                recovery = params["byproduct_recovery"][:, i, :1]
                prod[:, i] = cap_share[:, i] * recovery * world.host_production[i].sum()
    if np.isnan(prod).any():
        raise CritminError("reference output has gaps (missing byproduct_recovery?)")
    capacity = np.where(u0 > 0, prod / np.where(u0 > 0, u0, 1.0), 0.0)
    data_cap = np.broadcast_to(world.capacity, capacity.shape)
    has_cap = np.isfinite(data_cap)
    capped = np.where(has_cap, np.clip(capacity, prod, np.maximum(data_cap, prod)), capacity)
    idle = np.where(has_cap, np.maximum(np.nan_to_num(data_cap) - capped, 0.0), 0.0)
    # u0 stays the registry's value (bit for bit: equal curves can then be merged by the
    # solver) except where installed capacity from the data caps K below output / u0
    clipped = has_cap & (capped != capacity)
    utilisation = np.where(clipped & (capped > 0), prod / np.where(capped > 0, capped, 1.0), u0)
    totals = prod.sum(axis=2, keepdims=True)
    final_demand = np.where(final[None, :, None],
                            dem_share * totals * sold[:, :, None], 0.0) / ppy
    missing = final & (np.abs(dem_share.sum(axis=2) - 1.0) > 1e-6).any(axis=0)
    if missing.any():
        bad = world.nodes[int(np.flatnonzero(missing)[0])]
        raise CritminError(f"{bad.label}: demand_share rows do not cover the regions "
                           "(they must sum to 1)")
    n_pairs = len(network.pairs(blocs.n_blocs)[0])
    wedge = np.log1p(params["transport_wedge"][:, :, 0])
    member = np.zeros((world.n_regions, blocs.n_blocs))
    member[np.arange(world.n_regions), blocs.bloc_of] = 1.0
    rates = per_period(params, ppy)
    levels = [np.flatnonzero(level == lv) for lv in range(level.max() + 1)]
    log_choke, choke_taper = _choke(params)
    shapes = (params["demand_elasticity"], params["inventory_price_sensitivity"],
              rates.inv_adjust, utilisation, params["supply_elasticity"], log_choke, choke_taper)
    shape_class = []
    for nodes in levels:  # regions whose curves coincide in every draw can be summed
        columns = np.ascontiguousarray(np.concatenate(
            [np.moveaxis(a[:, nodes], 2, 0).reshape(world.n_regions, -1) for a in shapes],
            axis=1))
        # one opaque key per region (its bytes): sorting R keys, not R × columns fields;
        # byte equality is stricter than float equality, so no unequal curves are merged
        keys = columns.view(np.dtype((np.void, columns.dtype.itemsize * columns.shape[1])))
        shape_class.append(np.unique(keys.ravel(), return_inverse=True)[1].ravel())
    # parameters that do not vary by region are held once per draw and node
    # (not those the project pipeline flattens: it would copy them every period)
    compact_params = {k: v if k == "ramp_achievement" else _compact(v)
                      for k, v in params.items()}
    rates = Rates(**{f.name: getattr(rates, f.name) if f.name in ("lead", "ramp")
                     else _compact(getattr(rates, f.name)) for f in fields(Rates)})
    return _Setup(
        y0=np.log(world.price_ref),
        levels=levels,
        upstream=upstream, downstream=downstream, final=final,
        capacity0=capped, idle0=idle, utilisation=_compact(utilisation),
        final_demand0=final_demand,
        stage_yield=yld, wedge=np.broadcast_to(wedge[:, :, None, None],
                                               (n_draws, n_nodes, n_pairs, 2)).copy(),
        leakage=params["leakage_share"][:, :, 0], member=member,
        rates=rates, params=compact_params, ppy=ppy, shape_class=shape_class,
        log_choke=_compact(log_choke), choke_taper=_compact(choke_taper),
    )


def _choke(params: dict[str, Array]) -> tuple[Array, Array]:
    """(log choke multiple, log taper width) per (draw, node, region); worlds without choke
    parameters (hand-built ones that leave them out) get no choke (``inf``)."""
    multiple = params.get("choke_price_multiple")
    ratio = params.get("choke_taper_ratio")
    if multiple is None or ratio is None:
        shape = params["demand_elasticity"].shape
        return np.full(shape, np.inf), np.ones(shape)
    on = np.isfinite(multiple) & np.isfinite(ratio)
    log_choke = np.where(on, np.log(np.where(on, multiple, 1.0)), np.inf)
    taper = np.where(on, np.log(np.where(on, ratio, np.e)), 1.0)
    return log_choke, taper


#: Parameters whose value must be strictly positive for the model to be defined, and why.
_POSITIVE = {
    "utilisation_ref": "capacity = reference output ÷ utilisation",
    "stage_yield": "a downstream stage's input need = output ÷ yield",
    "incentive_price_multiple": "projects start above log(multiple × p0)",
}


def _check_parameters(world: World, params: dict[str, Array], upstream: Array) -> None:
    """Stop with a one-line error on values (often the end of a range) that leave the model
    undefined, rather than letting NaN into the results."""
    for name, why in _POSITIVE.items():
        values = params[name]
        if name == "stage_yield":
            values = values[:, upstream >= 0]
            nodes = [n for n, u in zip(world.nodes, upstream, strict=True) if u >= 0]
        else:
            nodes = list(world.nodes)
        bad = ~(values > 0)
        if bad.any():
            d, i, r = (int(k) for k in np.argwhere(bad)[0])
            raise CritminError(
                f"parameter {name} = {float(values[d, i, r]):g} for {nodes[i].label} "
                f"(region {world.regions[r]}) leaves the model undefined ({why}); "
                "allowed: a value > 0")
    if "choke_price_multiple" in params and "choke_taper_ratio" in params:
        multiple, ratio = params["choke_price_multiple"], params["choke_taper_ratio"]
        bad = (multiple <= ratio) | (ratio <= 1.0)  # NaN (no choke) compares False
        if bad.any():
            d, i, r = (int(k) for k in np.argwhere(bad)[0])
            raise CritminError(
                f"parameter choke_price_multiple = {float(multiple[d, i, r]):g} with "
                f"choke_taper_ratio = {float(ratio[d, i, r]):g} for {world.nodes[i].label} "
                f"(region {world.regions[r]}) chokes demand at the reference price; allowed: "
                "choke_taper_ratio > 1 and choke_price_multiple > choke_taper_ratio")


def _run(world: World, blocs: Blocs, su: _Setup, n_periods: int, plan: ShockPlan,
         normal: Array | None, hooks: Sequence[PolicyHook], detail: Detail, solver: Solver,
         tick: Callable[[int, int], None]) -> Trajectory:
    """One run over the horizon (see the module doc for the order of things).

    The element-wise steps run as compiled passes (:mod:`critmin.engine.period`) over arrays
    allocated once per run; each chain level clears on views of them (no copies when a level
    has one node). Only the period loop and the chain levels are Python loops.
    """
    p, r = su.params, su.rates
    n_draws, n_nodes, n_regions = su.capacity0.shape
    n_blocs = blocs.n_blocs
    n_pairs = su.wedge.shape[2]
    shape = (n_draws, n_nodes, n_regions)
    y0r = su.y0[None, :, None]
    cover = _compact(p["inventory_cover_months"] / 12.0)
    state = EngineState(
        log_price=np.broadcast_to(su.y0[None, :, None], (n_draws, n_nodes, n_blocs)).copy(),
        regime=np.full((n_draws, n_nodes, n_pairs), network.ZERO, dtype=np.int8),
        expected=np.broadcast_to(y0r, shape).copy(),
        substitution=np.zeros(shape),
        inventory=np.zeros(shape),
        input_stock=np.zeros(shape),
        capacity=su.capacity0.copy(),
        idle=su.idle0.copy(),
        mothballed=np.zeros(shape),
        restarting=np.zeros(shape),
        below_cost=np.zeros(shape),
        restart_timer=np.zeros(shape),
        pipeline=Pipeline.empty(n_periods, shape),
        project_capacity=np.zeros(shape),
    )
    rec = _Recorder(n_draws, n_periods, n_nodes, n_blocs, n_pairs,
                    blocs.bloc_of if detail == "bloc" else np.arange(n_regions),
                    n_blocs if detail == "bloc" else n_regions)
    bloc_of = np.ascontiguousarray(blocs.bloc_of, dtype=np.intp)
    upstream = np.ascontiguousarray(su.upstream, dtype=np.intp)
    downstream = np.ascontiguousarray(su.downstream, dtype=np.intp)
    # buffers written by the compiled steps every period
    (k_eff, notional, final_dem, need, inv_target, held_target, acquired, starts, trend,
     capacity_pp, demand_ref) = (np.zeros(shape) for _ in range(11))
    trend[:] = 1.0
    limit = np.full(shape, np.inf)  # input limits of downstream stages
    no_limit = _filled(shape, np.inf)
    work = [clearing.Workspace(slopes=False) for _ in su.levels]
    scratch = np.zeros((n_nodes, n_regions))
    # shared inputs when no policy hook runs (hooks get fresh arrays each period)
    # (one value repeated: the compiled steps read them from cache, not from memory)
    zeros = _filled(shape, 0.0)
    no_floor = _filled(shape, -np.inf)
    no_wedge = np.zeros(su.wedge.shape)
    reused = None if hooks else _PeriodRecord(n_draws, n_nodes, n_blocs, n_pairs, n_regions)
    for t in range(n_periods):
        added = state.pipeline.step(t)
        _as_buffers(state)
        period.open_period(
            t, float(su.ppy), state.capacity, state.project_capacity, state.restart_timer,
            state.idle, state.mothballed, state.restarting, added, r.growth, trend,
            plan.capacity_step[t], plan.capacity_mult[t],
            plan.host_index[t], su.final, su.final_demand0, plan.demand_mult[t],
            state.substitution, state.log_price, bloc_of, su.y0, su.utilisation,
            p["supply_elasticity"], plan.min_utilisation[t], su.stage_yield,
            state.input_stock, r.inv_adjust, upstream, cover,
            p["announce_cover_uplift"], plan.uplift_on[t], state.inventory, k_eff, notional,
            final_dem, need, inv_target, held_target, capacity_pp, demand_ref, scratch)
        inputs = PeriodInputs(
            t=t, extra_supply=zeros if not hooks else np.zeros(shape),
            extra_demand=zeros if not hooks else np.zeros(shape),
            log_floor=no_floor if not hooks else np.full(shape, -np.inf),
            wedge_add=no_wedge if not hooks else np.zeros(su.wedge.shape),
            cap=plan.caps(t, np.arange(n_nodes), None if normal is None else normal[:, t],
                          su.leakage),
            capacity_add=zeros if not hooks else np.zeros(shape))
        for hook in hooks:
            hook.before_period(inputs, state)
        if hooks:
            state.capacity = state.capacity + inputs.capacity_add
            k_eff += inputs.capacity_add * plan.capacity_mult[t]
            np.divide(k_eff, su.ppy, out=capacity_pp)
            _as_buffers(state)
        out = reused or _PeriodRecord(n_draws, n_nodes, n_blocs, n_pairs, n_regions)
        for lv, nodes in enumerate(su.levels):
            lower = nodes[upstream[nodes] >= 0]  # a stage makes no more than its input allows
            if lower.size:
                limit[:, lower] = ((state.input_stock[:, lower] + acquired[:, upstream[lower]])
                                   * su.stage_yield[:, lower, None])
            limited = limit if lower.size else no_limit
            m = _market(su, blocs, nodes, capacity_pp, demand_ref, limited, state, inv_target,
                        _repeat(plan.min_utilisation[t], 0, n_draws), plan, t, inputs,
                        su.shape_class[lv])
            k = len(nodes)
            views: tuple[Array, ...] = ()
            if k == 1:  # the solver writes region quantities straight into the record
                i = int(nodes[0])
                views = (out.production[:, i], out.consumption[:, i], out.build[:, i])
                work[lv].bind(supply=views[0], demand=views[1], build=views[2])
            sol = _solve(m, state.log_price[:, nodes].reshape(n_draws * k, n_blocs),
                         state.regime[:, nodes].reshape(n_draws * k, n_pairs), solver, work[lv])
            resp = sol.response
            in_place = bool(views) and all(a is b for a, b in zip(
                (resp.supply, resp.demand, resp.build), views, strict=True))
            period.close_level(
                np.ascontiguousarray(nodes, dtype=np.intp), sol.log_price, resp.supply,
                resp.demand, resp.build, in_place, final_dem, need, su.stage_yield, upstream,
                downstream, su.y0, bloc_of, p["inventory_price_sensitivity"], r.inv_adjust,
                su.log_choke, su.choke_taper, held_target, acquired, state.log_price,
                state.inventory, state.input_stock, out.price, out.production, out.consumption,
                out.final, out.build)
            state.regime[:, nodes] = sol.state.reshape(n_draws, k, n_pairs)
            out.flow[:, nodes] = sol.flow.reshape(n_draws, k, n_pairs)
            # imbalance relative to the bloc's normal size (demand at p0, capacity, stocks),
            # so a market rationed to nothing is not judged by its remaining dust
            size = sol.size if sol.size is not None else (
                region_volume(m) + gross_volume(resp, m)) @ clearing.membership(m)
            rel = np.abs(sol.residual) / np.where(size > 0, size, 1.0)
            out.error[:, nodes] = rel.max(axis=1).reshape(n_draws, k)
        # between periods and, unless a hook acts after the period, the record in one pass
        extra_supply, extra_demand = _writable(inputs.extra_supply), _writable(
            inputs.extra_demand)
        recorded = rec.slot(t)
        period.close_period(
            float(su.ppy), state.log_price, bloc_of, su.y0, _writable(inputs.log_floor),
            state.expected, r.expectation, su.final, state.substitution,
            p["substitution_price_elasticity"], p["substitution_cap"], r.sub_speed,
            state.capacity, r.start_share, r.log_incentive, r.log_cash, plan.dumping[t],
            state.below_cost, r.closure, out.production, k_eff, p["supply_elasticity"],
            state.idle, state.mothballed, state.restarting,
            state.restart_timer, r.restart, starts, rec.column, out.consumption, out.final,
            notional, state.inventory, out.build, state.input_stock, extra_supply,
            extra_demand, rec.by_region, bool(hooks), not hooks, recorded)
        state.pipeline.add(t, starts, r.lead, r.ramp, p["ramp_achievement"])
        if hooks:
            outcome = PeriodOutcome(t, state.log_price.copy(), out.flow, out.production,
                                    out.consumption, state.inventory.copy())
            for hook in hooks:
                hook.after_period(outcome, state)
            _as_buffers(state)
            period.record(rec.column, out.production, out.consumption, out.final, notional,
                          state.substitution, state.inventory, out.build, k_eff,
                          state.input_stock, extra_supply, extra_demand, rec.by_region, True,
                          recorded)
        rec.keep(t, out)
        tick(t + 1, n_periods)
    return rec.trajectory()


def _as_buffers(state: EngineState) -> None:
    """State arrays as the compiled steps need them (float64, C order, writable); a no-op
    unless a policy hook replaced one by something else."""
    for name in ("capacity", "project_capacity", "restart_timer", "idle", "mothballed",
                 "restarting", "substitution",
                 "log_price", "input_stock", "inventory", "expected", "below_cost"):
        setattr(state, name, _writable(getattr(state, name), contiguous=True))


def _repeat(a: Array, axis: int, size: int) -> Array:
    """``a`` repeated ``size`` times along a new ``axis`` without copying (stride 0): the
    compiled steps then read one value where a full array would stream ``size`` of them."""
    shape = (*a.shape[:axis], size, *a.shape[axis:])
    strides = (*a.strides[:axis], 0, *a.strides[axis:])
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)


def _compact(a: Array) -> Array:
    """A (D, N, R) array that does not vary by region (most registry parameters), held once
    per draw and node and repeated over regions (see :func:`_repeat`)."""
    if a.ndim != 3 or a.shape[2] < 2 or not (a == a[:, :, :1]).all():
        return a
    return _repeat(np.ascontiguousarray(a[:, :, 0]), 2, a.shape[2])


def _filled(shape: tuple[int, ...], value: float) -> Array:
    """An array of ``shape`` holding ``value`` everywhere, as one element repeated (stride
    0). Only for inputs nothing writes to."""
    return np.lib.stride_tricks.as_strided(np.full(1, value), shape, (0,) * len(shape))


def _writable(a: Array, contiguous: bool = False) -> Array:
    """``a`` as float64 the compiled steps can take (C order if ``contiguous``); a copy only
    if a policy hook supplied something else."""
    if a.dtype == np.float64 and a.flags.writeable and (a.flags.c_contiguous or not contiguous):
        return a
    return np.array(a, dtype=np.float64, order="C")


def _rows(a: Array, nodes: Array) -> Array:
    """A level's rows (draws × its nodes) of a (D, N, …) array: a view when the level has one
    node, else a copy."""
    if len(nodes) == 1:
        return a[:, int(nodes[0])]
    return np.ascontiguousarray(a[:, nodes]).reshape(-1, *a.shape[2:])


def _market(su: _Setup, blocs: Blocs, nodes: Array, capacity: Array, demand_ref: Array,
            limit: Array, state: EngineState, inv_target: Array, floor_t: Array,
            plan: ShockPlan, t: int, inputs: PeriodInputs, shape_class: Array) -> MarketArrays:
    """Clearing inputs of one chain level, flattened to (draws × nodes) problems."""
    p = su.params
    n_draws = capacity.shape[0]
    k = len(nodes)
    wedge = su.wedge[:, nodes] + plan.wedge_add[t, nodes][None] + inputs.wedge_add[:, nodes]
    return MarketArrays(
        bloc_of=blocs.bloc_of, n_blocs=blocs.n_blocs,
        log_p0=np.repeat(su.y0[nodes][None], n_draws, axis=0).reshape(-1, 1),
        demand_ref=_rows(demand_ref, nodes),
        demand_elasticity=_rows(p["demand_elasticity"], nodes),
        capacity=_rows(capacity, nodes),
        utilisation=_rows(su.utilisation, nodes),
        supply_elasticity=_rows(p["supply_elasticity"], nodes),
        min_utilisation=_rows(floor_t, nodes),
        log_floor=_rows(_writable(inputs.log_floor), nodes),
        input_limit=_rows(limit, nodes),
        inv_target=_rows(inv_target, nodes),
        inv_sensitivity=_rows(p["inventory_price_sensitivity"], nodes),
        inv_adjust=_rows(su.rates.inv_adjust, nodes),
        inv_stock=_rows(_stocks(su, state, nodes), nodes),
        log_choke=_rows(su.log_choke, nodes),
        choke_taper=_rows(su.choke_taper, nodes),
        extra_supply=_rows(_writable(inputs.extra_supply), nodes),
        extra_demand=_rows(_writable(inputs.extra_demand), nodes),
        wedge=wedge.reshape(n_draws * k, su.wedge.shape[2], 2),
        cap=np.ascontiguousarray(inputs.cap[:, nodes]).reshape(n_draws * k, su.wedge.shape[2], 2),
        shape_class=shape_class,
    )


def _stocks(su: _Setup, state: EngineState, nodes: Array) -> Array:
    """Stocks the stock rule of ``nodes`` works on: commercial stocks plus the working stock
    of input held by the processors downstream (their share of the same rule)."""
    down = su.downstream[nodes]
    if (down < 0).all():
        return state.inventory
    out = state.inventory.copy()
    has = down >= 0
    out[:, nodes[has]] += state.input_stock[:, down[has]]
    return out


def _solve(m: MarketArrays, y_start: Array, state0: Array, solver: Solver,
           work: clearing.Workspace | None = None) -> clearing.Solution:
    if solver == "vectorised":
        return clearing.clear(m, y_start, state0, work)
    from critmin.engine.kernels import respond
    from critmin.engine.reference import clear_one

    rows = [clear_one(m, i) for i in range(m.n)]  # the scalar reference: one problem at a time
    y = np.stack([s.log_price for s in rows])
    g = np.stack([s.flow for s in rows])
    resp = respond(m, y[:, m.bloc_of])
    member = clearing.membership(m)
    residual = clearing.bloc_excess(m, resp, member) + g @ network.incidence(m.n_blocs).T
    return clearing.Solution(y, g, np.stack([s.state for s in rows]), resp, residual, 0, m.n)


class _PeriodRecord:
    """One period's outputs over all nodes (filled level by level)."""

    def __init__(self, n_draws: int, n_nodes: int, n_blocs: int, n_pairs: int,
                 n_regions: int) -> None:
        shape = (n_draws, n_nodes, n_regions)
        self.price = np.zeros((n_draws, n_nodes, n_blocs))
        self.flow = np.zeros((n_draws, n_nodes, n_pairs))
        self.production = np.zeros(shape)
        self.consumption = np.zeros(shape)
        self.final = np.zeros(shape)
        self.build = np.zeros(shape)
        self.error = np.zeros((n_draws, n_nodes))


class _Recorder:
    """Series over the horizon, by region or summed into blocs (period-major while filling)."""

    #: the series in the order :func:`critmin.engine.period.record` writes them
    NAMES = ("production", "consumption", "final_consumption", "demand_destroyed",
             "unmet_demand", "inventory", "inventory_change", "capacity", "input_stock",
             "substitution", "extra_supply", "extra_demand")

    def __init__(self, n_draws: int, n_periods: int, n_nodes: int, n_blocs: int, n_pairs: int,
                 column: Array, width: int) -> None:
        self.column = np.ascontiguousarray(column, dtype=np.intp)
        self.by_region = width == len(column) and np.array_equal(column, np.arange(width))
        self.series = np.zeros((n_periods, len(self.NAMES), n_draws, n_nodes, width))
        self.price = np.zeros((n_periods, n_draws, n_nodes, n_blocs))
        self.flow = np.zeros((n_periods, n_draws, n_nodes, n_pairs))
        self.error = np.zeros((n_periods, n_draws, n_nodes))

    def slot(self, t: int) -> Array:
        """Where period ``t``'s series go: (12, D · N, X), written by the compiled record."""
        n_names, n_draws, n_nodes, width = self.series.shape[1:]
        return self.series[t].reshape(n_names, n_draws * n_nodes, width)

    def keep(self, t: int, out: _PeriodRecord) -> None:
        self.price[t] = out.price
        self.flow[t] = out.flow
        self.error[t] = out.error

    def trajectory(self) -> Trajectory:
        def draw_major(a: Array) -> Array:  # a view: no copy of large arrays
            return np.moveaxis(a, 0, 1)

        return Trajectory(price=draw_major(self.price), flow=draw_major(self.flow),
                          balance_error=draw_major(self.error),
                          **{k: draw_major(self.series[:, j]) for j, k in
                             enumerate(self.NAMES)})
