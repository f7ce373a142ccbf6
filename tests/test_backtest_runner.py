"""Backtests end to end: the shipped cases run, score and draw; `critmin backtest` prints one
JSON object per target; what the model shows of each episode (and what it still misses)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.backtest.case import load_case
from critmin.backtest.metrics import METRICS, Spec
from critmin.backtest.runner import CaseRun, case_scores, run_case, score, shipped_cases
from critmin.cli.backtest import register

DRAWS = 8
REE, GAGE, LITHIUM = (next(p for p in shipped_cases() if p.stem == stem) for stem in (
    "rare-earth-quotas-2010", "gallium-germanium-licensing-2023", "lithium-boom-glut-2020"))
REQUIRED = {"case", "metric", "observed", "model_median", "model_p05", "model_p95", "error",
            "within_range", "source"}


@pytest.fixture(scope="module")
def runs() -> dict[str, CaseRun]:
    return {p.stem: run_case(load_case(p), draws=DRAWS) for p in (REE, GAGE, LITHIUM)}


def app() -> typer.Typer:
    """The main app's commands as the lead wires them: ``register(app)``."""
    main = typer.Typer()
    register(main)
    return main


def metric(r: CaseRun, name: str, **spec: object) -> np.ndarray:
    return METRICS[name].compute(r.outcome, Spec(**spec))  # type: ignore[arg-type]


