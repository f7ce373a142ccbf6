"""Investment incentive: capital recovery and grant equivalents by hand; a committed project
arrives after its lead time and ramp, paid when it starts; a grant makes a marginal project
start that would not start without it; faster permitting brings capacity forward."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.engine import toys
from critmin.params import load_registry
from critmin.policy.hooks import simulate_with_policies
from critmin.policy.incentive import capital_recovery, loan_grant_equivalent, support_multiple
from critmin.scenario.model import validate_scenario


def test_capital_recovery_and_grant_equivalents_by_hand() -> None:
    assert capital_recovery(0.08, 20) == pytest.approx(0.08 / (1 - 1.08**-20))
    assert capital_recovery(0.0, 10) == pytest.approx(0.1)
    # a loan at the market rate saves nothing; an interest-free one saves 1 − CRF(0)/CRF(r)
    assert loan_grant_equivalent(100.0, 0.08, 0.08, 15) == pytest.approx(0.0, abs=1e-12)
    assert loan_grant_equivalent(100.0, 0.0, 0.08, 15) == pytest.approx(
        100 * (1 - (1 / 15) / capital_recovery(0.08, 15)))
    assert support_multiple(1000.0, 0.08, 20, 0.5, 2000.0) == pytest.approx(
        1000 * capital_recovery(0.08, 20) / 1000.0)


def _run(incentive: dict, horizon: int = 14, **world_parameters: float):
    parameters = {"lead_time_years": 1.0, "ramp_up_years": 1.0, "ramp_achievement": 1.0,
                  **world_parameters}
    world = toys.world({"gallium": ["primary"]}, ["USA"], production={"gallium": [100.0]},
                       demand_share={"gallium/primary": [1.0]}, **parameters)
    scenario = validate_scenario({
        "name": "toy", "start": "2025Q1", "horizon": horizon, "chains": ["gallium"],
        "policies": [{"kind": "incentive", "commodity": "gallium",
                      "projects": [{"region": "USA", "stage": "primary",
                                    "capacity_t_per_year": 40.0}], **incentive}]})
    return simulate_with_policies(world, scenario)


def test_a_committed_project_arrives_after_lead_and_ramp_and_is_paid_at_its_start() -> None:
    run = _run({"committed": True, "usd_per_t_year": 500.0, "start": 1})
    capacity = run.run.shocked.capacity[0, :, 0, 0]
    # decided in quarter 1: counts from quarter 2, 4 quarters of lead, then 10 t/yr a quarter
    added = np.r_[np.zeros(7), 10.0 * np.arange(1, 5), 40.0, 40.0, 40.0]
    assert capacity - 200.0 == pytest.approx(added, abs=1e-9)
    grants = run.policies.ledger.total("incentive", ("grants",))[0]
    assert grants == pytest.approx(np.r_[0.0, 40 * 500.0, np.zeros(12)])


def test_faster_permitting_brings_the_capacity_forward() -> None:
    run = _run({"committed": True, "permitting_cut_years": 0.5, "start": 1})
    capacity = run.run.shocked.capacity[0, :, 0, 0] - 200.0
    assert capacity == pytest.approx(np.r_[np.zeros(5), 10.0 * np.arange(1, 5), [40.0] * 5],
                                     abs=1e-9)


def test_a_grant_makes_a_marginal_project_start() -> None:
    # projects start above 1.3 × p0; at p0 a project needs Δm > 0.3 from the grant:
    # g = Δm · u0 · p0 / CRF(r, L) with the registry's cost of capital and project life
    reg = load_registry()
    crf = capital_recovery(reg.value("project_discount_rate", "gallium"),
                           reg.value("project_life_years", "gallium"))
    needed = 0.3 * 0.5 * 1000.0 / crf
    without = _run({"usd_per_t_year": 0.0}, incentive_price_multiple=1.3)
    just_short = _run({"usd_per_t_year": 0.95 * needed}, incentive_price_multiple=1.3)
    enough = _run({"usd_per_t_year": 1.05 * needed}, incentive_price_multiple=1.3)
    for idle in (without, just_short):
        assert idle.policies.tools[0].started.sum() == 0
        assert idle.policies.ledger.net_cost().sum() == 0.0
    assert enough.policies.tools[0].started.all()
    grants = enough.policies.ledger.total("incentive", ("grants",))[0]
    assert grants[0] == pytest.approx(40 * 1.05 * needed) and grants[1:].sum() == 0.0


def test_a_loan_is_disbursed_at_start_and_repaid_as_an_annuity() -> None:
    run = _run({"committed": True, "form": "loan", "usd_per_t_year": 1000.0,
                "loan_rate": 0.04, "loan_term_years": 2.0})
    ledger = run.policies.ledger
    out = ledger.total("incentive", ("loans_disbursed",))[0]
    back = ledger.total("incentive", ("loan_repayments",))[0]
    assert out[0] == pytest.approx(40_000.0)
    annuity = 40_000.0 * capital_recovery(0.01, 8)  # 1% a quarter over 8 quarters
    assert back == pytest.approx(np.r_[0.0, [annuity] * 8, np.zeros(5)], rel=1e-12)
