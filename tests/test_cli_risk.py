"""`critmin risk` end to end on the shipped curated dataset."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.data.store import data_dir

pytestmark = pytest.mark.skipif(
    not (data_dir() / "facts.parquet").exists(), reason="curated dataset not built"
)
runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src"


def run_json(*args: str) -> list[dict]:
    result = runner.invoke(app, ["risk", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_commodity_straight_after_risk_and_via_show() -> None:
    short = run_json("rare-earths", "--year", "2024", "--method", "hhi")
    long = run_json("show", "rare-earths", "--year", "2024", "--method", "hhi")
    assert short == long
    (row,) = short
    assert row["country_share"] == pytest.approx(270_000 / 380_000)
    assert row["denominator"] == "world-total"
    assert row["hhi"] == round(row["hhi"]) and 5000 < row["hhi"] < 5400  # 0–10,000 scale


def test_sum_of_countries_denominator() -> None:
    (row,) = run_json(
        "rare-earths", "--year", "2024", "--method", "hhi", "--denominator", "sum-of-countries"
    )
    assert row["country_share"] == pytest.approx(270_000 / 384_000)


def test_one_commodity_is_a_trend() -> None:
    rows = run_json("cobalt", "--stage", "mine", "--method", "n-1")
    assert [r["year"] for r in rows] == sorted(r["year"] for r in rows)
    assert {r["n1_removed"] for r in rows} == {"COD"}
    assert len(rows) >= 4


def test_2024_ranking_by_bottleneck_hhi() -> None:
    rows = run_json("--year", "2024", "--method", "hhi", "--bottleneck")
    published = [r for r in rows if r["world_published"]]
    assert len({r["commodity"] for r in rows}) == len(rows)  # one stage per commodity
    hhis = [r["hhi"] for r in published]
    assert hhis == sorted(hhis, reverse=True)
    assert published[0]["commodity"] == "gallium" and published[0]["top1"] == "CHN"
    names = [r["commodity"] for r in published]
    assert {"rare-earths", "cobalt", "graphite", "lithium"} <= set(names)
    assert all(r["year"] == 2024 and r["bottleneck"] for r in rows)


def test_2024_ranking_by_trade_club_share() -> None:
    rows = run_json(
        "--year",
        "2024",
        "--method",
        "hhi",
        "--bottleneck",
        "--rank-by",
        "group_share",
        "--as-of",
        "2026-02-02",
    )
    published = [r for r in rows if r["world_published"]]
    shares = [r["group_share"] for r in published]
    assert shares == sorted(shares, reverse=True)
    assert {r["group"] for r in rows} == {"trade-club"} and rows[0]["group_size"] == 6
    rare = next(r for r in rows if r["commodity"] == "rare-earths")
    assert rare["group_share"] == pytest.approx((45_500 + 29_000 + 2_100) / 380_000)


def test_all_commodities_one_row_per_market_as_csv() -> None:
    result = runner.invoke(app, ["risk", "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert not table.duplicated(["commodity", "stage"]).any()
    assert table["commodity"].nunique() > 70
    assert {"sr_eu", "sr_usgs", "n1_remaining", "country_share"} <= set(table.columns)


def test_eu_us_variant_reports_import_reliance() -> None:
    (row,) = run_json("gallium", "--year", "2024", "--method", "eu", "--eu-variant", "us")
    assert row["eu_ir"] == 1.0 and row["eu_variant"] == "us"
    assert row["sr_eu"] == pytest.approx(row["hhi_wgi"] * 0.5 + row["hhi_wgi_sourcing"] * 0.5)


def test_matrix_svg_png_html(tmp_path: Path) -> None:
    for name in ("m.svg", "m.png", "m.html"):
        result = runner.invoke(app, ["risk", "matrix", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    svg = (tmp_path / "m.svg").read_text()
    for text in (
        "gallium",
        "cobalt",
        "rare-earths",
        "US net import reliance",
        "EU CRM supply risk",
    ):
        assert text in svg
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    assert "gallium" in (tmp_path / "m.html").read_text()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = "from critmin.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["risk", "--group", "trade-clb"], "unknown group 'trade-clb': did you mean 'trade-club'?"),
        (["risk", "cobalt", "--country", "Chna"], "unknown country 'Chna': did you mean 'China'"),
        (["risk", "coblt"], "unknown commodity 'coblt': did you mean 'cobalt'"),
    ],
)
def test_bad_names_exit_non_zero_with_one_line(args: list[str], hint: str) -> None:
    done = cli(*args)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and hint in lines[0]


def test_help_lists_both_forms() -> None:
    result = runner.invoke(app, ["risk", "--help"])
    assert result.exit_code == 0
    assert "matrix" in result.stdout and "show" in result.stdout


def test_matrix_against_importance_with_a_parameter_file(tmp_path: Path) -> None:
    params = tmp_path / "ei.csv"
    params.write_text(
        "commodity,parameter,value,low,high,unit,since,source,note\n"
        "gallium,economic_importance,3.5,3.0,4.0,index,,a test file,\n"
        "cobalt,economic_importance,6.0,5.0,7.0,index,,a test file,\n"
    )
    out = tmp_path / "ei.svg"
    result = runner.invoke(
        app, ["risk", "matrix", "--out", str(out), "--x", "importance", "--params", str(params)]
    )
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "EU economic importance" in svg and "gallium" in svg and "cobalt" in svg
    assert "rare-earths" not in svg  # no importance value given: not drawn, not guessed
    bare = runner.invoke(app, ["risk", "matrix", "--out", str(out), "--x", "importance"])
    assert bare.exit_code != 0
    assert "no economic_importance values" in str(bare.exception)
