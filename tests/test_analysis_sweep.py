"""Monte Carlo: risk measures by hand, per-draw outcomes against the run summary, sweeps on
the shipped rare-earth scenario, and ``critmin sweep`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from critmin.analysis.montecarlo import cvar, expected, prob_above, quantile, risk_table
from critmin.analysis.sweep import OUTCOMES, draw_outcomes, sweep
from critmin.cli.analysis import register
from critmin.data.store import data_dir
from critmin.errors import CritminError

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"
needs_data = pytest.mark.skipif(not (data_dir() / "facts.parquet").exists(),
                                reason="curated dataset not built")


def test_risk_measures_by_hand() -> None:
    x = np.arange(1.0, 101.0)
    assert cvar(x, 0.95) == pytest.approx(98.0)  # mean of 96…100
    assert cvar(np.arange(1.0, 31.0), 0.95) == pytest.approx((30 + 0.5 * 29) / 1.5)  # 1.5 draws
    assert cvar(np.arange(1.0, 11.0), 0.95) == pytest.approx(10.0)  # tail thinner than a draw
    assert cvar(x, 0.0) == pytest.approx(50.5)  # the whole distribution
    assert cvar(np.c_[x, -x], 0.9) == pytest.approx([95.5, -5.5])  # column-wise
    assert expected(x) == pytest.approx(50.5)
    assert quantile(x, [0.0, 0.5, 1.0]) == pytest.approx([1.0, 50.5, 100.0])
    assert prob_above(x, 90.0) == pytest.approx(0.10)
    with pytest.raises(CritminError, match="alpha"):
        cvar(x, 1.0)


def test_risk_table_rows_and_thresholds() -> None:
    draws = np.arange(1.0, 101.0)
    ds = xr.Dataset({"shortfall_share": (("draw", "stage", "bloc"),
                                         np.stack([draws, 2 * draws], axis=1)[:, :, None] / 100)},
                    coords={"draw": np.arange(100), "stage": ["a/mine", "a/refined"],
                            "bloc": ["rest"]})
    table = risk_table(ds, {"shortfall_share": 0.5}).set_index("stage")
    assert list(table.columns[:3]) == ["outcome", "bloc", "mean"]
    assert table.loc["a/mine", "cvar95"] == pytest.approx(0.98)
    assert table.loc["a/refined", "mean"] == pytest.approx(1.01)
    assert table.loc["a/mine", "prob_above"] == pytest.approx(0.50)
    assert table.loc["a/refined", "prob_above"] == pytest.approx(0.75)  # 2·x > 50 for x > 25
    assert table.loc["a/mine", "p95"] == pytest.approx(np.quantile(draws, 0.95) / 100)
    with pytest.raises(CritminError, match="unknown outcome"):
        risk_table(ds, {"price": 1.0})


@pytest.fixture(scope="module")
def scenario_world():
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world_for

    if not (data_dir() / "facts.parquet").exists():
        pytest.skip("curated dataset not built")
    scenario = load_scenario(SCENARIO)
    return scenario, build_world_for(scenario)


@needs_data
def test_sweep_reproduces_a_plain_run_and_its_summary(scenario_world) -> None:
    from critmin.engine import simulate
    from critmin.results import summarize, to_dataset

    scenario, world = scenario_world
    run = simulate(world, scenario, draws=6, seed=11, detail="bloc")
    mine = draw_outcomes(run)
    # one block holding every draw: the same draws, the same engine call, the same bits
    swept = sweep(scenario, draws=6, seed=11, world=world, block_size=6, workers=1)
    for name in OUTCOMES:
        assert np.array_equal(swept.outcomes[name].values, mine[name]), name
    # and the per-draw outcomes reduce to the run's summary
    summary = summarize(to_dataset(run)).set_index(["stage", "bloc"])
    for i, stage in enumerate(world.labels):
        for b, bloc in enumerate(run.blocs.names):
            row = summary.loc[(stage, bloc)]
            assert np.median(mine["peak_price_multiple"][:, i, b]) == pytest.approx(
                row.peak_price_multiple, rel=1e-12)
            for name in ("cumulative_shortfall_t", "shortfall_share", "unserved_t",
                         "gdp_at_risk_usd"):
                assert mine[name][:, i, b].mean() == pytest.approx(
                    row[name], rel=1e-12, abs=1e-9), name


@needs_data
def test_blocks_chunks_and_workers_do_not_change_the_numbers(scenario_world) -> None:
    scenario, world = scenario_world
    kw = {"draws": 8, "seed": 3, "world": world}
    one = sweep(scenario, block_size=4, chunks=1, **kw)
    pooled = sweep(scenario, block_size=4, workers=2, **kw)
    other_blocks = sweep(scenario, block_size=3, workers=1, **kw)
    for name in OUTCOMES:
        a = one.outcomes[name].values
        assert np.array_equal(a, pooled.outcomes[name].values), name
        # other blocks group other draws in the vectorised solver: equal to rounding
        np.testing.assert_allclose(other_blocks.outcomes[name].values, a, rtol=1e-9, atol=1e-9)
    assert one.outcomes.attrs["draws"] == 8 and one.outcomes.attrs["method"] == "lhs"


@needs_data
def test_cli_sweep_end_to_end(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    out = tmp_path / "draws.parquet"
    result = CliRunner().invoke(app, ["sweep", str(SCENARIO), "--draws", "4", "--workers", "1",
                                      "--block-size", "2", "--out", str(out),
                                      "--threshold", "0.1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert len(rows) == len(OUTCOMES) * 3 * 2  # outcomes × stages × blocs
    share = rows[rows.outcome == "shortfall_share"]
    assert (share.threshold == 0.1).all() and share.prob_above.between(0, 1).all()
    assert (rows.p05 <= rows.p50 + 1e-12).all() and (rows.p50 <= rows.cvar95 + 1e-9).all()
    written = pd.read_parquet(out)
    assert set(OUTCOMES) <= set(written.columns) and written.draw.nunique() == 4
    bad = CliRunner().invoke(app, ["sweep", str(SCENARIO), "--draws", "2", "--out",
                                   str(tmp_path / "x.csv")])
    assert bad.exit_code == 1 and "--out must end in .nc or .parquet" in str(bad.exception)
