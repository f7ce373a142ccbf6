"""Coalition designer: the integer program against brute force, greedy and the USGS numbers."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from critmin.analysis.coalition import (
    AGGREGATES,
    OBJECTIVES,
    TIE,
    build_problem,
    design_coalition,
    exhaustive,
    greedy,
    integer_program,
)
from critmin.cli.analysis import register
from critmin.data.store import data_dir
from critmin.errors import CritminError

needs_data = pytest.mark.skipif(not (data_dir() / "facts.parquet").exists(),
                                reason="curated dataset not built")


def frame(markets: dict[str, dict[str, float]], year: int = 2024) -> pd.DataFrame:
    """A share frame from {"commodity/stage": {iso3: share}}."""
    rows = []
    for label, shares in markets.items():
        commodity, stage = label.split("/")
        rows += [{"commodity": commodity, "stage": stage, "year": year, "iso3": iso3,
                  "share": share} for iso3, share in shares.items()]
    return pd.DataFrame(rows)


def values(problem, added):  # (score, mean) of a selection
    chosen = problem.selection(added)[None]
    return float(problem.score(chosen)[0]), float(problem.mean(chosen)[0])


SMALL = frame({
    "a/mine": {"CHN": 0.50, "USA": 0.10, "AUS": 0.15, "BRA": 0.08, "IND": 0.07, "OTH": 0.10},
    "b/mine": {"CHN": 0.30, "USA": 0.05, "COD": 0.40, "IDN": 0.12, "BRA": 0.03, "OTH": 0.10},
    "c/refinery": {"CHN": 0.80, "JPN": 0.06, "IND": 0.05, "IDN": 0.04, "OTH": 0.05},
})


def test_greedy_falls_short_on_the_worst_market_and_the_program_does_not() -> None:
    # greedy takes Y first (0.25 in both); X+W is the only pair reaching 0.4 in both
    shares = frame({"a/mine": {"X": 0.4, "Y": 0.25, "OTH": 0.35},
                    "b/mine": {"W": 0.4, "Y": 0.25, "OTH": 0.35}})
    p = build_problem(shares, [], exclude=[], aggregate="min")
    assert "Y" in greedy(p, 2) and values(p, greedy(p, 2))[0] == pytest.approx(0.25)
    assert integer_program(p, 2) == ("W", "X")
    assert values(p, ("W", "X"))[0] == pytest.approx(0.4)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_program_equals_brute_force_on_a_small_case(objective: str, aggregate: str,
                                                     k: int) -> None:
    p = build_problem(SMALL, ["USA"], exclude=["CHN"], objective=objective,  # type: ignore[arg-type]
                      aggregate=aggregate)  # type: ignore[arg-type]
    best = max((values(p, c) for c in itertools.combinations(p.candidates, k)),
               key=lambda v: (round(v[0] / TIE), v[1]))
    ip = values(p, integer_program(p, k))
    assert ip[0] == pytest.approx(best[0], abs=1e-9)
    assert ip[1] == pytest.approx(best[1], abs=1e-7)
    assert values(p, exhaustive(p, k)) == pytest.approx(best, abs=1e-9)
    assert ip[0] >= values(p, greedy(p, k))[0] - 1e-9


def test_objectives_by_hand() -> None:
    # members USA; add AUS and COD
    share = build_problem(SMALL, ["USA"], objective="share")
    assert share.market_values(share.selection(["AUS", "COD"])[None])[0] == pytest.approx(
        [0.25, 0.45, 0.0])
    # outside China: a/mine has 0.50 of listed output outside China, c/refinery 0.20
    non_china = build_problem(SMALL, ["USA"], objective="non-china")
    assert non_china.market_values(non_china.selection(["AUS", "COD"])[None])[0] == (
        pytest.approx([0.25 / 0.50, 0.45 / 0.70, 0.0]))
    assert "CHN" not in non_china.candidates
    # N−1: the club keeps its share minus its largest supplier (AUS in a, COD in b)
    n1 = build_problem(SMALL, ["USA"], objective="n-1")
    assert n1.market_values(n1.selection(["AUS", "COD"])[None])[0] == pytest.approx(
        [0.10, 0.05, 0.0])
    weighted = build_problem(SMALL, ["USA"], weights={"a": 2.0, "c/refinery": 0.0})
    assert weighted.weights == pytest.approx([2 / 3, 1 / 3, 0.0])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_program_never_worse_than_greedy_and_matches_enumeration(data: st.DataObject) -> None:
    n_markets = data.draw(st.integers(1, 3))
    n_countries = data.draw(st.integers(3, 7))
    raw = np.array(data.draw(st.lists(st.integers(0, 20), min_size=n_markets * n_countries,
                                      max_size=n_markets * n_countries)), float)
    raw = raw.reshape(n_markets, n_countries) + 0.01
    shares = raw / raw.sum(axis=1, keepdims=True)
    names = [f"C{i}" for i in range(n_countries)]
    markets = {f"m{j}/mine": dict(zip(names, shares[j], strict=True)) for j in range(n_markets)}
    objective = data.draw(st.sampled_from(OBJECTIVES))
    aggregate = data.draw(st.sampled_from(AGGREGATES))
    p = build_problem(frame(markets), ["C0"], exclude=[], objective=objective,
                      aggregate=aggregate)
    k = data.draw(st.integers(1, len(p.candidates)))
    ip = values(p, integer_program(p, k))
    assert ip[0] >= values(p, greedy(p, k))[0] - 1e-9
    assert ip[0] == pytest.approx(values(p, exhaustive(p, k))[0], abs=1e-9)


@needs_data
def test_trade_club_plus_three_for_rare_earths_and_cobalt_2024() -> None:
    design = design_coalition(["rare-earths", "cobalt"], 3, year=2024,
                              on="2026-03-01")
    assert design.problem.members == ("AUS", "JPN", "KOR", "SAU", "THA", "USA")
    # linear objective: greedy is optimal and both add DR Congo, Indonesia and Burma
    assert set(design.ip_added) == set(design.greedy_added) == {"COD", "IDN", "MMR"}
    # USGS MCS 2026, 2024 mine output (t): REE USA 45,500 + AUS 29,000 + THA 2,100 (+ MMR
    # 27,000) of 380,000; cobalt AUS 4,780 + USA 200 (+ COD 226,000 + IDN 35,000) of 302,000
    today = (76_600 / 380_000 + 4_980 / 302_000) / 2
    after = ((76_600 + 27_000) / 380_000 + (4_980 + 226_000 + 35_000) / 302_000) / 2
    table = design.table().set_index("method")
    assert table.loc["today", "objective"] == pytest.approx(today, rel=1e-12)
    assert design.ip_value == pytest.approx(after, rel=1e-12)
    assert table.loc["integer program", "rare-earths/mine 2024"] == pytest.approx(
        103_600 / 380_000, rel=1e-12)


@needs_data
def test_cli_json_is_clean_and_errors_are_one_line(tmp_path) -> None:
    code = ("import sys; from critmin.cli import app, main; "
            "from critmin.cli.analysis import register; register(app); main()")
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-c", code, "coalition", "--commodities",
                           "rare-earths,gallium:primary", "--add", "2", "--objective",
                           "non-china", "--aggregate", "min", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)  # HiGHS's banner must not reach stdout
    assert [r["method"] for r in rows] == ["today", "integer program", "greedy"]
    assert rows[1]["objective"] >= rows[2]["objective"] - 1e-9
    # Japan makes 3 t of the 9 t of primary gallium listed outside China (MCS 2026, 2025)
    assert rows[0]["gallium/primary 2025"] == pytest.approx(3 / 9, rel=1e-9)

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    for args, words in (
        (["--commodities", "rare-earths,gallium", "--add", "2"], "stages with data: primary"),
        (["--commodities", "unobtainium", "--add", "2"], "unknown commodity"),
        (["--commodities", "gallium:primary", "--add", "9"], "or fewer"),
        (["--commodities", "cobalt", "--add", "1", "--weights", "cobalt"], "allowed form"),
    ):
        result = runner.invoke(app, ["coalition", *args])
        assert result.exit_code == 1
        assert isinstance(result.exception, CritminError)
        message = str(result.exception)
        assert words in message and "\n" not in message
