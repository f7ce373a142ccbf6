"""The dask executor on a real LocalCluster (worker processes) against the local executor."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.analysis.sweep import OUTCOMES, sweep
from critmin.cli.analysis import register
from critmin.data.store import data_dir
from critmin.run import map_chunks, plan_blocks
from critmin.run.dask import connect

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"
needs_data = pytest.mark.skipif(not (data_dir() / "facts.parquet").exists(),
                                reason="curated dataset not built")


def seeded(block):  # picklable: module level
    return {"u": block.rng().normal(size=(block.size, 2))}


def test_local_cluster_runs_worker_processes() -> None:
    client, cluster = connect(workers=2)
    try:
        info = client.scheduler_info()["workers"]
        assert len(info) == 2
        assert all(w["nthreads"] == 1 for w in info.values())
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2 and __import__("os").getpid() not in pids  # processes, not threads
    finally:
        client.close()
        cluster.close()


@needs_data
def test_dask_sweep_equals_the_local_sweep_bit_for_bit(tmp_path: Path) -> None:
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world_for

    scenario = load_scenario(SCENARIO)
    world = build_world_for(scenario)
    kw = {"draws": 8, "seed": 5, "world": world, "block_size": 2}
    local = sweep(scenario, workers=1, **kw)
    on_dask = sweep(scenario, executor="dask", chunks=3, store=tmp_path / "blocks", **kw)
    assert on_dask.computed_blocks == 4
    for name in OUTCOMES:
        assert np.array_equal(local.outcomes[name].values, on_dask.outcomes[name].values), name
    # the same folder again: everything loads, nothing is recomputed, same numbers
    again = sweep(scenario, executor="dask", store=tmp_path / "blocks", **kw)
    assert (again.loaded_blocks, again.computed_blocks) == (4, 0)
    assert np.array_equal(again.outcomes["peak_price_multiple"].values,
                          local.outcomes["peak_price_multiple"].values)
    # random streams per block survive the trip too
    blocks = plan_blocks(7, 2, seed=9)
    assert np.array_equal(map_chunks(seeded, blocks, executor="dask").arrays["u"],
                          map_chunks(seeded, blocks, workers=1).arrays["u"])


@needs_data
def test_cli_unreachable_scheduler_is_one_line_within_seconds() -> None:
    app = typer.Typer()
    register(app)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["sweep", str(SCENARIO), "--draws", "2", "--executor",
                                      "dask", "--scheduler", "tcp://127.0.0.1:1"])
    assert time.monotonic() - start < 15
    assert result.exit_code == 1
    message = str(result.exception)
    assert message.startswith("cannot reach the dask scheduler at tcp://127.0.0.1:1")
    assert "\n" not in message
