"""`critmin run FILE --out DIR` end to end: summary, files, errors, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import CritminError

REPO = Path(__file__).resolve().parents[1]
LICENSING = REPO / "scenarios" / "rare-earth-licensing.yaml"
runner = CliRunner()


def critmin(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The real command line: stdout and stderr apart, the real exit code."""
    return subprocess.run([sys.executable, "-m", "critmin", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture(scope="module")
def licensing(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Path]:
    out = tmp_path_factory.mktemp("runs") / "out"
    proc = critmin("run", str(LICENSING), "--out", str(out), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out  # stdout is the JSON alone


def test_rare_earth_licensing_hurts_outside_china_more(licensing) -> None:
    rows, _ = licensing
    magnets = {r["bloc"]: r for r in rows if r["stage"] == "rare-earths/magnet"}
    assert set(magnets) == {"china", "rest"}
    assert magnets["rest"]["peak_price_multiple"] > 5 * magnets["china"]["peak_price_multiple"]
    assert magnets["rest"]["cumulative_shortfall_t"] > 0
    assert magnets["rest"]["shortfall_share"] > magnets["china"]["shortfall_share"]
    assert magnets["rest"]["gdp_at_risk_usd"] > 0
    assert magnets["rest"]["downstream_unit"] == "battery-electric car"
    assert magnets["china"]["trough_price_multiple"] < 1  # exports bottled up in China


def test_results_folder_holds_the_dataset_tables_and_provenance(licensing) -> None:
    rows, out = licensing
    assert sorted(p.name for p in out.iterdir()) == [
        "concentration.parquet", "dataset.nc", "flows.parquet", "manifest.json",
        "prices.parquet", "quantities.parquet", "summary.parquet"]
    ds = xr.open_dataset(out / "dataset.nc", engine="h5netcdf")
    try:
        assert ds.sizes["draw"] == 50 and ds.sizes["time"] == 40
        assert list(ds.stage.values) == ["rare-earths/mine", "rare-earths/separated",
                                         "rare-earths/magnet"]
        for key in ("data_edition", "registry_version", "scenario_hash", "seed"):
            assert ds.attrs[key] not in ("", None), key
        assert ds.attrs["seed"] == 20250404
        assert ds.attrs["registry_version"].startswith("registry.csv@")
        assert float(ds.balance_error.max()) < 1e-9
        assert float((ds.price > 0).all()) == 1.0
    finally:
        ds.close()
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == len(rows) == 6
    prices = pd.read_parquet(out / "prices.parquet")
    assert len(prices) == 50 * 40 * 3 * 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "rare-earth licensing, 25% approved"
    assert set(manifest["files"]) >= {"dataset.nc", "summary.parquet"}


def test_draws_option_and_table_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(LICENSING), "--out", str(tmp_path / "o"),
                                 "--draws", "3", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("stage,bloc,peak_price_multiple")
    assert len(lines) == 7
    ds = xr.open_dataset(tmp_path / "o" / "dataset.nc", engine="h5netcdf")
    assert ds.sizes["draw"] == 3
    ds.close()


def test_bad_scenario_fails_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(LICENSING.read_text().replace("    value: 0.25", "    value: -0.25", 1))
    out = tmp_path / "out"
    proc = critmin("run", str(bad), "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert f"{bad}:" in proc.stderr and "shocks[0].value" in proc.stderr
    assert "allowed: >= 0" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = critmin("run", str(LICENSING), "--out", str(out), "--draws", "1")
    assert proc.returncode == 1 and "--overwrite" in proc.stderr
    assert (out / "keep.txt").read_text() == "mine"
    proc = critmin("run", str(LICENSING), "--out", str(out), "--draws", "1", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "keep.txt").exists() and (out / "manifest.json").exists()


def test_a_failure_while_writing_leaves_no_half_written_output(tmp_path: Path,
                                                              monkeypatch) -> None:
    import critmin.results as results

    def broken(ds: object) -> None:  # a disk or encoding failure mid-way
        raise CritminError("disk full")

    monkeypatch.setattr(results, "tables", broken)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(LICENSING), "--out", str(out), "--draws", "1"])
    assert isinstance(result.exception, CritminError)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either
