"""Sensitivity: SALib indices against analytic values, the design reaching the engine's
parameters, and a Morris screening of the shipped rare-earth scenario."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.analysis.sensitivity import (
    Factors,
    analyse,
    design,
    design_parameters,
    factors,
    sensitivity,
    tornado,
)
from critmin.cli.analysis import register
from critmin.data.store import data_dir
from critmin.errors import CritminError

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"
needs_data = pytest.mark.skipif(not (data_dir() / "facts.parquet").exists(),
                                reason="curated dataset not built")
A = np.array([1.0, 2.0, 3.0])
LINEAR = Factors(["a", "b", "c"], ["a", "b", "c"], np.array([[0.0, 1.0], [0.0, 2.0],
                                                              [1.0, 2.0]]), [-1, -1, -1])


def test_sobol_indices_of_a_linear_model() -> None:
    # y = Σ a_i x_i, x_i uniform: S1_i = ST_i = a_i² var_i / Σ a_j² var_j
    x = design(LINEAR, "sobol", 1024, seed=1)
    y = x @ A
    var = A**2 * np.array([1.0, 4.0, 1.0]) / 12.0
    found = analyse("sobol", LINEAR, x, y).set_index("factor")
    np.testing.assert_allclose(found.S1, var / var.sum(), atol=0.03)
    np.testing.assert_allclose(found.ST, var / var.sum(), atol=0.03)
    with pytest.raises(CritminError, match="power of two"):
        design(LINEAR, "sobol", 100, seed=1)


def test_morris_effects_of_a_linear_model_are_exact() -> None:
    x = design(LINEAR, "morris", 6, seed=2)
    assert x.shape == (6 * 4, 3)
    found = analyse("morris", LINEAR, x, x @ A).set_index("factor")
    # moving x_i across its range changes y by a_i (high − low)
    np.testing.assert_allclose(found.mu_star, [1.0, 4.0, 3.0], rtol=1e-12)
    np.testing.assert_allclose(found.sigma, 0.0, atol=1e-9)
    bars = tornado("morris", LINEAR, x, x @ A, found.reset_index())
    assert bars.factor.tolist() == ["b", "c", "a"]
    assert bars.swing.tolist() == pytest.approx([4.0, 3.0, 1.0])
    assert (bars.high - bars.low).tolist() == pytest.approx([4.0, 3.0, 1.0])
    flat = analyse("morris", LINEAR, x, np.full(len(x), 7.0))
    assert (flat.mu_star == 0).all()  # nothing drives a constant


@needs_data
def test_design_reaches_the_engine_parameters() -> None:
    from critmin.scenario.model import load_scenario
    from critmin.world import ENGINE_ASSUMPTIONS, build_world_for

    world = build_world_for(load_scenario(SCENARIO))
    f = factors(world)
    reg = world.registry
    assert "demand_elasticity|*|*|*" in f.names
    assert set(ENGINE_ASSUMPTIONS) <= set(f.names)  # assumptions outside the registry vary too
    i = f.names.index("demand_elasticity|*|*|*")
    assert tuple(f.bounds[i]) == reg.bounds("demand_elasticity", "rare-earths")
    assert len(set(f.groups)) < len(f.names)  # share rows grouped by parameter
    x = design(f, "morris", 2, seed=0)
    params = design_parameters(world, f, x)
    assert params["demand_elasticity"].shape[0] == len(x)
    np.testing.assert_array_equal(params["demand_elasticity"],
                                  np.broadcast_to(x[:, i, None, None],
                                                  params["demand_elasticity"].shape))
    for name in ENGINE_ASSUMPTIONS:
        j = f.names.index(name)
        assert (params[name] == x[:, j, None, None]).all()
    shares = params["demand_share"].sum(axis=2)  # renormalised per draw at the final stage
    np.testing.assert_allclose(shares[:, -1], 1.0, rtol=1e-12)


@needs_data
def test_morris_on_the_rare_earth_scenario_and_the_cli(tmp_path: Path) -> None:
    result = sensitivity(SCENARIO, "morris", samples=2, workers=1,
                         outcomes=("peak_price_multiple", "gdp_at_risk_usd"))
    table = result.indices.set_index(["outcome", "factor"])
    # value added per tonne only prices the unserved tonnes: no effect on prices, all on GDP
    assert table.loc[("peak_price_multiple", "value_added_per_t"), "mu_star"] == 0.0
    assert table.loc[("gdp_at_risk_usd", "value_added_per_t"), "mu_star"] > 0.0
    assert set(result.indices.factor) == set(result.factors.group_names)
    assert len(result.x) == 2 * (len(result.factors.group_names) + 1)

    app = typer.Typer()
    register(app)
    chart = tmp_path / "tornado.svg"
    done = CliRunner().invoke(app, ["sensitivity", str(SCENARIO), "--samples", "2",
                                    "--workers", "1", "--outcome", "gdp_at_risk_usd",
                                    "--stage", "rare-earths/magnet", "--bloc", "rest",
                                    "--top", "3", "--chart", str(chart), "--format", "json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert len(rows) == 3 and {r["stage"] for r in rows} == {"rare-earths/magnet"}
    assert rows[0]["mu_star"] >= rows[1]["mu_star"] >= rows[2]["mu_star"]
    svg = chart.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    bad = CliRunner().invoke(app, ["sensitivity", str(SCENARIO), "--samples", "2",
                                   "--bloc", "nowhere"])
    assert bad.exit_code == 1 and "unknown bloc 'nowhere'" in str(bad.exception)
