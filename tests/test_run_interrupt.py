"""Ctrl-C during ``critmin sweep`` keeps the finished blocks; ``--resume`` finishes the sweep
with the numbers of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from critmin.cli.analysis import register
from critmin.data.store import data_dir

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"
CLI = ("from critmin.cli import app, main; from critmin.cli.analysis import register; "
       "register(app); main()")
pytestmark = pytest.mark.skipif(not (data_dir() / "facts.parquet").exists(),
                                reason="curated dataset not built")


def test_ctrl_c_keeps_blocks_and_resume_completes(tmp_path: Path) -> None:
    spec = yaml.safe_load(SCENARIO.read_text())
    spec["horizon"] = 9  # the shipped shock, a shorter horizon: quicker blocks
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(spec))
    store = tmp_path / "blocks"
    sweep = ["sweep", str(scenario), "--draws", "20", "--block-size", "1", "--format", "json"]
    proc = subprocess.Popen([sys.executable, "-c", CLI, *sweep, "--workers", "2",
                             "--resume", str(store)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 120
    while len(list(store.glob("block-*.npz"))) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline, "no block finished in two minutes"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    kept = len(list(store.glob("block-*.npz")))
    assert proc.returncode == 1, err
    assert out == ""  # nothing half-printed on stdout
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: interrupted:") and f"blocks kept in {store}" in line
    assert f"--resume {store}" in line
    assert 3 <= kept < 20

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    resumed = runner.invoke(app, [*sweep, "--workers", "1", "--resume", str(store)])
    assert resumed.exit_code == 0, resumed.output
    assert f"resumed: {kept} block(s) loaded, {20 - kept} computed" in resumed.stderr
    fresh = runner.invoke(app, [*sweep, "--workers", "1"])
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(resumed.stdout) == json.loads(fresh.stdout)
