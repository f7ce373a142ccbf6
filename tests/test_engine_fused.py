"""The speed work (issue 9) changes how the engine computes, never what: merged columns, region
quantities from shared price terms, reused buffers, per-row regime solves, values held once per
draw and node, and the record written in the same pass as the between-period updates must all
give the numbers of the plain computation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from critmin.engine import clear, clearing, kernels, network, simulate, toys
from critmin.engine.loop import _compact, _filled, _repeat
from critmin.scenario.model import validate_scenario


def _classed_market(n: int = 300, seed: int = 0):
    """Six regions in two blocs; within a bloc regions 0–1 (and 3–4) share their curve shapes,
    region 2 is a supplier with an input limit, region 5 buys only. Shapes vary by row."""
    rng = np.random.default_rng(seed)
    shape = rng.uniform(0.05, 0.5, (n, 1))
    eps_d = -rng.uniform(0.05, 0.3, (n, 1))
    cols = [shape, shape, shape * 1.5, shape * 0.7, shape * 0.7, shape]
    m = toys.market(
        n, [0, 0, 0, 1, 1, 1], 2,
        capacity=np.concatenate([rng.uniform(10, 100, (n, 5)), np.zeros((n, 1))], axis=1),
        demand_ref=rng.uniform(0, 100, (n, 6)), supply_elasticity=np.concatenate(cols, axis=1),
        demand_elasticity=np.repeat(eps_d, 6, axis=1),
        inv_target=(stock := rng.uniform(0, 20, (n, 6))), inv_stock=stock * 1.1,
        input_limit=np.where(np.arange(6) == 2, rng.uniform(5, 60, (n, 6)), np.inf),
        wedge=np.log(1.05), cap=rng.choice([np.inf, 10.0], (n, 1, 2)))
    return replace(m, shape_class=np.array([0, 0, 1, 2, 2, 0]))


def test_merge_plan_sums_equal_shapes_within_a_bloc_and_keeps_limited_suppliers_apart() -> None:
    m = _classed_market()
    column, rep, keep = kernels.merge_plan(m)
    assert column[0] == column[1] and column[3] == column[4]  # same bloc, same shape
    assert column[0] != column[5]  # same shape class, other bloc
    assert len({column[2], *column[[0, 3, 5]]}) == 4  # the limited supplier stands alone
    assert keep[column[2]] and not keep[column[0]]
    assert len(rep) == 4
    small = kernels.compress(m)
    assert small.capacity[:, column[0]] == pytest.approx(m.capacity[:, 0] + m.capacity[:, 1],
                                                         rel=1e-15)
    assert np.isfinite(small.input_limit[:, column[2]]).all()
    assert np.isinf(small.input_limit[:, column[0]]).all()


def test_merged_columns_give_the_prices_and_region_quantities_of_the_full_market() -> None:
    m = _classed_market()
    merged = clear(m)
    plain = clear(replace(m, shape_class=None))  # every region its own column
    assert merged.log_price == pytest.approx(plain.log_price, rel=1e-12, abs=1e-12)
    assert merged.flow == pytest.approx(plain.flow, rel=1e-9, abs=1e-9)
    # region quantities from the columns' shared price terms = the curves region by region
    direct = kernels.respond(m, merged.log_price[:, m.bloc_of])
    for name in ("supply", "demand", "build", "d_supply", "d_demand", "d_build"):
        assert getattr(merged.response, name) == pytest.approx(getattr(direct, name),
                                                               rel=1e-13, abs=1e-12), name
    assert np.abs(merged.residual).max() < 1e-9 * merged.size.max()


def test_a_workspace_writes_into_bound_arrays_and_skips_slopes_on_request() -> None:
    m = _classed_market(50)
    alone = clear(m)
    work = clearing.Workspace(slopes=False)
    supply, demand = np.zeros((50, 6)), np.zeros((50, 6))
    work.bind(supply=supply, demand=demand)
    first = clear(m, work=work)
    assert first.response.supply is supply and first.response.demand is demand
    assert first.response.d_supply is None and first.response.d_build is None
    assert supply == pytest.approx(alone.response.supply, rel=1e-15)
    assert first.response.build == pytest.approx(alone.response.build, rel=1e-15)
    # a second solve reuses the same buffers (and the cached shapes) and agrees again
    again = clear(replace(m, demand_ref=m.demand_ref * 1.1), work=work)
    assert again.response.build is first.response.build
    assert again.log_price == pytest.approx(
        clear(replace(m, demand_ref=m.demand_ref * 1.1)).log_price, rel=1e-15)


def test_rationing_touches_only_the_rows_that_cannot_clear() -> None:
    # row 1: the importing bloc has demand, no supply, no stock, and its link is shut
    m = toys.market(3, [0, 1], 2, capacity=[[50.0, 0.0]] * 3, demand_ref=[[20.0, 10.0]] * 3,
                    cap=[[[np.inf, np.inf]], [[0.0, 0.0]], [[np.inf, np.inf]]])
    sol = clear(m)
    assert sol.rationed is not None
    assert sol.rationed[1, 1] == pytest.approx(1.0) and (sol.rationed[[0, 2]] == 0).all()
    assert sol.response.demand[1, 1] == 0.0
    assert np.abs(sol.residual).max() < 1e-9 * 50
    assert sol.log_price[0] == pytest.approx(sol.log_price[2], rel=1e-15)  # untouched rows


def test_a_linked_market_no_price_can_clear_rations_over_the_component_and_balances() -> None:
    # stockholders who keep buying at any price (σ = 0): bloc 0 wants to build 0.5 × 100 = 50 t,
    # bloc 1 draws 0.5 × 40 = 20 t, nobody produces. Worked by hand: the linked market is short
    # 30 t at any price, so 30/50 = 60% of the building is rationed and the 20 t drawn in bloc 1
    # flow to bloc 0 (before, flows split the shortage and bloc 1 stayed 15 t out of balance)
    m = toys.market(1, [0, 1], 2, capacity=0.0, demand_ref=0.0, inv_target=[[100.0, 0.0]],
                    inv_stock=[[0.0, 40.0]], inv_sensitivity=0.0, inv_adjust=0.5)
    sol = clear(m)
    assert sol.state[0, 0] == network.NEG_INT
    assert sol.rationed is not None and sol.rationed[0] == pytest.approx([0.6, 0.6])
    assert sol.response.build[0] == pytest.approx([20.0, -20.0], rel=1e-12)
    assert sol.flow[0, 0] == pytest.approx(-20.0, rel=1e-12)  # bloc 1 → bloc 0
    assert np.abs(sol.residual).max() < 1e-9 * 20


def test_regime_codes_index_without_sorting_and_tables_match_the_regimes() -> None:
    codes = np.array([7, 3, 7, 0, 24, 3])
    distinct, which = network.index_codes(codes, 2)
    assert distinct.tolist() == [0, 3, 7, 24]
    assert (distinct[which] == codes).all()
    tab = network.tables(3, np.array([network.encode(np.array([[network.POS_INT,
                                                                 network.ZERO,
                                                                 network.NEG_CAP]]))[0]]))
    reg = network.regime(3, int(network.encode(np.array([[3, 2, 0]]))[0]))
    assert tab.n_comp[0] == reg.comp.shape[1] == 2
    assert (tab.comp_of[0] == np.argmax(reg.comp, axis=1)).all()
    assert tab.fix_neg[0].tolist() == [False, False, True]
    assert tab.flow_map[0, 0] == pytest.approx(reg.flow_map[0])
    assert (tab.flow_map[0, 1:] == 0).all()


def test_values_held_once_per_draw_and_node_read_back_unchanged() -> None:
    rng = np.random.default_rng(1)
    flat = np.repeat(rng.random((4, 3, 1)), 5, axis=2)
    held = _compact(flat)
    assert held.strides[2] == 0 and np.array_equal(held, flat)
    varying = rng.random((4, 3, 5))
    assert _compact(varying) is varying
    assert np.array_equal(_repeat(np.arange(6.0).reshape(2, 3), 0, 4),
                          np.broadcast_to(np.arange(6.0).reshape(2, 3), (4, 2, 3)))
    assert (_filled((3, 2), -np.inf) == -np.inf).all()


class _Idle:
    """A policy hook that does nothing: the loop then records after the hooks, separately."""

    def before_period(self, inputs, state) -> None:
        pass

    def after_period(self, outcome, state) -> None:
        pass


def test_the_record_is_the_same_with_and_without_hooks() -> None:
    world = toys.world({"rare-earths": ["mine", "separated"]}, ["CHN", "MMR", "USA", "ROW"],
                       production={"rare-earths": [270.0, 22.0, 51.0, 40.0]},
                       capacity_share={"rare-earths/separated": [0.9, 0.0, 0.0, 0.1]},
                       demand_share={"rare-earths/separated": [0.6, 0.0, 0.2, 0.2]},
                       stage_yield=0.9, inventory_cover_months=2.0, substitution_max_rate=0.1,
                       substitution_price_elasticity=0.15, substitution_cap=0.4,
                       incentive_price_multiple=1.3, lead_time_years=0.5, ramp_up_years=0.5,
                       cash_cost_multiple=0.7, demand_growth=0.05)
    scenario = validate_scenario({
        "name": "hooks", "start": "2025Q1", "horizon": 8, "chains": ["rare-earths"],
        "blocs": {"china": ["CHN"]}, "draws": 3,
        "shocks": [{"kind": "licence_approval", "commodity": "rare-earths", "stage": "separated",
                    "exporter": "china", "start": 1, "end": 4, "value": 0.2}]})
    for detail in ("region", "bloc"):
        plain = simulate(world, scenario, detail=detail)
        hooked = simulate(world, scenario, detail=detail, hooks=[_Idle()])
        for name in ("price", "production", "consumption", "final_consumption",
                     "demand_destroyed", "unmet_demand", "inventory", "inventory_change",
                     "capacity", "input_stock", "substitution", "flow"):
            assert np.array_equal(getattr(plain.shocked, name), getattr(hooked.shocked, name)), (
                detail, name)
        assert plain.shocked.substitution.max() > 0  # the series compared are not all zero
        assert plain.shocked.demand_destroyed.max() > 0
