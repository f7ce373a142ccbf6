"""A 1,000-draw rare-earth run over 40 quarters on the real world (≥ 15 regions) finishes and
stays sound; throughput is measured in benchmarks/, not here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.engine import simulate
from critmin.results import summarize, to_dataset
from critmin.scenario.model import load_scenario
from critmin.world import build_world

LICENSING = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"


@pytest.mark.slow
def test_thousand_draws_over_forty_quarters() -> None:
    scenario = load_scenario(LICENSING)
    world = build_world(["rare-earths"], threshold=0.0)
    assert len(world.regions) >= 15
    run = simulate(world, scenario, draws=1000, detail="bloc")
    for traj in (run.shocked, run.baseline):
        assert traj.price.shape == (1000, 40, 3, 2)
        assert np.isfinite(traj.price).all() and (traj.price > 0).all()
        assert traj.balance_error.max() < 1e-9
    summary = summarize(to_dataset(run)).set_index(["stage", "bloc"])
    magnets = summary.loc["rare-earths/magnet"]
    assert magnets.loc["rest", "peak_price_multiple"] > magnets.loc["china",
                                                                   "peak_price_multiple"]
    assert magnets.loc["rest", "peak_price_multiple_p05"] > 1
    assert magnets.loc["rest", "cumulative_shortfall_t_p05"] > 0  # short in 95% of draws