def test_the_quota_hook_caps_exports_at_a_share_of_the_reference_trade(runs) -> None:
    r = runs["rare-earth-quotas-2010"]
    o, case = r.outcome, r.case
    stage = o.stages.index("rare-earths/separated")
    quota = o.quotas[(stage, o.blocs.index("china"))]
    exports = o.flow[:, :, stage, 0, 1]  # china → rest, t per quarter
    reference = exports[:, case.scenario.index("2010Q1"):case.scenario.index("2010Q2") + 1]
    caps = quota.caps
    active = np.isfinite(caps)
    assert active[:, case.scenario.index("2010Q3"):case.scenario.index("2014Q4") + 1].all()
    assert not active[:, case.scenario.index("2015Q1"):].any()
    assert (exports[active] <= caps[active] * (1 + 1e-9)).all()
    q3 = case.scenario.index("2010Q3")
    np.testing.assert_allclose(caps[:, q3], 0.604 * reference.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(caps[:, case.scenario.index("2012Q2")],
                               0.671 * reference.mean(axis=1), rtol=1e-12)
    # the baseline has no hook: its exports in 2011 exceed the quota
    assert (r.run.baseline.flow[:, case.scenario.index("2011Q1"), stage, 0]
            > caps[:, case.scenario.index("2011Q1")]).all()


def test_scores_hold_observed_model_band_error_and_source(runs) -> None:
    for r in runs.values():
        frame = score(r)
        assert len(frame) == len(r.case.targets)
        numeric = frame[frame.metric != "peak_period"]
        ok = numeric.model_median.notna()  # None: most draws never get there
        assert (numeric.model_p05[ok] <= numeric.model_median[ok] + 1e-12).all()
        ok &= numeric.model_p95.notna()
        assert (numeric.model_median[ok] <= numeric.model_p95[ok] + 1e-12).all()
        for row in frame.itertuples():
            target = next(t for t in r.case.targets if t.name == row.target)
            assert row.observed == target.observed
            assert row.source.startswith(target.source.url)
            if row.error_measure == "log" and row.model_median is not None:
                assert row.error == pytest.approx(np.log(row.model_median / row.observed))
    totals = case_scores(score(runs["lithium-boom-glut-2020"]))
    assert list(totals.case) == ["lithium boom and glut 2020-2025", "all"]
    assert totals.hits.iloc[0] == totals.hits.iloc[1]


def test_the_2010_quota_shows_a_severalfold_ex_china_spike_and_a_wedge(runs) -> None:
    r = runs["rare-earth-quotas-2010"]
    s = r.case.scenario
    o = r.outcome
    stage, china, rest = o.stages.index("rare-earths/separated"), 0, 1
    cut = s.index("2010Q3")
    before = o.price[:, cut - 1, stage, rest]
    # the ex-China price rises several-fold within the quarter of the cut (cerium: ×4.5 in ~2
    # months) and China's domestic price falls: the wedge opens
    assert np.median(o.price[:, cut, stage, rest] / before) > 3
    assert np.median(o.price[:, cut, stage, china] / o.price[:, cut - 1, stage, china]) < 1
    assert np.median(metric(r, "peak_price_ratio", stage=stage, bloc=rest, other=china,
                            window=(cut, s.index("2012Q2")))) > 3
    # once the quota ends (1 Jan 2015) the wedge closes to the transport margin
    after = s.index("2015Q2")
    np.testing.assert_array_less(o.price[:, after, stage, rest] / o.price[:, after, stage, china],
                                 1.1)


@pytest.mark.xfail(strict=True, reason="engine: ex-China processors bid for oxides whatever "
                   "their price and keep their trend growth, so the quota binds until it ends "
                   "(see the issue 7 report)")
def test_the_2010_quota_stops_binding_and_the_wedge_narrows_within_a_year(runs) -> None:
    r = runs["rare-earth-quotas-2010"]
    s, o = r.case.scenario, r.outcome
    stage = o.stages.index("rare-earths/separated")
    used = metric(r, "quota_used", stage=stage, bloc=0,
                  window=(s.index("2012Q1"), s.index("2012Q4")))
    wedge = metric(r, "price_ratio", stage=stage, bloc=1, other=0, at=s.index("2012Q3"))
    assert np.median(used) < 0.9 and np.median(wedge) < 3


@pytest.mark.xfail(
    strict=True,
    reason="engine: with processors' working stocks and the demand choke (behaviour fixes of "
    "1 Dec 2026) the median lithium-chemical surge peaks at ~1.7x against x12 observed: the "
    "boom needs stock-building on rising expectations, which the model lacks (issue 7 note)",
)
def test_the_lithium_boom_is_severalfold_and_mostly_gone_within_three_years(runs) -> None:
    r = runs["lithium-boom-glut-2020"]
    s, o = r.case.scenario, r.outcome
    stage, china = o.stages.index("lithium/chemical"), 0
    window = (s.index("2021Q1"), s.index("2025Q2"))
    peak = metric(r, "peak_price_multiple", stage=stage, bloc=china, base=s.index("2020Q4"),
                  window=window)
    three_years_on = metric(r, "post_peak_change", stage=stage, bloc=china, window=window,
                            after=12)
    assert np.median(peak) > 3
    assert np.median(three_years_on) < 0.5  # most of the boom is gone 12 quarters later


def test_licensing_raises_prices_outside_china_and_lowers_them_inside(runs) -> None:
    frame = score(runs["gallium-germanium-licensing-2023"]).set_index("target")
    assert frame.loc["ga-rotterdam-dec-2023", "model_median"] > 1
    assert frame.loc["ga-china-aug-2023", "model_median"] < 1
    assert frame.loc["ga-wedge-oct-2023", "model_median"] > 1
    assert frame.loc["ge-front-loading-jul-2023", "model_median"] > 1


def test_price_directions_right_except_the_named_misses(runs) -> None:
    frame = score(runs["rare-earth-quotas-2010"])
    for r in (runs["gallium-germanium-licensing-2023"], runs["lithium-boom-glut-2020"]):
        frame = frame._append(score(r), ignore_index=True)
    moves = frame[frame.direction_ok.notna()]
    assert len(moves) == 19
    # Nd oxide fell 60% from end-2011 to end-2012 while the model's ex-China price still rises;
    # the 2025 lithium rebound after the mine halt is too weak in the model to turn the price up
    misses = {"nd-oxide-2012-vs-2011", "mine-halt-rebound-2025"}
    assert set(moves.target[~moves.direction_ok.astype(bool)]) == misses


def test_cli_json_gives_one_object_per_target(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["backtest", str(GAGE), str(LITHIUM), "--format", "json",
                                        "--draws", "4", "--figures", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 14
    unverified = next(row for row in rows if row["target"] == "peak-vs-2020-low")
    assert unverified["scored"] is False and "U)" in unverified["source"]
    assert all(set(row) >= REQUIRED for row in rows)
    assert {row["case"] for row in rows} == {"gallium and germanium licensing 2023",
                                            "lithium boom and glut 2020-2025"}
    peak = next(row for row in rows if row["target"] == "peak-quarter")
    assert peak["observed"] == "2022Q4" and isinstance(peak["error"], float)
    assert all("calibration_cases.md:" in row["source"] for row in rows)
    pngs = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert pngs == ["gallium-and-germanium-licensing-2023.png",
                    "lithium-boom-and-glut-2020-2025.png"]
    assert all((tmp_path / "figs" / p).stat().st_size > 20_000 for p in pngs)


def test_cli_scores_and_table_name_the_misses() -> None:
    result = CliRunner().invoke(app(), ["backtest", str(LITHIUM), "--format", "json",
                                        "--draws", "4", "--scores"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["case"] for r in rows] == ["lithium boom and glut 2020-2025", "all"]
    assert rows[0]["targets"] == 7 and rows[0]["scored"] == 6 and 0 <= rows[0]["score"] <= 1
    table = CliRunner().invoke(app(), ["backtest", str(LITHIUM), "--draws", "4"])
    assert table.exit_code == 0
    assert "MISS lithium boom and glut 2020-2025 / peak-quarter: observed 2022Q4" in table.stdout


def test_cli_bad_case_is_one_line_with_file_line_field(tmp_path: Path) -> None:
    from critmin.scenario.yamlio import ScenarioFileError

    bad = tmp_path / "bad.yaml"
    bad.write_text(LITHIUM.read_text().replace("metric: trough_after_peak",
                                               "metric: trough"))
    result = CliRunner().invoke(app(), ["backtest", str(bad)])
    assert isinstance(result.exception, ScenarioFileError)
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1)
                if "metric: trough" in text and "trough_" not in text)
    assert str(result.exception).startswith(f"{bad}:{line}: field 'targets[4].metric'")
