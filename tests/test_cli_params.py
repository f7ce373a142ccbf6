"""`critmin params …` and `critmin scenario …` end to end."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import CritminError, UnknownNameError
from critmin.params import PARAMETERS, RegistryError, load_registry

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def critmin(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line: stdout and stderr apart, the real exit code."""
    return subprocess.run([sys.executable, "-m", "critmin", *args], capture_output=True, text=True,
                          cwd=REPO)


def test_show_json_is_pure_json_with_the_stage_and_star_rows() -> None:
    proc = critmin("params", "show", "rare-earths", "--stage", "separated", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["commodity"] for r in rows} == {"rare-earths", "*"}
    assert {r["stage"] for r in rows} == {"separated", "*"}
    shares = {r["region"]: r["value"] for r in rows if r["parameter"] == "capacity_share"}
    assert shares == {"CHN": 0.92, "MYS": 0.05, "AUS": 0.01, "ROW": 0.02}
    assert len(rows) == len(load_registry().rows("rare-earths", "separated"))
    assert set(rows[0]) == {"commodity", "stage", "region", "parameter", "value", "low", "high",
                            "unit", "source", "note"}


def test_unknown_commodity_is_one_line_with_close_matches() -> None:
    proc = critmin("params", "show", "lithum")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: unknown commodity 'lithum': did you mean 'lithium'")
    assert proc.stderr.count("\n") == 1


def test_unknown_stage_names_the_registry_stages() -> None:
    result = runner.invoke(app, ["params", "show", "lithium", "--stage", "chem"])
    assert isinstance(result.exception, UnknownNameError)
    assert str(result.exception) == "unknown stage of lithium 'chem': did you mean 'chemical'?"


def test_show_csv_and_a_custom_registry(tmp_path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("commodity,stage,region,parameter,value,low,high,unit,source,note\n"
                    "tin,mine,*,supply_elasticity,0.2,0.1,0.3,dimensionless,assumption,\n"
                    "*,*,*,demand_elasticity,-0.1,-0.2,-0.05,dimensionless,assumption,\n")
    result = runner.invoke(app, ["params", "show", "tin", "--registry", str(path), "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["parameter"], float(r["value"])) for r in rows] == [
        ("supply_elasticity", 0.2), ("demand_elasticity", -0.1)]
    path.write_text(path.read_text() + "tin,mine,*,price_ref,-5,-10,1,USD/t,assumption,\n")
    result = runner.invoke(app, ["params", "show", "tin", "--registry", str(path)])
    assert isinstance(result.exception, RegistryError)
    assert str(result.exception).startswith(
        f"{path}:4: field 'low': -10 is not allowed for price_ref")


def test_catalog_commodity_without_rows_gets_the_star_rows() -> None:
    from critmin import data

    try:
        slug = data.resolve_commodity("Copper")
    except CritminError as err:
        pytest.skip(f"curated data not built: {err}")
    result = runner.invoke(app, ["params", "show", "Copper", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert slug == "copper" and rows and {r["commodity"] for r in rows} == {"*"}


def test_list_counts_rows_per_parameter() -> None:
    result = runner.invoke(app, ["params", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["parameter"] for r in rows] == list(PARAMETERS)
    assert sum(r["rows"] for r in rows) == len(load_registry().table)
    by = {r["parameter"]: r for r in rows}
    assert by["demand_elasticity"]["allowed"] == "x ≤ 0" and by["capacity_share"]["regional"]


# -- scenario commands (need the Scenario model of critmin.scenario.model) ---------------------


def _scenario_files() -> list[Path]:
    return sorted((REPO / "scenarios").glob("*.yaml"))


def test_scenario_schema_is_json() -> None:
    pytest.importorskip("critmin.scenario.model")
    proc = critmin("scenario", "schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["properties"]


def test_scenario_validate_ok_and_errors(tmp_path) -> None:
    pytest.importorskip("critmin.scenario.model")
    proc = critmin("scenario", "validate", str(tmp_path / "none.yaml"))
    missing = tmp_path / "none.yaml"
    assert (proc.returncode, proc.stderr) == (1, f"error: {missing}: file not found\n")
    files = _scenario_files()
    if not files:
        pytest.skip("no example scenarios shipped yet")
    result = runner.invoke(app, ["scenario", "validate", str(files[0])])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ") and result.stdout.rstrip().endswith(")")
    text = files[0].read_text(encoding="utf-8").rstrip("\n") + "\nbogus_field: 1\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    proc = critmin("scenario", "validate", str(bad))
    assert proc.returncode == 1 and proc.stdout == ""
    line = text.count("\n")
    assert proc.stderr.startswith(
        f"error: {bad}:{line}: field 'bogus_field': unknown field 'bogus_field'; allowed: ")
    assert proc.stderr.count("\n") == 1
