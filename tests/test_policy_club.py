"""Trade club: the pledge lifts members' export controls on each other, the common external
tariff raises revenue on imports from outside, self-sufficiency is members' output ÷ use; a
bloc split by the club is an error naming what to fix (bad files: tests/test_policy_errors.py)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import simulate, toys
from critmin.errors import CritminError
from critmin.policy.club import cost_shares
from critmin.policy.hooks import simulate_with_policies
from critmin.scenario.model import validate_scenario


def _world():
    return toys.world({"gallium": ["primary"]}, ["AUS", "JPN", "USA"],
                      production={"gallium": [30.0, 70.0, 0.0]},
                      demand_share={"gallium/primary": [0.1, 0.2, 0.7]})


def _scenario(club: dict, shocks: list | None = None, blocs: dict | None = None):
    return validate_scenario({
        "name": "toy", "start": "2025Q1", "horizon": 4, "chains": ["gallium"],
        "blocs": blocs or {"a": ["AUS"], "b": ["USA"]}, "shocks": shocks or [],
        "policies": [{"kind": "trade_club", "members": ["AUS", "USA"], **club}]})


BAN = [{"kind": "licence_approval", "commodity": "gallium", "stage": "primary",
        "exporter": "a", "importers": ["b"], "start": 1, "value": 0.0}]


def test_the_pledge_lifts_a_members_export_control_on_another_member() -> None:
    world = _world()
    pledged = simulate_with_policies(world, _scenario({"pledge": True}, BAN)).run
    assert pledged.shocked.price == pytest.approx(pledged.baseline.price, rel=1e-9)
    assert pledged.shocked.flow == pytest.approx(pledged.baseline.flow, rel=1e-9, abs=1e-12)
    broken = simulate_with_policies(world, _scenario({"pledge": False}, BAN)).run
    us = broken.blocs.index("b")
    assert (broken.shocked.price[0, 1:, 0, us] > broken.baseline.price[0, 1:, 0, us]).all()


def test_the_external_tariff_earns_rate_times_price_times_flow_and_self_sufficiency() -> None:
    run = simulate_with_policies(_world(), _scenario(
        {"external_tariff": {"rate": 0.25}, "name": "club"}))
    shocked, blocs = run.run.shocked, run.run.blocs
    from critmin.engine import network

    pi, pj = network.pairs(blocs.n_blocs)
    rest = blocs.index("rest")
    price = shocked.price[0, :, 0]
    expected = np.zeros(4)
    for p, (i, j) in enumerate(zip(pi, pj, strict=True)):
        if rest not in (i, j):
            continue
        g = shocked.flow[0, :, 0, p]
        into = np.maximum(g, 0.0) if i == rest else np.maximum(-g, 0.0)  # rest → member
        expected += 0.25 * price[:, rest] * into
    revenue = run.policies.ledger.total("club", ("tariff_revenue",))[0]
    assert expected.sum() > 0
    assert revenue == pytest.approx(expected, rel=1e-12)
    members = [run.run.world.region("AUS"), run.run.world.region("USA")]
    made = shocked.production[0, :, 0, members].sum(axis=0)
    used = shocked.consumption[0, :, 0, members].sum(axis=0)
    club = run.policies.tools[0]
    assert club.self_sufficiency[0, :, 0] == pytest.approx(made / used, rel=1e-12)
    table = run.policies.tables()["tools"]
    assert "self_sufficiency gallium/primary" in set(table.series)


def test_members_must_make_up_whole_blocs() -> None:
    scenario = _scenario({}, blocs={"a": ["AUS", "JPN"], "b": ["USA"]})
    with pytest.raises(CritminError, match=r"bloc 'a' mixes club members and non-members \(JPN\)"):
        simulate_with_policies(_world(), scenario)


def test_cost_shares_by_rule() -> None:
    assert cost_shares("equal", ["USA", "JPN"], np.array([3.0, 1.0])) == pytest.approx([.5, .5])
    assert cost_shares("consumption", ["USA", "JPN"], np.array([3.0, 1.0])) == pytest.approx(
        [0.75, 0.25])
    assert cost_shares({"USA": 2.0, "JPN": 2.0, "KOR": 4.0}, ["USA", "JPN"],
                       np.zeros(2)) == pytest.approx([0.5, 0.5])


def test_no_club_means_the_ban_binds() -> None:
    run = simulate(_world(), _scenario({}, BAN).without_policies())
    assert run.shocked.flow[0, 1:, 0, 0] == pytest.approx(0.0, abs=1e-12)


def test_pooled_stockpile_shared_floor_and_preference_book_into_the_club() -> None:
    run = simulate_with_policies(_world(), _scenario({
        "name": "club", "preference_margin": 0.1,
        "floor": {"commodity": "gallium", "stage": "primary", "strike_usd_per_t": 1500.0},
        "stockpile": {"commodity": "gallium", "stage": "primary", "initial_t": 10.0,
                      "target_days": 1, "storage_cost_usd_per_t_year": 0.0,
                      "buy": {"days_per_year": 1, "max_price_multiple": 1e-6},
                      "release": {"on_export_control": False, "price_multiple_above": 0.5}},
        "cost_sharing": "consumption"}))
    shocked, world, blocs = run.run.shocked, run.run.world, run.run.blocs
    ledger = run.policies.ledger
    assert ledger.holders == ["club"]
    # the shared floor pays Σ max(0, F − p)·q over the members' producers
    members = [world.region("AUS"), world.region("USA")]
    price = shocked.price[0, :, 0][:, blocs.bloc_of[members]]
    output = shocked.production[0, :, 0, members].T
    assert ledger.total("club", ("payouts",))[0] == pytest.approx(
        (np.maximum(1500.0 - price, 0.0) * output).sum(axis=1), rel=1e-12)
    # the pooled reserve releases its 10 t to the members once their use is known
    released = ledger.total("club", ("sales",))[0]
    assert released[0] == 0.0 and released[1] > 0.0
    assert shocked.extra_supply[0, 1, 0, members].sum() == pytest.approx(10.0)
    # the preference is a margin without revenue: members' price = rest's × transport × 1.1
    assert ledger.total("club", ("tariff_revenue",)).sum() == 0.0
    rest, us = blocs.index("rest"), blocs.index("b")
    assert shocked.price[0, :, 0, us] == pytest.approx(
        shocked.price[0, :, 0, rest] * (1 + toys.QUIET["transport_wedge"]) * 1.1, rel=1e-9)
    shares = run.policies.tools[0].shares()
    assert shares.share.sum() == pytest.approx(1.0)
    assert shares.net_cost_usd.sum() == pytest.approx(run.policies.fiscal_cost()[0])
    used = shocked.consumption[0, :, 0, members].sum(axis=1)
    assert shares.share.to_numpy() == pytest.approx(used / used.sum())
