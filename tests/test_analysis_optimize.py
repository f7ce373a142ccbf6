"""The optimiser on cases with known optima, evaluated in vectorised batches on the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.analysis.optimize import (
    Decision,
    Portfolio,
    frontier,
    optimise,
    pareto_front,
    policy_decisions,
)
from critmin.cli.analysis import register
from critmin.engine import simulate, toys
from critmin.errors import CritminError
from critmin.scenario.model import load_scenario, validate_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"
DRAWS = 200
#: The surge of one period's demand in each scenario draw: evenly spread over 0–10 t.
SURGE = 10.0 * (np.arange(DRAWS) + 0.5) / DRAWS
VALUE, COST = 1000.0, 412.0  # USD lost per t unmet; USD per t released (toy numbers)


class ReleaseAndSurge:
    """Test hook: a stockpile release per draw and an outside purchase per draw."""

    def __init__(self, release: np.ndarray, surge: np.ndarray) -> None:
        self.release, self.surge = release, surge

    def before_period(self, inputs, state) -> None:
        inputs.extra_supply[:, 0, 0] = self.release
        inputs.extra_demand[:, 0, 0] = self.surge

    def after_period(self, outcome, state) -> None:
        pass


# one market, one period; supply cannot respond (ε_s = 0) so a released tonne serves a tonne
WORLD = toys.world({"lithium": ["mine"]}, ["ROW"], production={"lithium": [100.0]},
                   demand_share={"lithium/mine": [1.0]}, supply_elasticity=0.0)
ONE_PERIOD = validate_scenario({"name": "newsvendor", "start": "2025Q1", "horizon": 1,
                                "chains": ["lithium"]})


def loss(x: np.ndarray) -> np.ndarray:
    """(candidates, draws) USD of unmet demand: every candidate × draw in one engine call."""
    n = len(x)
    run = simulate(WORLD, ONE_PERIOD, draws=n * DRAWS,
                   hooks=[ReleaseAndSurge(np.repeat(x[:, 0], DRAWS), np.tile(SURGE, n))])
    return VALUE * run.shocked.unmet_demand[:, 0, 0, 0].reshape(n, DRAWS)


def cost(x: np.ndarray) -> np.ndarray:
    return COST * x[:, 0]


def problem(**kw: object) -> Portfolio:
    return Portfolio([Decision("release_t", 0.0, 20.0, "t")], loss, cost, **kw)  # type: ignore[arg-type]


def test_engine_loss_is_the_unserved_surge() -> None:
    x = np.array([[0.0], [4.0], [12.0]])
    expected = VALUE * np.maximum(SURGE[None, :] - x, 0.0)
    np.testing.assert_allclose(loss(x), expected, rtol=1e-9, atol=1e-6)


def test_finds_the_newsvendor_stockpile_within_one_percent() -> None:
    # E[loss] + cost = v·E[(Z − R)⁺] + c·R is least where P(Z > R) = c / v: R* = 10 (1 − c/v)
    best = optimise(problem(), tolerance=1e-3)
    analytic = 10.0 * (1.0 - COST / VALUE)
    assert best.x[0] == pytest.approx(analytic, rel=0.01)
    assert best.objective == pytest.approx(
        VALUE * np.maximum(SURGE - analytic, 0).mean() + COST * analytic, rel=1e-3)
    assert best.evaluations == len(best.history) and best.history.objective.min() == (
        pytest.approx(best.objective))


def test_budget_binds_and_cvar_is_minimised_within_it() -> None:
    best = optimise(problem(budget=1500.0), tolerance=1e-3)
    assert best.x[0] == pytest.approx(1500.0 / COST, rel=0.01) and best.cost <= 1500.0
    tail = optimise(problem(budget=2000.0, risk="cvar"), tolerance=1e-3)
    assert tail.x[0] == pytest.approx(2000.0 / COST, rel=0.01)
    # CVaR95 of v·(Z − R)⁺ with Z uniform on 0…10: v·(9.75 − R) while R < 9.5
    assert tail.risk == pytest.approx(VALUE * (9.75 - tail.x[0]), rel=1e-3)


def test_budget_below_the_cheapest_option_says_so() -> None:
    p = Portfolio([Decision("release_t", 2.0, 20.0, "t")], loss, cost, budget=500.0)
    with pytest.raises(CritminError, match="below the cheapest option") as err:
        optimise(p)
    assert "824 USD" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CritminError, match="lower ≤ upper"):
        Decision("x", 2.0, 1.0)


def test_frontier_trades_cost_for_risk() -> None:
    table = frontier(problem(), [0.0, 1000.0, 2500.0, 3500.0], tolerance=1e-3)
    assert (table.cost <= table.budget + 1e-9).all()
    assert np.all(np.diff(table.risk) < 0) and table.pareto.all()
    # least risk for a budget spends it all (risk falls with every tonne)
    assert table.cost.iloc[1:].to_numpy() == pytest.approx(table.budget.iloc[1:], rel=0.01)


def test_pareto_front_by_hand() -> None:
    cost_ = [1.0, 2.0, 2.0, 3.0, 4.0, 1.0]
    risk = [5.0, 3.0, 4.0, 3.0, 1.0, 5.0]
    # (2,4) is beaten by (2,3); (3,3) by (2,3); the two (1,5) are equal and both kept
    assert pareto_front(cost_, risk).tolist() == [True, True, False, False, True, True]


def test_several_decisions_in_one_batch() -> None:
    target = np.array([3.0, -1.5, 0.25])

    def quadratic(x: np.ndarray) -> np.ndarray:
        return ((x - target) ** 2).sum(axis=1)[:, None]

    p = Portfolio([Decision(f"x{i}", -5.0, 5.0) for i in range(3)], quadratic,
                  lambda x: np.zeros(len(x)))
    best = optimise(p, tolerance=1e-6)
    np.testing.assert_allclose(best.x, target, atol=1e-3)


VAULT = SCENARIO.parent / "project-vault-rare-earths.yaml"
#: A coarse search so the engine runs stay few: 2 draws, batches of 4, one round.
COARSE = ["--draws", "2", "--batch", "4", "--rounds", "1", "--format", "json"]


def _optimize(*args: str) -> list[dict]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["optimize", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_policy_decisions_are_the_vault_money_and_target() -> None:
    vault = load_scenario(VAULT)
    decisions = policy_decisions(vault, 2e9)
    assert [(d.name, d.lower, d.upper, d.field) for d in decisions] == [
        ("project-vault.usd", 0.0, 2e9, "usd"),
        ("project-vault.target_days", 0.0, 120.0, "target_days")]  # file: 60 days, box 0–2×


def test_cli_optimize_sizes_the_vault_within_budget() -> None:
    rows = _optimize(str(VAULT), "--budget", "2e9", *COARSE)
    best, smallest = rows[0], rows[1]
    assert (best["point"], smallest["point"]) == ("best", "smallest")
    assert smallest["project-vault.usd"] == 0.0 and smallest["project-vault.target_days"] == 0.0
    assert best["fiscal_cost_usd"] <= 2e9 and 0.0 <= best["project-vault.usd"] <= 2e9
    # the search starts at the smallest sizes, so the best cannot lose more than no tool
    assert best["expected_loss"] + best["fiscal_cost_usd"] <= smallest["expected_loss"]
    assert best["expected_loss"] < smallest["expected_loss"]  # the Vault's releases help
    assert best["cvar_loss"] >= best["expected_loss"]  # the tail is worse than the mean
    front = [r for r in rows if r["point"] == "pareto"]
    sizes = [{k: v for k, v in r.items() if k != "point"} for r in front]
    assert {k: v for k, v in best.items() if k != "point"} in sizes  # best is not dominated
    cost = [r["fiscal_cost_usd"] for r in front]
    loss = [r["expected_loss"] for r in front]
    assert cost == sorted(cost) and loss == sorted(loss, reverse=True)  # a trade-off curve


def test_cli_optimize_zero_budget_keeps_the_vault_empty() -> None:
    rows = _optimize(str(VAULT), "--budget", "0", "--objective", "cvar", *COARSE)
    best, smallest = rows[0], rows[1]
    assert best["project-vault.usd"] == 0.0 and best["fiscal_cost_usd"] == 0.0
    # no money buys no magnets, whatever the target: the loss is that of no tool
    assert best["cvar_loss"] == pytest.approx(smallest["cvar_loss"], rel=1e-9)


def test_cli_optimize_says_what_is_missing() -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["optimize", str(SCENARIO), "--budget", "1e9"])
    assert result.exit_code == 1 and "names no policy tools" in str(result.exception)
    negative = runner.invoke(app, ["optimize", str(SCENARIO), "--budget", "-5"])
    assert negative.exit_code == 1 and "--budget must be zero or more" in str(negative.exception)
