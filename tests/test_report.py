"""Briefings: the charts (hand-computed cases), the HTML page (numbers from the run, the registry
and the data), the PDF (Chromium, ≥ 2 pages, sources printed) and `critmin report` end to end."""

from __future__ import annotations

import dataclasses
import html as htmllib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from critmin.cli import report as report_cli
from critmin.errors import CritminError
from critmin.report import briefing, figures
from critmin.report.pdf import chromium_path, html_to_pdf
from critmin.scenario.model import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "scenarios" / "rare-earth-licensing.yaml"
FIGURES = ("price_paths", "shortfall_by_bloc", "days_of_cover")


def _text(page: str) -> str:
    """The page's visible text (tags stripped, entities decoded)."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"</?(a|b|i|span|wbr|code)\b[^>]*>", "", page)  # inline: no space
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _group() -> None:  # a group, so `report` is a subcommand as in the real app
        pass

    report_cli.register(app)
    return app


# -- charts on a hand-built dataset ------------------------------------------------------------


def _tiny(time_step: str = "quarter") -> xr.Dataset:
    """1 draw, 2 periods, 1 stage, regions A, B in bloc x and C in bloc y."""
    dims = ("draw", "time", "stage", "region")
    coords = {"draw": [0], "time": ["2025Q1", "2025Q2"], "stage": ["m/mine"],
              "region": ["A", "B", "C"], "region_bloc": ("region", ["x", "x", "y"]),
              "bloc": ["x", "y"]}

    def arr(values: list[list[float]]) -> tuple[tuple[str, ...], np.ndarray]:
        return dims, np.array(values, float).reshape(1, 2, 1, 3)

    return xr.Dataset({
        "consumption": arr([[3.0, 4.0, 10.0], [8.0, 4.0, 0.0]]),
        "baseline_consumption": arr([[5.0, 5.0, 10.0], [5.0, 5.0, 0.0]]),
        "inventory": arr([[100.0, 0.0, 7.0], [50.0, 0.0, 7.0]]),
        "price": (("draw", "time", "stage", "bloc"), np.ones((1, 2, 1, 2))),
    }, coords=coords, attrs={"time_step": time_step})


def test_shortfall_sums_regions_into_blocs_before_the_floor():
    short = figures.shortfall(_tiny())
    # bloc x: baseline 10, use 7 → 3 short; then use 12 > 10 → 0 (not 5 − 8 + 5 − 4 = −2 + 1)
    assert short[0, :, 0, 0].tolist() == [3.0, 0.0]
    assert short[0, :, 0, 1].tolist() == [0.0, 0.0]


def test_days_of_cover_is_stock_over_normal_use_per_day():
    ds = _tiny()
    days = figures.cover_days(ds, figures.by_bloc(ds, "inventory"))
    # bloc x: 100 t ÷ (10 t per quarter × 4 ÷ 365.25 days) = 913.125 days
    assert days[0, 0, 0, 0] == pytest.approx(100 / (10 * 4 / 365.25), rel=1e-12)
    assert days[0, 1, 0, 0] == pytest.approx(50 / (10 * 4 / 365.25), rel=1e-12)
    assert days[0, 0, 0, 1] == pytest.approx(7 / (10 * 4 / 365.25), rel=1e-12)
    assert math.isnan(days[0, 1, 0, 1])  # bloc y uses none in period 2: no cover defined
    monthly = figures.cover_days(_tiny("month"), figures.by_bloc(ds, "inventory"))
    assert monthly[0, 0, 0, 0] == pytest.approx(100 / (10 * 12 / 365.25), rel=1e-12)


def test_stockpile_holdings_of_the_wrong_shape_are_refused():
    ds = _tiny()
    with pytest.raises(CritminError, match=r"allowed: \(1, 2, 1, 2\)"):
        figures.days_of_cover(ds, holdings=np.zeros((2, 2)))


def test_fiscal_cost_bars_scale_to_billions_and_mark_net_revenue():
    frame = pd.DataFrame({"option": ["stockpile", "tariff"],
                          "fiscal_cost_usd": [2.5e9, -1.0e8]})
    fig = figures.fiscal_cost(frame)
    bar = fig.data[0]
    assert list(bar.x) == [2.5, -0.1]
    assert list(bar.y) == ["stockpile", "tariff"]
    assert bar.marker.color[1] != bar.marker.color[0]  # net revenue coloured apart
    assert "USD billion" in fig.layout.title.text
    with pytest.raises(CritminError, match="fiscal_cost_usd"):
        figures.fiscal_cost(frame[["option"]])


@pytest.mark.parametrize(("amounts", "expected"), [
    ([1.79e12], (1e12, "trillion")), ([8.19e11, 1.0], (1e9, "billion")),
    ([-3.0e6], (1e6, "million")), ([950.0], (1.0, "")), ([np.nan], (1.0, ""))])
def test_money_scale(amounts, expected):
    assert figures.money_scale(np.array(amounts)) == expected


@pytest.mark.parametrize(("value", "text"), [
    (658153.78, "658,000"), (1.16735, "1.17"), (33.65, "33.6"), (0.0, "0"),
    (-0.15, "-0.15"), (float("nan"), "–"), (2_000_000.0, "2,000,000")])
def test_numbers_show_three_significant_figures(value, text):
    assert briefing._num(value) == text


# -- the briefing of the shipped licensing scenario ---------------------------------------------


@pytest.fixture(scope="module")
def brief() -> briefing.Briefing:
    scenario = load_scenario(LICENSING)
    return briefing.prepare(scenario, source="scenarios/rare-earth-licensing.yaml")


@pytest.fixture(scope="module")
def page(brief: briefing.Briefing) -> str:
    return briefing.render_html(brief)


def test_shortfall_chart_adds_up_to_the_summary(brief):
    cumulative = figures.shortfall(brief.dataset).sum(axis=1).mean(axis=0)  # (stage, bloc)
    table = brief.summary.set_index(["stage", "bloc"]).cumulative_shortfall_t
    for i, stage in enumerate(brief.dataset.stage.values):
        for b, bloc in enumerate(brief.dataset.bloc.values):
            assert cumulative[i, b] == pytest.approx(table[(stage, bloc)], rel=1e-12)


def test_price_chart_shows_median_band_and_baseline_per_stage_and_bloc(brief):
    ds = brief.dataset
    fig = figures.price_paths(ds)
    n_stages, n_blocs = ds.sizes["stage"], ds.sizes["bloc"]
    assert len(fig.data) == 3 * n_stages * n_blocs  # band, median, baseline
    shown = [t.name for t in fig.data if t.showlegend]
    assert shown == [n for b in ds.bloc.values for n in (str(b), f"{b} baseline")]
    magnet, rest = n_stages - 1, n_blocs - 1
    median = next(t for t in fig.data if t.name == "rest" and t.yaxis == f"y{n_stages}")
    expected = np.median(ds.price.values[:, :, magnet, rest], axis=0)
    np.testing.assert_allclose(np.asarray(median.y, float), expected, rtol=1e-12)
    band = next(t for t in fig.data if t.name == "rest 5–95%" and t.yaxis == f"y{n_stages}")
    lo, hi = np.percentile(ds.price.values[:, :, magnet, rest], [5, 95], axis=0)
    np.testing.assert_allclose(np.asarray(band.y, float), np.r_[hi, lo[::-1]], rtol=1e-12)
    assert fig.layout.yaxis.type == "log"


def test_registry_rows_used_are_the_runs_own(brief):
    used = briefing.registry_rows_used(brief.world)
    assert set(used.commodity) <= {"*", "rare-earths"}
    assert "price_ref" not in set(used.parameter)
    registry = brief.world.registry
    shares = registry.shares("demand_share", "rare-earths", "magnet")
    got = used[(used.parameter == "demand_share") & (used.stage == "magnet")]
    assert sorted(got.region) == sorted(shares.index)
    # the most specific row wins: rare-earths' own substitution cap, not the general one
    cap = used[used.parameter == "substitution_cap"]
    assert cap.commodity.tolist() == ["rare-earths"]
    assert cap.value.iloc[0] == registry.value("substitution_cap", "rare-earths", "magnet")


def test_page_records_edition_registry_hash_seed_and_every_figure(brief, page):
    from critmin.data import data_edition
    from critmin.params import load_registry

    scenario = load_scenario(LICENSING)
    assert data_edition() in page
    assert load_registry().version in page
    assert scenario.hash() in page
    assert "20250404" in page  # the scenario's seed
    for name in FIGURES:
        assert f'id="fig-{name}"' in page
        assert re.search(rf'Plotly\.newPlot\(\s*"fig-{name}"', page)
    assert "plotly.js v" in page  # the library itself, embedded
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched from a CDN


def test_page_states_the_shock_and_the_findings_from_the_run(brief, page):
    text = _text(page)
    assert ("china licenses exports of rare-earths/separated to all other blocs, approving 25% "
            "of the normal flow") in text
    assert "2025Q2 2027Q1 2025Q1" in text  # from, to, announced
    worst = brief.summary.peak_price_multiple.max()
    row = brief.summary.loc[brief.summary.peak_price_multiple.idxmax()]
    assert (f"Worst price spike: {row.stage} in bloc {row.bloc}, "
            f"{briefing._num(worst)}× its no-shock level") in text
    rest_magnet = brief.summary.set_index(["stage", "bloc"]).loc[("rare-earths/magnet", "rest")]
    assert (f"Final users of rare-earths/magnet in rest go without "
            f"{briefing._num(rest_magnet.unserved_t)} t") in text
    assert "This scenario names no policy tools" in text


def test_page_lists_assumptions_with_their_sources(brief, page):
    text = _text(page)
    used = briefing.registry_rows_used(brief.world)
    for parameter in set(used.parameter):
        assert parameter in text
    cited = set(used.source) - {"assumption", "override"}
    sources = text[text.index("Parameters and prices"):]
    for source in cited | set(brief.world.price_source):
        assert re.sub(r"\s+", " ", source) in sources
    assert f"{int((used.source == 'assumption').sum())} of them are marked assumption" in text
    assert "U.S. Geological Survey" in sources or "U.S. Geological Survey" in text


def test_menu_table_and_fiscal_chart_render_from_a_menu_frame(brief):
    frame = pd.DataFrame({
        "option": ["stockpile", "tariff"], "fiscal_cost_usd": [2.5e9, -1.0e8],
        "shortfall_avoided_t": [12_000.0, 0.0], "peak_price_reduction": [0.4, 0.0],
        "gdp_at_risk_avoided_usd": [3.0e11, 0.0], "usd_per_t_avoided": [208_333.0, np.nan],
        "members_gaining": [["USA", "JPN"], []]})
    menu = briefing.Menu(frame, {"fiscal_cost": figures.fiscal_cost(frame)}, note="test menu")
    page = briefing.render_html(dataclasses.replace(brief, menu=menu))
    text = _text(page)
    assert "stockpile USD 2.5 billion 12,000 40% USD 300 billion USD 208,000 USA, JPN" in text
    assert "tariff USD -100 million 0 0% USD 0 – –" in text
    assert "Most shortfall avoided: stockpile, 12,000 t, at a net fiscal cost of USD 2.5 " \
           "billion." in text
    assert 'id="fig-fiscal_cost"' in page
    assert "Which of the tools on the menu protects best" in text


def test_scenario_without_tools_gets_no_menu():
    scenario = load_scenario(LICENSING)
    menu = briefing.menu_comparison(scenario)
    assert menu.table is None and "names no policy tools" in menu.note


def test_menu_section_from_the_real_comparison(tmp_path):
    if not briefing.menu_available():
        pytest.skip("critmin.analysis.menu is not built yet (issue 5 item 7): the menu path of "
                    "the report is exercised once it exists")
    shipped = [p for p in sorted((ROOT / "scenarios").glob("*.yaml"))
               if briefing.menu_section(load_scenario(p)) is not None]
    if not shipped:
        pytest.skip("no shipped scenario names policy tools (menu: or policies:) yet")
    scenario = load_scenario(shipped[0])
    brief = briefing.prepare(scenario, source=str(shipped[0]), draws=2)
    assert brief.menu.table is not None
    page = briefing.render_html(brief)
    text = _text(page)
    for option in brief.menu.table.option:
        assert str(option) in text
    assert 'id="fig-fiscal_cost"' in page


# -- bad input ----------------------------------------------------------------------------------


def test_existing_report_is_kept_without_overwrite(tmp_path):
    (tmp_path / "report.html").write_text("old")
    with pytest.raises(CritminError, match="--overwrite"):
        briefing.write_report(LICENSING, tmp_path)
    assert (tmp_path / "report.html").read_text() == "old"


def test_out_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(CritminError, match="not a folder"):
        briefing.write_report(LICENSING, target)


def test_bad_scenario_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(LICENSING.read_text().replace("horizon: 40", "horizon: -4"))
    with pytest.raises(CritminError, match=r"bad\.yaml:\d+.*horizon"):
        briefing.write_report(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_negative_budget_is_refused():
    with pytest.raises(CritminError, match="budget -5 is not allowed"):
        briefing.prepare(load_scenario(LICENSING), budget=-5)


def test_missing_chromium_says_what_to_do(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<p>x</p>")
    with pytest.raises(CritminError, match="apt-get install chromium"):
        html_to_pdf(page, tmp_path / "p.pdf", chromium=tmp_path / "no-such-browser")
    assert not (tmp_path / "p.pdf").exists()


# -- end to end ---------------------------------------------------------------------------------


def test_cli_writes_html_without_pdf(tmp_path):
    out = tmp_path / "brief"
    result = CliRunner().invoke(_app(), ["report", str(LICENSING), "--out", str(out),
                                         "--draws", "3", "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "report.html")]
    assert not (out / "report.pdf").exists()
    assert "Draws:</b> 3" in (out / "report.html").read_text()


@pytest.mark.skipif(not chromium_path().is_file(),
                    reason=f"no Chromium at {chromium_path()} (apt-get install chromium)")
def test_cli_writes_html_and_a_pdf_with_sources(tmp_path):
    from pypdf import PdfReader

    from critmin.params import load_registry

    out = tmp_path / "brief"
    result = CliRunner().invoke(_app(), ["report", str(LICENSING), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "report.html"), str(out / "report.pdf")]
    page = (out / "report.html").read_text()
    for name in FIGURES:
        assert f'id="fig-{name}"' in page
    reader = PdfReader(out / "report.pdf")
    assert len(reader.pages) >= 2
    printed = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    for heading in ("The question", "The shock", "Figures", "Assumptions", "Sources"):
        assert heading in printed
    assert load_registry().version in printed
    assert "page 1 of" in printed  # the running footer of the print CSS
    again = CliRunner().invoke(_app(), ["report", str(LICENSING), "--out", str(out)])
    assert again.exit_code != 0 and "--overwrite" in str(again.exception)


def test_shock_paths_and_registry_leakage_in_words(brief):
    gallium = load_scenario(ROOT / "scenarios" / "gallium-licensing-2023.yaml")
    shock = gallium.shocks[0]
    steps = [f"{p.value:.0%} (from {gallium.labels()[gallium.index(p.at)]})" for p in shock.path]
    assert steps == ["0% (from 2025-08)", "27% (from 2025-10)", "100% (from 2026-07)"]
    phrase = briefing._shock_phrase(dataclasses.replace(brief, scenario=gallium), shock)
    assert phrase == ("china licenses exports to all other blocs, approving 0% (from 2025-08), "
                      "27% (from 2025-10) and 100% (from 2026-07) of the normal flow")
    ban = load_scenario(ROOT / "scenarios" / "germanium-us-ban.yaml")
    row = brief.world.registry.row("leakage_share", "germanium", "refined")
    phrase = briefing._shock_phrase(dataclasses.replace(brief, scenario=ban), ban.shocks[0],
                                    market=True)
    assert phrase == (f"china bans exports of germanium/refined to usa, but {row.value:.0%} "
                      f"(the registry's leakage_share, drawn in {row.low:.0%}–{row.high:.0%}) "
                      "of the normal flow still arrives through third countries")
