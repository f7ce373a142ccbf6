"""`critmin data …` end to end, through the installed entry point's code path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from critmin.cli import app

runner = CliRunner()


def _json(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_rare_earths_json_is_pure_json() -> None:
    # a real subprocess: stdout must hold JSON and nothing else
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "critmin",
            "data",
            "show",
            "rare-earths",
            "--stage",
            "mine",
            "--year",
            "2024",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    by = {r["iso3"]: r for r in rows}
    assert by["CHN"]["value"] == 270_000 and by["AUS"]["value"] == 29_000
    assert by["WLD"]["value"] == 380_000
    assert by["CHN"]["share"] == pytest.approx(270_000 / 380_000)
    assert {"iso3", "country", "value", "unit", "share", "flag"} <= set(rows[0])


def test_show_gallium_2023_mcs2024_edition() -> None:
    rows = _json(
        [
            "data",
            "show",
            "gallium",
            "--stage",
            "primary",
            "--year",
            "2023",
            "--edition",
            "2024",
            "--format",
            "json",
        ]
    )
    by = {r["iso3"]: r for r in rows}
    assert by["CHN"]["value"] == 600 and by["WLD"]["value"] == 610
    assert by["CHN"]["unit"] == "t"


def test_show_cobalt_default_is_latest_year() -> None:
    rows = _json(["data", "show", "cobalt", "--year", "2024", "--format", "json"])
    by = {r["iso3"]: r for r in rows}
    assert by["COD"]["value"] == 226_000 and by["WLD"]["value"] == 302_000


def test_lithium_world_2024() -> None:
    rows = _json(["data", "show", "lithium", "--year", "2024", "--format", "json"])
    assert {r["iso3"]: r["value"] for r in rows}["WLD"] == 222_000


def test_unknown_commodity_one_line_with_close_matches() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "critmin", "data", "show", "lithum"], capture_output=True, text=True
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "lithium" in lines[0] and "unknown commodity" in lines[0]
    assert proc.stdout == ""


def test_sql_and_csv() -> None:
    result = runner.invoke(
        app, ["data", "sql", "SELECT count(*) AS n FROM commodities", "--format", "csv"]
    )
    assert result.exit_code == 0
    n = int(result.stdout.strip().splitlines()[1])
    assert n >= 90


def test_bad_sql_is_one_line() -> None:
    result = runner.invoke(app, ["data", "sql", "SELEC nonsense"])
    assert result.exit_code != 0


def test_list_and_sources() -> None:
    cat = _json(["data", "list", "--format", "json"])
    assert any(r["commodity"] == "rare-earths" and "mine" in r["stages"] for r in cat)
    src = _json(["data", "sources", "--format", "json"])
    licences = " ".join(r["licence"] for r in src)
    assert "CC BY 4.0" in licences and "ublic domain" in licences


def test_groups_trade_club() -> None:
    rows = _json(["data", "groups", "trade-club", "--on", "2026-03-01", "--format", "json"])
    assert {r["iso3"] for r in rows} == {"USA", "AUS", "JPN", "KOR", "SAU", "THA"}
