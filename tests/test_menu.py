"""`critmin menu` and ``critmin.analysis.menu.compare`` on the shipped combined package: one row
per option with the fields the report reads, every tool present, options on one budget, the
shock-alone block identical to a plain run; bad input is one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.analysis.menu import (
    MENU_COLUMNS,
    SHOCK_ALONE,
    compare,
    cost_risk_figure,
    options,
    tiled,
)
from critmin.cli.menu import register
from critmin.engine import simulate
from critmin.errors import CritminError
from critmin.policy.hooks import Draws, build
from critmin.scenario.model import load_scenario
from critmin.world import build_world_for

REPO = Path(__file__).resolve().parents[1]
COMBINED = REPO / "scenarios" / "combined-package-12b.yaml"
TOOLS = ["project-vault", "ndpr-floor", "section-301-magnets", "trade-club", "eneabba-loans",
         "magnet-recycling", "substitution-research"]
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """critmin (test harness)."""

    register(app)
    return app


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    result = runner.invoke(_app(), ["menu", str(COMBINED), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # stdout is the JSON alone


def test_menu_json_has_one_object_per_option_with_the_fields(rows: list[dict]) -> None:
    names = [r["option"] for r in rows]
    assert names[0] == SHOCK_ALONE
    assert sorted(names[1:]) == sorted([*TOOLS, "package"])
    for row in rows:
        assert set(MENU_COLUMNS) <= set(row)
        assert isinstance(row["members_gaining"], list)
    alone = rows[0]
    assert alone["fiscal_cost_usd"] == 0 and alone["shortfall_avoided_t"] == 0
    kinds = {k for r in rows for k in r["kinds"]}
    assert kinds == {"stockpile", "price_floor", "tariff", "trade_club", "incentive",
                     "recycling", "substitution_rd"}


def test_menu_numbers_hang_together(rows: list[dict]) -> None:
    by = {r["option"]: r for r in rows}
    for r in rows[1:]:
        assert r["fiscal_cost_usd"] == pytest.approx(r["outlays_usd"] - r["revenue_usd"],
                                                     rel=1e-9, abs=1e-3)
        if r["shortfall_avoided_t"] > 0:
            assert r["usd_per_t_avoided"] == pytest.approx(
                r["fiscal_cost_usd"] / r["shortfall_avoided_t"], rel=1e-12)
        else:
            assert r["usd_per_t_avoided"] is None
        assert r["gdp_at_risk_avoided_usd"] == pytest.approx(
            r["shortfall_avoided_t"] * 1e7, rel=1e-9)  # registry value added, central draw
    # money-sized tools each get the common $12B; tariffs and the uncapped floor keep theirs
    for name in ("project-vault", "eneabba-loans", "magnet-recycling", "substitution-research",
                 "package"):
        assert by[name]["budget_usd"] == 12e9
    for name in ("section-301-magnets", "trade-club", "ndpr-floor"):
        assert by[name]["budget_usd"] is None
    assert by["substitution-research"]["fiscal_cost_usd"] == pytest.approx(12e9)
    # tariffs earn revenue; the reserve releases at cost with fees covering its carry
    assert by["section-301-magnets"]["fiscal_cost_usd"] < 0
    assert by["project-vault"]["fiscal_cost_usd"] == pytest.approx(0.0, abs=1.0)
    assert by["project-vault"]["days_of_cover_max"] == pytest.approx(60.0, rel=0.05)
    assert by["project-vault"]["shortfall_avoided_t"] > 0
    assert "USA" in by["project-vault"]["members_gaining"]
    # ranks by net benefit (GDP at risk avoided − fiscal cost), best first
    ranked = rows[1:]
    assert [r["rank"] for r in ranked] == sorted(r["rank"] for r in ranked)
    benefit = [r["gdp_at_risk_avoided_usd"] - r["fiscal_cost_usd"] for r in ranked]
    assert benefit == sorted(benefit, reverse=True)


def test_options_share_the_budget_in_proportion_to_each_tools_money() -> None:
    scenario = load_scenario(COMBINED)
    opts = {o.name: o for o in options(scenario, 12e9)}
    assert opts["project-vault"].scale == {"project-vault": pytest.approx(12e9 / 11.67e9)}
    assert opts["section-301-magnets"].scale == {}
    package = opts["package"].scale
    money = {"project-vault": 11.67e9, "eneabba-loans": 1.06e9, "magnet-recycling": 1e9,
             "substitution-research": 1e9}
    total = sum(money.values())
    assert set(package) == set(money)
    for name, size in money.items():
        assert package[name] * size == pytest.approx(12e9 * size / total)
    assert [o.budget_usd for o in options(scenario, None)][1] == pytest.approx(11.67e9)


def test_the_shock_alone_block_matches_a_plain_run() -> None:
    scenario = load_scenario(COMBINED)
    world = build_world_for(scenario)
    shared = Draws.of(scenario, world, 2)
    sets = [build(scenario, world, draws=shared, rows=slice(2 * k, 2 * k + 2), tools=tools)
            for k, tools in enumerate([(), ("project-vault",), ("section-301-magnets",)])]
    run = simulate(tiled(world, 3), scenario, draws=6, seed=shared.seed,
                   hooks=[h for s in sets for h in s.hooks])
    plain = simulate(world, scenario, draws=2)
    assert run.shocked.price[:2] == pytest.approx(plain.shocked.price, rel=1e-6)
    assert run.baseline.price[2:4] == pytest.approx(plain.baseline.price, rel=1e-6)
    assert not np.allclose(run.shocked.price[2:4], plain.shocked.price, rtol=1e-3)


def test_cost_risk_figure_has_a_point_per_option(rows: list[dict]) -> None:
    import pandas as pd

    fig = cost_risk_figure(pd.DataFrame(rows))
    (trace,) = fig.data
    assert list(trace.text) == [r["option"] for r in rows]
    assert list(trace.y) == pytest.approx([r["shortfall_avoided_t"] for r in rows])
    assert "billion" in fig.layout.xaxis.title.text


def test_a_negative_budget_is_one_line() -> None:
    result = runner.invoke(_app(), ["menu", str(COMBINED), "--budget", "-5"])
    assert isinstance(result.exception, CritminError)
    assert str(result.exception) == "budget -5 is not allowed; allowed: a number of USD >= 0"
    with pytest.raises(CritminError, match="names no policy tools"):
        compare(REPO / "scenarios" / "rare-earth-licensing.yaml")


def test_table_output_joins_members(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["menu", str(REPO / "scenarios" / "ndpr-floor-us-producer.yaml"),
                                    "--format", "csv", "--draws", "1"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.strip().splitlines()
    assert header.split(",")[:2] == ["option", "fiscal_cost_usd"]
    assert len(lines) == 2 and lines[0].startswith(SHOCK_ALONE)
    assert not math.isnan(float(lines[1].split(",")[1]))
